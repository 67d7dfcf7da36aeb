// The alert workflow over a real influxd, on a manual clock: the episodes listed with what people did
// about them (values by hand from the points written), and what it refuses, naming why.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { MachineWindowSchema, create } from '@pdm/proto';
import { AlertWorkflow } from './alert-workflow.js';

/** Within the retention policy (30 d): an hour ago, aligned to 10 s. */
const BASE = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;
const MINUTE = 60_000;

describe('AlertWorkflow', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** The actions stored, as rows of alert_actions. */
  const stored = async (sink: InfluxSink) => (await sink.query('SELECT * FROM "alert_actions"')).flatMap((s) => s.values);

  /**
   * pump-1 (plant-1) opened at BASE + 10 s, still open; fan-2 (plant-1) opened at BASE + 20 s while
   * muted, resolved at BASE + 40 s; the clock at BASE + 1 min.
   */
  async function fleet(rawRetention = INFLUX_SINK_DEFAULTS.rawRetention) {
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('workflow'), batchMaxDelayMs: 1, rawRetention });
    await sink.start();
    const alert = (machineId: string, state: string, windowEnd: number, alertEnd: number, suppressed = false) =>
      sink.writeAlert({ siteId: 'plant-1', machineId, alertId: `${machineId}-${alertEnd}`, state, score: 9, message: `${machineId} ${state}`, windowEnd, suppressed });
    // fan-2's one site is known from a window of it.
    const window = create(MachineWindowSchema, { siteId: 'plant-1', machineId: 'fan-2', gatewayId: 'g', windowStart: BigInt(BASE), windowEnd: BigInt(BASE + 10_000) });
    await Promise.all([
      alert('pump-1', 'open', BASE + 10_000, BASE + 10_000),
      alert('fan-2', 'open', BASE + 20_000, BASE + 20_000, true),
      alert('fan-2', 'resolved', BASE + 40_000, BASE + 20_000, true),
      sink.writeUnscoredWindow(window, { kind: 'no_model' }),
    ]);
    await sink.flush();
    const clock = new ManualClock(BASE + MINUTE);
    return { sink, clock, workflow: new AlertWorkflow(sink, clock) };
  }

  it('lists open episodes first, with their ack, label and resolve by hand, and the machines muted now', async () => {
    const { clock, workflow } = await fleet();
    const pump = `pump-1-${BASE + 10_000}`;
    const fan = `fan-2-${BASE + 20_000}`;
    await workflow.ack(pump, { who: 'ana', note: 'on my way' });
    clock.advance(1_000);
    await workflow.label(fan, 'maintenance', 'planned belt change', { who: 'bo' });
    await workflow.mute({ machineId: 'fan-2' }, BASE + 2 * MINUTE, { who: 'bo', note: 'belt' }); // its one site, found
    clock.advance(1_000);
    await workflow.resolve(pump, { who: 'ana' });

    const { episodes, mutes } = await workflow.list(BASE);
    expect(episodes.map((e) => [e.alertId, e.state, e.suppressed, e.resolvedAt, e.ack?.who, e.label?.label, e.label?.cause, e.resolvedByHand?.time])).toEqual([
      [pump, 'resolving', false, undefined, 'ana', undefined, undefined, BASE + MINUTE + 2_000],
      [fan, 'resolved', true, BASE + 40_000, undefined, 'maintenance', 'planned belt change', undefined],
    ]);
    expect(mutes).toEqual([{ time: BASE + MINUTE + 1_000, action: 'mute', siteId: 'plant-1', machineId: 'fan-2', who: 'bo', note: 'belt', muteUntil: BASE + 2 * MINUTE }]);
    // A resolved episode without action after `since` is left out; a mute ended is no longer listed.
    clock.advance(2 * MINUTE);
    const later = await workflow.list(BASE + MINUTE + 1_500);
    expect(later.episodes.map((e) => e.alertId)).toEqual([pump]);
    expect(later.mutes).toEqual([]);
  });

  it('refuses what the stored alerts do not allow, naming what is wrong', async () => {
    const { workflow } = await fleet();
    const by = { who: 'ana' };
    await expect(workflow.ack('pump-1-123', by)).rejects.toThrow('unknown alert id "pump-1-123"');
    await expect(workflow.ack("x' OR 1=1", by)).rejects.toThrow(`unknown alert id "x' OR 1=1"`);
    await expect(workflow.resolve(`fan-2-${BASE + 20_000}`, by)).rejects.toMatchObject({
      reason: 'conflict',
      message: `alert fan-2-${BASE + 20_000} is already resolved: at ${new Date(BASE + 40_000).toISOString()} (fan-2 resolved)`,
    });
    await expect(workflow.label(`fan-2-${BASE + 20_000}`, 'broken', undefined, by)).rejects.toThrow('unknown label "broken": expected one of fault, false_alarm, maintenance');
    await expect(workflow.mute({ machineId: 'press-9' }, BASE + 2 * MINUTE, by)).rejects.toThrow('unknown machine "press-9"');
    await expect(workflow.mute({ machineId: 'fan-2' }, BASE + MINUTE, by)).rejects.toThrow(`the mute would end at ${new Date(BASE + MINUTE).toISOString()}, which is not in the future`);
    await workflow.resolve(`pump-1-${BASE + 10_000}`, by);
    await expect(workflow.resolve(`pump-1-${BASE + 10_000}`, { who: 'bo' })).rejects.toMatchObject({
      reason: 'conflict',
      message: `alert pump-1-${BASE + 10_000} is already being resolved by hand: by ana at ${new Date(BASE + MINUTE).toISOString()} (the processor closes it at the machine's next window)`,
    });
    // A machine not seen yet can be muted with its site.
    await expect(workflow.mute({ siteId: 'plant-2', machineId: 'press-9' }, BASE + 2 * MINUTE, by)).resolves.toMatchObject({ siteId: 'plant-2', machineId: 'press-9' });
  });

  it('refuses a mute that never ends or ends at no time a Date holds, before writing it, leaving the mute in force', async () => {
    const { sink, clock, workflow } = await fleet();
    const by = { who: 'bo' };
    const hour = await workflow.mute({ machineId: 'fan-2' }, clock.now() + 3_600_000, by);
    for (const until of [Number.POSITIVE_INFINITY, Number.NaN, 1e17]) {
      await expect(workflow.mute({ machineId: 'fan-2' }, until, by), String(until)).rejects.toMatchObject({ name: 'AlertWorkflowError', reason: 'invalid' });
    }
    await expect(workflow.mute({ machineId: 'fan-2' }, Number.POSITIVE_INFINITY, by)).rejects.toThrow('the mute would never end (its end is Infinity): give a duration or a time');
    // An end no Date can show is named all the same, not a RangeError (a 500 from the API).
    await expect(workflow.mute({ machineId: 'fan-2' }, -1e20, by)).rejects.toThrow('the mute would end at -100000000000000000000 ms since 1970, which is not in the future');
    await expect(workflow.mute({ machineId: 'fan-2' }, 1e17, by)).rejects.toThrow('the mute would end at 100000000000000000 ms since 1970, after the longest mute possible, 30d');
    expect(await stored(sink)).toHaveLength(1);
    expect((await workflow.list(BASE)).mutes).toEqual([hour]);
  });

  it('refuses a mute longer than the raw retention policy keeps its point, naming the longest possible and why', async () => {
    const day = 86_400_000;
    const { sink, clock, workflow } = await fleet();
    const by = { who: 'bo' };
    const now = clock.now();
    await expect(workflow.mute({ machineId: 'fan-2' }, now + 30 * day + 1, by)).rejects.toThrow(
      `the mute would end at ${new Date(now + 30 * day + 1).toISOString()}, after the longest mute possible, 30d (until ${new Date(now + 30 * day).toISOString()}): ` +
        'a mute is an alert_actions point, which InfluxDB keeps 30d (retention policy "raw", the processor\'s influx.rawRetention), and it ends when that point is dropped; mute again before then to extend it',
    );
    await expect(workflow.mute({ machineId: 'fan-2' }, now + 60 * day, by)).rejects.toMatchObject({ reason: 'invalid' });
    expect(await stored(sink)).toEqual([]);
    await expect(workflow.mute({ machineId: 'fan-2' }, now + 30 * day, by)).resolves.toMatchObject({ muteUntil: now + 30 * day });

    // The limit follows the policy as configured (influx.rawRetention), read from InfluxDB.
    const short = await fleet({ name: 'raw', duration: '2d' });
    const from = short.clock.now();
    await expect(short.workflow.mute({ machineId: 'fan-2' }, from + 2 * day + 1, by)).rejects.toThrow('after the longest mute possible, 2d');
    await expect(short.workflow.mute({ machineId: 'fan-2' }, from + 2 * day, by)).resolves.toMatchObject({ muteUntil: from + 2 * day });
    // Kept forever: as far as a Date goes.
    const forever = await fleet({ name: 'raw', duration: 'INF' });
    await expect(forever.workflow.mute({ machineId: 'fan-2' }, 8.64e15 + 1, by)).rejects.toThrow('the retention policy "raw" keeps points forever, and a Date holds no later time');
    await expect(forever.workflow.mute({ machineId: 'fan-2' }, 8.64e15, by)).resolves.toMatchObject({ muteUntil: 8.64e15 });
  });

  it('refuses machine and site ids line protocol cannot carry, for mute and unmute, before writing anything', async () => {
    const { sink, clock, workflow } = await fleet();
    const by = { who: 'bo' };
    const until = clock.now() + 3_600_000;
    const bad = ['fan-2\nevil', 'fan-2\r', 'fan\t2', 'fan-2\u0000', 'fan-2\u007f', 'fan-2\\', ''];
    for (const id of bad) {
      for (const machine of [{ machineId: id }, { siteId: 'plant-1', machineId: id }, { siteId: id, machineId: 'fan-2' }]) {
        const which = machine.machineId === id ? 'machine' : 'site';
        await expect(workflow.mute(machine, until, by), JSON.stringify(machine)).rejects.toMatchObject({ reason: 'invalid', message: expect.stringContaining(`invalid ${which} id ${JSON.stringify(id)}: `) as unknown });
        await expect(workflow.unmute(machine, by), JSON.stringify(machine)).rejects.toMatchObject({ reason: 'invalid', message: expect.stringContaining(`invalid ${which} id ${JSON.stringify(id)}: `) as unknown });
      }
    }
    expect(await stored(sink)).toEqual([]);
    expect((await sink.query('SHOW MEASUREMENTS')).flatMap((s) => s.values.flat())).not.toContain('evil');
    // An id with a backslash or a quote inside is stored as given.
    await expect(workflow.mute({ siteId: 'plant\\1', machineId: `fan "2"` }, until, by)).resolves.toMatchObject({ siteId: 'plant\\1', machineId: 'fan "2"' });
    expect((await workflow.list(BASE)).mutes).toMatchObject([{ siteId: 'plant\\1', machineId: 'fan "2"' }]);
  });

  it('answers an alert id no alert can have (an epoch past InfluxDB times, a control character) as unknown', async () => {
    const { workflow } = await fleet();
    const by = { who: 'ana' };
    for (const id of ['pump-1-99999999999999999999', 'pump-1-9223372036855', 'pump-1\n-123', `pump-1\t-${BASE + 10_000}`, `pump-1-${BASE + 10_000}\u0000-1`]) {
      for (const act of [() => workflow.ack(id, by), () => workflow.resolve(id, by), () => workflow.label(id, 'fault', undefined, by)]) {
        await expect(act(), JSON.stringify(id)).rejects.toMatchObject({ reason: 'unknown', message: `unknown alert id ${JSON.stringify(id)}: no alert opened with this id (pdm alerts list shows them)` });
      }
    }
    // The latest time InfluxDB holds is a valid id, of no alert.
    await expect(workflow.ack('pump-1-9223372036854', by)).rejects.toMatchObject({ reason: 'unknown' });
  });
});
