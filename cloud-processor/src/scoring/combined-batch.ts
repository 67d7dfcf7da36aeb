// Batch scoring of a combined model (model/combined.ts): every member scores the batch with its own kind's
// scoring (and its own per-machine state), on its own features taken out of the combined model's; the
// window's score is the members' calibrated scores joined by the model's rule, against a threshold of 1.
import { calibratedScore } from '../model/calibrated-score.js';
import { combineCalibrated } from '../model/combined.js';
import type { CombinedBundle, MemberBundle } from '../model/model-bundle.js';
import type { BatchItem, KindScore, MemberScore } from './kind-score.js';

/** Scores a batch with one member's kind (the scorer's own kind dispatch). */
export type ScoreMember = (bundle: MemberBundle, items: readonly BatchItem[]) => KindScore[];

export function scoreCombinedBatch(bundle: CombinedBundle, items: readonly BatchItem[], scoreMember: ScoreMember): KindScore[] {
  const sensorCount = bundle.layout.sensors.length;
  const byMember = bundle.members.map(({ bundle: member, features, sensors }) => {
    const memberItems = items.map(({ window, raw }) => ({ window, raw: Float64Array.from(features, (j) => raw[j]!) }));
    return scoreMember(member, memberItems).map((own): MemberScore & { calibrating?: true } => {
      // The member's shares, moved onto the combined model's sensors.
      const shares = new Float64Array(sensorCount);
      sensors.forEach((target, s) => (shares[target] = own.shares[s]!));
      return { kind: member.kind, score: own.score, threshold: own.threshold, shares, ...(own.calibrating && { calibrating: own.calibrating }) };
    });
  });
  return items.map((_, i) => {
    const scores = byMember.map((m) => m[i]!);
    const { score, weights } = combineCalibrated(bundle.combine, scores.map((m) => calibratedScore(m.kind, m.score, m.threshold)));
    const shares = new Float64Array(sensorCount);
    scores.forEach((m, k) => m.shares.forEach((v, s) => (shares[s]! += weights[k]! * v)));
    // A member still learning this machine's level (robust-t2) has no score to give yet: the window is held.
    const calibrating = scores.some((m) => m.calibrating === true);
    const members = scores.map(({ kind, score: own, threshold, shares: memberShares }) => ({ kind, score: own, threshold, shares: memberShares }));
    return { score, threshold: 1, shares, members, ...(calibrating && { calibrating }) };
  });
}
