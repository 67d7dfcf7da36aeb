// openScorer: the Scorer the pipeline calls for every machine-window. Windows are checked against the
// chosen model's contract on arrival (a mismatch answers at once), queued, and scored in micro-batches:
// one tensor inference per model per batch.
import type { MachineWindow } from '@pdm/proto';
import type { LoadedModelInfo, ScoreOutcome, Scorer, WindowScore } from './api.js';
import { activeBackend, ensureBackend } from './backend.js';
import type { BackendName } from './backend.js';
import { systemClock } from './clock.js';
import type { SchedulerClock } from './clock.js';
import { MODEL_DEFAULTS } from './defaults.js';
import { extractFeatures } from './features.js';
import type { MismatchCode } from './features.js';
import type { ModelLogger } from './logger.js';
import { MicroBatcher } from './micro-batcher.js';
import type { ModelBundle } from './model-bundle.js';
import { ModelSet } from './model-set.js';
import { normalizeInto } from './normalizer.js';
import { combineScores, reconstructionErrors } from './scoring.js';
import { bySpecificity, selectModel } from './select-model.js';
import { silentLogger } from './silent-logger.js';

export interface ScorerOptions {
  registryDir: string;
  /** Most windows stacked into one inference (default 256). */
  maxBatch?: number;
  /** Longest a window waits for company before its batch runs (default 10 ms). */
  maxDelayMs?: number;
  /** How often the registry is checked for new versions (default 2000 ms). */
  pollMs?: number;
  logger?: ModelLogger;
  clock?: SchedulerClock;
  backend?: BackendName;
  /** A sensor with fewer than this share of its expected readings is refused (default 0.5). */
  minCompleteness?: number;
  /** Called with how many model versions a registry check refused (broken files, a wrong contract). */
  onModelsRefused?: (count: number) => void;
}

export interface ScorerStats {
  scored: number;
  anomalies: number;
  noModel: number;
  mismatches: Record<MismatchCode, number>;
  batches: number;
  largestBatch: number;
  modelLoads: number;
  modelLoadFailures: number;
}

/** The Scorer plus what operations and tests need: counters and an immediate registry check. */
export interface ModelScorer extends Scorer {
  stats(): ScorerStats;
  /** Checks the registry now (the poll timer calls this too). */
  reload(): Promise<void>;
}

interface Pending {
  window: MachineWindow;
  bundle: ModelBundle;
  raw: Float64Array;
  resolve(outcome: ScoreOutcome): void;
  reject(err: unknown): void;
}

