// trainModel: windows of normal operation → a calibrated model folder in the registry.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { MachineWindow } from '@pdm/proto';
import type { ModelContract } from '../model/api.js';
import { combineScores, rawTerms, reconstructionErrors, type ScoreScale } from '../model/anomaly-score.js';
import { MODEL_KIND, type ContractFile, type ThresholdFile } from '../model/artifact-schemas.js';
import { writeModelFolder } from '../model/artifacts.js';
import { ensureBackend, type BackendName } from '../model/backend.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { extractFeatures, layoutOf } from '../model/features.js';
import { silentLogger, type ModelLogger } from '../model/logger.js';
import { normalizeInto, type Normalization } from '../model/normalization.js';
import { nextVersion } from '../model/registry.js';
import { buildAutoencoder, fitAutoencoder, shapeFor } from './autoencoder.js';
import { calibrateThreshold } from './calibration.js';
import { deriveContract, TrainingDataError } from './derive-contract.js';
import { fitNormalization } from './fit-normalization.js';
import { median } from './robust-stats.js';

const HOLDOUT_BLOCKS = 3;

export interface TrainOptions {
  /** Registry root: the model is written to `<outDir>/<name>/<version>/`. */
  outDir: string;
  name?: string;
  /** Default: the next integer after the model's highest integer version. */
  version?: string;
  epochs?: number;
  seed?: number;
  holdoutFraction?: number;
  /** 0 = pure autoencoder score; default MODEL_DEFAULTS.zTermWeight. */
  zTermWeight?: number;
  onProgress?: (epoch: number, loss: number) => void;
  logger?: ModelLogger;
  backend?: BackendName;
  /** Injected for reproducible createdAt in contract.json. */
  now?: () => number;
}

export interface TrainReport {
  name: string;
  version: string;
  dir: string;
  backend: string;
  contract: ModelContract;
  trainingWindows: number;
  heldBackWindows: number;
  /** Windows not used, by reason. */
  skipped: Record<string, number>;
  finalLoss: number;
  threshold: number;
  heldBackScores: number[];
}

export async function trainModel(windows: MachineWindow[], options: TrainOptions): Promise<TrainReport> {
  const logger = options.logger ?? silentLogger;
  const backend = await ensureBackend(logger, options.backend);
  const seed = options.seed ?? MODEL_DEFAULTS.seed;
  const name = options.name ?? 'anomaly';
  validateName(name, 'name');

  const selection = deriveContract(windows);
  const { contract, skipped } = selection;
  const layout = layoutOf(contract);
  const d = contract.featureNames.length;
  const rows: number[][] = [];
  const row = new Float64Array(d);
  for (const w of selection.windows) {
    const mismatch = extractFeatures(w, layout, row, 0);
    if (mismatch === null) rows.push([...row]);
    else skipped[mismatch.code] = (skipped[mismatch.code] ?? 0) + 1;
  }
  const { train, heldBack } = splitBlocks(rows, options.holdoutFraction ?? MODEL_DEFAULTS.holdoutFraction);
  if (rows.length < MODEL_DEFAULTS.minTrainingWindows || heldBack.length < 2) {
    throw new TrainingDataError(
      `${rows.length} usable windows (${heldBack.length} held back); need at least ${MODEL_DEFAULTS.minTrainingWindows} with 2 held back` +
        ` (skipped: ${JSON.stringify(skipped)})`,
    );
  }

  const normalization = fitNormalization(contract.featureNames, train);
  const zTrain = normalizeRows(normalization, train);
  const zHeld = normalizeRows(normalization, heldBack);

  const network = buildAutoencoder(shapeFor(d), seed, MODEL_DEFAULTS.l2);
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
    const { threshold, ...calibration } = calibrateThreshold(heldBackScores);
    const thresholdFile: ThresholdFile = { threshold, scale, calibration };

    const version = options.version ?? (await nextVersion(options.outDir, name));
    validateName(version, 'version');
    const dir = path.join(options.outDir, name, version);
    const contractFile: ContractFile = {
      ...contract,
      kind: MODEL_KIND,
      name,
      version,
      trainingWindows: train.length,
      heldBackWindows: heldBack.length,
      seed,
      createdAt: new Date(options.now ? options.now() : Date.now()).toISOString(),
    };
    await writeModelFolder(dir, { network, normalization, threshold: thresholdFile, contract: contractFile });
    logger.info({ name, version, dir, features: d, trainingWindows: train.length, threshold }, 'model trained');
    return {
      name,
      version,
      dir,
      backend,
      contract,
      trainingWindows: train.length,
      heldBackWindows: heldBack.length,
      skipped,
      finalLoss,
      threshold,
      heldBackScores,
    };
  } finally {
    network.dispose();
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

function validateName(value: string, what: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new TrainingDataError(`model ${what} '${value}' must match [A-Za-z0-9_.-]{1,64} and not start with '.'`);
}
