// Offline scoring for `pdm score`: a recorded dataset through the same Scorer the service uses.
import type { MachineWindow } from '@pdm/proto';
import type { ScoreOutcome } from '../model/api.js';
import type { ModelScorer } from './scorer.js';

/** Windows handed to the scorer at once: enough to fill batches, bounded so memory stays flat. */
const CHUNK = 4096;

/**
 * Scores every window, in order. The windows of a chunk are micro-batched by the scorer; once a chunk is
 * handed over no window will get more company, so its last batch runs at once instead of after the
 * batch delay: a command scoring a file should not wait out a timer per chunk.
 */
export async function scoreWindows(scorer: ModelScorer, windows: readonly MachineWindow[]): Promise<ScoreOutcome[]> {
  const out: ScoreOutcome[] = [];
  for (let i = 0; i < windows.length; i += CHUNK) {
    const scored = Promise.all(windows.slice(i, i + CHUNK).map((w) => scorer.score(w)));
    scorer.flush();
    out.push(...(await scored));
  }
  return out;
}

export interface DetectionSummary {
  /** Windows scored and labelled. */
  evaluated: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  /** NaN when nothing was flagged / nothing was faulty / nothing was normal. */
  precision: number;
  recall: number;
  falseAlarmRate: number;
  /** Outcomes that were not scored (mismatch, no model): not counted above. */
  unscored: number;
  /** Windows held (stopped, changing speed or load, settling; a new machine's level being learnt): not counted above. */
  held: number;
}

/** Compares isAnomaly with ground-truth labels (labels[i] = window i is faulty). */
export function evaluateDetection(outcomes: readonly ScoreOutcome[], labels: readonly boolean[]): DetectionSummary {
  if (outcomes.length !== labels.length) throw new Error(`${outcomes.length} outcomes but ${labels.length} labels`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let unscored = 0;
  let held = 0;
  outcomes.forEach((o, i) => {
    if (o.kind === 'held') {
      held++;
      return;
    }
    if (o.kind !== 'scored') {
      unscored++;
      return;
    }
    const faulty = labels[i]!;
    if (o.score.isAnomaly && faulty) tp++;
    else if (o.score.isAnomaly) fp++;
    else if (faulty) fn++;
    else tn++;
  });
  return {
    evaluated: tp + fp + fn + tn,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    trueNegatives: tn,
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    falseAlarmRate: fp / (fp + tn),
    unscored,
    held,
  };
}
