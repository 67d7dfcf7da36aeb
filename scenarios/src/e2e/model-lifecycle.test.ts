// Issue #19 end to end: a candidate model version is shadowed, compared, promoted and rolled back on a
// running `pdm processor` process (Pub/Sub emulator, real influxd) by the built `pdm` CLI, as an
// operator does it, without restarting the processor.
//
// The data is designed so each version's verdict on a window is known beforehand: one machine with
// sensors a ≈ 10 and b, both with noise σ 0.2, 10 readings per 10 s window. Version 1 is trained on
// b ≈ 5, version 2 on b ≈ 7; each flags every window away from its own level (b = 5: only version 2
// flags it; b = 7: only version 1; b = 20: both). A change applies at the processor's next registry
// poll, so after each change the test sends probe windows one at a time until one shows the change,
// then the windows it counts.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WindowEngine } from '@pdm/edge-gateway';
import { makeTestDataDir, startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { CloseReason, create, FeatureBatchSchema, featureBatchOrderingKey, pubsubAttributes, toBinary, type MachineWindow } from '@pdm/proto';
import { PROJECT, startTestEmulator, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PDM_BIN, startPdm, type PdmProcess } from '../processes/pdm-process.js';

const WINDOW_MS = 10_000;
const READING_MS = 1_000;
const MACHINE = 'm-1';
const SOURCE = { gatewayId: 'lifecycle-gw', siteId: 'lifecycle-site' };
const MODEL = 'pump';
const WHO = 'e2e-operator';
/** Version 1's and version 2's training level of b: each flags a window whose b is elsewhere. */
const TRAINED_B: Record<string, number> = { '1': 5, '2': 7 };
const flags = (version: string, b: number) => b !== TRAINED_B[version];

/** A fixed pseudo-random normal noise, so a run's data is the same every time. */
function noise(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state + 1) / 2147483649;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function trainingCsv(file: string, b: number, seed: number): void {
  const next = noise(seed);
  const start = Date.UTC(2026, 0, 1);
  const lines = ['time,a,b'];
  // 2,100 windows: above 2,000, so robust-t2 keeps a fixed location (no slow per-machine baseline).
  for (let i = 0; i < 2_100 * 10; i++) lines.push(`${start + i * READING_MS},${(10 + 0.2 * next()).toFixed(4)},${(b + 0.2 * next()).toFixed(4)}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** One window of MACHINE at `start` with b around `b`, closed by the watermark as the gateway closes it. */
function windowAt(start: number, b: number, next: () => number): MachineWindow {
  let closed: MachineWindow | undefined;
  const engine = new WindowEngine({ ...SOURCE, windowMs: WINDOW_MS, allowedLatenessMs: 0 }, (w) => {
    if (w.closeReason === CloseReason.WATERMARK) closed = w;
  });
  for (let ts = start; ts < start + WINDOW_MS; ts += READING_MS) {
    engine.add(MACHINE, 'a', ts, 10 + 0.2 * next());
    engine.add(MACHINE, 'b', ts, b + 0.2 * next());
  }
  engine.add(MACHINE, 'a', start + WINDOW_MS, 10); // the next window's first reading closes this one
  if (!closed) throw new Error(`no window closed at ${start}`);
  return closed;
}

interface Row {
  time: number;
  [field: string]: unknown;
}

async function select(influx: RunningInflux, q: string): Promise<Row[]> {
  const response = await influx.query(q, 'pdm');
  return (response.results[0]?.series ?? []).flatMap((series) =>
    series.values.map((values) => ({ ...series.tags, ...Object.fromEntries(series.columns.map((c, i) => [c, values[i]])) }) as Row),
  );
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const run = promisify(execFile);

describe('model lifecycle on a running processor, by the pdm CLI', () => {
  const dir = makeTestDataDir('e2e-lifecycle');
  const registry = join(dir, 'models');
  let influx: RunningInflux;
  let pubsub: TestEmulator;
  let processor: PdmProcess;

  /** `pdm …` as an operator types it; its standard output. */
  const pdm = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [PDM_BIN, ...args], { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' }, timeout: 60_000 });
    return stdout;
  };
  const models = (...args: string[]) => pdm('models', ...args, '--registry', registry, '--influx-url', influx.url);
  /** A change of the lifecycle (shadow, promote, rollback), made by WHO. */
  const change = (...args: string[]) => models(...args, '--who', WHO);
  const train = (csv: string) => pdm('train', '--input', csv, '--machine', MACHINE, '--name', MODEL, '--out', registry);

  beforeAll(async () => {
    [influx, pubsub] = await Promise.all([startTestInflux(), startTestEmulator()]);
    trainingCsv(join(dir, 'b5.csv'), TRAINED_B['1']!, 1);
    trainingCsv(join(dir, 'b7.csv'), TRAINED_B['2']!, 2);
    await train(join(dir, 'b5.csv'));
    const config = join(dir, 'processor.json');
    writeFileSync(
      config,
      JSON.stringify({
        instanceId: 'lifecycle-processor',
        pubsub: { projectId: PROJECT, emulatorHost: pubsub.emulator.endpoint, createResources: true },
        influx: { url: influx.url, batchMaxDelayMs: 20 },
        model: { registryDir: registry, pollMs: 200 },
        http: { host: '127.0.0.1', port: 0 },
        pipelineReportIntervalMs: 0,
        log: { level: 'info' },
      }),
    );
    processor = await startPdm('processor', ['processor', '--config', config], /ops HTTP on port (\d+)/);
  }, 180_000);

  afterAll(async () => {
    await processor?.stop();
    await pubsub?.close();
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shadows, compares, promotes and rolls back a candidate without a restart', async () => {
    const topic = pubsub.client().topic('pdm-features', { messageOrdering: true, batching: { maxMessages: 1, maxMilliseconds: 1 } });
    const next = noise(3);
    // Event time: consecutive windows from 50 minutes ago, all inside compare's --since 1h.
    let windowStart = Math.floor((Date.now() - 50 * 60_000) / WINDOW_MS) * WINDOW_MS;
    const sent = new Map<number, number>(); // window start → b
    const send = async (b: number) => {
      const w = windowAt(windowStart, b, next);
      sent.set(windowStart, b);
      windowStart += WINDOW_MS;
      await topic.publishMessage({
        data: Buffer.from(toBinary(FeatureBatchSchema, create(FeatureBatchSchema, { ...SOURCE, shard: 0, windows: [w] }))),
        attributes: pubsubAttributes(FeatureBatchSchema, SOURCE),
        orderingKey: featureBatchOrderingKey(SOURCE.gatewayId, 0),
      });
      return Number(w.windowStart);
    };
    const scoreOf = (measurement: 'anomaly' | 'anomaly_shadow', start: number) =>
      select(influx, `SELECT is_anomaly, model_version FROM ${measurement} WHERE machine = '${MACHINE}' AND time = ${start}ms`).then((rows) => rows[0]);
    const scored = (start: number) => eventually(() => scoreOf('anomaly', start), `window ${new Date(start).toISOString()} in anomaly`);
    /** Sends windows of level b one at a time until one shows `applied`: the change reached the processor. */
    const probeUntil = async (b: number, applied: (start: number) => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const start = await send(b);
        await scored(start);
        if (await applied(start)) return;
        if (Date.now() > deadline) throw new Error(`the processor did not apply ${what} within 60 s`);
      }
    };
    /** Sends `count` windows of level b and waits until each is scored; their starts. */
    const sendScored = async (count: number, b: number) => {
      const starts: number[] = [];
      for (let i = 0; i < count; i++) starts.push(await send(b));
      for (const start of starts) await scored(start);
      return starts;
    };
    const allScores = async (measurement: 'anomaly' | 'anomaly_shadow') =>
      new Map((await select(influx, `SELECT is_anomaly, model_version FROM ${measurement} WHERE machine = '${MACHINE}'`)).map((r) => [r.time, r]));
    const pid = processor.pid;

    // Version 1 serves (no lifecycle file: the newest version). Train version 2 into the live
    // registry and pin version 1 at once (it writes lifecycle.json). The RUNBOOK says to pin before
    // training (`pdm models promote pump 1` while 1 is the newest), but pdm models refuses that as
    // "pump@1 is the serving version". No window is sent in between; a pin probe can still meet
    // version 2 if the processor polled between the two commands (compare below counts it).
    expect(await train(join(dir, 'b7.csv'))).toMatch(/^model pump version 2 .*written to/);
    await change('promote', MODEL, '1');
    await probeUntil(5, async (start) => (await scoreOf('anomaly', start))?.model_version === '1', 'the pin');
    const pinned = await sendScored(3, 5);
    for (const start of pinned) expect(await scoreOf('anomaly', start)).toMatchObject({ model_version: '1', is_anomaly: false });

    // Shadow version 2: it scores the same windows into anomaly_shadow and never alerts.
    await change('shadow', MODEL, '2', '--note', 'trained on b 7');
    await probeUntil(5, async (start) => (await scoreOf('anomaly_shadow', start)) !== undefined, 'the shadow');
    const quiet = await sendScored(8, 5); // version 2 flags every one: its rule would open an alert
    const loud = await sendScored(4, 20); // both flag these: version 1 opens an alert
    const shadowed = await eventually(async () => {
      const shadow = await allScores('anomaly_shadow');
      return [...quiet, ...loud].every((start) => shadow.has(start)) ? shadow : undefined;
    }, 'the shadow scores');
    const serving = await allScores('anomaly');
    for (const start of [...quiet, ...loud]) {
      const b = sent.get(start)!;
      expect(serving.get(start)).toMatchObject({ model_version: '1', is_anomaly: flags('1', b) });
      expect(shadowed.get(start)).toMatchObject({ model_version: '2', is_anomaly: flags('2', b) });
    }
    // Alerts: only version 1's rule (3 of the last 5 anomalous) opens one, at the third loud window
    // (an alert point is stamped with its window's end).
    const opened = await eventually(async () => {
      const rows = await select(influx, `SELECT alert_id FROM alerts WHERE machine = '${MACHINE}' AND state = 'open'`);
      return rows.length > 0 ? rows : undefined;
    }, 'the serving version\'s alert');
    expect(opened.map((r) => r.time)).toEqual([loud[2]! + WINDOW_MS]);

    // Compare, from what the processor wrote; expected counts from the versions' known verdicts.
    const comparison = JSON.parse(await models('compare', '--serving', `${MODEL}@1`, '--candidate', `${MODEL}@2`, '--since', '1h', '--json')) as {
      serving: { windows: number; anomalous: number; episodes: { alertId: string; openedAt: number }[] };
      candidate: { windows: number; anomalous: number; episodes: { alertId: string; openedAt: number }[] };
      common: { windows: number; agreement: number; bothAnomalous: number; servingOnly: number; candidateOnly: number; bothNormal: number };
    };
    const both = [...shadowed.keys()];
    const verdicts = both.map((start) => [flags('1', sent.get(start)!), flags('2', sent.get(start)!)] as const);
    const servedBy = (version: string) => [...serving.values()].filter((r) => r.model_version === version).map((r) => r.time);
    // Version 2 may have served a pin probe before the pin reached the processor (see above): compare
    // counts it on the candidate's side, from anomaly.
    const byTwo = [...both, ...servedBy('2')];
    expect(comparison.serving).toMatchObject({ windows: servedBy('1').length, anomalous: servedBy('1').filter((start) => flags('1', sent.get(start)!)).length });
    expect(comparison.candidate).toMatchObject({ windows: byTwo.length, anomalous: byTwo.filter((start) => flags('2', sent.get(start)!)).length });
    expect(comparison.common).toMatchObject({
      windows: both.length,
      bothAnomalous: verdicts.filter(([one, two]) => one && two).length,
      servingOnly: verdicts.filter(([one, two]) => one && !two).length,
      candidateOnly: verdicts.filter(([one, two]) => !one && two).length,
      bothNormal: verdicts.filter(([one, two]) => !one && !two).length,
    });
    expect(comparison.common.bothAnomalous).toBe(4);
    expect(comparison.common.agreement).toBeCloseTo(4 / both.length, 9);
    // The episodes each rule would have opened: version 1's is the stored alert; version 2's (it flags
    // every window it scored) opens by the end of the third shadowed window, long before version 1's,
    // and never became an alert.
    expect(comparison.serving.episodes.map((e) => e.alertId)).toEqual(opened.map((r) => r.alert_id));
    expect(comparison.candidate.episodes).toHaveLength(1);
    expect(comparison.candidate.episodes[0]!.openedAt).toBeLessThanOrEqual(both.sort((x, y) => x - y)[2]! + WINDOW_MS);

    // Promote version 2: it serves, the shadow ends.
    await change('promote', MODEL, '2');
    await probeUntil(7, async (start) => (await scoreOf('anomaly', start))?.model_version === '2', 'the promotion');
    const promoted = await sendScored(3, 7);
    for (const start of promoted) {
      expect(await scoreOf('anomaly', start)).toMatchObject({ model_version: '2', is_anomaly: false });
      expect(await scoreOf('anomaly_shadow', start)).toBeUndefined();
    }

    // Roll back: version 1 serves again.
    await change('rollback', MODEL);
    await probeUntil(5, async (start) => (await scoreOf('anomaly', start))?.model_version === '1', 'the rollback');
    const rolledBack = await sendScored(3, 5);
    for (const start of rolledBack) {
      expect(await scoreOf('anomaly', start)).toMatchObject({ model_version: '1', is_anomaly: false });
      expect(await scoreOf('anomaly_shadow', start)).toBeUndefined();
    }

    // Every change in the history, who made it, from and to.
    const history = readFileSync(join(registry, MODEL, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // (a shadow records only its version: the serving one does not change)
    expect(history.map((h) => ({ who: h.who, action: h.action, from: h.from, to: h.to }))).toEqual([
      { who: WHO, action: 'promote', from: '2', to: '1' },
      { who: WHO, action: 'shadow', from: undefined, to: '2' },
      { who: WHO, action: 'promote', from: '1', to: '2' },
      { who: WHO, action: 'rollback', from: '2', to: '1' },
    ]);

    const recorded = await select(influx, `SELECT who, to_version FROM model_changes WHERE model = '${MODEL}'`);
    expect(recorded.map((r) => [r.who, r.to_version])).toEqual(history.map((h) => [WHO, h.to]));

    console.log('model lifecycle:', { windows: sent.size, shadowed: both.length, pinProbesServedByTwo: byTwo.length - both.length, agreement: comparison.common.agreement });

    // The same processor did it all.
    expect(processor.alive()).toBe(true);
    expect(processor.pid).toBe(pid);
    expect(processor.output().match(/ops HTTP on port/g)).toHaveLength(1);
  }, 180_000);
});
