// `pdm status` against a real influxd, on a manual clock: machines (newest score, or why the newest
// window was not scored), open alerts with acknowledgement and label, mutes, gateways' health — the
// points written through the processor's own sink, the expected lines worked out by hand below.
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { GatewayHealthSchema, MachineWindowSchema, create } from '@pdm/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';
import { showStatus, type StatusOptions } from './status.js';

const NOW = Math.floor(Date.now() / 1_000) * 1_000;
const ago = (s: number) => NOW - s * 1_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const ALERT = `fan-2-${ago(600)}`;
const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One table row: cells separated by two or more spaces. */
const row = (...cells: string[]) => new RegExp(`^  ${cells.map(esc).join('\\s{2,}')}$`);

describe('pdm status', () => {
  let influx: RunningInflux;
  let options: StatusOptions;
  beforeAll(async () => {
    influx = await startTestInflux();
    const database = uniqueDatabaseName('cli_status');
    options = { influx: { url: influx.url, database }, staleAfterMs: 60_000, json: false, tty: false };
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    const windowAt = (machineId: string, start: number) =>
      create(MachineWindowSchema, { siteId: 'plant-1', machineId, gatewayId: 'gw-1', windowStart: BigInt(start), windowEnd: BigInt(start + 10_000) });
    const scored = (machineId: string, start: number, model: string, modelVersion: string, score: number, threshold: number) =>
      sink.writeScoredWindow(windowAt(machineId, start), { siteId: 'plant-1', machineId, windowStart: start, windowEnd: start + 10_000, model, modelVersion, score, threshold, isAnomaly: score > threshold, contributions: {} });
    // pump-1: pumps@3's newest (20 s ago) beats an older anomalous one and another model's older one.
    await scored('pump-1', ago(60), 'pumps', '3', 7, 3);
    await scored('pump-1', ago(40), 'fans', '1', 0.5, 3);
    await scored('pump-1', ago(20), 'pumps', '3', 1.5, 3);
    // fan-2: anomalous 5 minutes ago.
    await scored('fan-2', ago(300), 'fans', '1', 4.5, 3);
    // press-7: scored 100 s ago, held 10 s ago: its state is the hold. mixer-4: no model at all.
    await scored('press-7', ago(100), 'pumps', '3', 1, 3);
    await sink.writeUnscoredWindow(windowAt('press-7', ago(10)), { kind: 'held', reason: 'stopped' });
    await sink.writeUnscoredWindow(windowAt('mixer-4', ago(30)), { kind: 'no_model' });
    // Alerts: fan-2's open (acknowledged, labelled); pump-1's resolved one is not shown. press-7 muted.
    await sink.writeAlert({ siteId: 'plant-1', machineId: 'fan-2', alertId: ALERT, state: 'open', score: 4.5, message: 'm', windowEnd: ago(600) });
    await sink.writeAlertAction({ time: ago(300), siteId: 'plant-1', machineId: 'fan-2', action: 'ack', alertId: ALERT, who: 'ana' });
    await sink.writeAlertAction({ time: ago(200), siteId: 'plant-1', machineId: 'fan-2', action: 'label', alertId: ALERT, label: 'fault', cause: 'bearing', who: 'ana' });
    const old = `pump-1-${ago(900)}`;
    await sink.writeAlert({ siteId: 'plant-1', machineId: 'pump-1', alertId: old, state: 'open', score: 7, message: 'm', windowEnd: ago(900) });
    await sink.writeAlert({ siteId: 'plant-1', machineId: 'pump-1', alertId: old, state: 'resolved', score: 1, message: 'm', windowEnd: ago(800) });
    await sink.writeAlertAction({ time: ago(120), siteId: 'plant-1', machineId: 'press-7', action: 'mute', muteUntil: NOW + 7_200_000, who: 'bo', note: 'belt' });
    // Gateways: gw-1 fine; gw-3 outbox 2.5 h from full; gw-2 silent for 5 minutes, 3 windows dropped.
    const health = (gatewayId: string, siteId: string, reportedAt: number, fields: Record<string, bigint | number>) =>
      sink.writeGatewayHealth(create(GatewayHealthSchema, { gatewayId, siteId, reportedAt: BigInt(reportedAt), startedAt: BigInt(ago(3_600)), outboxHoursOfOutageLeft: -1, ...fields }));
    await health('gw-1', 'plant-1', ago(5), { outboxDepth: 12n, outboxOldestAgeMs: 90_000n, outboxHoursOfOutageLeft: 36.5 });
    await health('gw-3', 'plant-1', ago(8), { outboxDepth: 400n, outboxOldestAgeMs: 7_200_000n, outboxHoursOfOutageLeft: 2.5 });
    await health('gw-2', 'plant-2', ago(300), { windowsDropped: 3n });
    await sink.writeProcessorReport('proc-1', { throughput: 1, messages: 1, ack_latency_ms: 1, lag_ms: 1, dead_letters: 0, contract_mismatches: 0, in_flight: 0, open_alerts: 1 }, ago(5));
    await sink.flush();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  it('never prints the password of --influx-url', async () => {
    const io = capture();
    const url = influx.url.replace('http://', 'http://reader:s3cret@');
    expect(await showStatus({ ...options, influx: { ...options.influx, url } }, io.context, new ManualClock(NOW))).toBe(0);
    expect(io.out[0]).toBe(`pdm status at ${iso(NOW)} from InfluxDB ${influx.url.replace('http://', 'http://reader:(hidden)@')}, database ${options.influx.database}`);
    expect(io.out.join('\n')).not.toContain('s3cret');
  });

  it('prints machines, open alerts, mutes and gateways with their health', async () => {
    const io = capture();
    expect(await showStatus(options, io.context, new ManualClock(NOW))).toBe(0);
    expect(io.err).toEqual([]);
    const out = io.out;
    expect(out[0]).toBe(`pdm status at ${iso(NOW)} from InfluxDB ${influx.url}, database ${options.influx.database}`);
    const section = (title: string) => out.slice(out.findIndex((l) => l.startsWith(title)) + 1);
    const machines = section('Machines (4)');
    expect(machines[0]).toMatch(row('machine', 'model', 'last window', 'score', 'threshold', 'score/threshold', 'state'));
    expect(machines.slice(1, 5)).toEqual([
      expect.stringMatching(row('plant-1/fan-2', 'fans@1', `${iso(ago(300))} (5m ago)`, '4.50', '3.00', '1.50', 'ANOMALOUS')),
      expect.stringMatching(row('plant-1/mixer-4', '-', `${iso(ago(30))} (30s ago)`, '-', '-', '-', 'not scored: no_model')),
      expect.stringMatching(row('plant-1/press-7', '-', `${iso(ago(10))} (10s ago)`, '-', '-', '-', 'not scored: held (muted)')),
      expect.stringMatching(row('plant-1/pump-1', 'pumps@3', `${iso(ago(20))} (20s ago)`, '1.50', '3.00', '0.50', 'normal')),
    ]);
    const alerts = section('Open alerts (1)');
    expect(alerts[1]).toMatch(row(ALERT, 'plant-1/fan-2', 'open', `${iso(ago(600))} (10m ago)`, 'ana 5m ago', 'fault: bearing'));
    expect(section('Muted machines (1)')[1]).toMatch(row('plant-1/press-7', iso(NOW + 7_200_000), 'bo', 'belt'));
    const gateways = section('Gateways (3)');
    expect(gateways.slice(1)).toEqual([
      expect.stringMatching(row('gw-1', 'plant-1', `${iso(ago(5))} (5s ago)`, '12', '90s', '36.5', 'ok')),
      expect.stringMatching(row('gw-3', 'plant-1', `${iso(ago(8))} (8s ago)`, '400', '2h', '2.5', 'outbox full in 2.5 h of outage')),
      expect.stringMatching(row('gw-2', 'plant-2', `${iso(ago(300))} (5m ago)`, '0', '-', 'unbounded', 'stale: no report for 5m, 3 windows dropped')),
    ]);
  });

  it('prints JSON with --json', async () => {
    const io = capture();
    expect(await main(['status', '--json', '--influx-url', influx.url, '--database', options.influx.database], io.context)).toBe(0);
    const fleet = JSON.parse(io.out.join('\n')) as { machines: { machineId: string; score?: { model: string } }[]; alerts: { alertId: string }[]; gateways: { gatewayId: string; outboxDepth: number }[] };
    expect(fleet.machines.map((m) => [m.machineId, m.score?.model])).toEqual([['fan-2', 'fans'], ['mixer-4', undefined], ['press-7', 'pumps'], ['pump-1', 'pumps']]);
    expect(fleet.alerts.map((a) => a.alertId)).toEqual([ALERT]);
    expect(fleet.gateways.map((g) => [g.gatewayId, g.outboxDepth])).toEqual([['gw-1', 12], ['gw-3', 400], ['gw-2', 0]]);
  });

  it('--watch refreshes every interval until stopped: blocks one after another, or in place on a terminal', async () => {
    for (const tty of [false, true]) {
      const clock = new ManualClock(NOW);
      let stop!: (signal: NodeJS.Signals) => void;
      const io = capture(() => new Promise((resolve) => (stop = resolve)));
      const done = showStatus({ ...options, tty, watchMs: 5_000 }, io.context, clock);
      await expect.poll(() => clock.pending()).toBe(1);
      const first = io.out.length;
      clock.advance(5_000);
      await expect.poll(() => io.out.length).toBeGreaterThan(first);
      await expect.poll(() => clock.pending()).toBe(1);
      stop('SIGINT');
      expect(await done).toBe(0);
      const headers = io.out.filter((l) => l.includes('pdm status at '));
      if (tty) {
        expect(headers).toEqual([`\u001b[H\u001b[2Jpdm status at ${iso(NOW)} from InfluxDB ${influx.url}, database ${options.influx.database}`, expect.stringContaining(`pdm status at ${iso(NOW + 5_000)}`)]);
        expect(io.out).not.toContain('');
      } else {
        expect(headers).toEqual([expect.stringMatching(/^pdm status at /), expect.stringMatching(/^pdm status at /)]);
        expect(io.out[first]).toBe('');
        expect(io.out[first + 1]).toBe(`pdm status at ${iso(NOW + 5_000)} from InfluxDB ${influx.url}, database ${options.influx.database}`);
      }
    }
  });

  it('says what is wrong with its flags, and shows its help', async () => {
    const run = async (...args: string[]) => {
      const io = capture();
      return { code: await main(['status', ...args], io.context), err: io.err.join('\n'), out: io.out.join('\n') };
    };
    const refused = async (args: string[], message: string) => {
      const result = await run(...args);
      expect(result.code).toBe(2);
      expect(result.err).toContain(message);
    };
    await refused(['--watch', 'often'], '--watch: "often" is not a number of seconds > 0');
    await refused(['fleet'], 'unexpected argument "fleet"');
    await refused(['--stale-after', '5'], '--stale-after: invalid duration "5"');
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: pdm status [--watch [SECONDS]]');
  });
});
