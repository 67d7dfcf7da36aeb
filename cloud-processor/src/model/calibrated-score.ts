// The common scale every model kind's score is also reported on, so scores of different kinds can be read
// side by side and combined (model/combined.ts).
//
// Why threshold multiples, not tail probabilities: each kind's threshold is the one place where its false-
// alarm promise was calibrated (robust-t2: the χ²_d quantile at p = 10⁻³, raised to the training scores'
// tail for one false exceedance per machine-day, or a machine's online SPOT threshold; the autoencoder:
// 0.1 % of held-back windows at 90 % confidence; adaptive-z: 7 σ, the plateau measured on NAB; pca: its T²
// and Q limits, together at p = 10⁻³; pca and the autoencoder too, a machine's online threshold once it
// has one). Beyond the
// threshold no kind knows its score's distribution well: a nominal tail probability would look precise
// and be wrong (adaptive-z's 7 σ is 10⁻¹² for a normal tail, while real series exceed it about once a
// day). So the scale is anchored where the promise is made: 1.0 means "at this kind's threshold" and is
// the same promise for every kind, above 1 is anomalous exactly when the kind says so, and the scale is
// monotone in the raw score (a rule on it never reorders one kind's windows).
//
// Between and beyond the anchors the scale is a distance: robust-t2's D² and the autoencoder's score are
// sums of squared deviations, and so are pca's T² and Q (its score is the larger of their ratios to their
// limits, against a threshold of 1), so their ratio to the threshold is taken as its square root;
// adaptive-z's score is a z, a distance already. A calibrated 2 then means "twice as far from normal as the threshold"
// for every kind, which is what averaging members (the combined kind's 'mean' rule) needs.
import type { ContractKind } from './artifact-schemas.js';

/** Kinds whose raw score grows with the square of a deviation. */
const SQUARED: ReadonlySet<ContractKind> = new Set(['robust-t2', 'autoencoder', 'pca']);

/** `score` of a model of `kind` on the common scale: 1 at `threshold`, a distance in threshold multiples. */
export function calibratedScore(kind: ContractKind, score: number, threshold: number): number {
  const ratio = Math.max(0, score) / threshold;
  return SQUARED.has(kind) ? Math.sqrt(ratio) : ratio;
}
