// People's alert actions: stored in and read back from a real influxd as they were taken; which mute
// covers a machine at a time (by hand); and through the dispatcher over a real influxd, a resolve by
// hand closes the episode at the machine's next window after the actions were read (the stored state
// says so), and an episode opening while its machine is muted is recorded as suppressed, never
// delivered, its resolve too — unless it is still anomalous after the mute: then it is announced.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowScore } from '../model/api.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { pumpScore, RecordingTarget } from '../test-support/alert-windows.js';
import { AlertActionLog, ProcessorActions, ProcessorActionsView, type AlertAction } from './alert-actions.js';
import { AlertDeliveries } from './alert-delivery.js';
import { AlertDispatcher } from './alert-dispatcher.js';
import { InfluxAlertStore } from './alert-store.js';

/** K = N = M = 2. */
const RULE = { openAfter: 2, within: 2, resolveAfter: 2 };
/** Window times within the retention policy (30 d): an hour ago, aligned to 10 s. */
const BASE = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;
const PUMP = { siteId: 'plant-1', machineId: 'pump-1' };

const score = (index: number, isAnomaly: boolean): WindowScore => pumpScore(index, isAnomaly, BASE);

const action = (time: number, kind: AlertAction['action'], rest: Partial<AlertAction> = {}): AlertAction => ({ time, action: kind, ...PUMP, who: 'ana', ...rest });

describe('ProcessorActions', () => {
  it('a machine is muted from a mute until its muteUntil, or until an unmute taken after it', () => {
    const actions = new ProcessorActions([
      action(400, 'mute', { muteUntil: 450 }),
      action(100, 'mute', { muteUntil: 500 }),
      action(300, 'unmute'),
      action(100, 'mute', { siteId: 'plant-2', muteUntil: 10_000 }),
    ]);
    const muted = (time: number, machine = PUMP) => actions.muteAt(machine, time)?.time;
    expect([99, 100, 299, 300, 399, 400, 449, 450, 499, 600].map((t) => muted(t))).toEqual([undefined, 100, 100, undefined, undefined, 400, 400, undefined, undefined, undefined]);
    expect(muted(1_000, { siteId: 'plant-2', machineId: 'pump-1' })).toBe(100);
    expect(muted(1_000, { siteId: 'plant-1', machineId: 'pump-2' })).toBeUndefined();
  });

  it('an episode’s first resolve by hand is the one that counts', () => {
    const actions = new ProcessorActions([action(200, 'resolve', { alertId: 'a', who: 'bo' }), action(100, 'resolve', { alertId: 'a' }), action(50, 'ack', { alertId: 'b' })]);
    expect(actions.resolvedByHand('a')).toMatchObject({ time: 100, who: 'ana' });
    expect(actions.resolvedByHand('b')).toBeUndefined();
  });
});

