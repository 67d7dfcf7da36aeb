// Prometheus metrics of one processor instance (own registry, so two instances in one process — as in
// the scale-out test — do not collide). Names are pdm_processor_*; rates (messages/s) come from the
// counters in Prometheus or from the `pipeline` measurement written by PipelineReporter.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/**
 * Every 50 ms from 150 ms to 1 s, where close→store's p99 and its targets lie (issue #17: ≤ 1 s, and
 * ≤ the bare InfluxDB write of a boundary's burst + 300 ms, ~600 ms here). A quantile is interpolated
 * inside its bucket as if the bucket's observations were spread evenly: with one bucket from 500 to
 * 750 ms, a p99 read from it could be off by up to 250 ms, more than the margins it is judged by.
 */
const CLOSE_TO_STORE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1, 1.5,
  2, 3, 5, 10, 30, 60, 300,
];

export class ProcessorMetrics {
  readonly registry = new Registry();
  readonly messages = new Counter({ name: 'pdm_processor_messages_total', help: 'Pub/Sub messages settled, by outcome (acked, nacked, dead_lettered) and schema', labelNames: ['outcome', 'schema'], registers: [this.registry] });
  readonly windowsReceived = new Counter({
    name: 'pdm_processor_windows_received_total',
    help: 'Feature windows received, alone or in a FeatureBatch (pdm_processor_messages_total counts messages: one per batch); a redelivered window counts again',
    registers: [this.registry],
  });
  readonly windowsAcked = new Counter({
    name: 'pdm_processor_windows_acked_total',
    help: 'Feature windows of acked messages: a lone window, or every window of a FeatureBatch (stored, or skipped as stale or unusable); a redelivered window counts again',
    registers: [this.registry],
  });
  readonly windowsInFlight = new Gauge({ name: 'pdm_processor_windows_in_flight', help: 'Windows being scored and written now, at most pubsub.maxWindowsInFlight', registers: [this.registry] });
  readonly ackLatency = new Histogram({ name: 'pdm_processor_ack_latency_seconds', help: 'From receipt of a message to its ack/nack/dead letter', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly endToEndLatency = new Histogram({ name: 'pdm_processor_end_to_end_latency_seconds', help: 'From window end (event time) to its points written in InfluxDB', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly closeToStoreLatency = new Histogram({
    name: 'pdm_processor_close_to_store_latency_seconds',
    help: "From a window's close at the gateway (gateway wall clock: keep clocks in sync) to its points written in InfluxDB",
    buckets: CLOSE_TO_STORE_BUCKETS,
    registers: [this.registry],
  });
  readonly closeToStoreStages = new Histogram({
    name: 'pdm_processor_close_to_store_stage_seconds',
    help: 'close→store in three stages: gateway (close → accepted by Pub/Sub: outbox and publish), delivery (Pub/Sub → received here), processor (received → stored)',
    labelNames: ['stage'],
    buckets: CLOSE_TO_STORE_BUCKETS,
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({ name: 'pdm_processor_dead_letters_total', help: 'Messages published to the dead-letter topic, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly scoring = new Histogram({ name: 'pdm_processor_scoring_seconds', help: 'Time from score() call to its outcome (includes micro-batch wait)', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly scoreOutcomes = new Counter({ name: 'pdm_processor_score_outcomes_total', help: 'Scoring outcomes: scored, contract_mismatch, no_model, held (the running-state gate, or a new machine whose level is being learnt)', labelNames: ['outcome'], registers: [this.registry] });
  readonly staleRevisions = new Counter({ name: 'pdm_processor_stale_revisions_total', help: 'Windows skipped because a newer revision of them was already written', registers: [this.registry] });
  readonly unusableWindows = new Counter({
    name: 'pdm_processor_unusable_windows_total',
    help: 'Windows refused as unusable (no machine, site, gateway or sensor id, or window_end not after window_start): dead-lettered when alone, skipped in a FeatureBatch',
    registers: [this.registry],
  });
  readonly revisionMachinesForgotten = new Counter({
    name: 'pdm_processor_revision_machines_forgotten_total',
    help: 'Machines the revision guard forgot to make room for another (config revisions.machines); rising with every window: it serves more machines than it remembers',
    registers: [this.registry],
  });
  readonly revisionConflicts = new Counter({ name: 'pdm_processor_revision_conflicts_total', help: 'Windows refused because the same revision was already written with other content (the first is kept)', registers: [this.registry] });
  readonly influxBatchPoints = new Histogram({ name: 'pdm_processor_influx_batch_points', help: 'Points per InfluxDB write', buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers: [this.registry] });
  readonly influxRequestsTooLarge = new Counter({
    name: 'pdm_processor_influx_requests_too_large_total',
    help: "InfluxDB write requests answered 413 (over InfluxDB's [http] max-body-size or a proxy's body limit), each written again as two halves; a single point answered 413 is refused",
    registers: [this.registry],
  });
  readonly influxWrite = new Histogram({ name: 'pdm_processor_influx_write_seconds', help: 'Duration of one InfluxDB batch write', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly droppedFields = new Counter({ name: 'pdm_processor_dropped_fields_total', help: 'Non-finite statistics left out of InfluxDB points', registers: [this.registry] });
  readonly downsampleBackfills = new Counter({ name: 'pdm_processor_downsample_backfills_total', help: 'Ranges of downsampled means computed again for windows stored too late for the continuous queries, by result (ok, failed)', labelNames: ['result'], registers: [this.registry] });
  readonly alerts = new Counter({ name: 'pdm_processor_alerts_total', help: 'Alert transitions, by state (open, resolved)', labelNames: ['state'], registers: [this.registry] });
  readonly alertDeliveryFailures = new Counter({ name: 'pdm_processor_alert_delivery_failures_total', help: 'Alert delivery attempts that failed, by target (topic, webhook); each is retried unless given up', labelNames: ['target'], registers: [this.registry] });
  readonly alertDeliveriesAbandoned = new Counter({ name: 'pdm_processor_alert_deliveries_abandoned_total', help: 'Alert transitions given up for a target (attempts exhausted, refused, older than giveUpAfterMs, or beyond the target\'s maxPending), by target', labelNames: ['target'], registers: [this.registry] });
  readonly alertDeliveriesPending = new Gauge({ name: 'pdm_processor_alert_deliveries_pending', help: 'Alert transitions this instance is delivering (a target not confirmed yet)', registers: [this.registry] });
  readonly openAlerts = new Gauge({ name: 'pdm_processor_open_alerts', help: 'Machines with an open alert, among those whose newest window this instance counted', registers: [this.registry] });
  readonly modelsRefused = new Counter({ name: 'pdm_processor_models_refused_total', help: 'Model versions in the registry that failed to load (the version serving before keeps scoring)', registers: [this.registry] });
  readonly stateTrouble = new Counter({
    name: 'pdm_processor_state_file_troubles_total',
    help: "Troubles with the scorer's state file (model.stateFile), by kind: file_unreadable (set aside whole, every machine started afresh), rows_unreadable (rows kept aside, their machines started afresh; counts rows), save_failed",
    labelNames: ['trouble'] as const,
    registers: [this.registry],
  });
  readonly lifecyclesRefused = new Counter({ name: 'pdm_processor_model_lifecycles_refused_total', help: 'Model lifecycle files (<registry>/<name>/lifecycle.json) refused as unreadable or invalid, once per change of the file (the model keeps the versions it served)', registers: [this.registry] });
  readonly shadowWindows = new Counter({ name: 'pdm_processor_shadow_windows_total', help: 'Windows scored by a shadow model version (written to anomaly_shadow, never alerting), by model and version', labelNames: ['model', 'version'], registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'pdm_processor_in_flight_messages', help: 'Messages being handled', registers: [this.registry] });
  readonly modelDriftPsi = new Gauge({
    name: 'pdm_processor_model_drift_psi',
    help: "Largest population stability index of a served model version's features: its last 1,000 scored windows against its training profile (above model.driftRetrainPsi, 0.25: retrain)",
    labelNames: ['model', 'version'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Current value of a counter or gauge, summed over the series matching `labels`. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`no metric ${name}`);
    const { values } = await metric.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
