import { describe, expect, it } from 'vitest';
import { IngestRejection } from '../ingest/index.js';
import { PayloadMapping, type PayloadMappingOptions } from './payload-mapping.js';

const mapping = (options: Partial<PayloadMappingOptions> = {}) =>
  new PayloadMapping({ valuePath: 'value', timestampPath: 'ts', epochUnit: 'ms', sensors: {}, ...options });
const read = (m: PayloadMapping, payload: string, sensorId = 'temp') => m.read(sensorId, Buffer.from(payload));
const reasonOf = (m: PayloadMapping, payload: string): string => {
  try {
    read(m, payload);
  } catch (error) {
    expect(error).toBeInstanceOf(IngestRejection);
    return (error as IngestRejection).reason;
  }
  throw new Error(`${payload} was read`);
};

describe('payload mapping', () => {
  it('reads a plain number at gateway time, and a JSON object at its paths', () => {
    expect(read(mapping(), ' 23.5\n')).toEqual({ kind: 'single', ts: undefined, value: 23.5 });
    expect(read(mapping(), '{"value": 7, "ts": 1764979200000}')).toEqual({ kind: 'single', ts: 1764979200000, value: 7 });
    const nested = mapping({ valuePath: 'readings.1.v', timestampPath: 'meta.time' });
    expect(read(nested, '{"readings": [{"v": 1}, {"v": 2}], "meta": {"time": "2025-12-06T00:00:00.250Z"}}')).toEqual({
      kind: 'single',
      ts: Date.UTC(2025, 11, 6, 0, 0, 0, 250),
      value: 2,
    });
  });

  it('converts epoch seconds to milliseconds, fractions included, and takes ISO 8601 strings in either unit', () => {
    const seconds = mapping({ epochUnit: 's' });
    expect(read(seconds, '{"value": 1, "ts": 1764979200.125}').ts).toBe(1_764_979_200_125);
    expect(read(seconds, '{"value": 1, "ts": "2025-12-06T00:00:00Z"}').ts).toBe(Date.UTC(2025, 11, 6));
  });

  it('scales only the configured sensor: value × scale + offset', () => {
    const scaled = mapping({ sensors: { pressure: { scale: 0.5, offset: -2 } } });
    expect(read(scaled, '{"value": 10}', 'pressure').value).toBe(3);
    expect(read(scaled, '10', 'pressure').value).toBe(3);
    expect(read(scaled, '{"value": 10}', 'temp').value).toBe(10);
    expect(read(scaled, '{"value": 10}', 'constructor').value).toBe(10); // not a property of an object
  });

  it('leaves a value that is not a number to ingest (not_finite), unscaled', () => {
    const scaled = mapping({ sensors: { temp: { scale: 2, offset: 0 } } });
    expect(read(scaled, '{"value": "12"}').value).toBe('12');
  });

  it('refuses what it cannot read with the ingest reasons', () => {
    expect(reasonOf(mapping(), '23,5')).toBe('bad_json');
    expect(reasonOf(mapping(), '"23.5"')).toBe('bad_payload');
    expect(reasonOf(mapping(), '[1, 2]')).toBe('bad_payload');
    expect(reasonOf(mapping(), '{"temp": 1}')).toBe('bad_payload');
    expect(reasonOf(mapping(), '{"value": 1, "ts": "soon"}')).toBe('bad_ts');
    expect(reasonOf(mapping(), '{"value": 1, "ts": true}')).toBe('bad_ts');
  });
});
