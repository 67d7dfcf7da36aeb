// The webhook's retry timers run on the injected clock: a real local HTTP endpoint answers, a manual
// clock decides when a retry is due and when close() gives up.
import { ManualClock } from '@pdm/clock';
import { until } from '@pdm/pubsub-emulator/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier, type WebhookOptions } from './webhook.js';

describe('WebhookNotifier', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  /** An endpoint answering each POST with the next status of `statuses` (the last one repeats). */
  async function endpoint(statuses: number[]): Promise<{ url: string; requests: () => number }> {
    let requests = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(statuses[Math.min(requests++, statuses.length - 1)]!).end());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, requests: () => requests };
  }

  function notifier(url: string, clock: ManualClock, events: { delivered: number[]; failed: string[] }, initialMs: number): WebhookNotifier {
    const options: WebhookOptions = { url, maxAttempts: 3, backoff: { initialMs, multiplier: 2, maxMs: 60_000, jitter: 0 }, timeoutMs: 5_000, maxPending: 10 };
    return new WebhookNotifier(options, pino({ level: 'silent' }), { delivered: (n) => events.delivered.push(n), failed: (r) => events.failed.push(r) }, clock);
  }

  it('retries a failed POST when its back-off has passed on the clock, and not before', async () => {
    const { url, requests } = await endpoint([503, 204]);
    const clock = new ManualClock();
    const events = { delivered: [] as number[], failed: [] as string[] };
    const webhook = notifier(url, clock, events, 1_000);
    webhook.notify({ state: 'open' });
    await until(() => clock.pending() === 1, 'retry scheduled after the 503');
    clock.advance(999);
    expect(requests()).toBe(1);
    clock.advance(1);
    await until(() => events.delivered.length === 1, 'delivered on the retry');
    expect(events).toEqual({ delivered: [2], failed: [] });
    expect(webhook.pendingCount()).toBe(0);
  });

  it('close() gives up a notification waiting for its retry once its timeout passed on the clock', async () => {
    const { url, requests } = await endpoint([503]);
    const clock = new ManualClock();
    const events = { delivered: [] as number[], failed: [] as string[] };
    const webhook = notifier(url, clock, events, 60_000);
    webhook.notify({ state: 'open' });
    await until(() => clock.pending() === 1, 'retry scheduled after the 503');
    let closed = false;
    const closing = webhook.close(5_000).then(() => (closed = true));
    clock.advance(4_999);
    await Promise.resolve();
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(events).toEqual({ delivered: [], failed: ['shutdown'] });
    expect(clock.pending()).toBe(0);
    expect(requests()).toBe(1);
  });
});
