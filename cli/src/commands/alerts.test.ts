// `pdm alerts` against a real influxd: the workflow from the command line (list, ack, label, resolve,
// mute, unmute), its errors naming what is wrong, and --help.
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

/** Within the retention policy (30 d): an hour ago, aligned to 10 s. */
const OPENED = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;
const ALERT = `pump-1-${OPENED}`;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('pdm alerts', () => {
  let influx: RunningInflux;
  let flags: string[];
  let sink: InfluxSink;
  beforeAll(async () => {
    influx = await startTestInflux();
    const database = uniqueDatabaseName('cli_alerts');
    flags = ['--influx-url', influx.url, '--database', database];
    sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    await sink.writeAlert({ siteId: 'plant-1', machineId: 'pump-1', alertId: ALERT, state: 'open', score: 9, message: 'm', windowEnd: OPENED });
  });
  afterAll(async () => {
    await influx?.stop();
  });

  async function pdm(...args: string[]) {
    const io = capture();
    const code = await main(['alerts', ...args, ...flags], io.context);
    return { code, out: io.out.join('\n'), err: io.err.join('\n') };
  }

  /** Runs `pdm alerts ...args` and checks its exit code and what it printed (out when 0, else err). */
  async function expectPdm(args: string[], code: number, printed: string | RegExp) {
    const result = await pdm(...args);
    expect(result.code, result.err).toBe(code);
    const text = code === 0 ? result.out : result.err;
    if (typeof printed === 'string') expect(text).toContain(printed);
    else expect(text).toMatch(printed);
  }

  it('acknowledges, labels and resolves an alert by hand, mutes and unmutes its machine, and lists all of it', async () => {
    expect(await pdm('list')).toEqual({ code: 0, out: `${ALERT}  plant-1/pump-1  open  opened ${iso(OPENED)}`, err: '' });
    await expectPdm(['ack', ALERT, '--who', 'ana', '--note', 'on my way'], 0, new RegExp(`^ack ${ALERT} by ana at `));
    await expectPdm(['label', ALERT, '--label', 'fault', '--cause', 'bearing worn', '--who', 'ana'], 0, new RegExp(`^label fault \\(bearing worn\\) ${ALERT} by ana`));
    await expectPdm(['resolve', ALERT, '--who', 'bo'], 0, "the processor resolves it at the machine's next window");
    const until = Math.ceil((Date.now() + 7_200_000) / 1_000) * 1_000;
    await expectPdm(['mute', 'pump-1', '--site', 'plant-1', '--until', iso(until), '--who', 'bo', '--note', 'belt change'], 0, `mute plant-1/pump-1 until ${iso(until)} by bo`);

    const [episode, mute, ...rest] = (await pdm('list')).out.split('\n');
    expect(rest).toEqual([]);
    expect(episode).toMatch(new RegExp(`^${ALERT}  plant-1/pump-1  resolving  opened ${iso(OPENED)}  resolved by hand by bo  ack ana \\S+ \\(on my way\\)  label fault: bearing worn \\(ana\\)$`));
    expect(mute).toBe(`muted plant-1/pump-1 until ${iso(until)} by bo (belt change)`);

    await expectPdm(['unmute', 'pump-1', '--site', 'plant-1', '--who', 'bo'], 0, /^unmute plant-1\/pump-1 by bo/);
    expect((await pdm('list')).out.split('\n')).toHaveLength(1);
  });

  it('says what is wrong: an unknown alert id, machine or label, a bad duration or time, a missing flag', async () => {
    expect(await pdm('ack', 'pump-1-42', '--who', 'ana')).toEqual({ code: 1, out: '', err: 'pdm alerts: unknown alert id "pump-1-42": no alert opened with this id (pdm alerts list shows them)' });
    await expectPdm(['mute', 'press-9', '--for', '2h'], 1, 'pdm alerts: unknown machine "press-9"');
    await expectPdm(['mute', 'pump-1', '--site', 'plant-1', '--for', '2 hours'], 2, 'pdm alerts: --for: invalid duration "2 hours"');
    await expectPdm(['mute', 'pump-1', '--site', 'plant-1', '--until', 'tomorrow'], 2, '--until: "tomorrow" is not an ISO-8601 time');
    await expectPdm(['mute', 'pump-1', '--site', 'plant-1'], 2, 'needs either --for DURATION or --until TIME');
    await expectPdm(['label', ALERT], 2, 'needs --label fault|false_alarm|maintenance');
    expect(await pdm('label', ALERT, '--label', 'oops')).toEqual({ code: 1, out: '', err: 'pdm alerts: unknown label "oops": expected one of fault, false_alarm, maintenance' });
    await expectPdm(['list', '--since', '7'], 2, '--since: invalid duration "7"');
    await expectPdm(['close', ALERT], 2, 'unknown action "close"');
    await expectPdm(['ack'], 2, 'pdm alerts ack needs an ALERT_ID');
  });

  it('shows its help on every action', async () => {
    for (const action of ['list', 'ack', 'resolve', 'label', 'mute', 'unmute']) {
      const io = capture();
      expect(await main(['alerts', action, '--help'], io.context)).toBe(0);
      expect(io.out.join('\n')).toContain(`pdm alerts ${action.padEnd(7)} `);
    }
  });

  it('refuses, exit 1 and nothing written, a mute that never ends or outlives its point in InfluxDB, and ids InfluxDB cannot store', async () => {
    const stored = async () => (await sink.query('SELECT * FROM "alert_actions" WHERE "machine" = \'fan-9\'')).flatMap((s) => s.values);
    const mute = ['mute', 'fan-9', '--site', 'plant-9', '--who', 'bo'];
    await expectPdm([...mute, '--for', `${'9'.repeat(400)}d`], 1, /^pdm alerts: the mute would never end \(its end is Infinity\)/);
    await expectPdm([...mute, '--for', '100000000w'], 1, /^pdm alerts: the mute would end at \d+ ms since 1970, after the longest mute possible, 30d \(until \S+\): a mute is an alert_actions point, which InfluxDB keeps 30d \(retention policy "raw"/);
    await expectPdm([...mute, '--for', '31d'], 1, /^pdm alerts: the mute would end at \S+Z, after the longest mute possible, 30d/);
    await expectPdm([...mute, '--until', iso(Math.ceil(Date.now() / 1_000) * 1_000 + 40 * 86_400_000)], 1, 'after the longest mute possible, 30d');
    await expectPdm([...mute, '--until=-100000000000000000000'], 1, 'pdm alerts: the mute would end at -100000000000000000000 ms since 1970, which is not in the future');
    await expectPdm(['mute', 'fan-9\nevil', '--site', 'plant-9', '--for', '1h', '--who', 'bo'], 1, 'pdm alerts: invalid machine id "fan-9\\nevil"');
    await expectPdm(['unmute', 'fan-9', '--site', 'plant-9\t', '--who', 'bo'], 1, 'pdm alerts: invalid site id "plant-9\\t"');
    expect(await stored()).toEqual([]);
    expect((await pdm('list')).code).toBe(0);
    await expectPdm([...mute, '--for', '30d'], 0, /^mute plant-9\/fan-9 until \S+Z by bo/);
    await expectPdm(['unmute', 'fan-9', '--site', 'plant-9', '--who', 'bo'], 0, /^unmute plant-9\/fan-9 by bo/);
  });

  it('still lists a mute stored with an end no Date holds (pdm alerts list, pdm status), so that it can be seen and unmuted', async () => {
    await sink.writeAlertAction({ time: Date.now(), siteId: 'plant-8', machineId: 'fan-8', action: 'mute', muteUntil: 1e17, who: 'old-pdm' });
    const listed = await pdm('list');
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toContain('muted plant-8/fan-8 until 100000000000000000 ms since 1970 by old-pdm');
    const status = capture();
    expect(await main(['status', ...flags], status.context), status.err.join('\n')).toBe(0);
    expect(status.out.join('\n')).toMatch(/plant-8\/fan-8\s+100000000000000000 ms since 1970\s+old-pdm/);
    await expectPdm(['unmute', 'fan-8', '--site', 'plant-8', '--who', 'bo'], 0, /^unmute plant-8\/fan-8 by bo/);
    expect((await pdm('list')).out).not.toContain('fan-8');
  });
});
