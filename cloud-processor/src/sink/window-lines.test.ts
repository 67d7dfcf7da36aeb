import { CloseReason, create, MachineWindowSchema, SensorStatsSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { makeWindow } from '../test-support/windows.js';
import { pointLine } from './line-protocol.js';
import { anomalyPoint, featurePoints } from './points.js';
import { anomalyLine, featureLines } from './window-lines.js';

const T = 1_733_000_000_000;

describe('window lines', () => {
  it('writes a sensor_features line per sensor as the line protocol reference spells it (expected line by hand)', () => {
    const window = create(MachineWindowSchema, {
      siteId: 'plant 1', gatewayId: 'gw,1', machineId: 'm=1', windowStart: BigInt(T), windowEnd: BigInt(T + 10_000), featureVersion: 2, revision: 1, closeReason: CloseReason.WATERMARK,
      sensors: [create(SensorStatsSchema, { sensorId: 'vib x', count: 10, expectedCount: 10, mean: 1.5, variance: 0.25, std: 0.5, min: 1, max: 2.000001, rms: 1.58, peakToPeak: 1, skewness: Number.NaN, kurtosis: Number.POSITIVE_INFINITY, crestFactor: 1.25, lateCount: 0 })],
    });
    expect(featureLines(window)).toEqual({
      lines: [
        'sensor_features,gateway=gw\\,1,machine=m\\=1,sensor=vib\\ x,site=plant\\ 1 count=10,expected_count=10,mean=1.5,variance=0.25,std=0.5,min=1,max=2.000001,rms=1.58,peak_to_peak=1,crest_factor=1.25,late_count=0,revision=1,feature_version=2,window_ms=10000 1733000000000',
      ],
      droppedFields: 2,
    });
  });

  it('writes an anomaly line with its contributions; a non-finite number is left out and counted (expected line by hand)', () => {
    const score: WindowScore = { siteId: 's', machineId: 'm 1', windowStart: T, windowEnd: T + 10_000, model: 'pump', modelVersion: 'v"2', score: Number.NaN, threshold: 1.5, isAnomaly: false, contributions: { temp: 0.75, 'a b': Number.NaN, '7': 0.25 } };
    expect(anomalyLine(score, 'anomaly_shadow')).toEqual({
      lines: ['anomaly_shadow,machine=m\\ 1,model=pump,site=s threshold=1.5,is_anomaly=false,model_version="v\\"2",contrib_7=0.25,contrib_temp=0.75 1733000000000'],
      droppedFields: 2,
    });
  });

  it('are the lines of featurePoints and anomalyPoint written by pointLine, byte for byte', () => {
    const hostile = ['a b', 'a,b', 'a=b', 'say "hi"', 'back\\slash', 'ü€🙂', '12'];
    hostile.forEach((name, i) => {
      const window = makeWindow({ machine: name, site: `site ${name}`, gateway: name, index: i, revision: i, sensors: [name, 'temp', String(i)] });
      window.sensors[1]!.mean = [Number.NaN, Number.NEGATIVE_INFINITY, 1e21, -1e-7, 0.1 + 0.2, 5e-324, Number.MAX_VALUE][i]!;
      const built = featurePoints(window);
      expect(featureLines(window)).toEqual({ lines: built.points.map(pointLine), droppedFields: built.droppedFields });
      const start = Number(window.windowStart);
      const score: WindowScore = {
        siteId: window.siteId, machineId: name, windowStart: start, windowEnd: start + 10_000, model: name, modelVersion: name, score: 1 / (i + 0.3), threshold: i === 2 ? Number.NaN : 2,
        isAnomaly: i % 2 === 0, contributions: Object.fromEntries(window.sensors.map((s, k) => [s.sensorId, k === 0 ? Number.POSITIVE_INFINITY : k / 3])),
      };
      for (const measurement of ['anomaly', 'anomaly_shadow'] as const) {
        const point = anomalyPoint(score, measurement);
        expect(anomalyLine(score, measurement)).toEqual({ lines: point.points.map(pointLine), droppedFields: point.droppedFields });
      }
    });
  });
});
