// AlertDispatcher over an in-memory store: one machine's windows are counted one after another even
// when they arrive together, a state that could not be stored fails the window (→ nack) and the
// redelivery counts it, two dispatchers sharing a store act as one, and a processor counting a
// machine's windows in a row loads its state once and stores only what changes it; a later revision of
// a window is never counted, also where the stored state lags the windows counted. Over a real influxd:
// two processors (a store each, one database) taking a machine's windows in turn, two getting two
// revisions of one window at the same moment, and a later revision after a lagging stored state.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessorMetrics } from '../ops/metrics.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { pumpScore, RecordingTarget } from '../test-support/alert-windows.js';
import { MemoryAlertStore } from '../test-support/memory-alert-store.js';
import { AlertDeliveries } from './alert-delivery.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { InfluxAlertStore, type AlertStore } from './alert-store.js';

const RULE = { openAfter: 2, within: 2, resolveAfter: 2 };

/** Window times within the retention policy (30 d) for the influxd tests: an hour ago, aligned to 10 s. */
const BASE = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;

const score = pumpScore;

function dispatcher(store: AlertStore, target: RecordingTarget): AlertDispatcher {
  const clock = new ManualClock(1_000);
  const log = pino({ level: 'silent' });
  const deliveries = new AlertDeliveries([target], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, log);
  return new AlertDispatcher(RULE, store, deliveries, new ProcessorMetrics(), clock, log);
}

