// The contract between the scoring pipeline (transport, sink, alerts) and the anomaly models.
// The pipeline depends only on these types; src/scoring/ implements Scorer with TensorFlow.js.
import type { MachineWindow } from '@pdm/proto';
import type { ModelKind } from './artifact-schemas.js';
import type { HoldReason } from './regime.js';

/** What a model was trained on; features that do not match are refused, never scored. */
export interface ModelContract {
  /** Feature names in input-vector order, e.g. "temp.mean", "vib.kurtosis". */
  featureNames: string[];
  /** Window size the features were computed over (window_end - window_start), ms. */
  windowMs: number;
  /** pdm.v1.MachineWindow.feature_version the model was trained on. */
  featureVersion: number;
}

/** When a machine's windows open and resolve an alert. */
export interface AlertRule {
  /** K: anomalous windows among the last `within` that open an alert. */
  openAfter: number;
  /** N ≥ K: how many of the machine's newest counted windows are looked at; N = K is K in a row. */
  within: number;
  /** M: consecutive normal windows that resolve an open alert. */
  resolveAfter: number;
}

export interface WindowScore {
  siteId: string;
  machineId: string;
  /** Epoch milliseconds. */
  windowStart: number;
  windowEnd: number;
  model: string;
  modelVersion: string;
  /** Anomaly score normalised by the model's training distribution. */
  score: number;
  /** Calibrated on held-back normal data: score > threshold is anomalous. */
  threshold: number;
  isAnomaly: boolean;
  /** Sensor id → its share of the score. */
  contributions: Record<string, number>;
  /**
   * The score on the scale common to every kind (model/calibrated-score.ts): 1 at the threshold, a
   * distance in threshold multiples. Always set by the scorer; absent only in windows built by hand.
   */
  calibrated?: number;
  /** A combined model (kind 'combined'): each member's own score of the window, in contract order. */
  members?: MemberWindowScore[];
  /**
   * The model's own alert rule (from its contract.json); when present it is used instead of the
   * processor's configured one.
   */
  alertRule?: AlertRule;
}

export interface MemberWindowScore {
  kind: ModelKind;
  score: number;
  threshold: number;
  calibrated: number;
  /** Sensor id → its share of this member's score. */
  contributions: Record<string, number>;
}

/**
 * Why a window was held rather than scored: the running-state gate's reasons, or `calibrating` — a
 * machine a class model's training never saw, while the model learns its level from its first windows
 * (model/robust-t2.ts learnMachine): compared with the class location it would alarm on its own level.
 */
export type HeldReason = HoldReason | 'calibrating';

export type ScoreOutcome =
  /** `shadows`: the same window scored by the model's shadow versions (recorded, never alerting). */
  | { kind: 'scored'; score: WindowScore; shadows?: WindowScore[] }
  /** The window's features do not fit the model's contract; `reason` says how (logged and counted). */
  | { kind: 'contract_mismatch'; reason: string }
  /** No model applies to this machine (none loaded yet, or none for its sensors). */
  | { kind: 'no_model' }
  /**
   * The window was held: the model's running-state gate found the machine stopped, changing speed or
   * load, or settling after either (model/regime.ts), or the model is still learning this new machine's
   * level (`calibrating`). Its features are stored; it is not decided and opens no alert.
   */
  | { kind: 'held'; reason: HeldReason };

/** What a loaded version does: serves its model's machines, serves a rollout's subset, or is scored in shadow only. */
export type ModelRole = 'serving' | 'rollout' | 'shadow';

export interface LoadedModelInfo {
  name: string;
  version: string;
  role: ModelRole;
  /** TensorFlow.js backend in use: 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  backend: string;
  /** The window size the model was trained on, ms. */
  windowMs: number;
}

/**
 * Scores machine windows. An abstract class rather than an interface so that it is also the token
 * under which NestJS injects the processor's scorer (interfaces do not exist at run time).
 */
export abstract class Scorer {
  /** Scores one machine window; concurrent calls are micro-batched into one inference. */
  abstract score(window: MachineWindow): Promise<ScoreOutcome>;
  /** Models currently loaded (empty until the registry holds one). */
  abstract loaded(): LoadedModelInfo[];
  abstract close(): Promise<void>;
}
