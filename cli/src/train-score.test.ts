// `pdm train` then `pdm score` on CSV files, as a user runs them: normal operation to learn from,
// then data in which a fault develops; the fault's windows must be flagged and the normal ones not.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor';
import { replayCsv } from '@pdm/edge-gateway';
import { makeTestDataDir, startTestInflux, uniqueDatabaseName } from '@pdm/influx-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture } from './test-support/capture.js';
import { noiseFrom } from './test-support/noise.js';

const dir = makeTestDataDir('pdm-train-score');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A pump at 1 Hz: load follows a slow cycle, current follows load, temperature follows current. `stop`:
 * rows in which it stands still (no load, current or vibration; its temperature cooling slowly).
 */
function pumpCsv(file: string, start: number, rows: number, fault?: { fromRow: number }, stop?: { fromRow: number; toRow: number }): void {
  const noise = noiseFrom(7 + start);
  const lines = ['time,load,current,temp,vibration'];
  for (let i = 0; i < rows; i++) {
    const stopped = stop !== undefined && i >= stop.fromRow && i < stop.toRow;
    const running = stopped ? 0 : 1;
    const load = running * (0.7 + 0.2 * Math.sin((2 * Math.PI * i) / 600) + 0.02 * noise());
    const current = running * (40 * load + 0.4 * noise());
    const faulty = fault !== undefined && i >= fault.fromRow;
    const cooling = stopped ? 10 * (1 - Math.exp(-(i - stop.fromRow) / 600)) : 0;
    const temp = 35 + 20 * (stopped ? 0.7 : load) - cooling + 0.3 * noise() + (faulty ? 12 : 0);
    const vibration = stopped ? 0.02 * Math.abs(noise()) : 2 + 0.5 * load + 0.1 * noise() + (faulty ? 3 : 0);
    lines.push(`${new Date(start + i * 1000).toISOString()},${load.toFixed(4)},${current.toFixed(3)},${temp.toFixed(3)},${vibration.toFixed(3)}`);
  }
  writeFileSync(file, lines.join('\n'));
}

/** 20 healthy minutes to train on and, a day later, 20 minutes whose second half develops a fault. */
function healthyThenFaulty(prefix: string, t0: number) {
  const paths = {
    normal: join(dir, `${prefix}normal.csv`),
    later: join(dir, `${prefix}later.csv`),
    registry: join(dir, `${prefix}models`),
    scores: join(dir, `${prefix}scores.csv`),
  };
  pumpCsv(paths.normal, t0, 1200);
  pumpCsv(paths.later, t0 + 86_400_000, 1200, { fromRow: 600 });
  return paths;
}

