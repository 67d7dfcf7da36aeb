// Training windows → the contract a model is trained on, and the windows that fit it. The gateway leaves a
// sensor out of a window when it had no readings, so the contract takes the sensors present in nearly
// all windows and drops the few windows that miss one of them (rather than imputing).
import { CloseReason } from '@pdm/proto';
import type { MachineWindow } from '@pdm/proto';
import type { ModelContract } from '../model/api.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { featureName, windowMsOf, type StatisticName } from '../model/features.js';
import { median } from '../model/robust-stats.js';

export interface ContractSelection {
  contract: ModelContract;
  /** The windows that carry every contract sensor, in input order. */
  windows: MachineWindow[];
  /** Why windows were left out, with counts (reported in the training report). */
  skipped: Record<string, number>;
  /** Sensors seen in fewer than `sensorPresence` of the windows, left out of the contract, with the share they were in. */
  leftOutSensors: { sensor: string; share: number }[];
}

export interface ContractOptions {
  /** Statistics of every sensor (default MODEL_DEFAULTS.baseStatistics). */
  statistics?: readonly StatisticName[];
  /** Added for sensors with at least shapeMinSamples readings per window (default MODEL_DEFAULTS.shapeStatistics). */
  shapeStatistics?: readonly StatisticName[];
  sensorPresence?: number;
  minCompleteWindows?: number;
  shapeMinSamples?: number;
}

export class TrainingDataError extends Error {
  override readonly name = 'TrainingDataError';
}

export function deriveContract(all: MachineWindow[], options: ContractOptions = {}): ContractSelection {
  const presence = options.sensorPresence ?? MODEL_DEFAULTS.sensorPresence;
  const minComplete = options.minCompleteWindows ?? MODEL_DEFAULTS.minCompleteWindows;
  const shapeMin = options.shapeMinSamples ?? MODEL_DEFAULTS.shapeMinSamples;
  const skipped: Record<string, number> = {};
  const skip = (why: string, n: number): void => {
    if (n > 0) skipped[why] = (skipped[why] ?? 0) + n;
  };
  if (all.length === 0) throw new TrainingDataError('no training windows');

  // One feature version and one window size: the most common ones (a fleet mid-upgrade mixes them).
  const featureVersion = mostCommon(all.map((w) => w.featureVersion));
  const windowMs = mostCommon(all.map(windowMsOf));
  let windows = all.filter((w) => w.featureVersion === featureVersion && windowMsOf(w) === windowMs);
  skip(`feature_version or window size other than ${featureVersion} / ${windowMs} ms`, all.length - windows.length);

  // Partial windows (idle timeout, shutdown) have noisier statistics: use them only when short of data.
  const complete = windows.filter((w) => w.closeReason === CloseReason.WATERMARK);
  if (complete.length >= minComplete) {
    skip('closed by other than WATERMARK (partial)', windows.length - complete.length);
    windows = complete;
  }

  const seen = new Map<string, number[]>();
  for (const w of windows) {
    for (const s of w.sensors) {
      let counts = seen.get(s.sensorId);
      if (counts === undefined) seen.set(s.sensorId, (counts = []));
      counts.push(s.count);
    }
  }
  const sensors = [...seen.entries()]
    .filter(([, counts]) => counts.length >= presence * windows.length)
    .map(([id]) => id)
    .sort();
  const leftOutSensors = [...seen.entries()]
    .filter(([id]) => !sensors.includes(id))
    .map(([sensor, counts]) => ({ sensor, share: counts.length / windows.length }))
    .sort((a, b) => a.sensor.localeCompare(b.sensor));
  if (sensors.length === 0) throw new TrainingDataError('no sensor is present in nearly all training windows');

  const before = windows.length;
  windows = windows.filter((w) => sensors.every((id) => w.sensors.some((s) => s.sensorId === id)));
  skip('missing a contract sensor', before - windows.length);

  const featureNames: string[] = [];
  for (const id of sensors) {
    const stats: StatisticName[] = [...(options.statistics ?? MODEL_DEFAULTS.baseStatistics)];
    if (median(seen.get(id)!) >= shapeMin) stats.push(...(options.shapeStatistics ?? MODEL_DEFAULTS.shapeStatistics));
    for (const stat of stats) featureNames.push(featureName(id, stat));
  }
  return { contract: { featureNames, windowMs, featureVersion }, windows, skipped, leftOutSensors };
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, n] of counts) if (n > counts.get(best)! || (n === counts.get(best)! && v < best)) best = v;
  return best;
}
