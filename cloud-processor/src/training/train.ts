// trainModel: windows of normal operation → a model folder of the chosen kind in the registry. What every
// kind shares is here (the contract, the feature rows, the version, the folder); what differs is in
// train-autoencoder.ts and robust-t2.ts.
import path from 'node:path';
import type { MachineWindow } from '@pdm/proto';
import type { ModelContract } from '../model/api.js';
import type { ContractFile, ModelKind, RobustT2File } from '../model/artifact-schemas.js';
import { writeModelFolder, type ModelFiles } from '../model/artifacts.js';
import { ensureBackend, type BackendName } from '../model/backend.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { extractFeatures, layoutOf } from '../model/features.js';
import { silentLogger, type ModelLogger } from '../model/logger.js';
import type { RegimeGate } from '../model/regime.js';
import { nextVersion } from '../model/registry.js';
import { deriveContract, TrainingDataError, type ContractOptions } from './derive-contract.js';
import { fitAdaptiveZ } from './adaptive-z.js';
import { fitFeatureProfile } from './feature-profile.js';
import { learnRegimeGate, runningWindows } from './regime-gate.js';
import { fitRobustT2 } from './robust-t2.js';
import { trainAutoencoder } from './train-autoencoder.js';

export interface TrainOptions {
  /** Registry root: the model is written to `<outDir>/<name>/<version>/`. */
  outDir: string;
  name?: string;
  /** Default: the next integer after the model's highest integer version. */
  version?: string;
  /** The detector family (default MODEL_DEFAULTS.kind). */
  kind?: ModelKind;
  /** Autoencoder: training epochs. */
  epochs?: number;
  seed?: number;
  /** Autoencoder: share of the windows held back to calibrate the threshold. */
  holdoutFraction?: number;
  /** Autoencoder: 0 = pure autoencoder score; default MODEL_DEFAULTS.zTermWeight. */
  zTermWeight?: number;
  /**
   * The machines the model serves (contract.json `machines`): ids or `*` patterns such as `pump-*`.
   * Default: any machine whose windows carry its sensors.
   */
  machines?: string[];
  /**
   * A sensor that tells whether the machine runs (speed, current): the running-state gate watches it even
   * when the training data never shows a stop. Other state sensors are learned from stops in the data.
   * Not for adaptive-z (one slow sensor has no running state to gate).
   */
  stateSensor?: string;
  /** robust-t2: false judges every machine by the trained threshold; default: each by its own online one, never below it. */
  onlineThreshold?: boolean;
  onProgress?: (epoch: number, loss: number) => void;
  logger?: ModelLogger;
  backend?: BackendName;
  /** Injected for reproducible createdAt in contract.json. */
  now?: () => number;
}

interface TrainReportBase {
  name: string;
  version: string;
  dir: string;
  contract: ModelContract;
  trainingWindows: number;
  heldBackWindows: number;
  /** Windows not used, by reason. */
  skipped: Record<string, number>;
  /** score > threshold is anomalous. */
  threshold: number;
  /** The running-state gate written to the contract (null: none learned or declared). */
  regime: RegimeGate | null;
}

export type TrainReport = TrainReportBase &
  (
    | { kind: 'autoencoder'; backend: string; finalLoss: number; heldBackScores: number[] }
    /**
     * `fit`: how the robust fit went (windows kept, training windows above the threshold); `operatingPoint`:
     * its feature; `ownLevels`: the machines compared with a level of their own (trained on several).
     */
    | { kind: 'robust-t2'; fit: RobustT2File['fit']; operatingPoint: string | null; ownLevels: string[] }
    /** `periods`: per feature, the period found in its training series in windows (0: none). */
    | { kind: 'adaptive-z'; periods: number[] }
  );

/** The features each kind is trained on. */
const CONTRACT_OPTIONS: Record<ModelKind, ContractOptions> = {
  autoencoder: {},
  'robust-t2': { statistics: MODEL_DEFAULTS.robustT2.statistics, shapeStatistics: [] },
  // A series: every window counts, the partial one a recording ends with included (one reading is one reading).
  'adaptive-z': { statistics: MODEL_DEFAULTS.adaptiveZ.statistics, shapeStatistics: [], minCompleteWindows: Number.POSITIVE_INFINITY },
};

/**
 * How many windows' worth of time the windows cover: hopping windows (pdm train on a short recording)
 * overlap, each machine's count scaled by its usual hop over the window length.
 */
function nonOverlapping(windows: readonly MachineWindow[], windowMs: number): number {
  const starts = new Map<string, number[]>();
  for (const w of windows) {
    const key = `${w.siteId}/${w.machineId}`;
    const list = starts.get(key);
    if (list) list.push(Number(w.windowStart));
    else starts.set(key, [Number(w.windowStart)]);
  }
  let total = 0;
  for (const list of starts.values()) {
    const sorted = list.sort((a, b) => a - b);
    const steps = sorted.slice(1).map((t, i) => t - sorted[i]!).sort((a, b) => a - b);
    const hop = steps.length === 0 ? windowMs : steps[Math.floor(steps.length / 2)]!;
    total += list.length * Math.min(1, hop / windowMs);
  }
  return total;
}

