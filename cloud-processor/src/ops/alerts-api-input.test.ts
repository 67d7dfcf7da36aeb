// The alerts API on its own (Nest over a real influxd, the system clock): what a request may carry —
// the Bearer scheme in any case, a mute InfluxDB keeps to its end, machine and site ids line protocol
// can store, alert ids a query can name — refused as 400 or 404 before anything is written.
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { systemClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { MachineWindowSchema, create } from '@pdm/proto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertWorkflow } from '../alerts/alert-workflow.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { AlertsApiModule } from './alerts-api.js';

const TOKEN = 'a-test-token-of-32-characters-00';
/** Within the retention policy (30 d): an hour ago, aligned to 10 s. */
const OPENED = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;
const ALERT = `pump-1-${OPENED}`;

describe('alerts API input', () => {
  let influx: RunningInflux;
  let app: INestApplication | undefined;
  let sink: InfluxSink;
  let base: string;
  beforeAll(async () => {
    influx = await startTestInflux();
    sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('alerts_api'), batchMaxDelayMs: 1 });
    await sink.start();
    const window = create(MachineWindowSchema, { siteId: 'plant-1', machineId: 'pump-1', gatewayId: 'g', windowStart: BigInt(OPENED - 10_000), windowEnd: BigInt(OPENED) });
    await sink.writeUnscoredWindow(window, { kind: 'no_model' });
    await sink.writeAlert({ siteId: 'plant-1', machineId: 'pump-1', alertId: ALERT, state: 'open', score: 9, message: 'm', windowEnd: OPENED });
    await sink.flush();
    app = await NestFactory.create(AlertsApiModule.register(new AlertWorkflow(sink, systemClock), TOKEN, systemClock), { logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer() as { address(): AddressInfo }).address().port}/api`;
  });
  afterAll(async () => {
    await app?.close();
    await influx?.stop();
  });

  async function asked(path: string, body?: unknown, authorization = `Bearer ${TOKEN}`): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${base}/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const actions = async () => (await sink.query('SELECT * FROM "alert_actions"')).flatMap((s) => s.values);
  const message = (text: string) => ({ message: expect.stringContaining(text) as unknown });

  it('takes the Bearer scheme in any case (HTTP authentication schemes are case-insensitive)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) expect((await asked('alerts', undefined, `${scheme} ${TOKEN}`)).status, scheme).toBe(200);
    expect((await asked('alerts', undefined, `bearer ${TOKEN}x`)).status).toBe(401);
    expect((await asked('alerts', undefined, `Basic ${TOKEN}`)).status).toBe(401);
    expect((await asked('alerts', undefined, TOKEN)).status).toBe(401);
  });

  it('refuses with 400 a mute that never ends, ends at no time a Date holds or outlives its point in InfluxDB, leaving the mute in force', async () => {
    const before = (await actions()).length;
    const muted = await asked('machines/pump-1/mute', { who: 'bo', for: '2h' });
    expect(muted).toMatchObject({ status: 200, body: { action: 'mute', siteId: 'plant-1' } });
    expect(await asked('machines/pump-1/mute', { who: 'bo', for: `${'9'.repeat(400)}d` })).toMatchObject({ status: 400, body: message('the mute would never end') });
    expect(await asked('machines/pump-1/mute', { who: 'bo', for: '100000000w' })).toMatchObject({ status: 400, body: message('after the longest mute possible, 30d') });
    expect(await asked('machines/pump-1/mute', { who: 'bo', for: '31d' })).toMatchObject({ status: 400, body: message('after the longest mute possible, 30d') });
    expect(await asked('machines/pump-1/mute', { who: 'bo', until: '100000000000000000', site: 'plant-1' })).toMatchObject({ status: 400, body: message('the mute would end at 100000000000000000 ms since 1970, after the longest mute possible, 30d') });
    expect(await asked('machines/pump-1/mute', { who: 'bo', until: '-100000000000000000000', site: 'plant-1' })).toMatchObject({ status: 400, body: message('which is not in the future') });
    expect(await actions()).toHaveLength(before + 1);
    expect((await asked('alerts')).body).toMatchObject({ mutes: [{ machineId: 'pump-1', muteUntil: muted.body.muteUntil }] });
    expect(await asked('machines/pump-1/unmute', { who: 'bo' })).toMatchObject({ status: 200 });
  });

  it('refuses with 400 a machine (URL) or site (body) id with a control character, storing nothing', async () => {
    const before = await actions();
    for (const action of ['mute', 'unmute']) {
      expect(await asked(`machines/${encodeURIComponent('pump-1\nevil')}/${action}`, { who: 'bo', for: '1h', site: 'plant-1' })).toMatchObject({ status: 400, body: message('invalid machine id "pump-1\\nevil"') });
      expect(await asked(`machines/${encodeURIComponent('pump-1\u0000')}/${action}`, { who: 'bo', for: '1h' })).toMatchObject({ status: 400, body: message('invalid machine id') });
      expect(await asked(`machines/pump-1/${action}`, { who: 'bo', for: '1h', site: 'plant-1\ninjected' })).toMatchObject({ status: 400, body: message('invalid site id "plant-1\\ninjected"') });
      expect(await asked(`machines/pump-1/${action}`, { who: 'bo', for: '1h', site: 'plant-1\\' })).toMatchObject({ status: 400, body: message('invalid site id') });
    }
    expect(await actions()).toEqual(before);
    const measurements = (await sink.query('SHOW MEASUREMENTS')).flatMap((s) => s.values.flat());
    expect(measurements).not.toContain('evil');
    expect(measurements).not.toContain('injected');
  });

  it('answers 404 for an alert id no alert can have: an epoch past InfluxDB times, a control character', async () => {
    for (const id of ['pump-1-99999999999999999999', 'pump-1-9007199254740993', `pump-1\n-${OPENED}`, `pump-1\u0007-${OPENED}`]) {
      for (const action of ['ack', 'resolve']) {
        expect(await asked(`alerts/${encodeURIComponent(id)}/${action}`, { who: 'ana' }), `${action} ${JSON.stringify(id)}`).toMatchObject({ status: 404, body: message(`unknown alert id ${JSON.stringify(id)}`) });
      }
      expect(await asked(`alerts/${encodeURIComponent(id)}/label`, { who: 'ana', label: 'fault' })).toMatchObject({ status: 404 });
    }
    expect(await asked(`alerts/${ALERT}/ack`, { who: 'ana' })).toMatchObject({ status: 200, body: { action: 'ack', alertId: ALERT } });
  });
});
