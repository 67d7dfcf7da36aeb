// The drift line of `pdm models list`, from model_drift points the processor's own sink writes to a real influxd.
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { describeDrift, latestModelDrift } from './model-drift.js';
import { capture } from './test-support/capture.js';

describe('model drift for pdm models list', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  it("takes each version's newest report, the worst live processor instance's, and ignores reports older than a day", async () => {
    const database = uniqueDatabaseName('cli_drift');
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    const now = Date.now();
    const drift = (version: string, psi: number, feature: string) => [{ model: 'pump', version, windows: 1_000, psi, feature, features: { [feature]: psi } }];
    // pump@3 on two processors: proc-a's newest report (0.31) is the worst; its older 0.9 no longer counts.
    await sink.writeModelDrift(drift('3', 0.9, 'temp.mean'), 'proc-a', 0.25, now - 60_000);
    await sink.writeModelDrift(drift('3', 0.31, 'vib.rms'), 'proc-a', 0.25, now - 10_000);
    await sink.writeModelDrift(drift('3', 0.12, 'vib.rms'), 'proc-b', 0.25, now - 5_000);
    // proc-c served pump@3 until two hours ago (stopped since): its 0.4 no longer says how pump@3 does.
    await sink.writeModelDrift(drift('3', 0.4, 'temp.mean'), 'proc-c', 0.25, now - 2 * 3_600_000);
    // pump@2: last reported three hours ago (retired since); pump@1: two days ago, beyond the look-back.
    await sink.writeModelDrift(drift('2', 0.04, 'temp.mean'), 'proc-a', 0.25, now - 3 * 3_600_000);
    await sink.writeModelDrift(drift('1', 0.5, 'temp.mean'), 'proc-a', 0.25, now - 2 * 86_400_000);
    await sink.flush();

    const found = await latestModelDrift({ url: influx.url, database });
    expect(found).toEqual([
      { model: 'pump', version: '2', psi: 0.04, feature: 'temp.mean', threshold: 0.25, windows: 1_000, at: now - 3 * 3_600_000 },
      { model: 'pump', version: '3', psi: 0.31, feature: 'vib.rms', threshold: 0.25, windows: 1_000, at: now - 10_000 },
    ]);
    expect(found.map((d) => describeDrift(d, now))).toEqual([
      'drift PSI 0.04 on temp.mean: below 0.25 (reported 3h ago)',
      'drift PSI 0.31 on vib.rms: above 0.25, retrain',
    ]);
  });

  it('finds nothing where no processor reported drift', async () => {
    const database = uniqueDatabaseName('cli_drift');
    await new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database }).start();
    expect(await latestModelDrift({ url: influx.url, database })).toEqual([]);
  });

  it('pdm models list shows the line under the version, in --json too, and still lists when InfluxDB cannot be asked', async () => {
    const database = uniqueDatabaseName('cli_drift');
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database, batchMaxDelayMs: 1 });
    await sink.start();
    await sink.writeModelDrift([{ model: 'pump', version: '1', windows: 1_000, psi: 0.31, feature: 'vib.rms', features: { 'vib.rms': 0.31 } }], 'proc-a', 0.25, Date.now());
    await sink.flush();
    const registry = await mkdtemp(path.join(tmpdir(), 'pdm-drift-registry-'));
    try {
      await mkdir(path.join(registry, 'pump', '1'), { recursive: true });
      const contract = { featureNames: ['vib.rms'], windowMs: 10_000, featureVersion: 1, kind: 'robust-t2', name: 'pump', version: '1', trainingWindows: 100, heldBackWindows: 0, seed: 1, createdAt: '2026-12-01T00:00:00.000Z' };
      await writeFile(path.join(registry, 'pump', '1', 'contract.json'), JSON.stringify(contract));
      const list = async (...flags: string[]) => {
        const io = capture();
        const code = await main(['models', 'list', '--registry', registry, ...flags], io.context);
        return { code, out: io.out.join('\n'), err: io.err.join('\n') };
      };
      expect(await list('--influx-url', influx.url, '--database', database)).toEqual({
        code: 0,
        err: '',
        out: [
          'pump  serving 1  (no lifecycle.json: the newest version serves)',
          '  1  robust-t2  trained 2026-12-01T00:00:00.000Z  any machine  [serving]',
          '     drift PSI 0.31 on vib.rms: above 0.25, retrain',
        ].join('\n'),
      });
      const json = JSON.parse((await list('--json', '--influx-url', influx.url, '--database', database)).out) as { drift: unknown[] };
      expect(json.drift).toEqual([expect.objectContaining({ model: 'pump', version: '1', psi: 0.31, feature: 'vib.rms', threshold: 0.25 })]);
      const offline = await list('--influx-url', 'http://127.0.0.1:1', '--database', database);
      expect(offline.code).toBe(0);
      expect(offline.out.split('\n')).toHaveLength(2);
      expect(offline.err).toMatch(/^pdm models: drift not shown: InfluxDB at http:\/\/127\.0\.0\.1:1: /);
    } finally {
      await rm(registry, { recursive: true, force: true });
    }
  });
});
