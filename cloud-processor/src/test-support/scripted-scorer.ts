// A tiny Scorer for transport/sink/alert tests. It isolates those from model behaviour: a window is
// "anomalous" when its first sensor's std exceeds a fixed limit (test windows built with
// `faulty: true` have std ≈ 9, normal ones ≈ 1). The end-to-end test uses the real TF.js model.
import type { MachineWindow } from '@pdm/proto';
import type { LoadedModelInfo, ScoreOutcome, Scorer } from '../model/api.js';

export const SCRIPTED_THRESHOLD = 5;

export class ScriptedScorer implements Scorer {
  calls = 0;
  /** Set to make score() fail (e.g. to test nacks), return no_model, or hold every window as stopped. */
  mode: 'score' | 'no_model' | 'held' | 'throw' = 'score';

  score(window: MachineWindow): Promise<ScoreOutcome> {
    this.calls++;
    if (this.mode === 'throw') return Promise.reject(new Error('scorer failed'));
    if (this.mode === 'no_model') return Promise.resolve({ kind: 'no_model' });
    if (this.mode === 'held') return Promise.resolve({ kind: 'held', reason: 'stopped' });
    const std = window.sensors[0]?.std ?? 0;
    return Promise.resolve({
      kind: 'scored',
      score: {
        siteId: window.siteId,
        machineId: window.machineId,
        windowStart: Number(window.windowStart),
        windowEnd: Number(window.windowEnd),
        model: 'scripted',
        modelVersion: '1',
        score: std,
        threshold: SCRIPTED_THRESHOLD,
        isAnomaly: std > SCRIPTED_THRESHOLD,
        contributions: Object.fromEntries(window.sensors.map((s, i) => [s.sensorId, i === 0 ? 0.7 : 0.3 / Math.max(1, window.sensors.length - 1)])),
      },
    });
  }

  loaded(): LoadedModelInfo[] {
    return [{ name: 'scripted', version: '1', role: 'serving', backend: 'none', windowMs: 10_000 }];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
