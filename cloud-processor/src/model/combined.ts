// The combined kind: several detector families trained on the same windows, each window scored by all of
// them and decided on their calibrated scores (model/calibrated-score.ts), whose threshold is 1.
//
// 'max': anomalous when any member is past its own threshold. Each member keeps its own decision and the
//   union's false-alarm rate is at most the sum of its members'; it catches what any member catches.
// 'mean': the members' average distance in threshold multiples: a window two members both find nearly
//   anomalous (0.9 each) stays normal, one far out for one member (2.5) and normal for the other (0.4) is
//   anomalous. Evidence is pooled, so one member's noise alone alarms less often than under 'max'.
// The combined score's per-sensor contributions are the members' own, weighted by each member's part in
// the combined score (under 'max': the deciding member's), and every member's score is kept beside it.
import { COMBINE_RULES, MODEL_KINDS, type CombineRule, type ModelKind } from './artifact-schemas.js';

/** The combined score of one window and each member's part in it (summing to 1). */
export interface Combination {
  score: number;
  weights: number[];
}

/** Joins the members' calibrated scores of one window by `rule`. */
export function combineCalibrated(rule: CombineRule, calibrated: readonly number[]): Combination {
  const n = calibrated.length;
  if (rule === 'max') {
    let best = 0;
    for (let m = 1; m < n; m++) if (calibrated[m]! > calibrated[best]!) best = m;
    return { score: calibrated[best]!, weights: calibrated.map((_, m) => (m === best ? 1 : 0)) };
  }
  const sum = calibrated.reduce((a, c) => a + c, 0);
  return { score: sum / n, weights: calibrated.map((c) => (sum > 0 ? c / sum : 1 / n)) };
}

/** What `pdm train --kind` may ask for besides one family: members trained together, and their rule. */
export interface CombinedKind {
  members: ModelKind[];
  combine: CombineRule;
}

/** How a combined kind is written on the command line: `robust-t2+autoencoder` ('max'), `mean:robust-t2+autoencoder`. */
export const COMBINED_KIND_SYNTAX = `[${COMBINE_RULES.join('|')}:]KIND+KIND[+KIND]`;

/** A kind named on the command line: one family, or a combination of two or more different ones. */
export function parseKind(text: string): ModelKind | CombinedKind {
  const isKind = (k: string): k is ModelKind => (MODEL_KINDS as readonly string[]).includes(k);
  if (isKind(text)) return text;
  const colon = text.indexOf(':');
  const rule = colon < 0 ? 'max' : text.slice(0, colon);
  const members = text.slice(colon + 1).split('+');
  const valid = (COMBINE_RULES as readonly string[]).includes(rule) && members.length >= 2 && members.every(isKind) && new Set(members).size === members.length;
  if (!valid) throw new Error(`must be one of ${MODEL_KINDS.join(', ')}; got "${text}" (or different ones combined as ${COMBINED_KIND_SYNTAX})`);
  return { members, combine: rule as CombineRule };
}
