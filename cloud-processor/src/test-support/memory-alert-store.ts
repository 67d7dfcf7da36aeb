// An AlertStore in memory for unit tests of alert delivery: keeps every saved delivery record (newest
// per transition) and machine state (the newest point: alert-store.ts statePointTime), answering like
// InfluxAlertStore does.
import { statePointTime, type AlertStore, type DeliveryKey, type DeliveryRecord, type MachineRef } from '../alerts/alert-store.js';
import type { AlertTransition, MachineAlertState } from '../alerts/alert-tracker.js';
import { machineKey as key } from '../shared/machine-key.js';

const deliveryKey = (t: DeliveryKey) => `${t.siteId}/${t.machineId}/${t.state}/${t.windowEnd}`;
const copy = <T>(value: T): T => structuredClone(value);

export class MemoryAlertStore implements AlertStore {
  readonly states = new Map<string, MachineAlertState>();
  readonly deliveries = new Map<string, DeliveryRecord>();
  /** Every delivery record saved, in order. */
  readonly saved: DeliveryRecord[] = [];

  load(machine: MachineRef): Promise<MachineAlertState | undefined> {
    const state = this.states.get(key(machine));
    return Promise.resolve(state && copy(state));
  }

  save(state: MachineAlertState, machine: MachineRef, _transition?: AlertTransition, delivery?: DeliveryRecord): Promise<void> {
    const newest = this.states.get(key(machine));
    if (!newest || statePointTime(newest) <= statePointTime(state)) this.states.set(key(machine), copy(state));
    return delivery ? this.saveDelivery(delivery) : Promise.resolve();
  }

  saveDelivery(delivery: DeliveryRecord): Promise<void> {
    const t = delivery.transition;
    this.deliveries.set(deliveryKey({ ...t, windowEnd: t.score.windowEnd }), copy(delivery));
    this.saved.push(copy(delivery));
    return Promise.resolve();
  }

  pendingDeliveries(updatedBefore: number, endedAfter = Number.NEGATIVE_INFINITY): Promise<DeliveryRecord[]> {
    return Promise.resolve(
      [...this.deliveries.values()].filter((d) => d.pending.length > 0 && d.transition.score.windowEnd > endedAfter && d.updatedAt < updatedBefore).map(copy),
    );
  }

  findDelivery(key: DeliveryKey): Promise<DeliveryRecord | undefined> {
    const record = this.deliveries.get(deliveryKey(key));
    return Promise.resolve(record && copy(record));
  }
}
