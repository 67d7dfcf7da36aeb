// ModelScorer: the Scorer the pipeline calls for every machine-window. Windows are checked against the
// chosen model's contract on arrival (a mismatch answers at once), queued, and scored in micro-batches:
// one batch per model, scored by the model's kind (one tensor inference for an autoencoder; a T² model
// with its per-machine baselines; an adaptive-z model with its per-machine histories; a pca model window
// by window; a combined model by each of its members, joined on the calibrated scale, on which every
// score is also reported). A pca or autoencoder model that asks for it judges each machine against the
// machine's own online threshold (robust-t2 keeps its own in its baselines). The registry is polled for new model versions.
// With a state file, those per-machine states are saved periodically and on close, and restored on
// start, so a restart changes no decision.
import { every, systemClock, type Cancel, type Clock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import { Scorer, type HeldReason, type LoadedModelInfo, type ScoreOutcome, type WindowScore } from '../model/api.js';
import { activeBackend, ensureBackend, type BackendName } from '../model/backend.js';
import { calibratedScore } from '../model/calibrated-score.js';
import { MODEL_DEFAULTS } from '../model/defaults.js';
import { extractFeatures, type MismatchCode } from '../model/features.js';
import { silentLogger, type ModelLogger } from '../model/logger.js';
import type { ModelBundle } from '../model/model-bundle.js';
import type { BaselineState } from '../model/robust-t2.js';
import { machineKey } from '../shared/machine-key.js';
import { AdaptiveZScoring } from './adaptive-z-batch.js';
import type { DriftMonitor } from './drift.js';
import { scoreAutoencoderBatch } from './autoencoder-batch.js';
import { scoreCombinedBatch } from './combined-batch.js';
import type { BatchItem, KindScore } from './kind-score.js';
import { MicroBatcher } from './micro-batcher.js';
import { MachineThresholds } from './machine-thresholds.js';
import { ModelSet } from './model-set.js';
import { scorePcaBatch } from './pca-batch.js';
import { RobustT2Scoring } from './robust-t2-batch.js';
import { RunningStateGates } from './running-state-gates.js';
import { selectModel, ServingModels } from './select-model.js';
import { sensorDropout, type SensorDropout } from './sensor-dropout.js';
import { machineStateCount, restoreStates, setAside, StateFile, type StateSources } from './state-file.js';
import type { MachineStates } from './machine-states.js';

export interface ScorerOptions {
  registryDir: string;
  /** Most windows stacked into one inference (default 256). */
  maxBatch?: number;
  /** Longest a window waits for company before its batch runs (default 10 ms). */
  maxDelayMs?: number;
  /** How often the registry is checked for new versions (default 2000 ms). */
  pollMs?: number;
  logger?: ModelLogger;
  /** Timers of the batch delay and the registry poll. Default: the system clock. */
  clock?: Clock;
  backend?: BackendName;
  /** A sensor with fewer than this share of its expected readings is refused (default 0.5). */
  minCompleteness?: number;
  /** Called with how many model versions a registry check refused (broken files, a wrong contract). */
  onModelsRefused?: (count: number) => void;
  /** Called with how many lifecycle files a registry check refused (model/lifecycle.ts). */
  onLifecyclesRefused?: (count: number) => void;
  /**
   * Called at each trouble with the state file: the whole file set aside as unreadable, rows of it kept
   * aside (with how many), a save that failed — so they reach the processor's metrics, not just its log.
   */
  onStateTrouble?: (trouble: StateTrouble, count: number) => void;
  /**
   * Where the stateful kinds' per-machine states are kept across restarts (read on start, written every
   * stateSaveMs and on close). Unset: in memory only, as `pdm score` needs.
   */
  stateFile?: string;
  /** How often the state file is written (default 60 s). */
  stateSaveMs?: number;
  /** Machines silent this long before their model's newest window are forgotten (default 30 days). */
  forgetMachinesAfterMs?: number;
  /** Counts the features of every window handed to a model, for its drift (the processor's; unset: none). */
  drift?: DriftMonitor;
}

/** What went wrong with the scorer's state file: see ScorerOptions.onStateTrouble. */
export type StateTrouble = 'file_unreadable' | 'rows_unreadable' | 'save_failed';

export interface ScorerStats {
  scored: number;
  anomalies: number;
  noModel: number;
  /** Of `scored` (and `anomalies`): windows decided by a sensor's missing readings alone (sensor-dropout.ts). */
  sensorDropouts: number;
  /** Windows held, by reason: the running-state gate's, or a new machine's level being learnt. */
  held: Record<HeldReason, number>;
  mismatches: Record<MismatchCode, number>;
  batches: number;
  largestBatch: number;
  modelLoads: number;
  modelLoadFailures: number;
  /** State files found unreadable on start (set aside; every machine started afresh). */
  stateFilesUnreadable: number;
  /** Rows of the state file found unreadable on start (kept aside in it; their machines started afresh). */
  stateRowsUnreadable: number;
  /** Saves of the state file that failed (the next one tries again). */
  stateSaveFailures: number;
}

interface Pending {
  window: MachineWindow;
  bundle: ModelBundle;
  raw: Float64Array;
  resolve(outcome: ScoreOutcome): void;
  reject(err: unknown): void;
  /** Scored by a shadow version: recorded beside the serving score, not counted with it. */
  shadow?: boolean;
}

/** A started ModelScorer on `options.registryDir`. */
export async function openScorer(options: ScorerOptions): Promise<ModelScorer> {
  const scorer = new ModelScorer(options);
  await scorer.start();
  return scorer;
}

/** The registry-backed Scorer plus what operations and tests need: counters and an immediate registry check. */
export class ModelScorer extends Scorer {
  private readonly clock: Clock;
  private readonly logger: ModelLogger;
  private readonly minCompleteness: number;
  private readonly models: ModelSet;
  private readonly batcher: MicroBatcher<Pending>;
  /** The T² models' per-machine baselines. */
  private readonly robustT2 = new RobustT2Scoring();
  /** The adaptive-z models' per-machine histories. */
  private readonly adaptiveZ = new AdaptiveZScoring();
  /** The pca and autoencoder models' per-machine online thresholds (a combined model's members share its name and version, so one set per kind). */
  private readonly pcaThresholds = new MachineThresholds();
  private readonly autoencoderThresholds = new MachineThresholds();
  /** Each machine's running state, for the models with a gate. */
  private readonly gates = new RunningStateGates();
  /** Every per-machine state above, as the state file saves, restores and the registry checks forget them. */
  private readonly states: StateSources = {
    robustT2: this.robustT2.baselines,
    adaptiveZ: this.adaptiveZ.histories,
    pcaThresholds: this.pcaThresholds.states,
    autoencoderThresholds: this.autoencoderThresholds.states,
    gates: this.gates.states,
  };
  private readonly counters: ScorerStats = {
    scored: 0,
    anomalies: 0,
    noModel: 0,
    sensorDropouts: 0,
    held: { stopped: 0, transient: 0, settling: 0, calibrating: 0 },
    mismatches: { feature_version: 0, window_size: 0, missing_sensor: 0, incomplete_sensor: 0, non_finite: 0 },
    batches: 0,
    largestBatch: 0,
    modelLoads: 0,
    modelLoadFailures: 0,
    stateFilesUnreadable: 0,
    stateRowsUnreadable: 0,
    stateSaveFailures: 0,
  };
  /** The loaded bundles by role: each machine's candidates (most specific first) and their shadows. */
  private serving = new ServingModels();
  private lifecyclesRefused = 0;
  private readonly lastWarned = new Map<string, number>();
  /** Reloads run one after another: a poll and an explicit reload() must not load the same version twice. */
  private reloading: Promise<void> = Promise.resolve();
  private cancelPoll: Cancel | undefined;
  /** The state file, once start() has read it: a scorer that never read it must not overwrite it. */
  private stateFile: StateFile | undefined;
  private cancelSaves: Cancel | undefined;
  private closed = false;

  constructor(private readonly options: ScorerOptions) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.minCompleteness = options.minCompleteness ?? MODEL_DEFAULTS.minCompleteness;
    this.models = new ModelSet(options.registryDir, this.logger);
    this.batcher = new MicroBatcher<Pending>({
      maxBatch: options.maxBatch ?? MODEL_DEFAULTS.scorer.maxBatch,
      maxDelayMs: options.maxDelayMs ?? MODEL_DEFAULTS.scorer.maxDelayMs,
      clock: this.clock,
      run: (batch) => this.runBatch(batch),
    });
  }

  /**
   * Selects the TF.js backend, restores the machines' states, loads the registry's models and starts
   * polling it for new versions (and saving the states). Restored states of a model version the registry
   * no longer holds are dropped by that first registry check, like those of any version removed.
   */
  async start(): Promise<void> {
    await ensureBackend(this.logger, this.options.backend);
    await this.restoreStates();
    await this.reload();
    this.schedulePoll();
    if (this.options.stateFile !== undefined) {
      this.cancelSaves = every(this.clock, this.options.stateSaveMs ?? MODEL_DEFAULTS.scorer.stateSaveMs, () => this.saveStates());
    }
  }

  score(window: MachineWindow): Promise<ScoreOutcome> {
    if (this.closed) return Promise.reject(new Error('scorer is closed'));
    const selection = selectModel(window, this.serving.forMachine(window.machineId));
    if (selection.kind === 'no_model') {
      this.counters.noModel++;
      return Promise.resolve({ kind: 'no_model' });
    }
    if (selection.kind === 'missing_sensors') {
      const list = selection.missing.map((id) => `'${id}'`).join(', ');
      return Promise.resolve(this.mismatch(window, selection.bundle, 'missing_sensor', `missing sensor ${list}: no readings in this window (silent sensor?)`));
    }
    const { bundle } = selection;
    const hold = this.gates.hold(window, bundle);
    if (hold !== null) {
      this.counters.held[hold]++;
      return Promise.resolve({ kind: 'held', reason: hold });
    }
    const raw = new Float64Array(bundle.layout.reads.length);
    const problem = extractFeatures(window, bundle.layout, raw, 0, this.minCompleteness);
    if (problem !== null) {
      const dropout = problem.code === 'incomplete_sensor' ? sensorDropout(window, bundle.layout, this.minCompleteness) : null;
      return Promise.resolve(dropout !== null ? this.dropped(window, bundle, dropout, problem.reason) : this.mismatch(window, bundle, problem.code, problem.reason));
    }
    this.options.drift?.observe(bundle, raw);
    const scored = new Promise<ScoreOutcome>((resolve, reject) => this.batcher.add({ window, bundle, raw, resolve, reject }));
    const shadows = this.serving.shadowsOf(bundle);
    return shadows.length === 0 ? scored : this.withShadows(window, scored, shadows);
  }

  /**
   * The serving version's outcome with its shadow versions' scores of the same window. A shadow goes
   * through its own running-state gate and per-machine state (both kept by model version); a window it
   * holds or whose features do not fit it, or an inference it fails (logged), leaves only it out.
   */
  private async withShadows(window: MachineWindow, scored: Promise<ScoreOutcome>, shadows: readonly ModelBundle[]): Promise<ScoreOutcome> {
    const pending = shadows.map((shadow) => this.scoreShadow(window, shadow));
    const outcome = await scored;
    const scores = (await Promise.all(pending)).filter((s) => s !== undefined);
    return outcome.kind === 'scored' ? { ...outcome, shadows: scores } : outcome;
  }

  private scoreShadow(window: MachineWindow, bundle: ModelBundle): Promise<WindowScore | undefined> {
    if (this.gates.hold(window, bundle) !== null) return Promise.resolve(undefined);
    const raw = new Float64Array(bundle.layout.reads.length);
    if (extractFeatures(window, bundle.layout, raw, 0, this.minCompleteness) !== null) return Promise.resolve(undefined);
    return new Promise<ScoreOutcome>((resolve, reject) => this.batcher.add({ window, bundle, raw, resolve, reject, shadow: true })).then(
      (outcome) => (outcome.kind === 'scored' ? outcome.score : undefined),
      () => undefined, // scoreGroup logged it
    );
  }

  loaded(): LoadedModelInfo[] {
    const backend = activeBackend();
    return this.serving.all().map(({ bundle, role }) => ({ name: bundle.info.name, version: bundle.info.version, role, backend, windowMs: bundle.info.windowMs }));
  }

  stats(): ScorerStats {
    return structuredClone(this.counters);
  }

  /** The slow baseline a robust-t2 model scores `machineId` against now (undefined before its first window or for other kinds). */
  baselineOf(model: string, version: string, siteId: string, machineId: string): Readonly<BaselineState> | undefined {
    return this.robustT2.baselines.peek(model, version, siteId, machineId);
  }

  /** Scores the windows waiting for their batch now, without waiting for more. */
  flush(): void {
    this.batcher.flush();
  }

  /** Checks the registry now (the poll timer calls this too). */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .catch(() => undefined)
      .then(async () => {
        const serveCurrent = () => (this.serving = new ServingModels(this.models.served()));
        await this.models.refresh(() => {
          // In the turn that disposes the retired versions, before it: no window picks one any more (a
          // window arriving before this reload's own continuation did, and failed on its disposed
          // network), and the windows already waiting for one are scored now.
          serveCurrent();
          this.batcher.flush();
        });
        serveCurrent();
        const silence = this.options.forgetMachinesAfterMs ?? MODEL_DEFAULTS.scorer.forgetMachinesAfterMs;
        // A registry that lists no version at all is taken for one not there right now (a volume not
        // mounted yet, or dropped): the per-machine states wait for it rather than go.
        const listed = this.models.inRegistry();
        for (const states of Object.values(this.states) as MachineStates<unknown>[]) {
          if (listed.length > 0) states.retainOnly(listed, this.serving.all().map(({ bundle }) => bundle.info));
          states.forgetSilent(silence, this.clock.now());
        }
        this.counters.modelLoads = this.models.loads;
        const refused = this.models.loadFailures - this.counters.modelLoadFailures;
        this.counters.modelLoadFailures = this.models.loadFailures;
        if (refused > 0) this.options.onModelsRefused?.(refused);
        const lifecyclesRefused = this.models.lifecyclesRefused - this.lifecyclesRefused;
        this.lifecyclesRefused = this.models.lifecyclesRefused;
        if (lifecyclesRefused > 0) this.options.onLifecyclesRefused?.(lifecyclesRefused);
      });
    return this.reloading;
  }

  /** The next registry check, pollMs after the previous one ended; none after close(). */
  private schedulePoll(): void {
    this.cancelPoll = this.clock.schedule(() => {
      void this.reload()
        .catch((err: unknown) => this.logger.error({ err: (err as Error).message, registry: this.options.registryDir }, 'registry poll failed'))
        .finally(() => {
          if (!this.closed) this.schedulePoll();
        });
    }, this.options.pollMs ?? MODEL_DEFAULTS.scorer.pollMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelPoll?.();
    this.cancelSaves?.();
    await this.reloading.catch(() => undefined);
    this.batcher.flush();
    this.saveStates();
    this.stateFile?.close();
    this.models.dispose();
    this.serving = new ServingModels();
  }

  /**
   * Reads the state file, if any. A row that cannot be read is kept aside in it and its machine starts
   * afresh; a file that cannot be read is set aside and every machine starts afresh: a state file never
   * stops scoring.
   */
  private async restoreStates(): Promise<void> {
    const file = this.options.stateFile;
    if (file === undefined) return;
    try {
      const { stateFile, state, migrated, keptAside, keepAsideFailed } = StateFile.open(file, this.clock.now());
      this.stateFile = stateFile;
      restoreStates(this.states, state);
      for (const { kind, model, version, siteId, machineId, reason } of keptAside) {
        const where = keepAsideFailed === undefined ? 'kept aside in machine_state_unreadable' : `NOT kept aside (${keepAsideFailed}): its next save overwrites it`;
        this.logger.warn({ file, kind, model, version, machine: machineKey({ siteId, machineId }), reason }, `machine state unreadable, ${where}; this machine starts afresh`);
      }
      this.counters.stateRowsUnreadable += keptAside.length;
      if (keptAside.length > 0) this.options.onStateTrouble?.('rows_unreadable', keptAside.length);
      this.logger.info({ file, machines: machineStateCount(state), keptAside: keptAside.length, migrated }, 'machine states restored');
    } catch (err) {
      this.counters.stateFilesUnreadable++;
      this.options.onStateTrouble?.('file_unreadable', 1);
      const aside = await setAside(file, this.clock.now()).catch((renameErr: unknown) => `not moved: ${(renameErr as Error).message}`);
      this.stateFile = new StateFile(file);
      this.logger.error({ file, err: (err as Error).message, aside }, 'state file unreadable, set aside; every machine starts afresh');
    }
  }

  /**
   * Writes the states of the machines scored since the previous save, between two batches (every
   * machine at the same point); a failure is logged and counted, and the next save writes every machine.
   */
  private saveStates(): void {
    const stateFile = this.stateFile;
    if (stateFile === undefined) return;
    try {
      const { written, deleted } = stateFile.save(this.states, this.clock.now());
      this.logger.debug({ file: stateFile.file, written, deleted }, 'machine states saved');
    } catch (err) {
      this.counters.stateSaveFailures++;
      this.options.onStateTrouble?.('save_failed', 1);
      this.logger.error({ file: stateFile.file, err: (err as Error).message }, 'saving the machine states failed');
    }
  }

  private runBatch(batch: Pending[]): void {
    this.counters.batches++;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    const groups = new Map<ModelBundle, Pending[]>();
    for (const p of batch) {
      let group = groups.get(p.bundle);
      if (group === undefined) groups.set(p.bundle, (group = []));
      group.push(p);
    }
    for (const [bundle, group] of groups) this.scoreGroup(bundle, group);
  }

  private scoreGroup(bundle: ModelBundle, group: Pending[]): void {
    try {
      const scores: KindScore[] = this.scoreKind(bundle, group);
      group.forEach((p, i) => {
        const { score, threshold, shares, calibrating, members } = scores[i]!;
        if (calibrating) {
          // Still learning this machine's level: the score is against another level, so no decision.
          if (!p.shadow) this.counters.held.calibrating++;
          p.resolve({ kind: 'held', reason: 'calibrating' });
          return;
        }
        const result: WindowScore = {
          ...windowScoreOf(p.window, bundle, score, threshold, shares, calibratedScore(bundle.kind, score, threshold)),
          ...(members && {
            members: members.map((m) => ({ kind: m.kind, score: m.score, threshold: m.threshold, calibrated: calibratedScore(m.kind, m.score, m.threshold), contributions: contributionsOf(bundle, m.shares) })),
          }),
        };
        if (!p.shadow) {
          this.counters.scored++;
          if (result.isAnomaly) this.counters.anomalies++;
        }
        p.resolve({ kind: 'scored', score: result });
      });
    } catch (err) {
      this.logger.error({ model: bundle.info.name, version: bundle.info.version, err: (err as Error).message }, 'inference failed');
      for (const p of group) p.reject(err);
    }
  }

  private scoreKind(bundle: ModelBundle, items: readonly BatchItem[]): KindScore[] {
    switch (bundle.kind) {
      case 'autoencoder': {
        const scores = scoreAutoencoderBatch(bundle, items);
        const spec = bundle.threshold.onlineThreshold;
        return spec === undefined ? scores : this.autoencoderThresholds.judge(bundle.info, spec, items, scores);
      }
      case 'robust-t2':
        return this.robustT2.scoreBatch(bundle, items);
      case 'adaptive-z':
        return this.adaptiveZ.scoreBatch(bundle, items);
      case 'pca': {
        const scores = scorePcaBatch(bundle, items);
        const spec = bundle.model.onlineThreshold;
        return spec === undefined ? scores : this.pcaThresholds.judge(bundle.info, spec, items, scores);
      }
      case 'combined':
        return scoreCombinedBatch(bundle, items, (member, memberItems) => this.scoreKind(member, memberItems));
    }
  }

  /** A window one of whose sensors dropped out (sensor-dropout.ts): anomalous by that alone, the sensor to blame. */
  private dropped(window: MachineWindow, bundle: ModelBundle, dropout: SensorDropout, detail: string): ScoreOutcome {
    this.counters.scored++;
    this.counters.anomalies++;
    this.counters.sensorDropouts++;
    this.warnOnce(window, 'incomplete_sensor', () => ({ machine: window.machineId, sensor: dropout.sensor, reason: detail }), 'sensor dropping out: window anomalous by its missing readings');
    const shares = Float64Array.from(bundle.layout.sensors, (sensor) => (sensor === dropout.sensor ? 1 : 0));
    // Threshold 1 and the score its multiple already: the calibrated scale is the score itself.
    return { kind: 'scored', score: windowScoreOf(window, bundle, dropout.score, 1, shares, dropout.score) };
  }

  private mismatch(window: MachineWindow, bundle: ModelBundle, code: MismatchCode, detail: string): ScoreOutcome {
    this.counters.mismatches[code]++;
    const reason = `model ${bundle.info.name}@${bundle.info.version}: ${detail}`;
    this.warnOnce(window, code, () => ({ machine: window.machineId, code, reason }), 'window does not fit the model contract; not scored');
    return { kind: 'contract_mismatch', reason };
  }

  /** One warning per machine and code per interval; the counters see every one. */
  private warnOnce(window: MachineWindow, code: MismatchCode, fields: () => Record<string, unknown>, message: string): void {
    const key = `${window.machineId}\u0000${code}`;
    const now = this.clock.now();
    const last = this.lastWarned.get(key);
    if (last === undefined || now - last >= MODEL_DEFAULTS.scorer.mismatchLogIntervalMs) {
      this.lastWarned.set(key, now);
      this.logger.warn(fields(), message);
    }
  }
}

/** The window's score by `bundle`, anomalous above `threshold`, blamed on the sensors by `shares` (model sensor order). */
function windowScoreOf(window: MachineWindow, bundle: ModelBundle, score: number, threshold: number, shares: Float64Array, calibrated: number): WindowScore {
  return {
    siteId: window.siteId,
    machineId: window.machineId,
    windowStart: Number(window.windowStart),
    windowEnd: Number(window.windowEnd),
    model: bundle.info.name,
    modelVersion: bundle.info.version,
    score,
    threshold,
    isAnomaly: score > threshold,
    contributions: contributionsOf(bundle, shares),
    calibrated,
    ...(bundle.info.alertRule ? { alertRule: bundle.info.alertRule } : {}),
  };
}

/** Sensor id → its share, from shares in the model's sensor order. */
function contributionsOf(bundle: ModelBundle, shares: Float64Array): Record<string, number> {
  const contributions: Record<string, number> = {};
  bundle.layout.sensors.forEach((id, s) => (contributions[id] = shares[s]!));
  return contributions;
}
