// A trained model in memory: what scoring needs, and the only owner of the network's weight tensors.
import type * as tf from '@tensorflow/tfjs';
import type { FeatureLayout } from './features.js';
import type { Normalization } from './normalization.js';
import type { ContractFile, ThresholdFile } from './artifact-schemas.js';

export interface ModelBundle {
  info: ContractFile;
  layout: FeatureLayout;
  normalization: Normalization;
  threshold: ThresholdFile;
  network: tf.LayersModel;
}
