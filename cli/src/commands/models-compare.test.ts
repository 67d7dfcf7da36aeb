// `pdm models compare` against a real influxd: scores written as line protocol (serving in `anomaly`, a
// shadow version in `anomaly_shadow`, a rollout machine's candidate in `anomaly`), stored episodes with
// labels, and each version's alert rule from its contract.json. Expected values counted by hand below.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';

const W = 10_000;
/** Two hours ago, aligned to the window: inside the default --since 24h. */
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / W) * W;
const start = (i: number) => T0 + i * W;
const end = (i: number) => T0 + (i + 1) * W;

/**
 * pump-1, windows 0..19, scored by both:
 * - serving pumps@1 (anomaly, default rule 3 of 5, resolve after 5): anomalous 2,3,4 (score 3, threshold
 *   2: ratio 1.5); normal window i scores 0.1·i (ratio 0.05·i). Opens at window 4 (3 of 5), resolves
 *   at window 9 (5 normal): episode [end(4), end(9)].
 * - candidate pumps@2 (anomaly_shadow, its contract's rule 2 of 2, resolve after 3): anomalous 2,3 and
 *   14,15 (score 8, threshold 4: ratio 2), normal score 1 (ratio 0.25). Episodes [end(3), end(6)] and
 *   [end(15), end(18)].
 * pump-2, windows 0..5, serving only: anomalous 0,1,2 (score 10, ratio 5), then 3 normal: opens at
 * window 2, still open. pump-3, windows 0..3, candidate only, rolled out (anomaly), all normal.
 * An old version pumps@0 on pump-1 ten minutes before window 0: left out.
 */
function scoreLines(): string[] {
  const line = (measurement: string, machine: string, version: string, time: number, score: number, threshold: number) =>
    `${measurement},site=plant-1,machine=${machine},model=pumps score=${score},threshold=${threshold},is_anomaly=${score > threshold},model_version="${version}" ${time}`;
  const lines = [line('anomaly', 'pump-1', '0', T0 - 600_000, 9, 2)];
  for (let i = 0; i < 20; i++) {
    lines.push(line('anomaly', 'pump-1', '1', start(i), [2, 3, 4].includes(i) ? 3 : 0.1 * i, 2));
    lines.push(line('anomaly_shadow', 'pump-1', '2', start(i), [2, 3, 14, 15].includes(i) ? 8 : 1, 4));
  }
  for (let i = 0; i < 6; i++) lines.push(line('anomaly', 'pump-2', '1', start(i), i < 3 ? 10 : 1, 2));
  for (let i = 0; i < 4; i++) lines.push(line('anomaly', 'pump-3', '2', start(i), 1, 4));
  return lines;
}