export async function openScorer(options: ScorerOptions): Promise<ModelScorer> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const defaults = MODEL_DEFAULTS.scorer;
  const pollMs = options.pollMs ?? defaults.pollMs;
  const minCompleteness = options.minCompleteness ?? MODEL_DEFAULTS.minCompleteness;
  await ensureBackend(logger, options.backend);

  const counters: ScorerStats = {
    scored: 0,
    anomalies: 0,
    noModel: 0,
    mismatches: { feature_version: 0, window_size: 0, missing_sensor: 0, incomplete_sensor: 0, non_finite: 0 },
    batches: 0,
    largestBatch: 0,
    modelLoads: 0,
    modelLoadFailures: 0,
  };
  const models = new ModelSet(options.registryDir, logger);
  let ordered: ModelBundle[] = [];
  const lastWarned = new Map<string, number>();

  const batcher = new MicroBatcher<Pending>({
    maxBatch: options.maxBatch ?? defaults.maxBatch,
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    clock,
    run: (batch) => {
      counters.batches++;
      counters.largestBatch = Math.max(counters.largestBatch, batch.length);
      const groups = new Map<ModelBundle, Pending[]>();
      for (const p of batch) {
        let group = groups.get(p.bundle);
        if (group === undefined) groups.set(p.bundle, (group = []));
        group.push(p);
      }
      for (const [bundle, group] of groups) scoreGroup(bundle, group);
    },
  });

  function scoreGroup(bundle: ModelBundle, group: Pending[]): void {
    try {
      const d = bundle.layout.reads.length;
      const z = new Float32Array(group.length * d);
      group.forEach((p, i) => normalizeInto(bundle.normalization, p.raw, 0, z, i * d));
      const errors = reconstructionErrors(bundle.network, z, group.length, d);
      const scores = combineScores(errors, z, group.length, bundle.layout, bundle.threshold.scale);
      group.forEach((p, i) => {
        const { score, shares } = scores[i]!;
        const contributions: Record<string, number> = {};
        bundle.layout.sensors.forEach((id, s) => (contributions[id] = shares[s]!));
        const threshold = bundle.threshold.threshold;
        const result: WindowScore = {
          siteId: p.window.siteId,
          machineId: p.window.machineId,
          windowStart: Number(p.window.windowStart),
          windowEnd: Number(p.window.windowEnd),
          model: bundle.info.name,
          modelVersion: bundle.info.version,
          score,
          threshold,
          isAnomaly: score > threshold,
          contributions,
        };
        counters.scored++;
        if (result.isAnomaly) counters.anomalies++;
        p.resolve({ kind: 'scored', score: result });
      });
    } catch (err) {
      logger.error({ model: bundle.info.name, version: bundle.info.version, err: (err as Error).message }, 'inference failed');
      for (const p of group) p.reject(err);
    }
  }

  function mismatch(window: MachineWindow, bundle: ModelBundle, code: MismatchCode, detail: string): ScoreOutcome {
    counters.mismatches[code]++;
    const reason = `model ${bundle.info.name}@${bundle.info.version}: ${detail}`;
    // One warning per machine and code per interval; the counters see every one.
    const key = `${window.machineId}\u0000${code}`;
    const now = clock.now();
    const last = lastWarned.get(key);
    if (last === undefined || now - last >= defaults.mismatchLogIntervalMs) {
      lastWarned.set(key, now);
      logger.warn({ machine: window.machineId, code, reason }, 'window does not fit the model contract; not scored');
    }
    return { kind: 'contract_mismatch', reason };
  }

  // Reloads run one after another: a poll and an explicit reload() must not load the same version twice.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    reloading = reloading.catch(() => undefined).then(async () => {
      await models.refresh(() => batcher.flush());
      ordered = bySpecificity(models.bundles());
      counters.modelLoads = models.loads;
      const refused = models.loadFailures - counters.modelLoadFailures;
      counters.modelLoadFailures = models.loadFailures;
      if (refused > 0) options.onModelsRefused?.(refused);
    });
    return reloading;
  };

  let closed = false;
  let pollTimer: unknown;
  const schedulePoll = (): void => {
    pollTimer = clock.setTimeout(() => {
      void reload()
        .catch((err: unknown) => logger.error({ err: (err as Error).message, registry: options.registryDir }, 'registry poll failed'))
        .finally(() => {
          if (!closed) schedulePoll();
        });
    }, pollMs);
  };

  await reload();
  schedulePoll();

  return {
    score(window: MachineWindow): Promise<ScoreOutcome> {
      if (closed) return Promise.reject(new Error('scorer is closed'));
      const selection = selectModel(window, ordered);
      if (selection.kind === 'no_model') {
        counters.noModel++;
        return Promise.resolve({ kind: 'no_model' });
      }
      if (selection.kind === 'missing_sensors') {
        const list = selection.missing.map((id) => `'${id}'`).join(', ');
        return Promise.resolve(mismatch(window, selection.bundle, 'missing_sensor', `missing sensor ${list}: no readings in this window (silent sensor?)`));
      }
      const { bundle } = selection;
      const raw = new Float64Array(bundle.layout.reads.length);
      const problem = extractFeatures(window, bundle.layout, raw, 0, minCompleteness);
      if (problem !== null) return Promise.resolve(mismatch(window, bundle, problem.code, problem.reason));
      return new Promise<ScoreOutcome>((resolve, reject) => batcher.add({ window, bundle, raw, resolve, reject }));
    },
    loaded(): LoadedModelInfo[] {
      const backend = activeBackend();
      return ordered.map((b) => ({ name: b.info.name, version: b.info.version, backend }));
    },
    stats: () => structuredClone(counters),
    reload,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clock.clearTimeout(pollTimer);
      await reloading.catch(() => undefined);
      batcher.flush();
      models.dispose();
      ordered = [];
    },
  };
}
