// What the processor does with one MachineWindow: write its features, score it, write the anomaly
// point, then feed the alert tracker. Resolves only when every point is in InfluxDB, so the transport
// acks after the write; rejects (→ nack, redelivery) when a write or the scorer fails. A contract
// mismatch or a machine without a model is not a failure: the features are still written, the
// outcome is counted, and the message is acked.
import type { MachineWindow } from '@pdm/proto';
import type { Logger } from 'pino';
import type { Scorer, ScoreOutcome, WindowScore } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import { RevisionGuard } from './revision-guard.js';

export interface AlertObserver {
  /** Called with every scored window, after its points are written; must not block or throw. */
  observe(score: WindowScore): void;
}

export interface Clock {
  now(): number;
}

export const PIPELINE_DEFAULTS = {
  /** Windows whose newest revision is remembered (see RevisionGuard). */
  revisionMemory: 100_000,
} as const;

export class WindowPipeline {
  private readonly revisions = new RevisionGuard(PIPELINE_DEFAULTS.revisionMemory);

  constructor(
    private readonly sink: InfluxSink,
    private readonly scorer: Scorer,
    private readonly alerts: AlertObserver,
    private readonly metrics: ProcessorMetrics,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async handle(window: MachineWindow): Promise<void> {
    if (!this.revisions.admit(window.machineId, window.windowStart, window.revision)) {
      this.metrics.staleRevisions.inc();
      this.log.debug({ machine: window.machineId, windowStart: String(window.windowStart), revision: window.revision }, 'older revision skipped');
      return;
    }
    const [, outcome] = await Promise.all([this.sink.writeFeatures(window), this.score(window)]);
    this.metrics.scoreOutcomes.inc({ outcome: outcome.kind });
    if (outcome.kind === 'scored') await this.sink.writeAnomaly(outcome.score);
    else if (outcome.kind === 'contract_mismatch') this.log.debug({ machine: window.machineId, reason: outcome.reason }, 'features do not match the model contract');
    const storedAt = this.clock.now();
    this.metrics.endToEndLatency.observe(Math.max(0, storedAt - Number(window.windowEnd)) / 1000);
    if (window.closedAt > 0n) this.metrics.closeToStoreLatency.observe(Math.max(0, storedAt - Number(window.closedAt)) / 1000);
    if (outcome.kind === 'scored') this.alerts.observe(outcome.score);
  }

  private async score(window: MachineWindow): Promise<ScoreOutcome> {
    const stop = this.metrics.scoring.startTimer();
    try {
      return await this.scorer.score(window);
    } finally {
      stop();
    }
  }
}
