// Drift: how far the features a served model now sees have moved from those it was trained on, as a
// population stability index (PSI) per feature against the model's feature profile
// (model/feature-profile.ts).
//
// Each model version counts the bins of its last `windows` windows (1,000 by default), not of a time
// span: a PSI's noise depends on how many windows it counts (about (bins − 1) / windows, 0.009 at
// 1,000), and a count gives every plant the same noise, whether its model serves one machine (1,000
// windows: under 3 hours of 10 s windows) or a fleet (seconds). Below `minWindows` (200) no PSI is
// reported: a model loaded a minute ago has not seen enough to be called drifted.
import { binOf, populationStabilityIndex, type FeatureProfileFile } from '../model/feature-profile.js';
import type { ModelBundle } from '../model/model-bundle.js';

export const DRIFT_DEFAULTS = {
  /**
   * A version whose worst feature PSI exceeds this should be retrained (config model.driftRetrainPsi).
   * The usual reading of a PSI (Siddiqi, "Credit Risk Scorecards", 2006, and common practice since):
   * below 0.1 no shift, 0.1–0.25 a moderate one worth watching, above 0.25 a significant one.
   */
  retrainPsi: 0.25,
  /** Windows each model version's PSI is counted over (the newest). */
  windows: 1_000,
  /** Windows a version must have counted before its PSI is reported. */
  minWindows: 200,
} as const;

export interface DriftOptions {
  windows?: number;
  minWindows?: number;
}

/** One model version's drift over its newest windows. */
export interface ModelDrift {
  model: string;
  version: string;
  /** Windows counted (at most DriftOptions.windows). */
  windows: number;
  /** The largest feature PSI, and that feature. */
  psi: number;
  feature: string;
  /** Feature name → its PSI. */
  features: Record<string, number>;
}

/** The bins of a model version's newest windows: a ring of each window's bin per feature, and the counts. */
export class DriftAccumulator {
  /** Window slot × feature → bin. */
  private readonly ring: Uint8Array;
  /** counts[j][b]: windows in the ring whose feature j is in bin b. */
  private readonly counts: Int32Array[];
  private next = 0;
  private filled = 0;

  constructor(
    readonly profile: FeatureProfileFile,
    private readonly capacity: number,
  ) {
    if (profile.features.some((f) => f.shares.length > 256)) throw new RangeError('a feature profile has more than 256 bins');
    this.ring = new Uint8Array(capacity * profile.features.length);
    this.counts = profile.features.map((f) => new Int32Array(f.shares.length));
  }

  get windows(): number {
    return this.filled;
  }

  /** Counts one window's features (in the profile's feature order), forgetting the oldest when full. */
  add(features: ArrayLike<number>): void {
    const d = this.counts.length;
    const slot = this.next * d;
    for (let j = 0; j < d; j++) {
      if (this.filled === this.capacity) this.counts[j]![this.ring[slot + j]!]!--;
      const bin = binOf(this.profile.features[j]!.edges, features[j]!);
      this.ring[slot + j] = bin;
      this.counts[j]![bin]!++;
    }
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
  }

  /** Each feature's PSI over the windows counted (NaN before the first). */
  psi(): number[] {
    return this.counts.map((counts, j) => populationStabilityIndex(this.profile.features[j]!.shares, Array.from(counts, (c) => c / this.filled)));
  }
}

/** The accumulators of every served model version that has a feature profile. */
export class DriftMonitor {
  private readonly versions = new Map<string, { model: string; version: string; accumulator: DriftAccumulator }>();
  private readonly windows: number;
  private readonly minWindows: number;

  constructor(options: DriftOptions = {}) {
    this.windows = options.windows ?? DRIFT_DEFAULTS.windows;
    this.minWindows = Math.max(1, Math.min(this.windows, options.minWindows ?? DRIFT_DEFAULTS.minWindows));
  }

  /** Counts a window's features for its model version; nothing for a model without a profile. */
  observe(bundle: ModelBundle, features: ArrayLike<number>): void {
    const profile = bundle.profile;
    if (profile === undefined) return;
    const key = `${bundle.info.name}\u0000${bundle.info.version}`;
    let entry = this.versions.get(key);
    // A version rewritten in place brings a new profile: its counts start again.
    if (entry === undefined || entry.accumulator.profile !== profile) {
      entry = { model: bundle.info.name, version: bundle.info.version, accumulator: new DriftAccumulator(profile, this.windows) };
      this.versions.set(key, entry);
    }
    entry.accumulator.add(features);
  }

  /** Forgets the versions not in `served` (retired or removed from the registry). */
  retainOnly(served: readonly { name: string; version: string }[]): void {
    const keep = new Set(served.map((m) => `${m.name}\u0000${m.version}`));
    for (const key of this.versions.keys()) if (!keep.has(key)) this.versions.delete(key);
  }

  /** The drift of every version that has counted at least minWindows windows. */
  report(): ModelDrift[] {
    const out: ModelDrift[] = [];
    for (const { model, version, accumulator } of this.versions.values()) {
      if (accumulator.windows < this.minWindows) continue;
      const psi = accumulator.psi();
      const names = accumulator.profile.featureNames;
      let worst = 0;
      psi.forEach((v, j) => {
        if (v > psi[worst]!) worst = j;
      });
      out.push({ model, version, windows: accumulator.windows, psi: psi[worst]!, feature: names[worst]!, features: Object.fromEntries(names.map((n, j) => [n, psi[j]!])) });
    }
    return out;
  }
}
