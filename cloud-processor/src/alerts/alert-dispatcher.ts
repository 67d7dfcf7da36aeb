// Delivers alert transitions to their three targets: the `alerts` Pub/Sub topic (pdm.v1.Alert through
// PubSubClient), the `alerts` measurement, and the optional webhook. Runs beside the pipeline, never
// in its way: observe() returns at once, failures are logged and counted per target, and drain()
// waits for what is in flight on shutdown.
import { AlertSchema, AlertState, SensorContributionSchema, create, schemaAttribute, toBinary, type Alert } from '@pdm/proto';
import type { Logger } from 'pino';
import { lastValueFrom } from 'rxjs';
import type { WindowScore } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { AlertObserver } from '../pipeline/window-pipeline.js';
import { describeError } from '../shared/describe-error.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import type { PubSubClient } from '../transport/pubsub-client.js';
import { PubSubRecord } from '../transport/pubsub-record.js';
import type { AlertTracker, AlertTransition } from './alert-tracker.js';
import type { WebhookNotifier } from './webhook.js';

/** Sensors named in an alert, largest contribution first. */
const TOP_SENSORS = 5;

export function toAlertMessage(t: AlertTransition): Alert {
  const top = Object.entries(t.score.contributions)
    .sort(([, a], [, b]) => b - a)
    .slice(0, TOP_SENSORS);
  return create(AlertSchema, {
    alertId: t.alertId,
    siteId: t.siteId,
    machineId: t.machineId,
    state: t.state === 'open' ? AlertState.OPEN : AlertState.RESOLVED,
    model: t.score.model,
    modelVersion: t.score.modelVersion,
    openedAt: BigInt(t.openedAt),
    windowEnd: BigInt(t.score.windowEnd),
    score: t.score.score,
    threshold: t.score.threshold,
    message: t.message,
    topSensors: top.map(([sensorId, contribution]) => create(SensorContributionSchema, { sensorId, contribution })),
  });
}

export class AlertDispatcher implements AlertObserver {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly tracker: AlertTracker,
    private readonly client: PubSubClient | undefined,
    private readonly sink: InfluxSink,
    private readonly webhook: WebhookNotifier | undefined,
    private readonly metrics: ProcessorMetrics,
    private readonly log: Logger,
  ) {}

  observe(score: WindowScore): void {
    const transition = this.tracker.observe(score);
    this.metrics.openAlerts.set(this.tracker.openCount());
    if (!transition) return;
    this.metrics.alerts.inc({ state: transition.state });
    this.log.info({ alertId: transition.alertId, machine: transition.machineId, state: transition.state, score: score.score }, `alert ${transition.state}`);
    const message = toAlertMessage(transition);
    this.track('topic', this.publish(message));
    this.track('influx', this.sink.writeAlert({ ...transition, windowEnd: score.windowEnd, score: score.score }));
    this.webhook?.notify({ ...transition, score: score.score, threshold: score.threshold, windowEnd: score.windowEnd, contributions: score.contributions, model: score.model, modelVersion: score.modelVersion });
  }

  /** Waits for topic publishes and measurement writes in flight (the webhook drains separately). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async publish(alert: Alert): Promise<void> {
    if (!this.client) return;
    await lastValueFrom(this.client.emit(schemaAttribute(AlertSchema), new PubSubRecord(toBinary(AlertSchema, alert), { orderingKey: alert.machineId, attributes: { site: alert.siteId } })));
  }

  private track(target: string, delivery: Promise<void>): void {
    const task = delivery.catch((error: unknown) => {
      this.metrics.alertDeliveryFailures.inc({ target });
      this.log.error({ target, err: describeError(error) }, 'alert delivery failed');
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }
}
