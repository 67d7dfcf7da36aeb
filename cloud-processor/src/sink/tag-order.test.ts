// The sink writes every line's tags in sorted key order (byte order, as Go's bytes.Compare), as the line
// protocol reference asks "for best performance": InfluxDB 1.x sorts, and copies, the key of every
// line whose tags are out of order (models/points.go, scanKey). What is stored is the same either way
// (influx-sink.test.ts reads the points back by their tags).
import { GatewayHealthSchema, create } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { makeWindow } from '../test-support/windows.js';
import { BOOKKEEPING_SERIES, LIFECYCLE_SERIES, PROCESSOR_REPORT_FIELDS, SERIES } from './influx-series.js';
import { pointLine } from './line-protocol.js';
import { modelDriftPoint } from './model-drift-point.js';
import {
  alertActionPoint,
  alertDeliveryPoint,
  alertPoint,
  alertStatePoint,
  anomalyPoint,
  featurePoints,
  gatewayHealthPoint,
  modelChangePoint,
  pipelinePoint,
  unscoredPoint,
} from './points.js';
import { anomalyLine, featureLines } from './window-lines.js';

const T = 1_733_000_000_000;

/** Measurement and tag keys of a line, as InfluxDB splits them (unescaped space, commas, equals signs). */
function keyOf(line: string): { measurement: string; tags: string[] } {
  const [measurement, ...tags] = line.slice(0, line.search(/(?<!\\) /)).split(/(?<!\\),/);
  return { measurement: measurement!, tags: tags.map((tag) => tag.slice(0, tag.search(/(?<!\\)=/))) };
}

const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('tag order', () => {
  it('every measurement the sink writes lists its tags sorted by key, byte order', () => {
    // Values that need escaping, so that the split above is tested on them too.
    const window = makeWindow({ site: 'plant 1', gateway: 'gw,1', machine: 'm=1', sensors: ['vib x', 'temp'] });
    const score: WindowScore = { siteId: 'plant 1', machineId: 'm=1', windowStart: T, windowEnd: T + 10_000, model: 'pump', modelVersion: 'v1', score: 0.5, threshold: 1, isAnomaly: false, contributions: { temp: 1 } };
    const delivery = { siteId: 's', machineId: 'm', state: 'open', alertId: 'a', windowEnd: T, transition: '{}', pending: '', attempts: 1, createdAt: T, updatedAt: T };
    const health = create(GatewayHealthSchema, { gatewayId: 'gw', siteId: 's', reportedAt: BigInt(T), rejectedByReason: { bad_json: 1n } });
    const report = Object.fromEntries(PROCESSOR_REPORT_FIELDS.map((field) => [field, 1])) as Parameters<typeof pipelinePoint>[2];
    const lines = [
      ...featureLines(window).lines,
      ...anomalyLine(score).lines,
      ...anomalyLine(score, 'anomaly_shadow').lines,
      ...[
        ...featurePoints(window).points,
        ...anomalyPoint(score).points,
        ...anomalyPoint(score, 'anomaly_shadow').points,
        unscoredPoint(window, { kind: 'no_model' }),
        modelChangePoint('pump', { at: new Date(T).toISOString(), who: 'ops', action: 'promote', from: 'v1', to: 'v2' }),
        alertPoint({ machineId: 'm', siteId: 's', alertId: 'a', state: 'open', score: 2, message: 'high', windowEnd: T }),
        alertActionPoint({ time: T, action: 'ack', siteId: 's', machineId: 'm', alertId: 'a', who: 'ops' }),
        alertStatePoint({ siteId: 's', machineId: 'm', windowStart: T, checkpoint: '{}', open: false }),
        alertDeliveryPoint(delivery),
        pipelinePoint('cloud-processor', 'proc-1', report, T),
        ...gatewayHealthPoint(health).points,
        modelDriftPoint({ model: 'pump', version: 'v1', windows: 10, psi: 0.1, feature: 'temp.mean', features: { 'temp.mean': 0.1 } }, 'proc-1', 0.25, T),
      ].map(pointLine),
    ];
    const declared: Record<string, readonly string[]> = Object.fromEntries(
      Object.entries({ ...SERIES, ...BOOKKEEPING_SERIES, ...LIFECYCLE_SERIES }).map(([measurement, series]) => [measurement, series.tags]),
    );
    for (const line of lines) {
      const { measurement, tags } = keyOf(line);
      expect(tags, line).toEqual(byteOrder(tags));
      expect(declared[measurement], line).toEqual(expect.arrayContaining(tags));
    }
    // Every measurement and every tag of it was checked.
    const seen = new Map<string, Set<string>>();
    for (const { measurement, tags } of lines.map(keyOf)) for (const tag of tags) seen.set(measurement, (seen.get(measurement) ?? new Set()).add(tag));
    expect(Object.fromEntries([...seen].map(([m, tags]) => [m, byteOrder([...tags])]))).toEqual(Object.fromEntries(Object.entries(declared).map(([m, tags]) => [m, byteOrder([...tags])])));
  });
});
