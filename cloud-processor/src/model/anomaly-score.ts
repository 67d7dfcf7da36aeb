// The score of a batch of normalised windows: one autoencoder inference, then per feature the squared
// reconstruction error and the squared robust z-score, each divided by its median on the training windows
// (so a typical normal window scores ≈ 1) and mixed with weight `zTermWeight`. The z term catches a sensor
// leaving its normal range even when the autoencoder reproduces the shift; the autoencoder term catches
// sensors that stay in range but stop moving together. Contributions are each sensor's share of the score.
import * as tf from '@tensorflow/tfjs';
import type { FeatureLayout } from './features.js';

/** The score-normalisation part of threshold.json. */
export interface ScoreScale {
  /** Median over training windows of the mean squared reconstruction error. */
  aeReference: number;
  /** Median over training windows of the mean squared robust z-score. */
  zReference: number;
  /** 0 = pure autoencoder. */
  zTermWeight: number;
}

export interface BatchScore {
  score: number;
  /** Per contract sensor (layout.sensors order): its share of the score, summing to 1 (0s if score is 0). */
  shares: Float64Array;
}

/** Squared reconstruction errors (B×d, row-major) of the normalised batch `z`. Leaves no tensors behind. */
export function reconstructionErrors(model: tf.LayersModel, z: Float32Array, rows: number, d: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor2d(z, [rows, d]);
    const reconstructed = model.predict(x) as tf.Tensor2D;
    return tf.squaredDifference(x, reconstructed).dataSync() as Float32Array;
  });
}

/** Raw (unscaled) mean squared AE error and z² of each row: what the references are medians of. */
export function rawTerms(aeSq: Float32Array, z: Float32Array, rows: number, d: number): { ae: number[]; z: number[] } {
  const ae: number[] = [];
  const zz: number[] = [];
  for (let i = 0; i < rows; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < d; j++) {
      a += aeSq[i * d + j]!;
      b += z[i * d + j]! ** 2;
    }
    ae.push(a / d);
    zz.push(b / d);
  }
  return { ae, z: zz };
}

export function combineScores(aeSq: Float32Array, z: Float32Array, rows: number, layout: FeatureLayout, scale: ScoreScale): BatchScore[] {
  const d = layout.reads.length;
  const wAe = (1 - scale.zTermWeight) / (d * scale.aeReference);
  const wZ = scale.zTermWeight / (d * scale.zReference);
  const out: BatchScore[] = [];
  for (let i = 0; i < rows; i++) {
    const shares = new Float64Array(layout.sensors.length);
    let score = 0;
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      const term = wAe * aeSq[k]! + wZ * z[k]! ** 2;
      shares[layout.reads[j]!.sensor]! += term;
      score += term;
    }
    if (score > 0) for (let s = 0; s < shares.length; s++) shares[s]! /= score;
    out.push({ score, shares });
  }
  return out;
}
