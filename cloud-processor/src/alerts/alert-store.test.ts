// InfluxAlertStore against a real influxd: the newest state is the one of the latest window counted,
// whatever order the writes landed in; loads asked for together go out as one query; machine ids with
// quotes and backslashes are no injection; delivery records are found while a target is pending.
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { InfluxAlertStore, type DeliveryRecord } from './alert-store.js';
import type { AlertTransition, MachineAlertState } from './alert-tracker.js';

/** Window times within the retention policy (30 d): an hour ago, aligned to 10 s. */
const BASE = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;

const state = (lastWindowStart: number, open?: string): MachineAlertState => ({
  lastWindowStart,
  recent: [true, false],
  normalRun: 1,
  ...(open && { open: { alertId: open, openedAt: lastWindowStart } }),
});

const transition = (machineId: string, windowEnd: number): AlertTransition => ({
  state: 'open',
  alertId: `${machineId}-${windowEnd}`,
  siteId: 'plant-1',
  machineId,
  openedAt: windowEnd,
  message: 'm',
  score: { siteId: 'plant-1', machineId, windowStart: windowEnd - 10_000, windowEnd, model: 'm', modelVersion: '1', score: 9, threshold: 5, isAnomaly: true, contributions: { temp: 1 } },
});

describe('InfluxAlertStore', () => {
  let influx: RunningInflux;
  let sink: InfluxSink;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  async function store(): Promise<InfluxAlertStore> {
    sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('alerts'), batchMaxDelayMs: 1 });
    await sink.start();
    return new InfluxAlertStore(sink);
  }

  it('loads the state of the latest window counted, whatever order the states were written in', async () => {
    const alerts = await store();
    const pump = { siteId: 'plant-1', machineId: 'pump-1' };
    expect(await alerts.load(pump)).toBeUndefined();
    await alerts.save(state(BASE + 30_000, 'pump-1-40000'), pump);
    await alerts.save(state(BASE + 10_000), pump); // a late write of an older window's state
    expect(await alerts.load(pump)).toEqual(state(BASE + 30_000, 'pump-1-40000'));
    // The same machine id on another site is another machine.
    expect(await alerts.load({ siteId: 'plant-2', machineId: 'pump-1' })).toBeUndefined();
  });

  it('answers loads asked for together with one query: quotes, backslashes and regex characters in ids, other sites apart', async () => {
    const alerts = await store();
    const odd = { siteId: "it's", machineId: 'a\\b\' OR 1=1' };
    const regexy = { siteId: 'plant-1', machineId: 'x.y/z(1)|*' };
    const plain = { siteId: 'plant-1', machineId: 'fan-2' };
    const elsewhere = { siteId: 'plant-2', machineId: 'fan-2' };
    await Promise.all([alerts.save(state(BASE + 20_000), odd), alerts.save(state(BASE + 30_000), regexy), alerts.save(state(BASE + 50_000, 'fan-2-60000'), plain)]);
    await alerts.save(state(BASE + 70_000), { siteId: 'plant-1', machineId: 'xzy/z(1)|*' }); // what an unescaped "." would match
    await alerts.save(state(BASE + 90_000), { siteId: 'plant-2', machineId: 'pump-7' });
    const queries: string[] = [];
    const query = sink.query.bind(sink);
    sink.query = (statement) => (queries.push(statement), query(statement));
    const loaded = await Promise.all([odd, regexy, plain, elsewhere, { siteId: 'plant-1', machineId: 'fan-3' }].map((m) => alerts.load(m)));
    // plant-2's fan-2 has no state, though plant-1's fan-2 and another plant-2 machine do.
    expect(loaded).toEqual([state(BASE + 20_000), state(BASE + 30_000), state(BASE + 50_000, 'fan-2-60000'), undefined, undefined]);
    expect(queries).toHaveLength(1);
  });

  it('finds delivery records with a target pending, by last update, however old', async () => {
    const alerts = await store();
    const record = (machine: string, pending: string[], createdAt: number, updatedAt: number): DeliveryRecord => ({ transition: transition(machine, BASE + 40_000), pending, attempts: 2, createdAt, updatedAt });
    await alerts.saveDelivery(record('pump-1', ['topic', 'webhook'], 1_000, 5_000));
    await alerts.saveDelivery(record('pump-2', ['topic'], 1_000, 9_000)); // updated too recently
    await alerts.saveDelivery(record('pump-3', ['topic'], 100, 0)); // created long ago: found too (the sweep gives it up)
    await alerts.saveDelivery(record('pump-4', [], 1_000, 0)); // delivered
    await alerts.save(state(BASE + 30_000, 'pump-5-40000'), { siteId: 'plant-1', machineId: 'pump-5' }, transition('pump-5', BASE + 40_000), record('pump-5', ['webhook'], 2_000, 0));
    const found = await alerts.pendingDeliveries(8_000);
    expect(found.map((r) => [r.transition.machineId, r.pending, r.attempts, r.createdAt, r.updatedAt]).sort()).toEqual([
      ['pump-1', ['topic', 'webhook'], 2, 1_000, 5_000],
      ['pump-3', ['topic'], 2, 100, 0],
      ['pump-5', ['webhook'], 2, 2_000, 0],
    ]);
    expect(found.find((r) => r.transition.machineId === 'pump-1')?.transition).toEqual(transition('pump-1', BASE + 40_000));
    // The transition's `alerts` point went out with its state.
    const [series] = await sink.query('SELECT alert_id, "state" FROM alerts');
    expect(series?.values.map((v) => v.slice(1))).toEqual([[`pump-5-${BASE + 40_000}`, 'open']]);
  });

  it('reads only records of windows ended after a bound when given one, and finds one transition’s record', async () => {
    const alerts = await store();
    const queries: string[] = [];
    const query = sink.query.bind(sink);
    sink.query = (statement) => (queries.push(statement), query(statement));
    const record = (machine: string, windowEnd: number, createdAt: number): DeliveryRecord => ({ transition: transition(machine, windowEnd), pending: ['topic'], attempts: 0, createdAt, updatedAt: 0 });
    // Both created late, one for a window that ended before the bound.
    await alerts.saveDelivery(record('pump-old', BASE + 10_000, BASE + 50_000));
    await alerts.saveDelivery(record('pump-new', BASE + 40_000, BASE + 50_000));
    expect((await alerts.pendingDeliveries(BASE + 60_000)).map((r) => r.transition.machineId).sort()).toEqual(['pump-new', 'pump-old']);
    expect((await alerts.pendingDeliveries(BASE + 60_000, BASE + 20_000)).map((r) => r.transition.machineId)).toEqual(['pump-new']);
    expect(queries[1]).toContain(`WHERE time > ${BASE + 20_000}ms AND`);
    // One record by its transition (site, machine, state, window end); none for another state or window.
    const key = { siteId: 'plant-1', machineId: 'pump-old', windowEnd: BASE + 10_000 };
    expect(await alerts.findDelivery({ ...key, state: 'open' })).toEqual(record('pump-old', BASE + 10_000, BASE + 50_000));
    expect(await alerts.findDelivery({ ...key, state: 'resolved' })).toBeUndefined();
    expect(await alerts.findDelivery({ ...key, state: 'open', windowEnd: BASE + 20_000 })).toBeUndefined();
    expect(await alerts.findDelivery({ ...key, siteId: 'plant-2', state: 'open' })).toBeUndefined();
  });
});
