// Publishes the gateway's health report (pdm.v1.GatewayHealth) on the feature topic every interval,
// read from the gateway's own metrics so that it says what /metrics says. It bypasses the outbox: a
// report that waited out an outage is stale, and a lost one costs nothing because its counts are
// running totals (rates come from the difference between two reports). Reports never overlap: the
// next one is scheduled when the previous publish has settled.
import type { Topic } from '@google-cloud/pubsub';
import type { Cancel, Clock } from '@pdm/clock';
import { GatewayHealthSchema, create, toBinary, type GatewayHealth } from '@pdm/proto';
import type { GatewayMetrics, HistogramReading, MetricsSnapshot } from '../ops/metrics.js';
import { intervalLatency } from './publish-latency.js';

export interface HealthReporterOptions {
  gatewayId: string;
  siteId: string;
  /** Milliseconds between reports; 0 or less: only when report() is called. */
  intervalMs: number;
  /** Pub/Sub attributes of every report (`schema`, `gateway`, `site`). */
  attributes: Record<string, string>;
}

export interface HealthReporterEvents {
  /** A scheduled report was not published (it is not retried: the next one supersedes it). */
  failed?(error: Error): void;
}

/** Prometheus keeps counts as doubles; the contract carries them as uint64. */
const total = (value: number) => BigInt(Math.max(0, Math.round(value)));

export class HealthReporter {
  private readonly startedAt: number;
  private previousLatency: HistogramReading | undefined;
  private cancelNext: Cancel | undefined;
  private stopped = false;

  constructor(
    private readonly metrics: Pick<GatewayMetrics, 'snapshot'>,
    private readonly topic: Pick<Topic, 'publishMessage'>,
    private readonly options: HealthReporterOptions,
    /** Stamps the reports and schedules them. */
    private readonly clock: Clock,
    private readonly events: HealthReporterEvents = {},
  ) {
    this.startedAt = clock.now();
  }

  /** Schedules the first report one interval from now (none when the interval is 0). */
  start(): void {
    if (this.options.intervalMs > 0) this.scheduleNext();
  }

  /** Reads the metrics and publishes one report now; resolves with it once Pub/Sub confirmed it. */
  async report(): Promise<GatewayHealth> {
    const reportedAt = this.clock.now();
    const snapshot = await this.metrics.snapshot();
    const latency = intervalLatency(snapshot.publishLatencySeconds, this.previousLatency);
    this.previousLatency = snapshot.publishLatencySeconds;
    const health = this.message(reportedAt, snapshot, latency);
    await this.topic.publishMessage({ data: Buffer.from(toBinary(GatewayHealthSchema, health)), attributes: this.options.attributes });
    return health;
  }

  /** Cancels the next report. One being published is left to finish or fail on its own: it may be lost. */
  stop(): void {
    this.stopped = true;
    this.cancelNext?.();
  }

  private scheduleNext(): void {
    this.cancelNext = this.clock.schedule(() => {
      void this.report()
        .then(
          () => undefined,
          (error: unknown) => {
            if (!this.stopped) this.events.failed?.(error instanceof Error ? error : new Error(String(error)));
          },
        )
        .finally(() => {
          if (!this.stopped) this.scheduleNext();
        });
    }, this.options.intervalMs);
  }

  private message(reportedAt: number, s: MetricsSnapshot, latency: ReturnType<typeof intervalLatency>): GatewayHealth {
    return create(GatewayHealthSchema, {
      gatewayId: this.options.gatewayId,
      siteId: this.options.siteId,
      reportedAt: BigInt(reportedAt),
      startedAt: BigInt(this.startedAt),
      readingsAccepted: total(s.readingsAccepted),
      rejectedByReason: Object.fromEntries(Object.entries(s.rejectedByReason).map(([reason, count]) => [reason, total(count)])),
      lateReadings: total(s.lateReadings),
      windowsEmitted: total(s.windowsEmitted),
      windowsPublished: total(s.windowsPublished),
      publishErrors: total(s.publishErrors),
      windowsDropped: total(s.windowsDropped),
      openWindows: s.openWindows,
      outboxDepth: total(s.outboxDepth),
      outboxBytes: total(s.outboxBytes),
      outboxOldestAgeMs: BigInt(Math.round(s.outboxOldestAgeSeconds * 1000)),
      outboxHoursOfOutageLeft: s.outboxHoursOfOutageLeft,
      publishInFlight: s.publishInFlight,
      publishLatency: latency && { ...latency, confirmed: total(latency.confirmed) },
    });
  }
}
