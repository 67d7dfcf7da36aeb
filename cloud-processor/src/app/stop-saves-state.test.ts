// A processor's stop writes the scorer's per-machine state (model.stateFile) as soon as the drain has
// finished, before the alert deliveries and the InfluxDB flush: the windows acked by then are not
// redelivered, and a kill during those later steps (the end of a container's grace period) used to
// lose up to stateSaveMs of what they taught, as the state was written only by the last step.
import { makeTestDataDir } from '@pdm/influx-harness';
import { until } from '@pdm/pubsub-emulator/testing';
import { rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BaselineState } from '../model/robust-t2.js';
import { readStateFile } from '../scoring/state-file.js';
import type { ModelScorer } from '../scoring/scorer.js';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { makeWindow, T0, WINDOW_MS } from '../test-support/windows.js';
import { trainModel } from '../training/train.js';

describe('a processor stop and the scorer state file', () => {
  const startTestbed = useProcessorTestbeds();
  let dir: string;
  let registryDir: string;
  beforeAll(async () => {
    dir = makeTestDataDir('processor-stop-state');
    registryDir = path.join(dir, 'models');
    // 40 windows: a short training, so the robust-t2 model keeps a slow baseline per machine.
    await trainModel(Array.from({ length: 40 }, (_, index) => makeWindow({ index })), { outDir: registryDir, name: 'pump', kind: 'robust-t2' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the acked windows’ state while the alert deliveries still hold the stop', async () => {
    // A webhook that does not answer until told: the stop waits for its delivery (stopTimeoutMs).
    const held: ServerResponse[] = [];
    let holding = true;
    const webhook = createServer((req, res) => req.resume().on('end', () => (holding ? held.push(res) : res.writeHead(204).end())));
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const stateFile = path.join(dir, 'scorer-state.sqlite');
    try {
      const t = await startTestbed({
        model: { registryDir, stateFile, stateSaveMs: 3_600_000 }, // no periodic save during the test
        alerts: { openAfter: 3, webhook: { url: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`, timeoutMs: 120_000 }, delivery: { stopTimeoutMs: 120_000 } },
      });
      const processor = await t.start();
      // 2 normal, 3 faulty (an alert opens: its webhook delivery hangs), 2 normal windows of pump-1.
      const pattern = [false, false, true, true, true, false, false];
      for (const [i, faulty] of pattern.entries()) await t.bed.publishWindow(makeWindow({ index: 40 + i, faulty }));
      await until(() => t.bed.stats().acked === pattern.length, 'every window acked', 30_000);
      await until(() => held.length > 0, 'the webhook holding the alert', 10_000);
      const scorer = processor.scorer as ModelScorer;
      const inMemory = scorer.baselineOf('pump', '1', 'plant-1', 'pump-1');
      expect(inMemory?.decidedUntil).toBe(T0 + (40 + pattern.length) * WINDOW_MS);

      let stopped = false;
      const stopping = processor.stop().finally(() => (stopped = true));
      const saved = (): BaselineState | undefined => readStateFile(stateFile).robustT2.find((e) => e.machineId === 'pump-1')?.state;
      try {
        await until(() => saved() !== undefined, 'the machine state in the state file while the stop waits for the webhook', 15_000);
        expect(stopped).toBe(false);
        expect(saved()).toEqual(inMemory);
      } finally {
        holding = false;
        for (const res of held.splice(0)) res.writeHead(204).end();
      }
      await stopping;
      expect(saved()).toEqual(inMemory);
    } finally {
      webhook.closeAllConnections();
      await new Promise((resolve) => webhook.close(resolve));
    }
  }, 120_000);
});
