// A trained model in memory: what scoring needs, one shape per model kind. The autoencoder bundle is the
// only owner of its network's weight tensors (disposeBundle frees them).
import type * as tf from '@tensorflow/tfjs';
import type { FeatureLayout } from './features.js';
import type { Normalization } from './normalization.js';
import type { CombineRule, ContractFile, ThresholdFile } from './artifact-schemas.js';
import type { FeatureProfileFile } from './feature-profile.js';
import type { AdaptiveZModel } from './adaptive-z.js';
import type { PcaModel } from './pca.js';
import type { RobustT2Model } from './robust-t2.js';

interface BundleBase {
  info: ContractFile;
  layout: FeatureLayout;
  /** The training distribution of its features (feature-profile.json), for drift; absent in older models. */
  profile?: FeatureProfileFile;
}

export interface AutoencoderBundle extends BundleBase {
  kind: 'autoencoder';
  normalization: Normalization;
  threshold: ThresholdFile;
  network: tf.LayersModel;
}

export interface RobustT2Bundle extends BundleBase {
  kind: 'robust-t2';
  model: RobustT2Model;
}

export interface AdaptiveZBundle extends BundleBase {
  kind: 'adaptive-z';
  model: AdaptiveZModel;
}

export interface PcaBundle extends BundleBase {
  kind: 'pca';
  model: PcaModel;
}

/** One detector family's model. */
export type MemberBundle = AutoencoderBundle | RobustT2Bundle | AdaptiveZBundle | PcaBundle;

/**
 * A combined model (model/combined.ts). Each member's `info` is the combined contract with the member's
 * kind and features, so its per-machine states are kept under the combined model's name, version and
 * training time (kinds differ, so members never share a state).
 */
export interface CombinedBundle extends BundleBase {
  kind: 'combined';
  combine: CombineRule;
  members: {
    bundle: MemberBundle;
    /** Member feature j is the combined model's feature features[j]. */
    features: Int32Array;
    /** Member sensor s is the combined model's sensor sensors[s]. */
    sensors: Int32Array;
  }[];
}

export type ModelBundle = MemberBundle | CombinedBundle;

/** Frees what a bundle holds outside the JS heap (the autoencoder's tensors). */
export function disposeBundle(bundle: ModelBundle): void {
  if (bundle.kind === 'autoencoder') bundle.network.dispose();
  else if (bundle.kind === 'combined') for (const member of bundle.members) disposeBundle(member.bundle);
}
