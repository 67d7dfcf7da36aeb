import type { ScoreOutcome, WindowScore } from '../model/api.js';

/** The scores of outcomes a test expects all scored: the first that is not fails it, saying what it was. */
export function scoresOf(outcomes: readonly ScoreOutcome[]): WindowScore[] {
  return outcomes.map((o) => {
    if (o.kind !== 'scored') throw new Error(`expected a score, got ${o.kind}${o.kind === 'contract_mismatch' ? `: ${o.reason}` : ''}`);
    return o.score;
  });
}