describe('alert actions in InfluxDB', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  async function sink(): Promise<InfluxSink> {
    const s = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('actions'), batchMaxDelayMs: 1 });
    await s.start();
    return s;
  }

  it('lists the actions as they were taken, oldest first, only the kinds asked for, after a time', async () => {
    const log = new AlertActionLog(await sink());
    const taken: AlertAction[] = [
      action(BASE + 2_000, 'label', { alertId: 'pump-1-1', label: 'false_alarm', cause: "valve 'stuck' \\ noisy", who: 'bo' }),
      action(BASE + 1_000, 'ack', { alertId: 'pump-1-1', note: 'on it' }),
      action(BASE + 3_000, 'mute', { muteUntil: BASE + 7_200_000, note: 'planned maintenance' }),
    ];
    for (const a of taken) await log.record(a);
    expect(await log.list()).toEqual([taken[1], taken[0], taken[2]]);
    expect(await log.list({ since: BASE + 1_000 })).toEqual([taken[0], taken[2]]);
    expect(await log.list({ kinds: ['mute', 'resolve'] })).toEqual([taken[2]]);
    expect(await log.list({ alertId: 'pump-1-1' })).toEqual([taken[1], taken[0]]);
  });

  /** A processor over a fresh database: its dispatcher reads the actions at most every second of its clock. */
  async function processor() {
    const s = await sink();
    const clock = new ManualClock(BASE); // actions are stamped with it: within the retention policy
    const logger = pino({ level: 'silent' });
    const store = new InfluxAlertStore(s);
    const target = new RecordingTarget();
    const deliveries = new AlertDeliveries([target], store, { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 }, clock, logger);
    const log = new AlertActionLog(s);
    const dispatcher = new AlertDispatcher(RULE, store, deliveries, new ProcessorMetrics(), clock, logger, new ProcessorActionsView(log, clock, 1_000));
    return { sink: s, clock, store, target, log, dispatcher };
  }

  it('a resolve by hand closes the episode at the next window after the actions are read, and the next one opens on K windows after it', async () => {
    const p = await processor();
    await p.dispatcher.observe(score(0, true), 0);
    await p.dispatcher.observe(score(1, true), 0); // opens
    const alertId = `pump-1-${BASE + 20_000}`;
    await p.log.record(action(p.clock.now(), 'resolve', { alertId, note: 'bearing replaced' }));
    await p.dispatcher.observe(score(2, true), 0); // the actions were read within the last second: still open
    p.clock.advance(1_000);
    await p.dispatcher.observe(score(3, true), 0); // read again: resolved by hand, though anomalous
    const stored = await p.store.load(PUMP);
    expect(stored).toMatchObject({ lastWindowStart: BASE + 30_000, recent: [], normalRun: 0 });
    expect(stored).not.toHaveProperty('open');
    await p.dispatcher.observe(score(4, true), 0); // 1 of K = 2
    await p.dispatcher.observe(score(5, true), 0); // opens the next episode
    await until(() => p.target.sent.length === 3, 'three transitions delivered');
    expect(p.target.sent).toEqual([`open:${alertId}`, `resolved:${alertId}`, `open:pump-1-${BASE + 60_000}`]);
    const [alerts] = await p.sink.query('SELECT alert_id, message, suppressed FROM alerts WHERE "state" = \'resolved\'');
    expect(alerts?.values.map((row) => row.slice(1))).toEqual([[alertId, 'resolved by hand by ana: bearing replaced', false]]);
  });

  it('an episode opening while its machine is muted is recorded as suppressed and never delivered, its resolve after the mute either', async () => {
    const p = await processor();
    await p.log.record(action(BASE, 'mute', { muteUntil: BASE + 30_000 }));
    for (const [i, anomalous] of [true, true, false, false, true, true].entries()) await p.dispatcher.observe(score(i, anomalous), 0);
    // Windows 0-1 open an episode inside the mute (end BASE + 20 s), windows 2-3 resolve it (the
    // resolve at BASE + 40 s, after the mute); windows 4-5 open the next one, delivered.
    await until(() => p.target.sent.length === 1, 'the episode after the mute delivered');
    const muted = `pump-1-${BASE + 20_000}`;
    const after = `pump-1-${BASE + 60_000}`;
    expect(p.target.sent).toEqual([`open:${after}`]);
    const [alerts] = await p.sink.query('SELECT alert_id, "state", suppressed FROM alerts');
    expect(alerts?.values.map((row) => row.slice(1))).toEqual([
      [muted, 'open', true],
      [muted, 'resolved', true],
      [after, 'open', false],
    ]);
    const deliveries = await p.sink.query('SELECT alert_id FROM alert_deliveries');
    expect(deliveries.flatMap((s) => s.values.map((row) => row[1]))).toEqual([after]);
  });

  it('an episode opened during a mute and still anomalous after it is announced then, its resolve delivered too', async () => {
    const p = await processor();
    await p.log.record(action(BASE, 'mute', { muteUntil: BASE + 25_000 }));
    for (const [i, anomalous] of [true, true, true, false, false].entries()) await p.dispatcher.observe(score(i, anomalous), 0);
    // Windows 0-1 open an episode inside the mute (at BASE + 20 s); window 2, anomalous and ending after
    // the mute (BASE + 30 s), announces it; windows 3-4 resolve it.
    const id = `pump-1-${BASE + 20_000}`;
    await until(() => p.target.sent.length === 2, 'the open after the mute and the resolve delivered');
    expect(p.target.sent).toEqual([`open:${id}`, `resolved:${id}`]);
    const [alerts] = await p.sink.query('SELECT alert_id, "state", suppressed FROM alerts');
    expect(alerts?.values.map((row) => row.slice(1))).toEqual([
      [id, 'open', true],
      [id, 'open', false],
      [id, 'resolved', false],
    ]);
  });
});
