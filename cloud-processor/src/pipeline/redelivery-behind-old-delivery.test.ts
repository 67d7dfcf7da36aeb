// A redelivered message arrives behind the old delivery of a message published after it: the official
// client over real gRPC, the emulator redelivering as Google's service does (orderingKeyBatch > 1: a nack
// ends the leases of the key's later messages and the key goes out again at once, from the nacked one),
// the whole processor, a real influxd behind a proxy that fails one write. m2's write fails transiently
// after m2 released its key, while m3 (published after it) is still being scored; m2 is nacked, and its
// redelivery m2′ arrives while m3's old delivery is in the key's chain. m3 is then nacked behind m2, but
// that must not hold m2′ back: m2′ was published before m3.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { MachineWindow } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import type { ScoreOutcome } from '../model/api.js';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, T0, WINDOW_MS } from '../test-support/windows.js';

/** An HTTP proxy to InfluxDB that answers 503 to the first /write carrying `machine`'s points. */
async function startFlakyInflux(target: string, machine: string): Promise<{ url: string; failedWrites: () => number; close: () => Promise<void> }> {
  let failed = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const lines = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
      if (failed === 0 && req.url?.startsWith('/write') && lines.includes(`machine=${machine}`)) {
        failed += 1;
        res.writeHead(503).end('injected outage');
        return;
      }
      const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failedWrites: () => failed,
    close: () => {
      server.closeAllConnections(); // the processor's kept-alive ones
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a redelivered message behind the old delivery of a later one of its key', () => {
  const startTestbed = useProcessorTestbeds();

  it('is handled, not nacked behind the later one: no extra redelivery round, both stored in order', async () => {
    const t = await startTestbed({ pubsub: { transientBackoff: { initialMs: 5, maxMs: 20 } } }, { orderingKeyBatch: 10 });
    const flaky = await startFlakyInflux(t.config().influx.url, 'pump-2');
    try {
      const scored: string[] = [];
      let pump2Scored = 0;
      const scorer = new (class extends ScriptedScorer {
        override async score(window: MachineWindow): Promise<ScoreOutcome> {
          if (window.machineId === 'pump-2') pump2Scored += 1;
          // m3's first delivery stays in the key's chain, unsettled, until m2's redelivery is being handled.
          if (window.machineId === 'pump-3' && !scored.includes('pump-3')) await until(() => pump2Scored === 2, "m2's redelivery scored", 5_000).catch(() => undefined);
          scored.push(window.machineId);
          return super.score(window);
        }
      })();
      const m2 = makeWindow({ machine: 'pump-2', index: 1 });
      const m3 = makeWindow({ machine: 'pump-3', index: 2, faulty: true });
      // One ordering key (gw-1, shard 1), published before the processor subscribes: both delivered together.
      await t.bed.publishBatch([m2], 1);
      t.bed.t.clock.advance(1); // a later publish time, as two publish requests get from Pub/Sub
      await t.bed.publishBatch([m3], 1);
      const processor = await t.start({ influx: { url: flaky.url } }, { scorer });
      await until(() => t.bed.stats().acked === 2, 'both messages acked', 15_000);

      expect(flaky.failedWrites()).toBe(1);
      // m2 nacked once (its write failed); m2′ handled and acked, not nacked behind m3's old delivery.
      expect(t.bed.stats()).toMatchObject({ nacked: 1, delivered: 4, redelivered: 2, backlog: 0 });
      expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'nacked', schema: 'pdm.v1.FeatureBatch' })).toBe(2); // m2, and m3's old delivery behind it
      expect(scored).toEqual(['pump-2', 'pump-2', 'pump-3', 'pump-3']);
      for (const [window, index] of [
        [m2, 1],
        [m3, 2],
      ] as const) {
        const rows = await t.rows(`SELECT sensor, mean, std FROM sensor_features WHERE machine = '${window.machineId}'`);
        expect(rows.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual(
          [...window.sensors].sort((a, b) => a.sensorId.localeCompare(b.sensorId)).map((s) => [T0 + index * WINDOW_MS, s.sensorId, s.mean, s.std]),
        );
      }
      expect(await t.rows('SELECT machine, score FROM anomaly')).toEqual([
        [T0 + WINDOW_MS, 'pump-2', m2.sensors[0]!.std],
        [T0 + 2 * WINDOW_MS, 'pump-3', m3.sensors[0]!.std],
      ]);
      expect(await processor.metrics.value('pdm_processor_windows_acked_total')).toBe(2);
      expect(t.bed.deadLetters.messages).toHaveLength(0);
    } finally {
      await flaky.close();
    }
  });
});
