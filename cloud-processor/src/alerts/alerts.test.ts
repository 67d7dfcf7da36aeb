import { AlertSchema, AlertState, fromBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useProcessorTestbeds, type ProcessorTestbed } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow } from '../test-support/windows.js';

interface WebhookServer {
  url: string;
  bodies: unknown[];
  server: Server;
}

/** A real local HTTP endpoint; `respond` decides each answer (or holds the request). */
async function startWebhook(respond: (req: IncomingMessage, res: ServerResponse, attempt: number) => void): Promise<WebhookServer> {
  const bodies: unknown[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      respond(req, res, ++attempts);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, bodies, server };
}

describe('alerts: K/M hysteresis → alerts topic, alerts measurement, webhook', () => {
  const startTestbed = useProcessorTestbeds();
  let webhook: WebhookServer | undefined;
  afterEach(async () => {
    webhook?.server.closeAllConnections();
    await new Promise((resolve) => webhook?.server.close(resolve) ?? resolve(undefined));
    webhook = undefined;
  });

  /** 2 normal, 3 faulty, 2 normal windows of pump-1: with K=3, M=2 one alert opens and resolves. */
  async function publishEpisode(bed: ProcessorTestbed['bed']): Promise<void> {
    const pattern = [false, false, true, true, true, false, false];
    for (const [index, faulty] of pattern.entries()) await bed.publishWindow(makeWindow({ machine: 'pump-1', index, faulty }));
  }

  it('publishes pdm.v1.Alert on open and resolve, writes the alerts measurement, and retries the webhook', async () => {
    webhook = await startWebhook((_req, res, attempt) => res.writeHead(attempt === 1 ? 503 : 204).end());
    const t = await startTestbed({
      alerts: { openAfter: 3, resolveAfter: 2, webhook: { url: webhook.url, backoff: { initialMs: 1, maxMs: 5 } } },
    });
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    await publishEpisode(t.bed);
    const messages = await t.alerts.waitFor(2, 10_000);
    const alerts = messages.map((m) => ({ alert: fromBinary(AlertSchema, m.data), attributes: m.attributes, orderingKey: m.orderingKey }));
    expect(alerts.map((a) => a.alert.state)).toEqual([AlertState.OPEN, AlertState.RESOLVED]);
    const [open, resolved] = alerts;
    expect(open!.attributes['schema']).toBe('pdm.v1.Alert');
    expect(open!.alert).toMatchObject({ machineId: 'pump-1', siteId: 'plant-1', model: 'scripted', threshold: 5 });
    expect(open!.alert.topSensors[0]?.sensorId).toBe('temp');
    expect(resolved!.alert.alertId).toBe(open!.alert.alertId);
    expect(open!.orderingKey).toBe('pump-1');

    await until(() => t.bed.stats().acked === 7, 'all windows acked');
    await until(() => webhook!.bodies.length === 3, 'webhook: failed attempt, its retry, and the resolve');
    expect(webhook.bodies.map((b) => (b as { state: string }).state)).toEqual(['open', 'open', 'resolved']);

    await processor.stop(); // waits for alert deliveries in flight and flushes InfluxDB
    const rows = await t.rows('SELECT state, score, alert_id FROM alerts');
    expect(rows.map((r) => r[1]).sort()).toEqual(['open', 'resolved']);
    expect(new Set(rows.map((r) => r[3]))).toEqual(new Set([open!.alert.alertId]));
  });

  it('never blocks scoring on a webhook that does not answer', async () => {
    const held: ServerResponse[] = [];
    webhook = await startWebhook((_req, res) => held.push(res));
    const t = await startTestbed({ alerts: { openAfter: 3, resolveAfter: 2, webhook: { url: webhook.url, timeoutMs: 60_000 } } });
    await t.start({}, { scorer: new ScriptedScorer() });
    await publishEpisode(t.bed);
    await t.alerts.waitFor(2, 10_000);
    await until(() => t.bed.stats().acked === 7, 'all windows acked while the webhook hangs');
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(7);
    for (const res of held) res.writeHead(204).end();
  });
});