describe('AlertDispatcher', () => {
  it('counts a machine’s windows one after another when they arrive together', async () => {
    const target = new RecordingTarget();
    const alerts = dispatcher(new MemoryAlertStore(), target);
    await Promise.all([alerts.observe(score(0, true)), alerts.observe(score(1, true))]);
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });

  it('fails a window whose state could not be stored, and counts it once when it comes again', async () => {
    const store = new MemoryAlertStore();
    const target = new RecordingTarget();
    const alerts = dispatcher(store, target);
    await alerts.observe(score(0, true));
    const save = store.save.bind(store);
    store.save = () => Promise.reject(new Error('InfluxDB down'));
    await expect(alerts.observe(score(1, true))).rejects.toThrow('InfluxDB down');
    expect(target.sent).toEqual([]);
    store.save = save;
    await alerts.observe(score(1, true)); // the redelivery
    await alerts.observe(score(1, true)); // and a duplicate of it
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });

  it('two dispatchers sharing a store, taking windows in turn, open and resolve one alert', async () => {
    const store = new MemoryAlertStore();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    const processors = [dispatcher(store, a), dispatcher(store, b)];
    const pattern = [true, true, true, false, false, false];
    for (const [i, anomalous] of pattern.entries()) await processors[i % 2]!.observe(score(i, anomalous));
    // Opened on window 1 (by b), resolved on window 4 (by a).
    expect([...a.sent, ...b.sent].sort()).toEqual(['open:pump-1-20000', 'resolved:pump-1-20000']);
    expect(b.sent).toEqual(['open:pump-1-20000']);
  });

  it('loads a machine’s state once while it counts its windows in a row, and stores only the windows that change it', async () => {
    const store = new MemoryAlertStore();
    let loads = 0;
    const saved: number[] = [];
    const [load, save] = [store.load.bind(store), store.save.bind(store)];
    store.load = (m) => (loads++, load(m));
    store.save = (state, ...rest) => (saved.push(state.lastWindowStart / 10_000), save(state, ...rest));
    const target = new RecordingTarget();
    const alerts = dispatcher(store, target);
    // K = N = M = 2. Windows 2, 3 and 10 leave [normal, normal] as it was (no alert open): not stored.
    for (const [i, c] of [...'NNNNAANNNNN'].entries()) await alerts.observe(score(i, c === 'A'), 0);
    expect(loads).toBe(1);
    expect(saved).toEqual([0, 1, 4, 5, 6, 7, 8, 9]);
    expect(target.sent).toEqual(['open:pump-1-60000', 'resolved:pump-1-60000']);
    // A later revision is never counted and loads nothing, of the newest window or of the next one.
    await alerts.observe(score(10, true), 1);
    await alerts.observe(score(11, true), 1);
    expect(loads).toBe(1);
    expect(saved).toEqual([0, 1, 4, 5, 6, 7, 8, 9]);
  });

  it('never counts a later revision of a window another processor counted, though the stored state is older than that window', async () => {
    const store = new MemoryAlertStore();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    // K = N = M = 2. a counts windows 0-2, normal; window 2 leaves [normal, normal] as it was: not stored.
    const pa = dispatcher(store, a);
    for (const i of [0, 1, 2]) await pa.observe(score(i, false), 0);
    expect(store.states.get('plant-1/pump-1')?.lastWindowStart).toBe(10_000);
    // b (another processor, or a after a restart) gets revision 1 of window 2, anomalous, then window 3,
    // anomalous. Window 2 counted as its revision 0 (normal): [normal, anomalous], no alert. Counted
    // again as revision 1 it would make [anomalous, anomalous] and open.
    const pb = dispatcher(store, b);
    await pb.observe(score(2, true), 1);
    await pb.observe(score(3, true), 0);
    expect([...a.sent, ...b.sent]).toEqual([]);
    await pb.observe(score(4, true), 0);
    expect(b.sent).toEqual(['open:pump-1-50000']);
  });

  it('counts the next revision of a window whose revision 0 it could not score (a sensor trailing by clock skew), and only then', async () => {
    // Every window of the machine comes twice: revision 0 without the trailing sensor (unfit), then
    // revision 1 complete. K = N = 2: windows 0 and 1 anomalous open the alert at window 1.
    const target = new RecordingTarget();
    const alerts = dispatcher(new MemoryAlertStore(), target);
    for (const i of [0, 1]) {
      alerts.unfit(score(i, true), 0);
      await alerts.observe(score(i, true), 1);
    }
    expect(target.sent).toEqual(['open:pump-1-20000']);
    // A revision 1 whose revision 0 was scored (here: counted normal) does not count again, nor a
    // revision 2 after the unfit revision 0's turn was taken by revision 1.
    const other = new RecordingTarget();
    const later = dispatcher(new MemoryAlertStore(), other);
    await later.observe(score(5, false), 0);
    await later.observe(score(5, true), 1);
    later.unfit(score(6, true), 0);
    await later.observe(score(6, true), 1);
    await later.observe(score(6, true), 2);
    expect(other.sent).toEqual([]);
    // A processor that never saw the unfit revision 0 (it restarted, or the key moved) does not count revision 1.
    const fresh = new RecordingTarget();
    const restarted = dispatcher(new MemoryAlertStore(), fresh);
    for (const i of [8, 9]) await restarted.observe(score(i, true), 1);
    expect(fresh.sent).toEqual([]);
  });

  it('counts the redelivery of a later revision whose count failed (the store down), in place of the unfit revision 0', async () => {
    const store = new MemoryAlertStore();
    const target = new RecordingTarget();
    const alerts = dispatcher(store, target);
    alerts.unfit(score(0, true), 0);
    await alerts.observe(score(0, true), 1);
    alerts.unfit(score(1, true), 0);
    const load = store.load.bind(store);
    const save = store.save.bind(store);
    store.load = () => Promise.reject(new Error('InfluxDB down'));
    store.save = () => Promise.reject(new Error('InfluxDB down'));
    await expect(alerts.observe(score(1, true), 1)).rejects.toThrow('InfluxDB down');
    store.load = load;
    store.save = save;
    await alerts.observe(score(1, true), 1); // the redelivery: windows 0 and 1 anomalous open the alert
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });

  it('delivers the alert of a later revision whose points failed once its redelivery is stored', async () => {
    const target = new RecordingTarget();
    const alerts = dispatcher(new MemoryAlertStore(), target);
    alerts.unfit(score(0, true), 0);
    await alerts.observe(score(0, true), 1);
    alerts.unfit(score(1, true), 0);
    const pointsFailed = Promise.reject(new Error('InfluxDB refused'));
    pointsFailed.catch(() => undefined);
    await alerts.observe(score(1, true), 1, pointsFailed); // the decision (open) is stored, its window's points are not
    await new Promise((resolve) => setImmediate(resolve));
    expect(target.sent).toEqual([]);
    await alerts.observe(score(1, true), 1); // the redelivery, its points stored
    await until(() => target.sent.length > 0, 'the open delivered');
    expect(target.sent).toEqual(['open:pump-1-20000']);
  });
});

