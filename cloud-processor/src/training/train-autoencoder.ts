// The autoencoder kind's training: feature rows of normal windows → normalisation, a fitted network and a
// threshold calibrated on held-back windows (three contiguous blocks the network never trained on).
import * as tf from '@tensorflow/tfjs';
import { combineScores, rawTerms, reconstructionErrors, type ScoreScale } from '../model/anomaly-score.js';
import type { ThresholdFile } from '../model/artifact-schemas.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import type { FeatureLayout } from '../model/features.js';
import { normalizeInto, type Normalization } from '../model/normalization.js';
import { buildAutoencoder, fitAutoencoder, shapeFor } from './autoencoder.js';
import { calibrateThreshold } from './calibration.js';
import { TrainingDataError } from './derive-contract.js';
import { fitNormalization } from './fit-normalization.js';
import { median } from '../model/robust-stats.js';

const HOLDOUT_BLOCKS = 3;

export interface AutoencoderTrainingOptions {
  seed: number;
  epochs?: number;
  holdoutFraction?: number;
  zTermWeight?: number;
  /** The share of `rows` that are independent windows (hopping windows overlap); default 1. */
  independentShare?: number;
  onProgress?: (epoch: number, loss: number) => void;
}

export interface TrainedAutoencoder {
  /** The caller owns it: dispose() once written. */
  network: tf.LayersModel;
  normalization: Normalization;
  threshold: ThresholdFile;
  trainingWindows: number;
  heldBackWindows: number;
  finalLoss: number;
  heldBackScores: number[];
}

export async function trainAutoencoder(layout: FeatureLayout, rows: number[][], options: AutoencoderTrainingOptions): Promise<TrainedAutoencoder> {
  const { featureNames } = layout.contract;
  const d = featureNames.length;
  const { train, heldBack } = splitBlocks(rows, options.holdoutFraction ?? MODEL_DEFAULTS.holdoutFraction);
  if (heldBack.length < 2) throw new TrainingDataError(`${rows.length} usable windows leave ${heldBack.length} to hold back; need at least 2`);

  const normalization = fitNormalization(featureNames, train);
  const zTrain = normalizeRows(normalization, train);
  const zHeld = normalizeRows(normalization, heldBack);

  const network = buildAutoencoder(shapeFor(d), options.seed, MODEL_DEFAULTS.l2);
  try {
    const x = tf.tensor2d(zTrain, [train.length, d]);
    let finalLoss: number;
    try {
      finalLoss = await fitAutoencoder(network, x, {
        epochs: options.epochs ?? MODEL_DEFAULTS.epochs,
        learningRate: MODEL_DEFAULTS.learningRate,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    } finally {
      x.dispose();
    }

    // References: median raw terms on the training windows, so a typical normal window scores ≈ 1.
    const trainTerms = rawTerms(reconstructionErrors(network, zTrain, train.length, d), zTrain, train.length, d);
    const scale: ScoreScale = {
      aeReference: positiveOr(median(trainTerms.ae)),
      zReference: positiveOr(median(trainTerms.z)),
      zTermWeight: options.zTermWeight ?? MODEL_DEFAULTS.zTermWeight,
    };
    const heldBackScores = combineScores(reconstructionErrors(network, zHeld, heldBack.length, d), zHeld, heldBack.length, layout, scale).map((s) => s.score);
    const { threshold, ...calibration } = calibrateThreshold(heldBackScores, { independentShare: options.independentShare ?? 1 });
    return {
      network,
      normalization,
      threshold: { threshold, scale, calibration },
      trainingWindows: train.length,
      heldBackWindows: heldBack.length,
      finalLoss,
      heldBackScores,
    };
  } catch (err) {
    network.dispose();
    throw err;
  }
}

/**
 * Holds back `fraction` of the windows as HOLDOUT_BLOCKS contiguous blocks spread over the recording.
 * Neighbouring windows are strongly alike (temperatures lag, loads wander slowly), so a window held back
 * between two training neighbours scores optimistically low; whole blocks give the calibration an honest
 * out-of-sample view while still covering the beginning, middle and end of the recording.
 */
function splitBlocks<T>(rows: T[], fraction: number): { train: T[]; heldBack: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new TrainingDataError(`holdoutFraction must be in (0, 1), got ${fraction}`);
  const n = rows.length;
  const blockLength = Math.max(1, Math.floor((n * fraction) / HOLDOUT_BLOCKS));
  const held = new Set<number>();
  for (let b = 0; b < HOLDOUT_BLOCKS; b++) {
    const start = Math.round(((b + 0.5) * n) / HOLDOUT_BLOCKS - blockLength / 2);
    for (let i = Math.max(0, start); i < Math.min(n, start + blockLength); i++) held.add(i);
  }
  return { train: rows.filter((_, i) => !held.has(i)), heldBack: rows.filter((_, i) => held.has(i)) };
}

function normalizeRows(n: Normalization, rows: readonly number[][]): Float32Array {
  const d = n.center.length;
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => normalizeInto(n, r, 0, out, i * d));
  return out;
}

/** A reference of 0 (perfect reconstruction, constant features) would divide by zero. */
function positiveOr(x: number): number {
  return x > 1e-9 ? x : 1e-9;
}
