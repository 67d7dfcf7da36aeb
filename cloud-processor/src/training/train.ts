// trainModel: windows of normal operation → a model folder of the chosen kind in the registry. What every
// kind shares is here (the contract, the feature rows, the version, the folder); what differs is in
// train-autoencoder.ts, robust-t2.ts, adaptive-z.ts and pca.ts. A combined kind fits each member on its
// own features of the same windows, behind the first member's running-state gate, into one folder.
import path from 'node:path';
import type { MachineWindow } from '@pdm/proto';
import type { AlertRule, ModelContract } from '../model/api.js';
import type { CombineRule, ContractFile, ModelKind, PcaFile, RobustT2File } from '../model/artifact-schemas.js';
import { writeModelFolder, type MemberFiles, type ModelFiles } from '../model/artifacts.js';
import { ensureBackend, type BackendName } from '../model/backend.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import type { CombinedKind } from '../model/combined.js';
import { extractFeatures, layoutOf, type FeatureLayout } from '../model/features.js';
import { silentLogger, type ModelLogger } from '../model/logger.js';
import { onlineThresholdSpec, type OnlineThresholdSpec } from '../model/online-threshold.js';
import type { RegimeGate } from '../model/regime.js';
import { nextVersion } from '../model/registry.js';
import { deriveContract, TrainingDataError, type ContractOptions } from './derive-contract.js';
import { fitAdaptiveZ } from './adaptive-z.js';
import { fitFeatureProfile } from './feature-profile.js';
import { fitPca } from './pca.js';
import { learnRegimeGate, runningWindows } from './regime-gate.js';
import { fitRobustT2 } from './robust-t2.js';
import { trainAutoencoder } from './train-autoencoder.js';
import { machineKey } from '../shared/machine-key.js';

export interface TrainOptions {
  /** Registry root: the model is written to `<outDir>/<name>/<version>/`. */
  outDir: string;
  name?: string;
  /** Default: the next integer after the model's highest integer version. */
  version?: string;
  /** The detector family, or several combined (model/combined.ts); default MODEL_DEFAULTS.kind. */
  kind?: ModelKind | CombinedKind;
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
  /** robust-t2, pca, autoencoder: false judges every machine by the trained threshold; default: each by its own online one, never below it. */
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
  /** Sensors left out of the model: in too few of the windows (the share they were in). */
  leftOutSensors: { sensor: string; share: number }[];
  /** score > threshold is anomalous. */
  threshold: number;
  /** The running-state gate written to the contract (null: none learned or declared). */
  regime: RegimeGate | null;
}

/** What training one detector family tells besides what every model does. */
export type MemberReport =
  | { kind: 'autoencoder'; backend: string; finalLoss: number; heldBackScores: number[] }
  /**
   * `fit`: how the robust fit went (windows kept, training windows above the threshold); `operatingPoint`:
   * its feature; `ownLevels`: the machines compared with a level of their own (trained on several);
   * `tauMs`: the slow per-machine baseline's time constant, null for a fixed location (long training).
   */
  | { kind: 'robust-t2'; fit: RobustT2File['fit']; operatingPoint: string | null; ownLevels: string[]; tauMs: number | null }
  /** `periods`: per feature, the period found in its training series in windows (0: none). */
  | { kind: 'adaptive-z'; periods: number[] }
  /**
   * `fit`: how the robust fit went (windows kept, the variance the components carry, training windows above
   * the threshold); `components`: how many were kept of `features`; `t2Limit`, `qLimit`: the two limits.
   */
  | { kind: 'pca'; fit: PcaFile['fit']; components: number; features: number; t2Limit: number; qLimit: number };

export type TrainReport = TrainReportBase &
  (
    | MemberReport
    /** A combined model (threshold 1 on the calibrated scale): each member's report, features, windows and own threshold. */
    | { kind: 'combined'; combine: CombineRule; members: (MemberReport & { featureNames: string[]; trainingWindows: number; heldBackWindows: number; threshold: number })[] }
  );

