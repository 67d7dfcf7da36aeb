// Where the processor keeps alert state so that it outlives the process and follows the machine to
// whichever processor handles its next window: InfluxDB, which every processor already writes to
// (`alert_state` and `alert_deliveries`, sink/influx-series.ts BOOKKEEPING_SERIES).
//
// Why a point per counted window, timestamped inside the window, rather than one point per machine
// overwritten in place: the newest point is then the state after the newest window counted, whatever
// order the writes land in, so a late or repeated write of an older window's state can never replace a
// newer one; and the point goes out in the same batch as the window's own points would, one small
// point per window that changed the state, at the window's last millisecond (only a window's revision 0
// is counted: alert-dispatcher.ts). Kept as long as the raw retention policy keeps points (30 d): a
// machine silent for longer starts again from an empty state.
//
// Reads are coalesced: every load asked for while the event loop turns goes out as one query, which
// selects the machines with a regular expression (InfluxDB 1.x plans an OR of 200 tag comparisons
// several times slower: 1,000 machines load in ~25 ms instead of ~140 ms, measured on this box).
import type { InfluxSeries, InfluxSink } from '../sink/influx-sink.js';
import type { AlertDeliveryInput } from '../sink/points.js';
import type { AlertTransition, MachineAlertState } from './alert-tracker.js';
import { machineKey, type MachineRef } from '../shared/machine-key.js';

export type { MachineRef };

/** An alert transition on its way to the targets that have not confirmed it yet. */
export interface DeliveryRecord {
  transition: AlertTransition;
  pending: string[];
  attempts: number;
  /** Processor clock, epoch ms. */
  createdAt: number;
  updatedAt: number;
}

/** Which transition a delivery record is for: a machine's open or resolve caused by the window ending at windowEnd. */
export interface DeliveryKey {
  siteId: string;
  machineId: string;
  state: AlertTransition['state'];
  windowEnd: number;
}

export interface AlertStore {
  /** The machine's newest state; undefined when none was kept. */
  load(machine: MachineRef): Promise<MachineAlertState | undefined>;
  /** The state after a counted window and, when that window caused one, its transition and delivery record. */
  save(state: MachineAlertState, machine: MachineRef, transition?: AlertTransition, delivery?: DeliveryRecord): Promise<void>;
  saveDelivery(delivery: DeliveryRecord): Promise<void>;
  /**
   * Deliveries with a target still pending, last updated before `updatedBefore`, however long ago
   * they were created; with `endedAfter`, only those of windows that ended after it (the query reads
   * no older points).
   */
  pendingDeliveries(updatedBefore: number, endedAfter?: number): Promise<DeliveryRecord[]>;
  /** The newest record of one transition's delivery; undefined when none was stored. */
  findDelivery(key: DeliveryKey): Promise<DeliveryRecord | undefined>;
}

/** A regular expression (InfluxQL literal, RE2 syntax) matching exactly one of `values`. */
const anyOf = (values: Iterable<string>) => `/^(?:${[...values].map((v) => v.replace(/[\\.+*?()|[\]{}^$/]/g, '\\$&')).join('|')})$/`;

/** Machines per query: keeps a statement well under InfluxDB's limits however many machines are loaded at once. */
const MACHINES_PER_QUERY = 200;

interface Waiter {
  machine: MachineRef;
  resolve(state: MachineAlertState | undefined): void;
  reject(error: unknown): void;
}

export class InfluxAlertStore implements AlertStore {
  private waiting: Waiter[] = [];

  constructor(private readonly sink: InfluxSink) {}

