import { describe, expect, it } from 'vitest';
import { FeatureBatchSchema, GatewayHealthSchema, MachineWindowSchema, featureBatchOrderingKey, pubsubAttributes } from './index.js';

describe('pubsubAttributes', () => {
  it('builds the contract attributes of a message from its type and its source', () => {
    expect(pubsubAttributes(MachineWindowSchema, { gatewayId: 'gw-7', siteId: 'plant-7' })).toEqual({
      schema: 'pdm.v1.MachineWindow',
      gateway: 'gw-7',
      site: 'plant-7',
    });
    expect(pubsubAttributes(FeatureBatchSchema, { gatewayId: 'gw-9', siteId: 'plant-9' })).toEqual({
      schema: 'pdm.v1.FeatureBatch',
      gateway: 'gw-9',
      site: 'plant-9',
    });
    expect(pubsubAttributes(GatewayHealthSchema, { gatewayId: 'gw-8', siteId: 'plant-8' })).toEqual({
      schema: 'pdm.v1.GatewayHealth',
      gateway: 'gw-8',
      site: 'plant-8',
    });
  });
});

describe('featureBatchOrderingKey', () => {
  it('is the gateway id and the shard', () => {
    expect(featureBatchOrderingKey('gw-7', 0)).toBe('gw-7:0');
    expect(featureBatchOrderingKey('line-2.gw', 13)).toBe('line-2.gw:13');
  });
});
