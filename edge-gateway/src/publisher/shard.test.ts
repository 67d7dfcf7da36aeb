import { describe, expect, it } from 'vitest';
import { shardOf } from './shard.js';

describe('shardOf', () => {
  it('is 32-bit FNV-1a of the machine id modulo the shards (values computed apart, in Python)', () => {
    // FNV-1a: pump-1 0x031e11b9, pump-3 0x011e0e93, fan-9 0xb0c5345c, '' 0x811c9dc5 (the offset basis).
    expect([shardOf('pump-1', 4), shardOf('pump-3', 4), shardOf('fan-9', 4), shardOf('', 4)]).toEqual([1, 3, 0, 1]);
    expect([shardOf('pump-1', 8), shardOf('pump-3', 8), shardOf('fan-9', 8), shardOf('', 8)]).toEqual([1, 3, 4, 5]);
    expect(shardOf('fan-9', 0xb0c5345c + 1)).toBe(0xb0c5345c);
    expect(shardOf('pump-1', 1)).toBe(0);
  });

  it('hashes the UTF-8 bytes of an id that is not ASCII (values computed apart, in Python)', () => {
    // FNV-1a: 'pompe-é1' 0xb977bd9a, '泵-7' 0x746ea199.
    expect([shardOf('pompe-é1', 8), shardOf('泵-7', 8), shardOf('pompe-é1', 1000), shardOf('泵-7', 1000)]).toEqual([2, 1, 282, 385]);
  });

  it('spreads a fleet evenly: machine-0 … machine-999 over 8 shards, 124 to 127 each', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 1000; i++) counts[shardOf(`machine-${i}`, 8)]!++;
    expect(counts).toEqual([127, 125, 124, 127, 124, 124, 125, 124]);
  });
});