  load(machine: MachineRef): Promise<MachineAlertState | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.loadWaiting());
      this.waiting.push({ machine, resolve, reject });
    });
  }

  save(state: MachineAlertState, machine: MachineRef, transition?: AlertTransition, delivery?: DeliveryRecord): Promise<void> {
    const checkpoint = { siteId: machine.siteId, machineId: machine.machineId, windowStart: statePointTime(state), checkpoint: JSON.stringify(state), open: state.open !== undefined };
    if (!transition) return this.sink.writeAlertDecision(checkpoint);
    const alert = { ...transition, score: transition.score.score, windowEnd: transition.score.windowEnd };
    return this.sink.writeAlertDecision(checkpoint, { alert, ...(delivery && { delivery: deliveryPoint(delivery) }) });
  }

  saveDelivery(delivery: DeliveryRecord): Promise<void> {
    return this.sink.writeAlertDelivery(deliveryPoint(delivery));
  }

  async pendingDeliveries(updatedBefore: number, endedAfter?: number): Promise<DeliveryRecord[]> {
    // The time bound lets InfluxDB skip every shard older than it instead of scanning 30 days of records.
    const ended = endedAfter === undefined ? '' : `time > ${Math.floor(endedAfter)}ms AND `;
    const series = await this.sink.query(
      `SELECT ${DELIVERY_FIELDS} FROM "alert_deliveries" WHERE ${ended}"pending" != '' AND "updated_at" < ${updatedBefore}`,
    );
    return series.flatMap((s) => s.values.map((row) => deliveryRecord(s, row)));
  }

  async findDelivery(key: DeliveryKey): Promise<DeliveryRecord | undefined> {
    const series = await this.sink.query(
      `SELECT ${DELIVERY_FIELDS} FROM "alert_deliveries" ` +
        `WHERE time = ${Math.floor(key.windowEnd)}ms AND "site" =~ ${anyOf([key.siteId])} AND "machine" =~ ${anyOf([key.machineId])} AND "state" =~ ${anyOf([key.state])}`,
    );
    const [first] = series;
    const row = first?.values[0];
    return first && row ? deliveryRecord(first, row) : undefined;
  }

  private loadWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (let i = 0; i < waiting.length; i += MACHINES_PER_QUERY) {
      const chunk = waiting.slice(i, i + MACHINES_PER_QUERY);
      this.query(chunk.map((w) => w.machine)).then(
        (states) => chunk.forEach((w) => w.resolve(states.get(machineKey(w.machine)))),
        (error: unknown) => chunk.forEach((w) => w.reject(error)),
      );
    }
  }

  /** The newest checkpoint of each machine: last() per series is the point with the latest window start. */
  private async query(machines: MachineRef[]): Promise<Map<string, MachineAlertState>> {
    const wanted = new Set(machines.map(machineKey));
    const where = `"site" =~ ${anyOf(new Set(machines.map((m) => m.siteId)))} AND "machine" =~ ${anyOf(new Set(machines.map((m) => m.machineId)))}`;
    const series = await this.sink.query(`SELECT last("checkpoint") AS "checkpoint" FROM "alert_state" WHERE ${where} GROUP BY "site", "machine"`);
    // The expressions also match other sites' machines of the same ids: only the ones asked for are kept.
    return new Map(
      series
        .filter((s) => wanted.has(machineKey(refOf(s))))
        .map((s) => [machineKey(refOf(s)), JSON.parse(String(s.values[0]?.[s.columns.indexOf('checkpoint')])) as MachineAlertState]),
    );
  }
}

/** Where a state's point lies: at its newest window's last millisecond; at its start when the state does not say where it ends or which revision it counted. */
export function statePointTime(state: MachineAlertState): number {
  const { lastWindowStart: start, lastWindowEnd: end, lastRevision: revision } = state;
  return end === undefined || revision === undefined ? start : end - 1;
}

function refOf(series: InfluxSeries): MachineRef {
  return { siteId: series.tags?.site ?? '', machineId: series.tags?.machine ?? '' };
}

const DELIVERY_FIELDS = '"transition", "pending", "attempts", "created_at", "updated_at"';

function deliveryRecord(series: InfluxSeries, row: unknown[]): DeliveryRecord {
  const field = (name: string) => row[series.columns.indexOf(name)];
  return {
    transition: JSON.parse(String(field('transition'))) as AlertTransition,
    pending: String(field('pending')).split(',').filter(Boolean),
    attempts: Number(field('attempts')),
    createdAt: Number(field('created_at')),
    updatedAt: Number(field('updated_at')),
  };
}

function deliveryPoint(delivery: DeliveryRecord): AlertDeliveryInput {
  const t = delivery.transition;
  return {
    siteId: t.siteId,
    machineId: t.machineId,
    state: t.state,
    alertId: t.alertId,
    windowEnd: t.score.windowEnd,
    transition: JSON.stringify(t),
    pending: delivery.pending.join(','),
    attempts: delivery.attempts,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
  };
}