describe('pdm models compare', () => {
  let influx: RunningInflux;
  let flags: string[];
  let registry: string;
  beforeAll(async () => {
    influx = await startTestInflux();
    const database = uniqueDatabaseName('cli_compare');
    registry = mkdtempSync(join(tmpdir(), 'pdm-compare-'));
    const contract = { featureNames: ['temp.mean'], windowMs: W, featureVersion: 1, kind: 'robust-t2', name: 'pumps', trainingWindows: 100, heldBackWindows: 0, seed: 1, createdAt: '2026-12-01T00:00:00Z' };
    for (const [version, rule] of [
      ['1', {}],
      ['2', { alertRule: { openAfter: 2, within: 2, resolveAfter: 3 } }],
    ] as const) {
      mkdirSync(join(registry, 'pumps', version), { recursive: true });
      writeFileSync(join(registry, 'pumps', version, 'contract.json'), JSON.stringify({ ...contract, version, ...rule }));
    }
    flags = ['--influx-url', influx.url, '--database', database, '--registry', registry];
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    const written = await fetch(`${influx.url}/write?db=${database}&precision=ms`, { method: 'POST', body: scoreLines().join('\n') });
    expect(written.status).toBe(204);
    // The episodes the processor stored, with the team's labels: pump-1's serving episode a fault, a later
    // pump-1 episode [end(16), end(19)] a fault too, pump-2's a false alarm.
    const stored = [
      ['pump-1', end(4), end(9), 'fault'],
      ['pump-1', end(16), end(19), 'fault'],
      ['pump-2', end(2), undefined, 'false_alarm'],
    ] as const;
    // An action is keyed by site, machine, action and time: each label at its own time.
    for (const [i, [machineId, openedAt, resolvedAt, label]] of stored.entries()) {
      const alertId = `${machineId}-${openedAt}`;
      await sink.writeAlert({ siteId: 'plant-1', machineId, alertId, state: 'open', score: 9, message: 'm', windowEnd: openedAt });
      if (resolvedAt !== undefined) await sink.writeAlert({ siteId: 'plant-1', machineId, alertId, state: 'resolved', score: 1, message: 'm', windowEnd: resolvedAt });
      await sink.writeAlertAction({ time: end(30 + i), siteId: 'plant-1', machineId, action: 'label', alertId, label, who: 'ana' });
    }
  });
  afterAll(async () => {
    await influx?.stop();
    rmSync(registry, { recursive: true, force: true });
  });

  async function pdm(...args: string[]) {
    const io = capture();
    const code = await main(['models', 'compare', ...args, ...flags], io.context);
    return { code, out: io.out.join('\n'), err: io.err.join('\n') };
  }

  it('reports windows, agreement, episodes with labels and score drift as JSON', async () => {
    const result = await pdm('--serving', 'pumps@1', '--candidate', 'pumps@2', '--json');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const c = JSON.parse(result.out) as Record<string, Record<string, unknown>>;
    // Common: pump-1's 20 windows. Both anomalous 2,3; serving only 4; candidate only 14,15; 15 both normal.
    const { medianRatioDifference, ...common } = c.common!;
    expect(common).toEqual({ windows: 20, agreement: 17 / 20, bothAnomalous: 2, servingOnly: 1, candidateOnly: 2, bothNormal: 15 });
    expect(medianRatioDifference).toBeCloseTo(0.25 - 0.625, 9);
    expect(c.serving).toMatchObject({
      model: 'pumps',
      version: '1',
      measurements: ['anomaly'],
      rule: { openAfter: 3, within: 5, resolveAfter: 5 },
      windows: 26,
      anomalous: 6,
      machines: 2,
      episodes: [
        // pump-2 opens first (end(2)), pump-1 at end(4).
        { siteId: 'plant-1', machineId: 'pump-2', alertId: `pump-2-${end(2)}`, openedAt: end(2), label: 'false_alarm', other: 'not_scored' },
        { siteId: 'plant-1', machineId: 'pump-1', alertId: `pump-1-${end(4)}`, openedAt: end(4), resolvedAt: end(9), label: 'fault', other: 'also' },
      ],
      labels: { key: 'pumps@1', episodes: 2, fault: 1, false_alarm: 1, maintenance: 0, unlabelled: 0, precision: 0.5 },
      // The stored fault [end(16), end(19)] on pump-1: no serving episode.
      labelledFaultsMissed: 1,
    });
    // Normal windows 0,1,5..19 at 0.05·i and three at 1.5: the 10th and 11th of 20 are 0.60 and 0.65.
    expect(c.serving!.medianScoreRatio).toBeCloseTo(0.625, 9);
    expect(c.serving!.ruleSource).toContain("the processor's default");
    expect(c.candidate).toMatchObject({
      version: '2',
      measurements: ['anomaly', 'anomaly_shadow'],
      rule: { openAfter: 2, within: 2, resolveAfter: 3 },
      ruleSource: join(registry, 'pumps', '2', 'contract.json'),
      windows: 24,
      anomalous: 4,
      machines: 2,
      episodes: [
        { machineId: 'pump-1', openedAt: end(3), resolvedAt: end(6), label: 'fault', other: 'also' },
        { machineId: 'pump-1', openedAt: end(15), resolvedAt: end(18), label: 'fault', other: 'missed' },
      ],
      labels: { episodes: 2, fault: 2, false_alarm: 0, precision: 1 },
      labelledFaultsMissed: 0,
      medianScoreRatio: 0.25,
    });
  });

  it('prints a table by default, and keeps to the machines asked for', async () => {
    const table = await pdm('--serving', 'pumps@1', '--candidate', 'pumps@2');
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines).toContain('windows scored by both: 20; agreement on is_anomaly 85.0% (both anomalous 2, serving only 1, candidate only 2, both normal 15)');
    expect(lines).toContain('score drift: median score/threshold candidate − serving -0.38');
    expect(lines.find((l) => l.startsWith('windows scored '))).toMatch(/^windows scored\s+26\s+24$/);
    expect(lines.find((l) => l.startsWith('precision'))).toMatch(/^precision\s+0\.50\s+1\.00$/);
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    expect(lines).toContain(`candidate  plant-1/pump-1  ${iso(end(15))}  ${iso(end(18))}  fault  the other missed it`);
    expect(lines).toContain(`serving    plant-1/pump-2  ${iso(end(2))}  open  false_alarm  the other did not score it`);

    const only = JSON.parse((await pdm('--serving', 'pumps@1', '--candidate', 'pumps@2', '--machines', 'pump-1', '--machines', 'fan-*', '--json')).out) as Record<string, { windows: number; machines: number }>;
    expect([only.serving!.windows, only.serving!.machines, only.candidate!.windows, only.candidate!.machines]).toEqual([20, 1, 20, 1]);
  });

  it('says what is wrong: an unknown model or version, a bad --since or NAME@VERSION', async () => {
    const noModel = await pdm('--serving', 'fans@1', '--candidate', 'pumps@2');
    expect(noModel).toMatchObject({ code: 1, out: '' });
    expect(noModel.err).toMatch(/^pdm models compare: no scores of model fans since \S+ in anomaly or anomaly_shadow \(models with scores: pumps\)$/);
    const noVersion = await pdm('--serving', 'pumps@1', '--candidate', 'pumps@7');
    expect(noVersion.err).toMatch(/^pdm models compare: model pumps has no scores of version 7 since \S+ in anomaly or anomaly_shadow \(versions scored: 0, 1, 2\)$/);
    const refused = async (args: string[], message: string) => {
      const result = await pdm(...args);
      expect(result.code).toBe(2);
      expect(result.err).toContain(message);
    };
    await refused(['--serving', 'pumps@1', '--candidate', 'pumps@2', '--since', '7'], '--since: invalid duration "7"');
    await refused(['--serving', 'pumps', '--candidate', 'pumps@2'], '--serving: "pumps" is not NAME@VERSION');
    await refused(['--candidate', 'pumps@2'], '--serving NAME@VERSION is required');
  });

  it('shows its help', async () => {
    const io = capture();
    expect(await main(['models', 'compare', '--help'], io.context)).toBe(0);
    expect(io.out.join('\n')).toContain('compare --serving NAME@VER --candidate NAME@VER  from InfluxDB: windows each and both scored');
  });
});
