import { describe, expect, it } from 'vitest';
import { nodeCommandTopic, parseSparkplugTopic } from './topic.js';

describe('parseSparkplugTopic', () => {
  it('reads node and device messages', () => {
    expect(parseSparkplugTopic('spBv1.0/plant/NBIRTH/edge-1')).toEqual({ group: 'plant', type: 'NBIRTH', node: 'edge-1' });
    expect(parseSparkplugTopic('spBv1.0/plant/DDATA/edge-1/press 3')).toEqual({ group: 'plant', type: 'DDATA', node: 'edge-1', device: 'press 3' });
  });

  it('refuses what is no edge node message', () => {
    for (const topic of [
      'spBv1.0/STATE/scada', // a host application's state
      'spBv1.0/plant/NDATA/edge-1/press-3', // node messages name no device
      'spBv1.0/plant/DDATA/edge-1', // device messages name one
      'spBv1.0/plant/DDATA/edge-1/', // an empty device id
      'spBv1.0//NDATA/edge-1',
      'spBv1.0/plant/XDATA/edge-1',
      'spBv1.0/plant/DDATA/edge-1/press-3/extra',
      'sensors/press-3/temp',
    ]) {
      expect(parseSparkplugTopic(topic), topic).toBeUndefined();
    }
  });

  it('addresses a command to an edge node', () => {
    expect(nodeCommandTopic('plant', 'edge-1')).toBe('spBv1.0/plant/NCMD/edge-1');
  });
});
