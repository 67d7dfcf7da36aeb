// The `alerts` Pub/Sub topic as a delivery target: each transition as a pdm.v1.Alert, ordering key =
// machine id, attribute site. An attempt succeeds once Pub/Sub confirmed the publish; one not confirmed
// within `timeoutMs` fails (the client is given the same timeout: its own default is 600 s, longer
// than a delivery may go without a refresh before another processor takes it over).
import type { BackoffOptions } from '@pdm/clock';
import { AlertSchema, AlertState, SensorContributionSchema, create, schemaAttribute, toBinary, type Alert } from '@pdm/proto';
import { lastValueFrom } from 'rxjs';
import type { PubSubClient } from '../transport/pubsub-client.js';
import { PubSubRecord } from '../transport/pubsub-record.js';
import type { DeliveryTarget } from './alert-delivery.js';
import type { AlertTransition } from './alert-tracker.js';

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

export class AlertTopicTarget implements DeliveryTarget {
  readonly name = 'topic';
  /** Until the delivery is given up by age. */
  readonly maxAttempts = Number.POSITIVE_INFINITY;

  constructor(
    private readonly client: PubSubClient,
    readonly backoff: BackoffOptions,
    readonly timeoutMs: number,
  ) {}

  async send(transition: AlertTransition): Promise<void> {
    const alert = toAlertMessage(transition);
    await lastValueFrom(this.client.emit(schemaAttribute(AlertSchema), new PubSubRecord(toBinary(AlertSchema, alert), { orderingKey: alert.machineId, attributes: { site: alert.siteId } })));
  }
}