/** The features each kind is trained on. */
const CONTRACT_OPTIONS: Record<ModelKind, ContractOptions> = {
  autoencoder: {},
  'robust-t2': { statistics: MODEL_DEFAULTS.robustT2.statistics, shapeStatistics: [] },
  // A series: every window counts, the partial one a recording ends with included (one reading is one reading).
  'adaptive-z': { statistics: MODEL_DEFAULTS.adaptiveZ.statistics, shapeStatistics: [], minCompleteWindows: Number.POSITIVE_INFINITY },
  // robust-t2's features: the same windows, another model of them.
  pca: { statistics: MODEL_DEFAULTS.robustT2.statistics, shapeStatistics: [] },
};

/**
 * How many windows' worth of time the windows cover: hopping windows (pdm train on a short recording)
 * overlap, each machine's count scaled by its usual hop over the window length.
 */
function nonOverlapping(windows: readonly MachineWindow[], windowMs: number): number {
  const starts = new Map<string, number[]>();
  for (const w of windows) {
    const key = machineKey(w);
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

/** A model's features and the rows it learns from: what one kind's training starts with. */
interface Prepared {
  contract: ModelContract;
  layout: FeatureLayout;
  skipped: Record<string, number>;
  leftOutSensors: { sensor: string; share: number }[];
  regime: RegimeGate | null;
  /** The windows that pass the gate, in input order. */
  running: MachineWindow[];
  rows: number[][];
  machineOf: string[];
  windowEnds: number[];
  /** How many windows' worth of time the rows cover (hopping windows overlap: nonOverlapping). */
  independentWindows: number;
}

/**
 * The contract of `kind`'s features, its running-state gate (learned, none, or one given: a combined
 * model's members run behind its primary's), and the feature rows of the windows the gate lets through.
 */
function prepare(windows: MachineWindow[], kind: ModelKind, gate: 'learn' | RegimeGate | null, stateSensor: string | undefined): Prepared {
  const selection = deriveContract(windows, CONTRACT_OPTIONS[kind]);
  const { contract, skipped, leftOutSensors } = selection;
  const layout = layoutOf(contract);
  // A model of normal running learns from the windows its gate lets through, as it will be scored.
  const regime = gate === 'learn' ? learnRegimeGate(selection.windows, layout.sensors, stateSensor) : gate;
  let running = selection.windows;
  if (regime !== null) {
    const gatedWindows = runningWindows(regime, selection.windows);
    running = gatedWindows.kept;
    for (const [reason, n] of Object.entries(gatedWindows.held)) if (n > 0) skipped[`held (${reason})`] = n;
  }
  const rows: number[][] = [];
  const machineOf: string[] = [];
  const windowEnds: number[] = [];
  const used: MachineWindow[] = [];
  const row = new Float64Array(contract.featureNames.length);
  for (const w of running) {
    const mismatch = extractFeatures(w, layout, row, 0);
    if (mismatch === null) {
      used.push(w);
      rows.push([...row]);
      machineOf.push(w.machineId);
      windowEnds.push(Number(w.windowEnd));
    } else skipped[mismatch.code] = (skipped[mismatch.code] ?? 0) + 1;
  }
  // Counted in time, not in windows: hopping windows of a 40 s recording are 31 windows but 3 windows' worth of data.
  const independentWindows = nonOverlapping(used, contract.windowMs);
  if (rows.length < MODEL_DEFAULTS.minTrainingWindows || independentWindows < MODEL_DEFAULTS.minTrainingWindows) {
    const overlap = independentWindows < rows.length ? ` (${Math.floor(independentWindows)} windows' worth of time: they overlap)` : '';
    throw new TrainingDataError(`${rows.length} usable windows${overlap}; need at least ${MODEL_DEFAULTS.minTrainingWindows} (skipped: ${JSON.stringify(skipped)})`);
  }
  return { contract, layout, skipped, leftOutSensors, regime, running, rows, machineOf, windowEnds, independentWindows };
}

/**
 * A stateless kind's `onlineThreshold` (pca, autoencoder: each machine's own threshold, from `trained` up,
 * as robust-t2's fit writes its own), unless the options ask for the trained threshold for every machine.
 */
function onlineThresholdFrom(trained: number, options: TrainOptions): { onlineThreshold?: OnlineThresholdSpec } {
  return options.onlineThreshold === false ? {} : { onlineThreshold: onlineThresholdSpec(trained) };
}

/** One detector family fitted: its artifacts, what its contract says of it, and its part of the report. */
interface Fitted {
  files: MemberFiles;
  trainingWindows: number;
  heldBackWindows: number;
  threshold: number;
  alertRule?: AlertRule;
  report: MemberReport;
  /** Frees what the artifacts hold outside the JS heap, once written. */
  dispose(): void;
}

async function fitKind(kind: ModelKind, prepared: Prepared, options: TrainOptions, seed: number, logger: ModelLogger): Promise<Fitted> {
  const { contract, rows } = prepared;
  if (kind === 'adaptive-z') {
    // Its series must be in time order (deriveContract keeps the windows' order; pdm train passes them as the engine closed them).
    const adaptiveZ = fitAdaptiveZ(contract.featureNames, rows, prepared.windowEnds, contract.windowMs);
    return {
      files: { kind, adaptiveZ },
      trainingWindows: rows.length,
      heldBackWindows: 0,
      threshold: adaptiveZ.threshold,
      alertRule: { ...MODEL_DEFAULTS.adaptiveZ.alertRule },
      report: { kind, periods: adaptiveZ.features.map((f) => f.period) },
      dispose: () => undefined,
    };
  }
  const { independentWindows } = prepared;
  if (kind === 'robust-t2') {
    const robustT2 = fitRobustT2(contract.featureNames, rows, contract.windowMs, { independentWindows, machineOf: prepared.machineOf, onlineThreshold: options.onlineThreshold });
    return {
      files: { kind, robustT2 },
      trainingWindows: rows.length,
      heldBackWindows: 0,
      threshold: robustT2.threshold,
      report: { kind, fit: robustT2.fit, operatingPoint: robustT2.operatingPoint?.feature ?? null, ownLevels: Object.keys(robustT2.machineOffsets ?? {}), tauMs: robustT2.tauMs },
      dispose: () => undefined,
    };
  }
  if (kind === 'pca') {
    // pca has no per-machine levels (training/pca.ts): pooled, the offsets between machines would take a
    // principal component and a fault along them would go unseen.
    const machines = [...new Set(prepared.machineOf)];
    if (machines.length > 1) {
      throw new TrainingDataError(
        `a pca model learns one machine's normal, and these windows are of ${machines.length} (${machines.slice(0, 5).join(', ')}${machines.length > 5 ? ', …' : ''}): the differences between their levels would become a principal component and hide a fault along it. Train one pca model per machine (each scoped to it with machines / pdm train --scope), or robust-t2, which compares each machine with its own level`,
      );
    }
    const pca = { ...fitPca(contract.featureNames, rows, { independentWindows }), ...onlineThresholdFrom(1, options) };
    return {
      files: { kind, pca },
      trainingWindows: rows.length,
      heldBackWindows: 0,
      // The score is max(T²/T²_lim, Q/Q_lim) (model/pca.ts): its threshold is 1.
      threshold: 1,
      report: { kind, fit: pca.fit, components: pca.components.length, features: pca.featureNames.length, t2Limit: pca.t2Limit, qLimit: pca.qLimit },
      dispose: () => undefined,
    };
  }
  const backend = await ensureBackend(logger, options.backend);
  const trained = await trainAutoencoder(prepared.layout, rows, {
    seed,
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.holdoutFraction !== undefined ? { holdoutFraction: options.holdoutFraction } : {}),
    ...(options.zTermWeight !== undefined ? { zTermWeight: options.zTermWeight } : {}),
    independentShare: independentWindows / rows.length,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return {
    files: { kind, network: trained.network, normalization: trained.normalization, threshold: { ...trained.threshold, ...onlineThresholdFrom(trained.threshold.threshold, options) } },
    trainingWindows: trained.trainingWindows,
    heldBackWindows: trained.heldBackWindows,
    threshold: trained.threshold.threshold,
    report: { kind, backend, finalLoss: trained.finalLoss, heldBackScores: trained.heldBackScores },
    dispose: () => trained.network.dispose(),
  };
}

export async function trainModel(windows: MachineWindow[], options: TrainOptions): Promise<TrainReport> {
  const logger = options.logger ?? silentLogger;
  const kind = options.kind ?? MODEL_DEFAULTS.kind;
  const members = typeof kind === 'string' ? [kind] : kind.members;
  const seed = options.seed ?? MODEL_DEFAULTS.seed;
  const name = options.name ?? 'anomaly';
  validateName(name, 'name');
  if (options.machines !== undefined && (options.machines.length === 0 || options.machines.includes(''))) {
    throw new TrainingDataError(`machines must be non-empty ids or patterns, got ${JSON.stringify(options.machines)}`);
  }
  // One slow sensor has no running state to gate, and a gate would cut holes in adaptive-z's series.
  const gated = !members.includes('adaptive-z');
  if (options.stateSensor !== undefined && !gated) {
    throw new TrainingDataError('a state sensor gates multivariate models (autoencoder, robust-t2, pca); adaptive-z has none');
  }

  const primary = prepare(windows, members[0]!, gated ? 'learn' : null, options.stateSensor);
  const prepared = [primary, ...members.slice(1).map((member) => prepare(windows, member, primary.regime, options.stateSensor))];
  const other = prepared.find((p) => p.contract.windowMs !== primary.contract.windowMs || p.contract.featureVersion !== primary.contract.featureVersion);
  if (other !== undefined) throw new TrainingDataError(`the members' windows differ (${other.contract.windowMs} ms against ${primary.contract.windowMs} ms): train them on one window size`);
  const featureNames = [...new Set(prepared.flatMap((p) => p.contract.featureNames))];
  const contract: ModelContract = { ...primary.contract, featureNames };
  // Every training row, held-back ones too: what the model takes for normal, for drift (scoring/drift.ts).
  const profile = fitFeatureProfile(featureNames, typeof kind === 'string' ? primary.rows : featureRows(layoutOf(contract), primary.running));
  const version = options.version ?? (await nextVersion(options.outDir, name));
  validateName(version, 'version');
  const dir = path.join(options.outDir, name, version);
  const { regime, skipped, leftOutSensors } = primary;

  const fitted: Fitted[] = [];
  try {
    for (const [m, member] of members.entries()) fitted.push(await fitKind(member, prepared[m]!, options, seed, logger));
    const head = fitted[0]!;
    const contractFile: ContractFile = {
      ...contract,
      kind: typeof kind === 'string' ? kind : 'combined',
      name,
      version,
      trainingWindows: head.trainingWindows,
      heldBackWindows: head.heldBackWindows,
      seed,
      createdAt: new Date(options.now ? options.now() : Date.now()).toISOString(),
      ...(head.alertRule !== undefined ? { alertRule: head.alertRule } : {}),
      ...(options.machines !== undefined ? { machines: options.machines } : {}),
      ...(regime !== null ? { regime } : {}),
      ...(typeof kind !== 'string' && { members: members.map((member, m) => ({ kind: member, featureNames: prepared[m]!.contract.featureNames })), combine: kind.combine }),
    };
    const files: ModelFiles = typeof kind === 'string' ? { ...head.files, contract: contractFile, profile } : { kind: 'combined', members: fitted.map((f) => f.files), contract: contractFile, profile };
    await writeModelFolder(dir, files);
    // A combined model's threshold is 1 on the calibrated scale (model/calibrated-score.ts).
    const threshold = typeof kind === 'string' ? head.threshold : 1;
    logger.info({ name, version, dir, kind: contractFile.kind, features: featureNames.length, trainingWindows: head.trainingWindows, threshold }, 'model trained');
    const base = { name, version, dir, contract, skipped, leftOutSensors, regime, trainingWindows: head.trainingWindows, heldBackWindows: head.heldBackWindows, threshold };
    if (typeof kind === 'string') return { ...base, ...head.report };
    return {
      ...base,
      kind: 'combined',
      combine: kind.combine,
      members: fitted.map((f, m) => ({ ...f.report, featureNames: prepared[m]!.contract.featureNames, trainingWindows: f.trainingWindows, heldBackWindows: f.heldBackWindows, threshold: f.threshold })),
    };
  } finally {
    for (const f of fitted) f.dispose();
  }
}

/** The rows of `layout`'s features in the windows that carry them. */
function featureRows(layout: FeatureLayout, windows: readonly MachineWindow[]): number[][] {
  const rows: number[][] = [];
  const row = new Float64Array(layout.reads.length);
  for (const w of windows) if (extractFeatures(w, layout, row, 0) === null) rows.push([...row]);
  return rows;
}

function validateName(value: string, what: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(value)) throw new TrainingDataError(`model ${what} '${value}' must match [A-Za-z0-9_.-]{1,64} and not start with '.'`);
}
