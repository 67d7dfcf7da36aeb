// Prometheus metrics of the gateway (prom-client, one registry per gateway instance so tests and
// several gateways in one process never share counters). Gauges read live state when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejectReason } from '../ingest/index.js';

export interface LiveState {
  openWindows(): number;
  openWindowBytes(): number;
  lateReadings(): number;
  outbox(): { depth: number; bytes: number; oldestAgeMs: number; hoursOfOutageLeft: number };
  publishInFlight(): number;
  mqttClients(): number;
}

/** A Prometheus histogram as read at one instant: cumulative bucket counts by upper bound, ascending, +Inf last. */
export interface HistogramReading {
  sum: number;
  count: number;
  buckets: { le: number; count: number }[];
}

/** The gateway's figures as /metrics shows them now (counters are totals since the process started). */
export interface MetricsSnapshot {
  readingsAccepted: number;
  rejectedByReason: Record<string, number>;
  lateReadings: number;
  windowsEmitted: number;
  windowsPublished: number;
  publishErrors: number;
  /** Windows dropped at the outbox bound or after failed outbox writes, every bound summed. */
  windowsDropped: number;
  openWindows: number;
  outboxDepth: number;
  outboxBytes: number;
  outboxOldestAgeSeconds: number;
  outboxHoursOfOutageLeft: number;
  publishInFlight: number;
  publishLatencySeconds: HistogramReading;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly readings = new Counter({ name: 'pdm_gateway_readings_total', help: 'Readings accepted into windows', registers: [this.registry] });
  readonly rejected = new Counter({
    name: 'pdm_gateway_rejected_total',
    help: 'Readings refused, by reason (a payload that cannot be decoded counts as one)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly windows = new Counter({
    name: 'pdm_gateway_windows_emitted_total',
    help: 'Machine windows closed and written to the outbox, by close reason',
    labelNames: ['close_reason'],
    registers: [this.registry],
  });
  readonly redeliveries = new Counter({
    name: 'pdm_gateway_mqtt_redeliveries_total',
    help: 'QoS 1/2 messages a client sent again (DUP) after they were ingested: acknowledged, not ingested twice',
    registers: [this.registry],
  });
  readonly redeliveryMemoryFull = new Counter({
    name: 'pdm_gateway_mqtt_redelivery_memory_full_total',
    help: 'Connected MQTT clients whose recent publishes the redelivery memory forgot for want of room (mqtt.rememberedClients): their repeats after a lost PUBACK are ingested twice',
    registers: [this.registry],
  });
  readonly connectRefused = new Counter({
    name: 'pdm_gateway_connect_refused_total',
    help: 'MQTT connections refused, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'pdm_gateway_reload_total',
    help: 'Reloads of the users file and TLS certificates (SIGHUP), by result: ok, or refused (a bad file; the previous ones stay in force)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly outboxDropped = new Counter({
    name: 'pdm_gateway_outbox_dropped_total',
    help: 'Windows dropped from the outbox at its bound (data loss), by bound',
    labelNames: ['bound'],
    registers: [this.registry],
  });
  readonly outboxErrors = new Counter({
    name: 'pdm_gateway_outbox_errors_total',
    help: 'Failed outbox writes, deletes and reads (e.g. disk full, I/O errors); windows are kept in memory, deletes and reads retried',
    registers: [this.registry],
  });
  readonly published = new Counter({ name: 'pdm_gateway_published_total', help: 'Windows confirmed by Pub/Sub', registers: [this.registry] });
  readonly publishErrors = new Counter({ name: 'pdm_gateway_publish_errors_total', help: 'Failed publish attempts', registers: [this.registry] });
  readonly publishLatency = new Histogram({
    name: 'pdm_gateway_publish_latency_seconds',
    help: 'Time from publish to Pub/Sub confirmation',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly checkpointDuration = new Histogram({
    name: 'pdm_gateway_checkpoint_duration_seconds',
    help: 'Time one periodic checkpoint of the window state took (encoding and the outbox transaction)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly checkpointBytes = new Gauge({
    name: 'pdm_gateway_checkpoint_bytes',
    help: 'Bytes of window state the last periodic checkpoint wrote: what changed since each machine\'s previous one (its header, its changed pane rows)',
    registers: [this.registry],
  });
  readonly checkpointsDropped = new Counter({
    name: 'pdm_gateway_checkpoint_dropped_total',
    help: 'Machine checkpoints dropped beyond outbox.checkpointMaxMachines, oldest first, and rows of a version-1 checkpoint table dropped at start (those machines start afresh when they return)',
    registers: [this.registry],
  });
  readonly restoredMachines = new Gauge({
    name: 'pdm_gateway_checkpoint_restored_machines',
    help: 'Machines whose window state was restored from the outbox database at start',
    registers: [this.registry],
  });
  readonly restoredOpenWindows = new Gauge({
    name: 'pdm_gateway_checkpoint_restored_open_windows',
    help: 'Open windows restored from the outbox database at start (they close and are emitted as usual)',
    registers: [this.registry],
  });
  readonly windowConflicts = new Counter({
    name: 'pdm_gateway_window_conflicts_total',
    help: 'Windows refused by the outbox because their idempotency key was there with other content (a bug; the first is kept)',
    registers: [this.registry],
  });

  constructor(state: LiveState) {
    // Both results show from the start, so an alert on refused reloads needs no absent() clause.
    for (const result of ['ok', 'refused']) this.reloads.labels({ result });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('pdm_gateway_open_windows', 'Sensor windows currently open', () => state.openWindows());
    gauge('pdm_gateway_open_window_bytes', 'Approximate memory held by open windows', () => state.openWindowBytes());
    // The window engine keeps the count; the counter shows it at each scrape.
    new Counter({
      name: 'pdm_gateway_late_readings_total',
      help: 'Readings that arrived after their window closed (late and too late)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(state.lateReadings());
      },
    });
    gauge('pdm_gateway_outbox_depth', 'Windows in the outbox awaiting Pub/Sub confirmation', () => state.outbox().depth);
    gauge('pdm_gateway_outbox_bytes', 'Bytes held by the outbox', () => state.outbox().bytes);
    gauge('pdm_gateway_outbox_oldest_age_seconds', 'Age of the oldest window in the outbox', () => state.outbox().oldestAgeMs / 1000);
    gauge('pdm_gateway_outbox_hours_of_outage_left', 'How long an outage can last before the outbox drops: the bytes bound or the free disk space (the smaller) at the current rate, or the age bound', () => state.outbox().hoursOfOutageLeft);
    gauge('pdm_gateway_publish_in_flight', 'Windows published and awaiting confirmation', () => state.publishInFlight());
    gauge('pdm_gateway_mqtt_clients', 'Connected MQTT clients', () => state.mqttClients());
    // Includes nodejs_eventloop_lag_seconds, process memory and CPU.
    collectDefaultMetrics({ register: this.registry });
  }

  rejectedReadings(reason: RejectReason, count: number): void {
    this.rejected.inc({ reason }, count);
  }

  /** Reads every figure of the health report from this registry, gauges collected as for a scrape. */
  async snapshot(): Promise<MetricsSnapshot> {
    const total = async (name: string) => (await this.series(name)).reduce((sum, v) => sum + v.value, 0);
    const rejected = await this.series('pdm_gateway_rejected_total');
    return {
      readingsAccepted: await total('pdm_gateway_readings_total'),
      rejectedByReason: Object.fromEntries(rejected.map((v) => [String(v.labels.reason), v.value])),
      lateReadings: await total('pdm_gateway_late_readings_total'),
      windowsEmitted: await total('pdm_gateway_windows_emitted_total'),
      windowsPublished: await total('pdm_gateway_published_total'),
      publishErrors: await total('pdm_gateway_publish_errors_total'),
      windowsDropped: await total('pdm_gateway_outbox_dropped_total'),
      openWindows: await total('pdm_gateway_open_windows'),
      outboxDepth: await total('pdm_gateway_outbox_depth'),
      outboxBytes: await total('pdm_gateway_outbox_bytes'),
      outboxOldestAgeSeconds: await total('pdm_gateway_outbox_oldest_age_seconds'),
      outboxHoursOfOutageLeft: await total('pdm_gateway_outbox_hours_of_outage_left'),
      publishInFlight: await total('pdm_gateway_publish_in_flight'),
      publishLatencySeconds: await this.histogram('pdm_gateway_publish_latency_seconds'),
    };
  }

  private async series(name: string) {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    return (await metric.get()).values;
  }

  private async histogram(name: string): Promise<HistogramReading> {
    const values = await this.series(name);
    const named = (suffix: string) => values.filter((v) => (v as { metricName?: string }).metricName === `${name}${suffix}`);
    return {
      sum: named('_sum')[0]?.value ?? 0,
      count: named('_count')[0]?.value ?? 0,
      buckets: named('_bucket')
        .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
        .sort((a, b) => a.le - b.le),
    };
  }
}
