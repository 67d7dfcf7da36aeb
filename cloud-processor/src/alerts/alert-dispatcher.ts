// What the processor does with each scored window for alerting. The machine's alert state is loaded
// from the store (whoever counted its previous window: this processor, another one sharing the
// subscription, or this one before a restart), the window is counted, and the new state is stored
// with the transition it caused (its `alerts` point and delivery record) before observe() resolves,
// which is before the window is acked. A failure rejects: the window is nacked and counted again on
// redelivery from the same stored state. Delivery to the topic and webhook then runs in the background
// (alert-delivery.ts), never holding the window's ack.
//
// What this relies on: a machine's windows are counted in order, one after another — the ordering key
// (machine id) has Pub/Sub deliver them in order, the transport hands a key's messages over one at a
// time, and a window is acked only after its state is stored, so the processor that gets the next
// window (any of them) loads the state this one stored. When a key moves between processors with a
// window in flight, both may count the same window: from the same stored state they make the same
// decision, the same alert id and the same points, so the episode still opens and resolves once
// (its delivery may be repeated: at least once). A window not after the last counted one is ignored.
import type { Logger } from 'pino';
import type { AlertRule, WindowScore } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { AlertObserver } from '../pipeline/window-pipeline.js';
import type { AlertDeliveries } from './alert-delivery.js';
import type { AlertStore, DeliveryRecord, MachineRef } from './alert-store.js';
import { countsFor, newAlertState, stepAlertState } from './alert-tracker.js';
import type { Clock } from '@pdm/clock';

export class AlertDispatcher implements AlertObserver {
  /** Per machine, the last window's work: one machine's windows are counted one after another here too. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Machines whose newest state this processor stored has an open alert (for the open-alerts gauge). */
  private readonly openHere = new Map<string, number>();

  constructor(
    private readonly rule: AlertRule,
    private readonly store: AlertStore,
    private readonly deliveries: AlertDeliveries,
    private readonly metrics: ProcessorMetrics,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  observe(score: WindowScore): Promise<void> {
    const key = `${score.siteId}/${score.machineId}`;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => this.count(score, key));
    this.chains.set(key, current);
    void current.catch(() => undefined).finally(() => {
      if (this.chains.get(key) === current) this.chains.delete(key);
    });
    return current;
  }

  private async count(score: WindowScore, key: string): Promise<void> {
    const machine: MachineRef = { siteId: score.siteId, machineId: score.machineId };
    const state = (await this.store.load(machine)) ?? newAlertState();
    if (!countsFor(state, score)) return;
    const transition = stepAlertState(state, score, this.rule);
    const now = this.clock.now();
    const targets = this.deliveries.targetNames();
    const delivery: DeliveryRecord | undefined = transition && targets.length > 0 ? { transition, pending: targets, attempts: 0, createdAt: now, updatedAt: now } : undefined;
    await this.store.save(state, machine, transition, delivery);
    if (state.open) this.openHere.set(key, score.windowStart);
    else this.openHere.delete(key);
    this.metrics.openAlerts.set(this.openHere.size);
    if (!transition) return;
    this.metrics.alerts.inc({ state: transition.state });
    this.log.info({ alertId: transition.alertId, machine: transition.machineId, state: transition.state, score: score.score }, `alert ${transition.state}`);
    if (delivery) this.deliveries.deliver(delivery);
  }
}