export async function trainModel(windows: MachineWindow[], options: TrainOptions): Promise<TrainReport> {
  const logger = options.logger ?? silentLogger;
  const kind = options.kind ?? MODEL_DEFAULTS.kind;
  const seed = options.seed ?? MODEL_DEFAULTS.seed;
  const name = options.name ?? 'anomaly';
  validateName(name, 'name');
  if (options.machines !== undefined && (options.machines.length === 0 || options.machines.includes(''))) {
    throw new TrainingDataError(`machines must be non-empty ids or patterns, got ${JSON.stringify(options.machines)}`);
  }

  if (options.stateSensor !== undefined && kind === 'adaptive-z') {
    throw new TrainingDataError('a state sensor gates multivariate models (autoencoder, robust-t2); adaptive-z has none');
  }

  const selection = deriveContract(windows, CONTRACT_OPTIONS[kind]);
  const { contract, skipped } = selection;
  const layout = layoutOf(contract);
  // A model of normal running learns from the windows its gate lets through, as it will be scored.
  const regime = kind === 'adaptive-z' ? null : learnRegimeGate(selection.windows, layout.sensors, options.stateSensor);
  let running = selection.windows;
  if (regime !== null) {
    const gated = runningWindows(regime, selection.windows);
    running = gated.kept;
    for (const [reason, n] of Object.entries(gated.held)) if (n > 0) skipped[`held (${reason})`] = n;
  }
  const rows: number[][] = [];
  const machineOf: string[] = [];
  const windowEnds: number[] = [];
  const row = new Float64Array(contract.featureNames.length);
  for (const w of running) {
    const mismatch = extractFeatures(w, layout, row, 0);
    if (mismatch === null) {
      rows.push([...row]);
      machineOf.push(w.machineId);
      windowEnds.push(Number(w.windowEnd));
    } else skipped[mismatch.code] = (skipped[mismatch.code] ?? 0) + 1;
  }
  if (rows.length < MODEL_DEFAULTS.minTrainingWindows) {
    throw new TrainingDataError(`${rows.length} usable windows; need at least ${MODEL_DEFAULTS.minTrainingWindows} (skipped: ${JSON.stringify(skipped)})`);
  }

  // Every training row, held-back ones too: what the model takes for normal, for drift (scoring/drift.ts).
  const profile = fitFeatureProfile(contract.featureNames, rows);
  const version = options.version ?? (await nextVersion(options.outDir, name));
  validateName(version, 'version');
  const dir = path.join(options.outDir, name, version);
  const contractFile = (trainingWindows: number, heldBackWindows: number): ContractFile => ({
    ...contract,
    kind,
    name,
    version,
    trainingWindows,
    heldBackWindows,
    seed,
    createdAt: new Date(options.now ? options.now() : Date.now()).toISOString(),
    ...(options.machines !== undefined ? { machines: options.machines } : {}),
    ...(regime !== null ? { regime } : {}),
  });
  const base = { name, version, dir, contract, skipped, regime };

  if (kind === 'adaptive-z') {
    // Its series must be in time order (deriveContract keeps the windows' order; pdm train passes them as the engine closed them).
    const adaptiveZ = fitAdaptiveZ(contract.featureNames, rows, windowEnds, contract.windowMs);
    const alertRule = { ...MODEL_DEFAULTS.adaptiveZ.alertRule };
    await writeModelFolder(dir, { kind, contract: { ...contractFile(rows.length, 0), alertRule }, adaptiveZ, profile });
    logger.info({ name, version, dir, kind, features: contract.featureNames.length, trainingWindows: rows.length, threshold: adaptiveZ.threshold }, 'model trained');
    return { ...base, kind, trainingWindows: rows.length, heldBackWindows: 0, threshold: adaptiveZ.threshold, periods: adaptiveZ.features.map((f) => f.period) };
  }

  if (kind === 'robust-t2') {
    const robustT2 = fitRobustT2(contract.featureNames, rows, contract.windowMs, { independentWindows: nonOverlapping(running, contract.windowMs), machineOf, onlineThreshold: options.onlineThreshold });
    await writeModelFolder(dir, { kind, contract: contractFile(rows.length, 0), robustT2, profile });
    logger.info({ name, version, dir, kind, features: contract.featureNames.length, trainingWindows: rows.length, threshold: robustT2.threshold }, 'model trained');
    return { ...base, kind, trainingWindows: rows.length, heldBackWindows: 0, threshold: robustT2.threshold, fit: robustT2.fit, operatingPoint: robustT2.operatingPoint?.feature ?? null, ownLevels: Object.keys(robustT2.machineOffsets ?? {}) };
  }

  const backend = await ensureBackend(logger, options.backend);
  const trained = await trainAutoencoder(layout, rows, {
    seed,
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.holdoutFraction !== undefined ? { holdoutFraction: options.holdoutFraction } : {}),
    ...(options.zTermWeight !== undefined ? { zTermWeight: options.zTermWeight } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  try {
    const files: ModelFiles = {
      kind,
      contract: contractFile(trained.trainingWindows, trained.heldBackWindows),
      network: trained.network,
      normalization: trained.normalization,
      threshold: trained.threshold,
      profile,
    };
    await writeModelFolder(dir, files);
  } finally {
    trained.network.dispose();
  }
  const threshold = trained.threshold.threshold;
  logger.info({ name, version, dir, kind, features: contract.featureNames.length, trainingWindows: trained.trainingWindows, threshold }, 'model trained');
  return {
    ...base,
    kind,
    backend,
    trainingWindows: trained.trainingWindows,
    heldBackWindows: trained.heldBackWindows,
    threshold,
    finalLoss: trained.finalLoss,
    heldBackScores: trained.heldBackScores,
  };
}

function validateName(value: string, what: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new TrainingDataError(`model ${what} '${value}' must match [A-Za-z0-9_.-]{1,64} and not start with '.'`);
}
