import { describe, expect, it } from 'vitest';
import { GatewayHealthSchema, MachineWindowSchema, pubsubAttributes } from './index.js';

describe('pubsubAttributes', () => {
  it('builds the contract attributes of a message from its type and its source', () => {
    expect(pubsubAttributes(MachineWindowSchema, { gatewayId: 'gw-7', siteId: 'plant-7' })).toEqual({
      schema: 'pdm.v1.MachineWindow',
      gateway: 'gw-7',
      site: 'plant-7',
    });
    expect(pubsubAttributes(GatewayHealthSchema, { gatewayId: 'gw-8', siteId: 'plant-8' })).toEqual({
      schema: 'pdm.v1.GatewayHealth',
      gateway: 'gw-8',
      site: 'plant-8',
    });
  });
});
