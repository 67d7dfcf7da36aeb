// A gateway process killed with SIGKILL mid-stream loses no window it had committed to its outbox:
// after a restart every one is delivered, and a window delivered twice carries the same idempotency
// key and the same bytes. Of the readings in windows still open at the kill, it loses at most those
// accepted since its last checkpoint (outbox.checkpointIntervalMs), and each window holds exactly
// the readings it kept.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import { makeTestDataDir } from '@pdm/influx-harness';
import { Collector, PROJECT, startTestEmulator, uniqueId, until } from '@pdm/pubsub-emulator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@pdm/influx-harness';
import { encodeMachineWindow, type MachineWindow } from '@pdm/proto';
import { decodeWindows } from './test-support/gateway-harness.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');
const dir = makeTestDataDir('gateway-crash');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyOf = (w: { machineId: string; windowStart: bigint | number; featureVersion: number; revision: number }) =>
  `${w.machineId}/${Number(w.windowStart)}/${w.featureVersion}/${w.revision}`;

function startChild(configFile: string): Promise<ChildProcess> {
  // The start banner is on standard error (standard output carries the log lines).
  const child = spawn(process.execPath, [bin, '--config', configFile], { stdio: ['ignore', 'inherit', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('operations')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before it was ready: ${output}`)));
  });
}

/** A metric of the gateway, read from its /metrics endpoint while it runs. */
async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}
const outboxDepth = (httpPort: number) => metric(httpPort, 'pdm_gateway_outbox_depth');
/** Periodic checkpoints committed so far. */
const checkpointCount = (httpPort: number) => metric(httpPort, 'pdm_gateway_checkpoint_duration_seconds_count');

/** Idempotency keys of the rows in the outbox file; only called while no gateway runs. */
function committedKeys(outboxPath: string): string[] {
  const db = new Database(outboxPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT machine_id, window_start, feature_version, revision FROM outbox').all() as Array<Record<string, number | string>>;
    return rows.map((r) => `${r.machine_id}/${r.window_start}/${r.feature_version}/${r.revision}`);
  } finally {
    db.close();
  }
}

describe('gateway killed with SIGKILL', () => {
  it('delivers every window committed to its outbox after a restart, with the same idempotency key', async () => {
    expect(existsSync(bin), `${bin} is missing: the test target builds it first (npx nx run @pdm/edge-gateway:test)`).toBe(true);
    const pubsub = await startTestEmulator();
    try {
      const topic = uniqueId('crash-features');
      const client = pubsub.client();
      const [created] = await client.createTopic(topic);
      const [subscription] = await created.createSubscription(uniqueId('crash-sub'), { enableMessageOrdering: true });
      const collector = new Collector(client.subscription(subscription.name));

      const mqttPort = await freePort();
      const httpPort = await freePort();
      const outboxPath = join(dir, 'outbox.sqlite');
      const configFile = join(dir, 'gateway.yaml');
      writeFileSync(
        configFile,
        JSON.stringify({
          mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
          http: { host: '127.0.0.1', port: httpPort },
          windows: { windowMs: 1000, allowedLatenessMs: 0 },
          outbox: { path: outboxPath },
          pubsub: { projectId: PROJECT, topic, emulatorHost: pubsub.emulator.endpoint, batchMaxMilliseconds: 5 },
          log: { level: 'warn' },
        }),
      );

      let child = await startChild(configFile);
      const mqtt = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
      const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;
      // Five machines, ten readings per one-second window: windows close as event time advances.
      let sent = 0;
      const stream = (async () => {
        for (let i = 0; i < 2000 && child.exitCode === null && child.signalCode === null; i++) {
          for (let m = 0; m < 5; m++) {
            await mqtt.publishAsync(`sensors/m${m}/s`, JSON.stringify({ ts: base + i * 100, value: i }), { qos: 1 }).catch(() => {});
          }
          sent = i;
        }
      })();
      await until(() => decodeWindows(collector.messages).length >= 40, '40 windows delivered before the kill', 20_000);
      // Pub/Sub refuses every publish until the kill, so windows pile up in the outbox (a few refusals
      // only would let the backlog drain again before the kill lands).
      pubsub.emulator.failNext('Publish', 1_000_000, status.PERMISSION_DENIED);
      await until(async () => (await outboxDepth(httpPort)) >= 12, 'a backlog of 12 windows in the outbox', 20_000);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      pubsub.emulator.clearFaults();
      // The publish in flight at the kill never gets its PUBACK; drop the connection instead of awaiting it.
      mqtt.end(true);
      void stream;
      expect(sent).toBeLessThan(1999); // killed mid-stream

      const committed = committedKeys(outboxPath);
      const deliveredBefore = new Set(decodeWindows(collector.messages).map(keyOf));

      child = await startChild(configFile);
      try {
        await until(() => {
          const delivered = new Set(decodeWindows(collector.messages).map(keyOf));
          return committed.every((key) => delivered.has(key));
        }, 'every committed window delivered after restart', 20_000);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }

      expect(deliveredBefore.size).toBeGreaterThanOrEqual(40);
      expect(committed.length).toBeGreaterThanOrEqual(10);
      const byKey = new Map<string, string>();
      for (const window of decodeWindows(collector.messages)) {
        const key = keyOf(window);
        const bytes = Buffer.from(encodeMachineWindow(window)).toString('base64');
        // A window delivered again (in a batch of the same or other windows) is the same window: same idempotency key, same content.
        if (byKey.has(key)) expect(byKey.get(key)).toBe(bytes);
        byKey.set(key, bytes);
      }
      expect(committedKeys(outboxPath)).toEqual([]);
      await collector.subscription.close();
    } finally {
      await pubsub.close();
    }
  });

  it('loses at most the readings accepted after its last checkpoint, and every window holds exactly the readings it kept', async () => {
    const pubsub = await startTestEmulator();
    try {
      const topic = uniqueId('kill-features');
      const client = pubsub.client();
      const [created] = await client.createTopic(topic);
      const [subscription] = await created.createSubscription(uniqueId('kill-sub'), { enableMessageOrdering: true });
      const collector = new Collector(client.subscription(subscription.name));
      const mqttPort = await freePort();
      const outboxPath = join(dir, 'kill-outbox.sqlite');
      const configFile = join(dir, 'kill-gateway.yaml');
      const httpPort = await freePort();
      writeFileSync(
        configFile,
        JSON.stringify({
          mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
          http: { host: '127.0.0.1', port: httpPort },
          // One-minute windows with event time running 10× the wall clock: the window open at the
          // kill holds about 5 s of readings, five checkpoint intervals.
          windows: { windowMs: 60_000, lateMode: 'revise' },
          outbox: { path: outboxPath, checkpointIntervalMs: 1_000 },
          pubsub: { projectId: PROJECT, topic, emulatorHost: pubsub.emulator.endpoint, batchMaxMilliseconds: 5 },
          log: { level: 'warn' },
          shutdownTimeoutMs: 5_000,
        }),
      );

      let child = await startChild(configFile);
      const mqtt = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
      // Event time starts 50 s into a window, 10 min in the past (well inside validation.maxAgeMs).
      const base = Math.floor((Date.now() - 600_000) / 60_000) * 60_000 + 50_000;
      const started = Date.now();
      /** Readings acknowledged (so accepted), in the order sent: event time ascending. */
      const acked: Array<{ ts: number; value: number }> = [];
      const send = async (ts: number) => {
        const value = ts % 1_000;
        await mqtt.publishAsync('sensors/m/s', JSON.stringify({ ts, value }), { qos: 1 });
        acked.push({ ts, value });
      };
      while (Date.now() - started < 6_000) {
        await send(base + (Date.now() - started) * 10);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // A checkpoint that began after the last acknowledgement holds every reading so far.
      const checkpoints = await checkpointCount(httpPort);
      await until(async () => (await checkpointCount(httpPort)) > checkpoints, 'a checkpoint after the last reading', 10_000);
      // Then readings no awaited checkpoint holds, and the kill right after them.
      const unsaved = 20;
      const last = acked[acked.length - 1]!.ts;
      for (let i = 1; i <= unsaved; i++) await send(last + i);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      mqtt.end(true);

      child = await startChild(configFile);
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toMatch(/^pdm_gateway_checkpoint_restored_machines 1$/m);
      expect(metrics).toMatch(/^pdm_gateway_checkpoint_restored_open_windows 1$/m);
      // A graceful stop sends what the restart restored: the open window, as a SHUTDOWN partial.
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await until(() => committedKeys(outboxPath).length === 0, 'the outbox drained', 10_000);

      const windowStarts = [...new Set(acked.map((r) => Math.floor(r.ts / 60_000) * 60_000))];
      expect(windowStarts).toHaveLength(2); // one window closed before the kill, one open at it
      /** Each window at its newest revision, by start. */
      const newest = () => {
        const byStart = new Map<number, MachineWindow>();
        for (const w of decodeWindows(collector.messages)) {
          const start = Number(w.windowStart);
          if ((byStart.get(start)?.revision ?? -1) < w.revision) byStart.set(start, w);
        }
        return byStart;
      };
      await until(() => windowStarts.every((start) => newest().has(start)), 'both windows delivered', 10_000);

      let kept = 0;
      for (const [index, start] of windowStarts.entries()) {
        const window = newest().get(start)!;
        const sent = acked.filter((r) => r.ts >= start && r.ts < start + 60_000);
        const count = window.sensors[0]?.count ?? 0;
        // A crash loses the readings after the last checkpoint: the window holds the first `count`
        // readings sent for it, whose mean is computed here from what was sent.
        const expected = sent.slice(0, count);
        const mean = expected.reduce((sum, r) => sum + r.value, 0) / count;
        if (index === 0) expect(count).toBe(sent.length); // closed and committed before the kill: complete
        expect(count).toBeGreaterThan(0);
        expect(count).toBeLessThanOrEqual(sent.length);
        expect(Math.abs(window.sensors[0]!.mean - mean)).toBeLessThanOrEqual(1e-9 * Math.abs(mean));
        expect(window.sensors[0]!.min).toBe(Math.min(...expected.map((r) => r.value)));
        expect(window.sensors[0]!.max).toBe(Math.max(...expected.map((r) => r.value)));
        kept += count;
      }
      const lost = acked.length - kept;
      expect(lost).toBeGreaterThanOrEqual(0);
      expect(lost).toBeLessThanOrEqual(unsaved);
      // Without checkpoints every reading of the window open at the kill was lost: far more.
      const inOpenWindow = acked.filter((r) => r.ts >= windowStarts[1]!).length;
      expect(inOpenWindow).toBeGreaterThan(10 * unsaved);
      await collector.subscription.close();
    } finally {
      await pubsub.close();
    }
  });
});
