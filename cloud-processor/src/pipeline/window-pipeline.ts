// What the processor does with one MachineWindow: score it, then write its features and anomaly point
// and feed the alert tracker at once, so that the window's alert decision joins its points in the
// sink's batch. Resolves only when every point (and the window's alert state) is in InfluxDB, so the
// transport acks after the write; rejects (→ nack, redelivery) when a write or the
// scorer fails. A contract mismatch or a machine without a model is not a failure: the features are
// still written with an `unscored` point naming the machine and the reason (so a dashboard can list
// them), the outcome is counted, and the message is acked. A window that can never be used (no machine
// id, …: unusable-window.ts) is counted and refused with an UnusableMessageError: alone, its message is
// dead-lettered; in a FeatureBatch it is skipped (feature-batch.ts).
import type { Clock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';
import type { Logger } from 'pino';
import type { Scorer, ScoreOutcome, WindowScore } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import { UnusableMessageError } from '../transport/poison-message.js';
import { MachineLanes } from './machine-lanes.js';
import { RevisionGuard, type RevisionMemory } from './revision-guard.js';
import { unusableWindowReason } from './unusable-window.js';
import { WindowSlots } from './window-slots.js';
import { machineKey } from '../shared/machine-key.js';

export interface AlertObserver {
  /**
   * Called with every scored window as its points are handed to the sink, so that a decision taken
   * without waiting (the machine's state held in memory) goes out in the same batch as the window's
   * points: one write cycle for both (issue #17: two, one after the other, made the processor's path
   * 0.58 × the bare write). Resolves once the window's alert decision is stored (alert delivery runs in
   * the background, once `pointsStored` resolved), rejects when it could not be (→ nack). A decision
   * may be stored while the window's points failed in another batch: the window is nacked all the same,
   * its redelivery is not counted again (the machine's state already counts it), and the decision's
   * delivery waits for the redelivery's points.
   * `revision` is the window's (alerts count each window start once, with its revision 0 — or with
   * the revision after a revision 0 this processor could not score, see `unfit`).
   */
  observe(score: WindowScore, revision: number, pointsStored: Promise<unknown>): Promise<void>;
  /** A window whose features did not fit the model (a sensor missing from revision 0 under clock skew). */
  unfit(window: { siteId: string; machineId: string; windowStart: number }, revision: number): void;
}

/** When Pub/Sub accepted the message and when this process received it (epoch ms), if known. */
export interface DeliveryTimes {
  publishedAt: number;
  receivedAt: number;
}

export const PIPELINE_DEFAULTS = {
  /**
   * Windows whose newest revision is remembered (see RevisionGuard; config `revisions`): per machine its
   * last 100 (16 min 40 s of 10 s windows), for up to 10,000 machines. 2.4 kB a machine, taken at its
   * first window: 2.4 MB at the nominal 1,000 machines, 24 MB at most.
   */
  revisionMemory: { machines: 10_000, windowsPerMachine: 100 },
  /**
   * Windows handled at once (pubsub.maxWindowsInFlight; window-slots.ts). Enough for two of the sink's
   * requests (influx.batchMaxPoints, 5,000) at six points a window (five sensors and the score) plus
   * some: one being written while the next fills. At 1,000 (6,000 points) a full request left only
   * 1,002 points to fill the next, and every window of the full one waited for both; the sink's
   * requests locked into 4,998 / 1,002 points and the processor sat idle while influxd wrote (issue
   * #17: processor bench, 60 requests of 3,000 points on average against 37 of 4,865 at 2,000).
   */
  maxWindowsInFlight: 2_000,
} as const;

export interface WindowPipelineOptions {
  maxWindowsInFlight: number;
  /** What the revision guard remembers (config `revisions`); PIPELINE_DEFAULTS.revisionMemory unless given. */
  revisionMemory?: RevisionMemory;
}

export class WindowPipeline {
  private readonly revisions: RevisionGuard;
  private readonly slots: WindowSlots;
  private readonly lanes = new MachineLanes();

  constructor(
    private readonly sink: InfluxSink,
    private readonly scorer: Scorer,
    private readonly alerts: AlertObserver,
    private readonly metrics: ProcessorMetrics,
    private readonly clock: Clock,
    private readonly log: Logger,
    options: WindowPipelineOptions = { maxWindowsInFlight: PIPELINE_DEFAULTS.maxWindowsInFlight },
  ) {
    this.slots = new WindowSlots(options.maxWindowsInFlight);
    this.revisions = new RevisionGuard(options.revisionMemory ?? PIPELINE_DEFAULTS.revisionMemory, () => metrics.revisionMachinesForgotten.inc());
  }

  /**
   * Queues the window behind the windows of its machine handed in before (at once: a caller may hand
   * on its message's ordering key as soon as this returns), then handles it once fewer than
   * maxWindowsInFlight others are being handled. `settled`: when its message is acked or nacked (how
   * long a failure of this window holds its machine's later windows back: machine-lanes.ts).
   */
  handle(window: MachineWindow, delivery?: DeliveryTimes, settled: Promise<unknown> = Promise.resolve()): Promise<void> {
    return this.lanes.run(machineKey(window), () => this.handleInSlot(window, delivery), settled);
  }

  private async handleInSlot(window: MachineWindow, delivery: DeliveryTimes | undefined): Promise<void> {
    try {
      await this.slots.run(() => {
        this.metrics.windowsInFlight.set(this.slots.inUse);
        return this.handleNow(window, delivery);
      });
    } finally {
      this.metrics.windowsInFlight.set(this.slots.inUse);
    }
  }

  private async handleNow(window: MachineWindow, delivery: DeliveryTimes | undefined): Promise<void> {
    const unusable = unusableWindowReason(window);
    if (unusable !== undefined) {
      this.metrics.unusableWindows.inc();
      this.log.warn({ gateway: window.gatewayId, machine: window.machineId, reason: unusable }, 'unusable window refused');
      throw new UnusableMessageError(`unusable MachineWindow: ${unusable}`);
    }
    const verdict = this.revisions.admit(window);
    if (verdict === 'stale') {
      this.metrics.staleRevisions.inc();
      this.log.debug({ machine: window.machineId, windowStart: String(window.windowStart), revision: window.revision }, 'older revision skipped');
      return;
    }
    if (verdict === 'conflict') {
      this.metrics.revisionConflicts.inc();
      this.log.error(
        { machine: window.machineId, gateway: window.gatewayId, windowStart: String(window.windowStart), revision: window.revision },
        'window refused: this revision was already written with other content (the first is kept)',
      );
      return;
    }
    let outcome: ScoreOutcome;
    try {
      outcome = await this.score(window);
    } catch (error) {
      // The features are good even when the model fails: store them, then nack for another try.
      await this.sink.writeScoredWindow(window, undefined);
      throw error;
    }
    this.metrics.scoreOutcomes.inc({ outcome: outcome.kind });
    if (outcome.kind === 'contract_mismatch') this.log.debug({ machine: window.machineId, reason: outcome.reason }, 'features do not match the model contract');
    if (outcome.kind === 'scored') {
      // Shadow versions' scores are stored (anomaly_shadow) and counted; only the serving score reaches the alerts.
      // The alert decision is taken while the window's points wait for their batch, so that it joins
      // them: one write for both instead of one after the other (issue #17); its delivery waits for the points.
      // The latencies end when the points are stored, not when the decision is (a state load, another batch).
      const stored = this.sink.writeScoredWindow(window, outcome.score, outcome.shadows);
      await Promise.all([stored.then(() => this.observeLatency(window, this.clock.now(), delivery)), this.alerts.observe(outcome.score, window.revision, stored)]);
      for (const shadow of outcome.shadows ?? []) this.metrics.shadowWindows.inc({ model: shadow.model, version: shadow.modelVersion });
    } else {
      await this.sink.writeUnscoredWindow(window, outcome);
      this.observeLatency(window, this.clock.now(), delivery);
    }
    if (outcome.kind === 'contract_mismatch') this.alerts.unfit({ siteId: window.siteId, machineId: window.machineId, windowStart: Number(window.windowStart) }, window.revision);
  }

  private observeLatency(window: MachineWindow, storedAt: number, delivery: DeliveryTimes | undefined): void {
    const seconds = (from: number, to: number) => Math.max(0, to - from) / 1000;
    this.metrics.endToEndLatency.observe(seconds(Number(window.windowEnd), storedAt));
    if (window.closedAt <= 0n) return; // from a gateway that predates closed_at
    const closedAt = Number(window.closedAt);
    this.metrics.closeToStoreLatency.observe(seconds(closedAt, storedAt));
    // Without both Pub/Sub times (another client, an older emulator) there is no split to report.
    if (!delivery || !Number.isFinite(delivery.publishedAt) || !Number.isFinite(delivery.receivedAt)) return;
    const stages = this.metrics.closeToStoreStages;
    stages.observe({ stage: 'gateway' }, seconds(closedAt, delivery.publishedAt));
    stages.observe({ stage: 'delivery' }, seconds(delivery.publishedAt, delivery.receivedAt));
    stages.observe({ stage: 'processor' }, seconds(delivery.receivedAt, storedAt));
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