describe('AlertDispatcher: processors sharing the alert state in InfluxDB', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** Two processors on one database: a sink and a store each. */
  async function twoStores(): Promise<[InfluxAlertStore, InfluxAlertStore]> {
    const database = uniqueDatabaseName('dispatch');
    const sinks = [0, 1].map(() => new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 }));
    for (const sink of sinks) await sink.start();
    return [new InfluxAlertStore(sinks[0]!), new InfluxAlertStore(sinks[1]!)];
  }

  it('two processors taking a machine’s windows in turn count each window once, a later revision of a window the other counted not at all', async () => {
    const [storeA, storeB] = await twoStores();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    const [pa, pb] = [dispatcher(storeA, a), dispatcher(storeB, b)];
    // K = N = M = 2: a counts 0 (A), b counts 1 (A: opens), a counts 2 (N)...
    await pa.observe(score(0, true, BASE), 0);
    await pb.observe(score(1, true, BASE), 0);
    await pa.observe(score(2, false, BASE), 0);
    // ... and a revision 1 of window 2 reaching b, normal: not counted (counted, it would make the
    // quiet run 2 and resolve).
    await pb.observe(score(2, false, BASE), 1);
    expect([...a.sent, ...b.sent]).toEqual([`open:pump-1-${BASE + 20_000}`]);
    // The revision 1 of window 1 reaching a, which counted window 0 just before it: not counted either.
    await pa.observe(score(1, false, BASE), 1);
    await pb.observe(score(3, false, BASE), 0); // the second normal window resolves
    await until(() => b.sent.length === 2, 'b delivered the resolve');
    expect(b.sent).toEqual([`open:pump-1-${BASE + 20_000}`, `resolved:pump-1-${BASE + 20_000}`]);
    expect(a.sent).toEqual([]);
  });

  it('two processors getting two revisions of one window at the same moment count revision 0 only', async () => {
    const [storeA, storeB] = await twoStores();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    const [pa, pb] = [dispatcher(storeA, a), dispatcher(storeB, b)];
    await pa.observe(score(0, true, BASE), 0);
    // Window 1: revision 0 (anomalous: opens) reaches a, revision 1 (normal) reaches b.
    await Promise.all([pa.observe(score(1, true, BASE), 0), pb.observe(score(1, false, BASE), 1)]);
    const kept = await storeA.load({ siteId: 'plant-1', machineId: 'pump-1' });
    expect(kept).toMatchObject({ lastWindowStart: BASE + 10_000, open: { alertId: `pump-1-${BASE + 20_000}` }, normalRun: 0 });
    // Two normal windows after it resolve that alert.
    await pb.observe(score(2, false, BASE), 0);
    await pa.observe(score(3, false, BASE), 0);
    await until(() => a.sent.length === 2, 'a delivered the resolve');
    expect(a.sent).toEqual([`open:pump-1-${BASE + 20_000}`, `resolved:pump-1-${BASE + 20_000}`]);
    expect(b.sent).toEqual([]);
  });

  it('a processor that did not count a machine’s newest window does not count a later revision of it, though alert_state holds an older window', async () => {
    const [storeA, storeB] = await twoStores();
    const [a, b] = [new RecordingTarget(), new RecordingTarget()];
    const [pa, pb] = [dispatcher(storeA, a), dispatcher(storeB, b)];
    // K = N = M = 2: a counts windows 0-2, normal; window 2 changes nothing and is not stored.
    for (const i of [0, 1, 2]) await pa.observe(score(i, false, BASE), 0);
    expect(await storeB.load({ siteId: 'plant-1', machineId: 'pump-1' })).toMatchObject({ lastWindowStart: BASE + 10_000 });
    // b gets revision 1 of window 2 (anomalous), then windows 3 and 4 (anomalous): it opens on window 4.
    await pb.observe(score(2, true, BASE), 1);
    await pb.observe(score(3, true, BASE), 0);
    await pb.observe(score(4, true, BASE), 0);
    await until(() => b.sent.length === 1, 'b delivered the open');
    expect([...a.sent, ...b.sent]).toEqual([`open:pump-1-${BASE + 50_000}`]);
  });
});
