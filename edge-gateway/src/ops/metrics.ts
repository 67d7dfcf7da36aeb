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
  readonly connectRefused = new Counter({
    name: 'pdm_gateway_connect_refused_total',
    help: 'MQTT connections refused, by reason',
    labelNames: ['reason'],
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
    help: 'Failed outbox writes (e.g. disk full); the windows are kept in memory and retried',
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

  constructor(state: LiveState) {
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
    gauge('pdm_gateway_late_readings', 'Readings that arrived after their window closed (since start)', () => state.lateReadings());
    gauge('pdm_gateway_outbox_depth', 'Windows in the outbox awaiting Pub/Sub confirmation', () => state.outbox().depth);
    gauge('pdm_gateway_outbox_bytes', 'Bytes held by the outbox', () => state.outbox().bytes);
    gauge('pdm_gateway_outbox_oldest_age_seconds', 'Age of the oldest window in the outbox', () => state.outbox().oldestAgeMs / 1000);
    gauge('pdm_gateway_outbox_hours_of_outage_left', 'How long the outbox can absorb the current rate before dropping', () => {
      const hours = state.outbox().hoursOfOutageLeft;
      return Number.isFinite(hours) ? hours : -1;
    });
    gauge('pdm_gateway_publish_in_flight', 'Windows published and awaiting confirmation', () => state.publishInFlight());
    gauge('pdm_gateway_mqtt_clients', 'Connected MQTT clients', () => state.mqttClients());
    // Includes nodejs_eventloop_lag_seconds, process memory and CPU.
    collectDefaultMetrics({ register: this.registry });
  }

  rejectedReadings(reason: RejectReason, count: number): void {
    this.rejected.inc({ reason }, count);
  }
}