describe('pdm train and pdm score', () => {
  it('learns normal operation from a CSV and flags the windows of a developing fault', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const { normal, later, registry, scores } = healthyThenFaulty('', t0);

    const trained = capture();
    expect(await main(['train', '--input', normal, '--out', registry, '--machine', 'pump-1'], trained.context)).toBe(0);
    expect(trained.out.join('\n')).toMatch(/model anomaly version 1 \(robust-t2\) written to/);
    expect(trained.err.join('\n')).toMatch(/1200 rows of 4 sensors/);

    const scored = capture();
    expect(await main(['score', '--model', registry, '--input', later, '--output', scores, '--machine', 'pump-1'], scored.context)).toBe(0);
    const [header, ...rows] = readFileSync(scores, 'utf8').trim().split('\n');
    // The six columns scripts depend on, and no other: the alerts go beside them.
    expect(header).toBe('window_start,window_end,machine,score,threshold,anomaly');
    const parsed = rows.map((row) => {
      const cells = row.split(',');
      expect(cells).toHaveLength(6);
      const [start, end, machine, score, threshold, anomaly] = cells;
      return { start: Date.parse(start!), end: Date.parse(end!), machine, score: Number(score), threshold: Number(threshold), anomaly: anomaly === '1' };
    });
    expect(parsed.length).toBeGreaterThanOrEqual(110);
    expect(parsed.every((r) => r.machine === 'pump-1' && r.end - r.start === 10_000 && Number.isFinite(r.score))).toBe(true);
    const faultStart = t0 + 86_400_000 + 600_000;
    const before = parsed.filter((r) => r.end <= faultStart);
    const during = parsed.filter((r) => r.start >= faultStart);
    expect(before.filter((r) => r.anomaly).length).toBeLessThanOrEqual(1);
    expect(during.filter((r) => r.anomaly).length).toBeGreaterThanOrEqual(Math.floor(0.9 * during.length));
    // The processor's default rule: 3 anomalous windows in a row open the alert, once, and it stays open.
    expect(during.slice(0, 3).every((r) => r.anomaly)).toBe(true);
    const alerts = readFileSync(join(dir, 'scores.alerts.csv'), 'utf8').trim().split('\n');
    expect(alerts).toEqual(['window_start,window_end,machine,alert', `${rows[parsed.indexOf(during[2]!)]!.split(',').slice(0, 3).join(',')},open`]);
    expect(scored.out.join('\n')).toMatch(/1 alert opened → .*scores\.csv, alerts → .*scores\.alerts\.csv/);
  });

  it('trains from features the processor stored in InfluxDB (--from-influx)', async () => {
    const influx = await startTestInflux();
    try {
      const database = uniqueDatabaseName();
      const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 0 });
      await sink.start();
      const csv = join(dir, 'stored.csv');
      // Recent data: the processor's raw retention policy refuses points older than 30 days.
      const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
      pumpCsv(csv, t0, 900);
      await replayCsv(csv, { machineId: 'pump-9' }, {
        onWindow: (w) => {
          w.siteId = 'plant-1';
          return sink.writeScoredWindow(w, undefined);
        },
      });
      // The same rows as pump-8, for a model of both machines.
      await replayCsv(csv, { machineId: 'pump-8' }, {
        onWindow: (w) => {
          w.siteId = 'plant-1';
          return sink.writeScoredWindow(w, undefined);
        },
      });
      await sink.flush();

      const registry = join(dir, 'from-influx');
      const trained = capture();
      const args = ['train', '--from-influx', '--machine', 'pump-9', '--start', new Date(t0).toISOString(), '--end', new Date(t0 + 3_600_000).toISOString()];
      expect(await main([...args, '--influx-url', influx.url, '--database', database, '--out', registry], trained.context)).toBe(0);
      expect(trained.err.join('\n')).toMatch(/train: 90 windows of pump-9/);
      expect(trained.err.join('\n')).not.toMatch(/left out/);
      expect(trained.out.join('\n')).toMatch(/features \(\d+\): .*temp\.mean/);

      // Two alert episodes of pump-9: 300-400 s labelled maintenance, 600-700 s a false alarm; and one
      // of another machine labelled fault. Left out: the maintenance one's windows from 5 windows
      // (ALERT_DEFAULTS.within) before it opened, 25-39: 15 windows.
      const alert = (machineId: string, state: string, windowEnd: number, openedAt: number) =>
        sink.writeAlert({ siteId: 'plant-1', machineId, alertId: `${machineId}-${openedAt}`, state, score: 9, message: 'm', windowEnd });
      const label = (machineId: string, openedAt: number, kind: 'fault' | 'false_alarm' | 'maintenance') =>
        sink.writeAlertAction({ time: Date.now(), siteId: 'plant-1', machineId, action: 'label', alertId: `${machineId}-${openedAt}`, label: kind, who: 'ana' });
      for (const [machine, from, to, kind] of [['pump-9', 300, 400, 'maintenance'], ['pump-9', 600, 700, 'false_alarm'], ['pump-8', 100, 800, 'fault']] as const) {
        await Promise.all([alert(machine, 'open', t0 + from * 1_000, t0 + from * 1_000), alert(machine, 'resolved', t0 + to * 1_000, t0 + from * 1_000), label(machine, t0 + from * 1_000, kind)]);
      }
      await sink.flush();
      const labelled = capture();
      expect(await main([...args, '--influx-url', influx.url, '--database', database, '--out', join(dir, 'from-influx-labelled')], labelled.context)).toBe(0);
      expect(labelled.err.join('\n')).toMatch(/train: left out 15 windows of pump-9 inside 1 alert episode\(s\) labelled fault or maintenance/);

      // A model of both machines (--machine repeated or comma-separated): each machine's own windows,
      // each without its own labelled episodes — pump-8's fault from 5 windows before it opened, 5-79: 75.
      const both = capture();
      const bothArgs = ['train', '--from-influx', '--machine', 'pump-9,pump-8', '--from', new Date(t0).toISOString(), '--until', new Date(t0 + 3_600_000).toISOString()];
      expect(await main([...bothArgs, '--influx-url', influx.url, '--database', database, '--out', join(dir, 'from-influx-class')], both.context)).toBe(0);
      const said = both.err.join('\n');
      expect(said).toMatch(/train: 90 windows of pump-9/);
      expect(said).toMatch(/train: 90 windows of pump-8/);
      expect(said).toMatch(/train: left out 15 windows of pump-9 inside 1 alert episode/);
      expect(said).toMatch(/train: left out 75 windows of pump-8 inside 1 alert episode/);
      // 15 minutes of each: too little for a level of its own.
      expect(both.out.join('\n')).toContain('fewer than 2,000 non-overlapping windows of each machine: every machine is compared with the class location');
      // A machine of the list without windows (a typo) is refused, not left out of the class.
      const typo = capture();
      const typoArgs = ['train', '--from-influx', '--machine', 'pump-9,pmp-8', '--from', new Date(t0).toISOString(), '--until', new Date(t0 + 3_600_000).toISOString()];
      expect(await main([...typoArgs, '--influx-url', influx.url, '--database', database, '--out', join(dir, 'never')], typo.context)).toBe(2);
      expect(typo.err.join('\n')).toContain(`--machine pmp-8: no windows to train on between ${new Date(t0).toISOString()} and ${new Date(t0 + 3_600_000).toISOString()}`);
    } finally {
      await influx.stop();
    }
  });

  it('refuses a bad CSV with the line number and a missing model with a clear message', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'time,temp\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:01Z,warm\n');
    const trained = capture();
    expect(await main(['train', '--input', bad, '--out', join(dir, 'never')], trained.context)).toBe(2);
    expect(trained.err.join('\n')).toMatch(/line 3/);

    const good = join(dir, 'good.csv');
    pumpCsv(good, Date.UTC(2026, 0, 2), 60);
    const scored = capture();
    expect(await main(['score', '--model', join(dir, 'empty-registry'), '--input', good, '--output', join(dir, 's.csv')], scored.context)).toBe(2);
    expect(scored.err.join('\n')).toMatch(/no trained model found/);
  });

  it('trains a robust-t2 model on hopping windows when a short recording gives too few, and flags a shifted level', async () => {
    // 400 s at 1 Hz: 40 tumbling windows, fewer than 200.
    const short = join(dir, 'short.csv');
    const later = join(dir, 'short-later.csv');
    const registry = join(dir, 'short-models');
    const scores = join(dir, 'short-scores.csv');
    const t0 = Date.UTC(2026, 0, 3);
    pumpCsv(short, t0, 400);
    pumpCsv(later, t0 + 86_400_000, 600, { fromRow: 300 });

    const trained = capture();
    expect(await main(['train', '--input', short, '--out', registry, '--machine', 'pump-2', '--kind', 'robust-t2'], trained.context)).toBe(0);
    // The windows that reach over the recording's start or end (9 each side) are left out: 400 − 10 + 1.
    expect(trained.err.join('\n')).toMatch(/train: 40 windows are fewer than 200: training on hopping windows of 10000 ms every 1000 ms \(391 windows\)/);
    expect(trained.out.join('\n')).toMatch(/model anomaly version 1 \(robust-t2\) written to/);
    expect(trained.out.join('\n')).toMatch(/features \(8\): current\.mean, current\.rms, load\.mean, load\.rms, temp\.mean, temp\.rms, vibration\.mean, vibration\.rms/);

    const scored = capture();
    expect(await main(['score', '--model', registry, '--input', later, '--output', scores, '--machine', 'pump-2'], scored.context)).toBe(0);
    const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    const faultStart = t0 + 86_400_000 + 300_000;
    const flagged = (from: number, to: number) => rows.filter((r) => Date.parse(r[0]!) >= from && Date.parse(r[1]!) <= to && r[5] === '1').length;
    expect(flagged(0, faultStart)).toBeLessThanOrEqual(1);
    expect(flagged(faultStart, Infinity)).toBe(30);
  });

  it('warns of a sensor that read 0 throughout training: any other value will be an anomaly', async () => {
    const csv = join(dir, 'spare.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 4), 400);
    const lines = readFileSync(csv, 'utf8').split('\n');
    writeFileSync(csv, lines.map((line, i) => `${line},${i === 0 ? 'spare' : '0'}`).join('\n'));
    for (const kind of ['robust-t2', 'pca']) {
      const trained = capture();
      expect(await main(['train', '--input', csv, '--out', join(dir, 'spare-models'), '--kind', kind], trained.context)).toBe(0);
      expect(trained.out.join('\n')).toContain(
        'warning: spare.mean, spare.rms read 0 in every training window: any other value will score far above the threshold',
      );
    }
  });

  it('judges each feature by its own spread when training is too short to learn how they vary together', async () => {
    // 8 noisy zero-mean sensors sharing a common factor: 150 s of training (15 windows for 16 features),
    // then an hour of the very same process, which is all healthy.
    const noise = noiseFrom(11);
    const gauss = () => noise() + noise() + noise(); // near-Gaussian, sd 0.5
    const t0 = Date.UTC(2026, 0, 8);
    const sensorsCsv = (file: string, start: number, rows: number) => {
      const lines = [`time,${Array.from({ length: 8 }, (_, j) => `s${j}`).join(',')}`];
      for (let i = 0; i < rows; i++) {
        const common = gauss();
        lines.push(`${new Date(start + i * 1000).toISOString()},${Array.from({ length: 8 }, () => (0.6 * common + 0.8 * gauss()).toFixed(5)).join(',')}`);
      }
      writeFileSync(file, lines.join('\n'));
    };
    const train = join(dir, 'zero-mean-train.csv');
    const later = join(dir, 'zero-mean-later.csv');
    sensorsCsv(train, t0, 150);
    sensorsCsv(later, t0 + 150_000, 3600);
    const registry = join(dir, 'zero-mean-models');
    const trained = capture();
    expect(await main(['train', '--input', train, '--out', registry], trained.context)).toBe(0);
    expect(trained.out.join('\n')).toContain('too few windows to learn how the features vary together (fewer than 2 non-overlapping windows a feature): each is judged by its own spread');
    const scores = join(dir, 'zero-mean-scores.csv');
    expect(await main(['score', '--model', registry, '--input', later, '--out', scores], capture().context)).toBe(0);
    const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows).toHaveLength(360);
    // Healthy throughout: at most a few per cent anomalous (a joint covariance from 15 windows had 347 of 360).
    expect(rows.filter((r) => r[5] === '1').length).toBeLessThanOrEqual(18);
  });

  it('says which sensor it left out for being in too few windows', async () => {
    const csv = join(dir, 'late-temp.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 5), 2100);
    // temp blank for the first 210 s: 21 of the 209 complete windows (the last one is partial) lack it.
    const lines = readFileSync(csv, 'utf8').split('\n');
    writeFileSync(csv, lines.map((line, i) => (i >= 1 && i <= 210 ? line.replace(/,[^,]*,([^,]*)$/, ',,$1') : line)).join('\n'));
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'late-temp-models'), '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect(trained.out.join('\n')).toContain('sensors left out, in too few of the windows to be part of the model: temp (in 90 %)');
    expect(trained.out.join('\n')).toMatch(/features \(6\): current\.mean, current\.rms, load\.mean, load\.rms, vibration\.mean, vibration\.rms/);
  });

  it('refuses a recording too short to train on, counted in time: 40 s give 30 usable hopping windows, 3 windows of data', async () => {
    const csv = join(dir, 'forty.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 7), 40);
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'forty-models'), '--kind', 'robust-t2'], trained.context)).not.toBe(0);
    // 31 hopping windows, the partial one left out: 30, a tenth of a window apart each.
    expect(trained.err.join('\n')).toMatch(/30 usable windows \(3 windows' worth of time: they overlap\); need at least 12/);
  });

  it('says a model trained on hours keeps a fixed location', async () => {
    // 2,000 tumbling windows of 10 s (5½ h at 1 Hz): enough to describe the machine over hours.
    const csv = join(dir, 'long.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 6), 20_010);
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'long-models'), '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'long-models', 'anomaly', '1', 'robust-t2.json'), 'utf8')) as { tauMs: number | null }).tauMs).toBeNull();
    expect(trained.out.join('\n')).toContain('location fixed: training was long enough to describe the machine over hours');
    expect(trained.out.join('\n')).not.toContain('slow baseline');
  });

  it('says which features a long training widened: a temperature that rose late in the recording', async () => {
    // 5½ h at 1 Hz: steady for the first 60 %, then the temperature rises by 6 (an afternoon's heat the load
    // does not explain). The robust fit describes the steady part; the rise is taken as normal, by its own spread.
    const csv = join(dir, 'warming.csv');
    const noise = noiseFrom(21);
    const lines = ['time,load,temp'];
    for (let i = 0; i < 20_010; i++) {
      const temp = 50 + 6 * Math.max(0, (i - 12_000) / 8_010) + 0.3 * noise();
      lines.push(`${new Date(Date.UTC(2026, 0, 7) + i * 1000).toISOString()},${(0.7 + 0.02 * noise()).toFixed(4)},${temp.toFixed(3)}`);
    }
    writeFileSync(csv, lines.join('\n'));
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'warming-models'), '--kind', 'robust-t2'], trained.context)).toBe(0);
    const widened = (JSON.parse(readFileSync(join(dir, 'warming-models', 'anomaly', '1', 'robust-t2.json'), 'utf8')) as { fit: { widened?: Record<string, number> } }).fit.widened ?? {};
    expect(Object.keys(widened)).toContain('temp.mean');
    expect(Object.keys(widened)).not.toContain('load.mean');
    expect(trained.out.join('\n')).toContain(`spread widened to what training showed (its scores' tail was heavier than χ²): `);
    expect(trained.out.join('\n')).toContain(`temp.mean ×${widened['temp.mean']!.toFixed(1)}`);
  });

  it("holds the stops of a pump its training never saw stop: no alert, every stopped window held, none scored anomalous", async () => {
    const paths = { normal: join(dir, 'unseen-stop-normal.csv'), later: join(dir, 'unseen-stop-later.csv'), registry: join(dir, 'unseen-stop-models'), scores: join(dir, 'unseen-stop-scores.csv') };
    pumpCsv(paths.normal, Date.UTC(2026, 0, 6), 1200);
    // A day later: running, stopped for 5 minutes (rows 400–699), running again.
    pumpCsv(paths.later, Date.UTC(2026, 0, 7), 1200, undefined, { fromRow: 400, toRow: 700 });
    expect(await main(['train', '--input', paths.normal, '--out', paths.registry], capture().context)).toBe(0);
    const scored = capture();
    expect(await main(['score', '--input', paths.later, '--model', paths.registry, '--output', paths.scores], scored.context)).toBe(0);
    // 30 stopped windows and 3 settling after the start: held, not scored (this gate judges no steps).
    expect(scored.err.filter((line) => line.includes('held by the running-state gate'))).toEqual([
      'score: 30 windows not scored: held by the running-state gate (stopped)',
      'score: 3 windows not scored: held by the running-state gate (settling)',
    ]);
    const rows = readFileSync(paths.scores, 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(120 - 30 - 3);
    expect(rows.filter((r) => r.endsWith(',1'))).toEqual([]);
    expect(readFileSync(paths.scores.replace(/\.csv$/, '.alerts.csv'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('gates on a declared state sensor, and refuses one the model does not have', async () => {
    const csv = join(dir, 'gated.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 4), 1200);
    const trained = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'gated-models'), '--kind', 'robust-t2', '--state-sensor', 'load'], trained.context)).toBe(0);
    // load runs 0.5–0.9: stopped below a fifth of its median.
    expect(trained.out.join('\n')).toMatch(/running-state gate on load: stopped below 0\.1\d+, a step above /);
    expect(trained.out.join('\n')).not.toContain('no running-state gate');
    const contract = JSON.parse(readFileSync(join(dir, 'gated-models', 'anomaly', '1', 'contract.json'), 'utf8')) as { regime: { sensors: { sensor: string }[] } };
    expect(contract.regime.sensors.map((s) => s.sensor)).toEqual(['load']);

    const wrong = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'never'), '--state-sensor', 'rpm'], wrong.context)).not.toBe(0);
    expect(wrong.err.join('\n')).toMatch(/state sensor rpm is not one of the model's sensors \(current, load, temp, vibration\)/);
  });

  it('gives robust-t2 an online threshold per machine, never below the trained one, unless --fixed-threshold', async () => {
    const csv = join(dir, 'threshold.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 5), 1200);
    const robustT2 = (registry: string) =>
      JSON.parse(readFileSync(join(registry, 'anomaly', '1', 'robust-t2.json'), 'utf8')) as { threshold: number; tauMs: number | null; onlineThreshold?: { falseAlertsPerDay: number; floor: number } };

    const online = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'online-models'), '--kind', 'robust-t2'], online.context)).toBe(0);
    const model = robustT2(join(dir, 'online-models'));
    expect(model.onlineThreshold).toEqual({ falseAlertsPerDay: 1, floor: model.threshold });
    expect(online.out.join('\n')).toContain(`threshold per machine: online, never below ${model.threshold.toFixed(3)} (--fixed-threshold to keep it fixed)`);
    // The pump never stops in this recording: a gate on its sensors steady while running, a majority of them at once.
    expect(online.out.join('\n')).toContain('running-state gate on 4 sensors steady while running (current, load, temp, vibration): training never shows the machine stopped, so a stop is 3 of them below a fifth of their running level at once; no step is held');
    // 20 minutes of training are short: a slow baseline of twice the span (~119 tumbling windows of 10 s).
    expect(model.tauMs).toBeGreaterThan(2 * 1_150_000);
    expect(model.tauMs).toBeLessThanOrEqual(2 * 1_200_000);
    expect(online.out.join('\n')).toContain(`slow baseline per machine, τ = ${(model.tauMs! / 60_000).toFixed(1)} min (training was short)`);

    const fixed = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'fixed-models'), '--kind', 'robust-t2', '--fixed-threshold'], fixed.context)).toBe(0);
    expect(robustT2(join(dir, 'fixed-models')).onlineThreshold).toBeUndefined();
    expect(robustT2(join(dir, 'fixed-models')).threshold).toBe(model.threshold);
    expect(fixed.out.join('\n')).toContain('threshold fixed for every machine');

    const help = capture();
    expect(await main(['train', '--help'], help.context)).toBe(0);
    expect(help.out.join('\n')).toMatch(/--fixed-threshold {5}robust-t2, pca, autoencoder: judge every machine by the trained threshold\.\n {24}Default: each machine's own threshold, learnt online/);
  });

  it('gives pca and the autoencoder an online threshold per machine from their trained one too; a combined model for each member', async () => {
    const csv = join(dir, 'threshold-kinds.csv');
    pumpCsv(csv, Date.UTC(2026, 0, 5), 1200);
    const file = <T>(registry: string, name: string): T => JSON.parse(readFileSync(join(registry, 'anomaly', '1', name), 'utf8')) as T;
    type Online = { onlineThreshold?: { falseAlertsPerDay: number; floor: number } };

    const pca = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'pca-online'), '--kind', 'pca'], pca.context)).toBe(0);
    expect(file<Online>(join(dir, 'pca-online'), 'pca.json').onlineThreshold).toEqual({ falseAlertsPerDay: 1, floor: 1 });
    expect(pca.out.join('\n')).toContain('threshold per machine: online, never below 1.000 (--fixed-threshold to keep it fixed)');
    const pcaFixed = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'pca-fixed'), '--kind', 'pca', '--fixed-threshold'], pcaFixed.context)).toBe(0);
    expect(file<Online>(join(dir, 'pca-fixed'), 'pca.json').onlineThreshold).toBeUndefined();

    const both = capture();
    expect(await main(['train', '--input', csv, '--out', join(dir, 'combined-online'), '--kind', 'robust-t2+autoencoder'], both.context)).toBe(0);
    const autoencoder = file<Online & { threshold: number }>(join(dir, 'combined-online'), 'threshold.json');
    expect(autoencoder.onlineThreshold).toEqual({ falseAlertsPerDay: 1, floor: autoencoder.threshold });
    expect(both.out.join('\n')).toContain('threshold per machine: online for robust-t2, autoencoder, each never below its trained one');
  });

  it('refuses an unknown --kind, and --epochs 0', async () => {
    const trained = capture();
    expect(await main(['train', '--input', join(dir, 'normal.csv'), '--out', join(dir, 'never'), '--kind', 'forest'], trained.context)).toBe(2);
    expect(trained.err.join('\n')).toMatch(/--kind must be one of autoencoder, robust-t2, adaptive-z, pca; got "forest"/);
    const untrained = capture();
    expect(await main(['train', '--input', join(dir, 'normal.csv'), '--out', join(dir, 'never'), '--kind', 'autoencoder', '--epochs', '0'], untrained.context)).toBe(2);
    expect(untrained.err.join('\n')).toMatch(/--epochs must be at least 1 \(0 writes an untrained network\)/);
  });

  it('trains kinds combined (--kind robust-t2+autoencoder): pdm score writes their score in threshold multiples against 1', async () => {
    const t0 = Date.UTC(2026, 0, 9);
    const { normal, later, registry, scores } = healthyThenFaulty('combined-', t0);
    const trained = capture();
    expect(await main(['train', '--input', normal, '--out', registry, '--machine', 'pump-1', '--kind', 'robust-t2+autoencoder', '--epochs', '20'], trained.context)).toBe(0);
    const printed = trained.out.join('\n');
    expect(printed).toMatch(/model anomaly version 1 \(combined\) written to/);
    expect(printed).toContain('robust-t2 + autoencoder, combined by max of their scores in threshold multiples');
    expect(printed).toContain('threshold 1.000 ·');

    expect(await main(['score', '--model', registry, '--input', later, '--out', scores, '--machine', 'pump-1'], capture().context)).toBe(0);
    const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map((row) => row.split(','));
    expect(rows.length).toBeGreaterThanOrEqual(110);
    expect(rows.every(([, , , score, threshold, anomaly]) => threshold === '1' && anomaly === (Number(score) > 1 ? '1' : '0'))).toBe(true);
    const faultStart = t0 + 86_400_000 + 600_000;
    const during = rows.filter(([start]) => Date.parse(start!) >= faultStart);
    expect(during.filter(([, , , , , anomaly]) => anomaly === '1').length).toBeGreaterThanOrEqual(Math.floor(0.9 * during.length));
  });

  it('trains a pca model (--kind pca): pdm score flags the fault that breaks the load relation, against a threshold of 1', async () => {
    const t0 = Date.UTC(2026, 0, 11);
    const { normal, later, registry, scores } = healthyThenFaulty('pca-', t0);
    const trained = capture();
    expect(await main(['train', '--input', normal, '--out', registry, '--machine', 'pump-1', '--kind', 'pca'], trained.context)).toBe(0);
    const printed = trained.out.join('\n');
    expect(printed).toMatch(/model anomaly version 1 \(pca\) written to/);
    expect(printed).toMatch(/\d+ of 8 principal components \([\d.]+ % of the standardised variance\) · T² limit [\d.]+, Q limit [\d.]+: .* \(Q's limit set for many training windows\)/);
    // 20 minutes of 10 s windows are 120 windows' worth of time: fewer than 20 for each of the 8 features.
    expect(printed).toMatch(/warning: 1[12]\d non-overlapping training windows, fewer than the 160 \(20 a feature\) the limits are set for: normal windows will exceed them more often than they promise; train on more/);
    expect(printed).toContain('threshold 1.000 ·');
    const contract = JSON.parse(readFileSync(join(registry, 'anomaly', '1', 'contract.json'), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ kind: 'pca', heldBackWindows: 0 });

    expect(await main(['score', '--model', registry, '--input', later, '--output', scores, '--machine', 'pump-1'], capture().context)).toBe(0);
    const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map((row) => row.split(','));
    expect(rows.length).toBeGreaterThanOrEqual(110);
    expect(rows.every(([, , , score, threshold, anomaly]) => threshold === '1' && anomaly === (Number(score) > 1 ? '1' : '0'))).toBe(true);
    const faultStart = t0 + 86_400_000 + 600_000;
    const before = rows.filter(([, end]) => Date.parse(end!) <= faultStart);
    const during = rows.filter(([start]) => Date.parse(start!) >= faultStart);
    expect(before.filter(([, , , , , anomaly]) => anomaly === '1').length).toBeLessThanOrEqual(1);
    expect(during.filter(([, , , , , anomaly]) => anomaly === '1').length).toBeGreaterThanOrEqual(Math.floor(0.9 * during.length));
    const help = capture();
    expect(await main(['train', '--help'], help.context)).toBe(0);
    expect(help.out.join('\n')).toMatch(/--kind KIND {11}the detector: autoencoder, robust-t2, adaptive-z, pca /);
    expect(help.out.join('\n')).toMatch(/pca \(one machine a model\): principal components of robust-t2's features,/);
  });

  it('picks the window from the sampling interval: one reading per window of a slow sensor, with the adaptive-z detector and its alert rule', async () => {
    // A temperature every 5 minutes for 4 days (a daily cycle), then 3 days in which it sticks for 6 hours.
    const slow = join(dir, 'oven.csv');
    const later = join(dir, 'oven-later.csv');
    const registry = join(dir, 'oven-models');
    const scores = join(dir, 'oven-scores.csv');
    const t0 = Date.UTC(2026, 1, 1);
    const step = 300_000;
    const noise = noiseFrom(11);
    const temp = (i: number) => 60 + 8 * Math.sin((2 * Math.PI * i) / 288) + noise();
    const csv = (from: number, rows: number, value: (i: number) => number) =>
      ['timestamp,temp', ...Array.from({ length: rows }, (_, k) => `${new Date(t0 + (from + k) * step).toISOString()},${value(from + k).toFixed(3)}`)].join('\n');
    writeFileSync(slow, csv(0, 4 * 288, temp));
    const stuckFrom = 4 * 288 + 288 + 100;
    const stuckValue = temp(stuckFrom);
    writeFileSync(later, csv(4 * 288, 3 * 288, (i) => (i >= stuckFrom && i < stuckFrom + 72 ? stuckValue : temp(i))));

    const trained = capture();
    expect(await main(['train', '--input', slow, '--out', registry], trained.context)).toBe(0);
    expect(trained.err.join('\n')).toMatch(/train: a reading every 300000 ms: window 300000 ms, one reading per window/);
    expect(trained.out.join('\n')).toMatch(/model anomaly version 1 \(adaptive-z\) written to/);
    const period = Number(/period found: (\d+) windows/.exec(trained.out.join('\n'))?.[1]);
    expect(Math.abs(period - 288)).toBeLessThanOrEqual(5); // a day, give or take what the noise does to the peak
    const contract = JSON.parse(readFileSync(join(registry, 'anomaly', '1', 'contract.json'), 'utf8')) as Record<string, unknown>;
    expect(contract).toMatchObject({ kind: 'adaptive-z', windowMs: step, featureNames: ['temp.mean'], alertRule: { openAfter: 1, within: 1, resolveAfter: 50 } });

    const scored = capture();
    expect(await main(['score', '--model', registry, '--input', later, '--output', scores, '--machine', 'oven'], scored.context)).toBe(0);
    const rows = readFileSync(scores, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows).toHaveLength(3 * 288);
    expect(rows.every((r) => Date.parse(r[1]!) - Date.parse(r[0]!) === step)).toBe(true);
    const alerts = readFileSync(join(dir, 'oven-scores.alerts.csv'), 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    const opened = alerts.filter((r) => r[3] === 'open').map((r) => (Date.parse(r[0]!) - t0) / step);
    // One alert, opened on the first anomalous window, while the sensor is stuck.
    expect(opened).toHaveLength(1);
    expect(opened[0]!).toBeGreaterThanOrEqual(stuckFrom);
    expect(opened[0]!).toBeLessThan(stuckFrom + 72);
    expect(rows.findIndex((r) => r[5] === '1')).toBe(opened[0]! - 4 * 288);
  });

  it('keeps the 10 s window for 1 Hz data and gives slow data of several sensors ten readings per window', async () => {
    const fast = capture();
    expect(await main(['train', '--input', join(dir, 'normal.csv'), '--out', join(dir, 'fast-models'), '--kind', 'robust-t2'], fast.context)).toBe(0);
    expect(fast.err.join('\n')).not.toMatch(/a reading every/);
    expect(fast.out.join('\n')).toMatch(/window 10000 ms/);

    const wide = join(dir, 'wide.csv');
    const t0 = Date.UTC(2026, 2, 1);
    writeFileSync(wide, ['time,a,b,c', ...Array.from({ length: 3000 }, (_, i) => `${new Date(t0 + i * 60_000).toISOString()},${(1 + Math.sin(i)).toFixed(3)},${(2 + Math.cos(i)).toFixed(3)},${(3 + Math.sin(i / 7)).toFixed(3)}`)].join('\n'));
    const trained = capture();
    expect(await main(['train', '--input', wide, '--out', join(dir, 'wide-models'), '--kind', 'robust-t2'], trained.context)).toBe(0);
    expect(trained.err.join('\n')).toMatch(/train: a reading every 60000 ms: window 600000 ms, 10 readings per window/);
    expect(trained.out.join('\n')).toMatch(/window 600000 ms/);
  });
});
