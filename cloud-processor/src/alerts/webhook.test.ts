// The webhook as a delivery target: a real local HTTP endpoint answers, a manual clock decides when a
// retry is due and when close() stops waiting.
import { ManualClock } from '@pdm/clock';
import { until } from '@pdm/pubsub-emulator/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAlertStore } from '../test-support/memory-alert-store.js';
import { AlertDeliveries } from './alert-delivery.js';
import type { DeliveryRecord } from './alert-store.js';
import type { AlertTransition } from './alert-tracker.js';
import { WebhookTarget } from './webhook.js';

const transition: AlertTransition = {
  state: 'open',
  alertId: 'pump-1-30000',
  siteId: 'plant-1',
  machineId: 'pump-1',
  openedAt: 30_000,
  message: '3 consecutive anomalous windows',
  score: { siteId: 'plant-1', machineId: 'pump-1', windowStart: 20_000, windowEnd: 30_000, model: 'm', modelVersion: '1', score: 9, threshold: 5, isAnomaly: true, contributions: { temp: 1 } },
};

describe('WebhookTarget through AlertDeliveries', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** An endpoint answering each POST with the next status of `statuses` (the last one repeats). */
  async function endpoint(statuses: number[]): Promise<{ url: string; requests: () => number; bodies: unknown[] }> {
    let requests = 0;
    const bodies: unknown[] = [];
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.writeHead(statuses[Math.min(requests++, statuses.length - 1)]!).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, requests: () => requests, bodies };
  }

  function deliveries(url: string, clock: ManualClock, store: MemoryAlertStore, events: { failed: string[]; abandoned: string[] }, initialMs: number, limit: { maxAttempts?: number } = { maxAttempts: 3 }): AlertDeliveries {
    const target = new WebhookTarget({ url, ...limit, backoff: { initialMs, multiplier: 2, maxMs: 60_000, jitter: 0 }, timeoutMs: 5_000, maxPending: 10 });
    const options = { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 };
    return new AlertDeliveries([target], store, options, clock, pino({ level: 'silent' }), { failed: (t) => events.failed.push(t), abandoned: (t) => events.abandoned.push(t) });
  }

  const record = (clock: ManualClock): DeliveryRecord => ({ transition, pending: ['webhook'], attempts: 0, createdAt: clock.now(), updatedAt: clock.now() });

  it('retries a failed POST when its back-off has passed on the clock, and not before, then marks the record delivered', async () => {
    const { url, requests, bodies } = await endpoint([503, 204]);
    const clock = new ManualClock(1_000_000);
    const store = new MemoryAlertStore();
    const events = { failed: [] as string[], abandoned: [] as string[] };
    const webhook = deliveries(url, clock, store, events, 1_000);
    webhook.deliver(record(clock));
    await until(() => clock.pending() === 1, 'retry scheduled after the 503');
    clock.advance(999);
    expect(requests()).toBe(1);
    clock.advance(1);
    await until(() => webhook.pendingCount() === 0, 'delivered on the retry');
    expect(requests()).toBe(2);
    expect(events).toEqual({ failed: ['webhook'], abandoned: [] });
    // The failed attempt refreshed the record (alive, one attempt), the success emptied its targets.
    expect(store.saved.map((r) => ({ pending: r.pending, attempts: r.attempts, updatedAt: r.updatedAt }))).toEqual([
      { pending: ['webhook'], attempts: 1, updatedAt: 1_000_000 },
      { pending: [], attempts: 1, updatedAt: 1_001_000 },
    ]);
    expect(bodies[0]).toMatchObject({ state: 'open', alertId: 'pump-1-30000', score: 9, threshold: 5, windowEnd: 30_000, contributions: { temp: 1 } });
  });

  it('gives the webhook up at once on a 4xx, and after maxAttempts otherwise, counting each', async () => {
    const refused = await endpoint([404]);
    const clock = new ManualClock(1_000_000);
    const store = new MemoryAlertStore();
    const events = { failed: [] as string[], abandoned: [] as string[] };
    const webhook = deliveries(refused.url, clock, store, events, 1_000);
    webhook.deliver(record(clock));
    await until(() => webhook.pendingCount() === 0, 'given up');
    expect(refused.requests()).toBe(1);
    expect(events).toEqual({ failed: ['webhook'], abandoned: ['webhook'] });
    expect(store.saved.at(-1)?.pending).toEqual([]);
  });

  it('without maxAttempts retries as long as giveUpAfterMs allows, then gives up', async () => {
    const { url, requests } = await endpoint([503]); // a receiver down (a redeploy that takes long)
    const clock = new ManualClock(1_000_000);
    const store = new MemoryAlertStore();
    const events = { failed: [] as string[], abandoned: [] as string[] };
    const webhook = deliveries(url, clock, store, events, 1_000, {}); // maxAttempts unset, as by default
    webhook.deliver(record(clock));
    for (let attempt = 1; attempt <= 10; attempt++) {
      await until(() => events.failed.length === attempt, `attempt ${attempt} failed, the next scheduled`);
      clock.advance(60_000); // the longest back-off
    }
    expect(requests()).toBe(10);
    expect(events.abandoned).toEqual([]);
    expect(webhook.pendingCount()).toBe(1);
    clock.advance(3_600_000); // past giveUpAfterMs (1 h) since the transition
    await until(() => webhook.pendingCount() === 0, 'given up');
    expect(events.abandoned).toEqual(['webhook']);
  });

  /** A receiver that answers POSTs to its hook path with `status` and `headers`, anything else 200; every request seen. */
  async function receiver(hookPath: string, status: number, headers: Record<string, string> = {}): Promise<{ base: string; seen: string[] }> {
    const seen: string[] = [];
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        res.writeHead(req.url === hookPath ? status : 200, req.url === hookPath ? headers : {}).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  /** Deliveries to `url` whose log lines are kept, as AlertDeliveries writes them. */
  function logged(url: string, clock: ManualClock, maxAttempts: number) {
    const lines: Record<string, unknown>[] = [];
    const target = new WebhookTarget({ url, maxAttempts, backoff: { initialMs: 1_000, multiplier: 2, maxMs: 60_000, jitter: 0 }, timeoutMs: 5_000, maxPending: 10 });
    const events = { failed: [] as string[], abandoned: [] as string[] };
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const options = { giveUpAfterMs: 3_600_000, takeoverAfterMs: 300_000, sweepIntervalMs: 60_000 };
    const webhook = new AlertDeliveries([target], new MemoryAlertStore(), options, clock, log, { failed: (t) => events.failed.push(t), abandoned: (t) => events.abandoned.push(t) });
    return { webhook, lines, events };
  }

  it('gives up at once on a redirect, not following it (a 301/302/303 would POST nothing and count as delivered), naming where it leads but no path', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const { base, seen } = await receiver('/hook/T000/SECRET', status, { location: '/moved/OTHER-SECRET' });
      const clock = new ManualClock(1_000_000);
      const { webhook, lines, events } = logged(`${base}/hook/T000/SECRET`, clock, 5);
      webhook.deliver(record(clock));
      await until(() => webhook.pendingCount() === 0, `given up on the ${status}`);
      expect(seen, `HTTP ${status}`).toEqual(['POST /hook/T000/SECRET']);
      expect(events).toEqual({ failed: ['webhook'], abandoned: ['webhook'] });
      expect(lines.map((l) => [l.msg, l.reason])).toEqual([
        [
          'alert delivery given up',
          `HTTP ${status} from ${base}: redirected to Location ${base} (another path); a webhook POST is not sent on across a redirect: set alerts.webhook.url to the URL it leads to`,
        ],
      ]);
      server!.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it('says whether a redirect keeps the path (an http → https move) or has none', async () => {
    const moved = await receiver('/hook/SECRET', 308, { location: 'https://127.0.0.1:1/hook/SECRET' });
    const target = new WebhookTarget({ url: `${moved.base}/hook/SECRET`, backoff: { initialMs: 1, multiplier: 2, maxMs: 1 }, timeoutMs: 5_000, maxPending: 10 });
    await expect(target.send(transition)).rejects.toThrow(`HTTP 308 from ${moved.base}: redirected to Location https://127.0.0.1:1 (the same path);`);
    server!.closeAllConnections();
    server!.close();
    const bare = await receiver('/hook/SECRET', 302);
    const withoutLocation = new WebhookTarget({ url: `${bare.base}/hook/SECRET`, backoff: { initialMs: 1, multiplier: 2, maxMs: 1 }, timeoutMs: 5_000, maxPending: 10 });
    await expect(withoutLocation.send(transition)).rejects.toThrow(`HTTP 302 from ${bare.base}: redirected without a Location header;`);
  });

  it('names the origin alone, not the secret path or a password, when it retries and gives up', async () => {
    const { base } = await receiver('/services/T000/B000/XXXXSECRET', 503);
    const clock = new ManualClock(1_000_000);
    const { webhook, lines } = logged(`${base}/services/T000/B000/XXXXSECRET`, clock, 2);
    webhook.deliver(record(clock));
    await until(() => clock.pending() === 1, 'retry scheduled after the 503');
    clock.advance(1_000);
    await until(() => webhook.pendingCount() === 0, 'given up after two attempts');
    expect(lines.map((l) => [l.msg, l.reason])).toEqual([
      ['alert delivery failed; retrying', `HTTP 503 from ${base}`],
      ['alert delivery given up', `HTTP 503 from ${base}`],
    ]);
    // An attempt that gets no answer: fetch's own error quotes a URL with credentials whole.
    const withPassword = new WebhookTarget({ url: base.replace('http://', 'http://hook:pa55word@') + '/services/XXXXSECRET', backoff: { initialMs: 1, multiplier: 2, maxMs: 1 }, timeoutMs: 5_000, maxPending: 10 });
    const failed = await withPassword.send(transition).then(() => undefined, (error: Error) => error.message);
    expect(failed).toMatch(new RegExp(`^POST to ${base} failed: `));
    expect(failed).not.toMatch(/SECRET|pa55word/);
  });

  it('close() releases a delivery waiting for its retry once its timeout passed on the clock, for the next sweep', async () => {
    const { url, requests } = await endpoint([503]);
    const clock = new ManualClock(1_000_000);
    const store = new MemoryAlertStore();
    const events = { failed: [] as string[], abandoned: [] as string[] };
    const webhook = deliveries(url, clock, store, events, 60_000);
    webhook.deliver(record(clock));
    await until(() => clock.pending() === 1, 'retry scheduled after the 503');
    let closed = false;
    const closing = webhook.close(5_000).then(() => (closed = true));
    clock.advance(4_999);
    await Promise.resolve();
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(clock.pending()).toBe(0);
    expect(requests()).toBe(1);
    expect(events.abandoned).toEqual([]);
    // Released: still pending, updated at 0, so any processor's next sweep takes it at once.
    expect(store.saved.at(-1)).toMatchObject({ pending: ['webhook'], updatedAt: 0 });
    expect(await store.pendingDeliveries(clock.now() - 300_000)).toHaveLength(1);
  });
});
