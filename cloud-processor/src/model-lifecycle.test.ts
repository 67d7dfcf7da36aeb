// Model lifecycle through the whole running processor, never restarted: a shadow version's scores land
// in anomaly_shadow and raise no alert while the serving one writes anomaly; a promotion (the
// lifecycle file pdm models writes) switches which version writes anomaly at the next registry poll, a
// rollback switches back, a rollout serves the candidate only to the machines it names.
//
// Version 1 is trained on normal windows, version 2 on faulty ones (every level shifted far up): normal
// windows are normal to 1 and anomalous to 2, so which version judged a window shows in is_anomaly
// and model_version, and an alert opens exactly when version 2 serves.
import { makeTestDataDir } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChange, type ChangeRequest } from './model/lifecycle-changes.js';
import { appendHistory, readHistory, readLifecycle, writeLifecycle, type Lifecycle } from './model/lifecycle.js';
import { useProcessorTestbeds } from './test-support/processor-testbed.js';
import { makeWindow, T0, WINDOW_MS } from './test-support/windows.js';
import { trainModel } from './training/train.js';

describe('model lifecycle on a running processor', () => {
  const startTestbed = useProcessorTestbeds();
  let registryDir: string;
  const modelDir = () => path.join(registryDir, 'pumps');
  beforeAll(async () => {
    registryDir = makeTestDataDir('lifecycle-registry');
    const training = (faulty: boolean) => Array.from({ length: 40 }, (_, index) => makeWindow({ machine: 'pump-1', index, faulty }));
    await trainModel(training(false), { outDir: registryDir, name: 'pumps', kind: 'robust-t2' });
    await trainModel(training(true), { outDir: registryDir, name: 'pumps', kind: 'robust-t2' });
  });
  afterAll(() => rmSync(registryDir, { recursive: true, force: true }));

  /** What `pdm models` does: the change applied to the lifecycle (none yet: version 2, the newest, serves), written, and recorded. */
  async function change(request: ChangeRequest): Promise<void> {
    const read = await readLifecycle(modelDir());
    const current: Lifecycle = read.kind === 'valid' ? read.lifecycle : { serving: '2', shadow: [] };
    const { next, change } = applyChange('pumps', current, request, await readHistory(modelDir()));
    await writeLifecycle(modelDir(), next);
    await appendHistory(modelDir(), { at: new Date().toISOString(), who: 'test', ...change });
  }

  it('shadow, promote, rollback and rollout change which version writes anomaly, without a restart', async () => {
    // Before the processor starts: version 1 serves, 2 in shadow.
    await change({ action: 'rollback', to: '1' });
    await change({ action: 'shadow', version: '2' });
    const t = await startTestbed({ model: { registryDir, pollMs: 50 } });
    const processor = await t.start();
    const versionsLoaded = () => processor.scorer.loaded().map((m) => `${m.version} ${m.role}`).sort().join(', ');
    expect(versionsLoaded()).toBe('1 serving, 2 shadow');
    // /readyz says which version does what, as an operator reads it.
    const ready = (await (await fetch(`http://127.0.0.1:${processor.httpPort}/readyz`)).json()) as { info: { model: { models: { version: string; role: string }[] } } };
    expect(ready.info.model.models.map((m) => [m.version, m.role])).toEqual([['1', 'serving'], ['2', 'shadow']]);

    let acked = 0;
    let index = 100;
    /** Publishes `count` normal windows of each machine and waits for their acks; returns their first index. */
    async function publish(machines: string[], count: number): Promise<number> {
      const first = index;
      for (let i = 0; i < count; i++, index++) for (const machine of machines) await t.bed.publishWindow(makeWindow({ machine, index }));
      acked += count * machines.length;
      await until(() => t.bed.stats().acked === acked, `${acked} acks`, 20_000);
      return first;
    }
    /** [window index, model_version, is_anomaly] of a machine's points in `measurement` from window `from`. */
    const points = async (measurement: string, machine: string, from: number) =>
      (await t.rows(`SELECT model_version, is_anomaly FROM ${measurement} WHERE machine = '${machine}' AND time >= ${T0 + from * WINDOW_MS}ms`)).map(
        ([time, version, anomaly]) => [(Number(time) - T0) / WINDOW_MS, version, anomaly],
      );
    const rowsOf = (from: number, count: number, version: string, anomaly: boolean) => Array.from({ length: count }, (_, i) => [from + i, version, anomaly]);
    const alertsOpened = () => t.count(`SELECT count(alert_id) FROM alerts WHERE state = 'open'`);

    // Shadow: version 1 writes anomaly, version 2 anomaly_shadow; 2 finds every window anomalous yet no alert opens.
    let from = await publish(['pump-1'], 5);
    expect(await points('anomaly', 'pump-1', from)).toEqual(rowsOf(from, 5, '1', false));
    expect(await points('anomaly_shadow', 'pump-1', from)).toEqual(rowsOf(from, 5, '2', true));
    expect(await alertsOpened()).toBe(0);
    expect(await processor.metrics.value('pdm_processor_shadow_windows_total', { model: 'pumps', version: '2' })).toBe(5);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'scored' })).toBe(5);

    // Promote 2: at the next poll it writes anomaly, and its anomalies open an alert; no shadow any more.
    await change({ action: 'promote', version: '2' });
    await until(() => versionsLoaded() === '2 serving', 'version 2 alone loaded', 10_000);
    from = await publish(['pump-1'], 3);
    expect(await points('anomaly', 'pump-1', from)).toEqual(rowsOf(from, 3, '2', true));
    expect(await points('anomaly_shadow', 'pump-1', from)).toEqual([]);
    expect(await alertsOpened()).toBe(1);

    // Roll back: version 1 again.
    await change({ action: 'rollback' });
    await until(() => versionsLoaded() === '1 serving', 'version 1 alone loaded', 10_000);
    from = await publish(['pump-1'], 2);
    expect(await points('anomaly', 'pump-1', from)).toEqual(rowsOf(from, 2, '1', false));

    // Roll 2 out to pump-2 and the line2 machines only.
    await change({ action: 'rollout', version: '2', machines: ['pump-2', 'line2-*'] });
    await until(() => versionsLoaded() === '1 serving, 2 rollout', 'version 1 serving, 2 rolled out', 10_000);
    from = await publish(['pump-1', 'pump-2', 'line2-a'], 2);
    expect(await points('anomaly', 'pump-1', from)).toEqual(rowsOf(from, 2, '1', false));
    expect(await points('anomaly', 'pump-2', from)).toEqual(rowsOf(from, 2, '2', true));
    expect(await points('anomaly', 'line2-a', from)).toEqual(rowsOf(from, 2, '2', true));
    expect(await t.count(`SELECT count(score) FROM anomaly_shadow`)).toBe(5);

    expect((await readHistory(modelDir())).map((c) => [c.action, c.from, c.to])).toEqual([
      ['rollback', '2', '1'],
      ['shadow', undefined, '2'],
      ['promote', '1', '2'],
      ['rollback', '2', '1'],
      ['rollout', '1', '2'],
    ]);
  });
});
