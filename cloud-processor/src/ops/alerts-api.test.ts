// The alert workflow API on a whole processor (Pub/Sub emulator, real influxd): only with the token
// (401 otherwise), off when no token is configured (404), refusals as 404/409/400, a resolve through
// the API delivered as the machine's next window is counted, and of two resolves at once one wins.
import { isoTime } from '@pdm/clock';
import { AlertSchema, AlertState, fromBinary } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import type { RunningProcessor } from '../app/start-processor.js';
import { useProcessorTestbeds, type ProcessorTestbed } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { T0, WINDOW_MS, makeWindow } from '../test-support/windows.js';

const TOKEN = 'a-test-token-of-32-characters-00';

/** Requests to a processor's API: `api` as given, `asked` with the token, answering status and JSON body. */
function apiOf(processor: RunningProcessor) {
  const api = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`http://127.0.0.1:${processor.httpPort}/api/${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json', ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }) },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    });
  const asked = async (path: string, init: Parameters<typeof api>[1] = {}) => {
    const response = await api(path, { token: TOKEN, ...init });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { api, asked };
}

/** pump-1's first episode, opened by two anomalous windows (K = N = M = 2; actions read again for every window). */
async function openAlert(t: ProcessorTestbed): Promise<{ processor: RunningProcessor; alertId: string }> {
  const processor = await t.start({ http: { apiToken: TOKEN } }, { scorer: new ScriptedScorer() });
  for (const index of [0, 1]) await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index, faulty: true }));
  await t.alerts.waitFor(1, 10_000);
  return { processor, alertId: `pump-1-${T0 + 2 * WINDOW_MS}` };
}

const ALERTS = { alerts: { openAfter: 2, within: 2, resolveAfter: 2, actionsRefreshMs: 1 } };

describe('alerts API', () => {
  const startTestbed = useProcessorTestbeds();

  it('acts on alerts with the token, refuses without it, and a resolve through it is delivered at the machine’s next window', async () => {
    const t = await startTestbed(ALERTS);
    const { processor, alertId } = await openAlert(t);
    const { api, asked } = apiOf(processor);

    expect((await api('alerts')).status).toBe(401);
    expect((await api('alerts', { token: `${TOKEN}x` })).status).toBe(401);
    expect((await api(`alerts/${alertId}/resolve`, { body: { who: 'ana' }, token: 'wrong' })).status).toBe(401);
    const listed = await asked('alerts?since=1d');
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ episodes: [{ alertId, siteId: 'plant-1', machineId: 'pump-1', state: 'open', suppressed: false }], mutes: [] });

    expect(await asked(`alerts/${alertId}/ack`, { body: { note: 'no who' } })).toMatchObject({ status: 400, body: { message: '"who" must be a non-empty string' } });
    expect(await asked('alerts/pump-1-42/ack', { body: { who: 'ana' } })).toMatchObject({ status: 404, body: { message: expect.stringContaining('unknown alert id "pump-1-42"') as unknown } });
    expect(await asked(`alerts/${alertId}/label`, { body: { who: 'ana', label: 'oops' } })).toMatchObject({ status: 400 });
    expect(await asked('machines/pump-1/mute', { body: { who: 'ana', for: '2 hours' } })).toMatchObject({ status: 400, body: { message: expect.stringContaining('"for": invalid duration') as unknown } });
    expect(await asked('machines/press-9/mute', { body: { who: 'ana', for: '2h' } })).toMatchObject({ status: 404 });
    expect(await asked(`alerts/${alertId}/ack`, { body: { who: 'ana', note: 'on my way' } })).toMatchObject({ status: 200, body: { action: 'ack', alertId, who: 'ana', note: 'on my way' } });
    expect(await asked(`alerts/${alertId}/resolve`, { body: { who: 'ana', note: 'valve reseated' } })).toMatchObject({ status: 200, body: { action: 'resolve', alertId } });
    expect(await asked(`alerts/${alertId}/resolve`, { body: { who: 'bo' } })).toMatchObject({ status: 409 });
    // pump-1's one site is found from its windows; the mute covers times after it was taken, not these windows of T0.
    // A time without a zone is UTC whatever the processor host's zone (the CLI's syntax); within the
    // raw retention (30 d), which keeps the mute.
    const until = Math.ceil((Date.now() + 86_400_000) / 1_000) * 1_000;
    const hostZone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(await asked('machines/pump-1/mute', { body: { who: 'bo', until: new Date(until).toISOString().slice(0, 19) } })).toMatchObject({ status: 200, body: { action: 'mute', siteId: 'plant-1', muteUntil: until } });
    } finally {
      if (hostZone === undefined) delete process.env.TZ;
      else process.env.TZ = hostZone;
    }
    expect(await asked('machines/pump-1/mute', { body: { who: 'bo', until: 'next tuesday' } })).toMatchObject({ status: 400, body: { message: expect.stringContaining('no zone = UTC') as unknown } });
    expect((await asked('alerts')).body).toMatchObject({ mutes: [{ machineId: 'pump-1', who: 'bo' }] });
    expect(await asked('machines/pump-1/unmute', { body: { who: 'bo' } })).toMatchObject({ status: 200, body: { action: 'unmute', siteId: 'plant-1' } });

    // The next window, anomalous, resolves the episode by hand instead of keeping it open.
    await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index: 2, faulty: true }));
    const messages = await t.alerts.waitFor(2, 10_000);
    expect(fromBinary(AlertSchema, messages[1]!.data)).toMatchObject({ state: AlertState.RESOLVED, machineId: 'pump-1' });
    expect(await t.rows(`SELECT alert_id, message FROM alerts WHERE "state" = 'resolved'`)).toEqual([[T0 + 3 * WINDOW_MS, alertId, 'resolved by hand by ana: valve reseated']]);
    expect((await asked('alerts')).body).toMatchObject({ episodes: [{ alertId, state: 'resolved', ack: { who: 'ana' }, resolvedByHand: { who: 'ana' } }] });
  });

  it('answers one of two resolves of an alert at once, and the other 409 naming who resolved it and when, as a resolve after it', async () => {
    const t = await startTestbed(ALERTS);
    const { processor, alertId } = await openAlert(t);
    const { asked } = apiOf(processor);

    const answers = await Promise.all([
      asked(`alerts/${alertId}/resolve`, { body: { who: 'ana', note: 'valve reseated' } }),
      asked(`alerts/${alertId}/resolve`, { body: { who: 'bo', note: 'belt changed' } }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const won = answers.find((a) => a.status === 200)!.body;
    const lost = answers.find((a) => a.status === 409)!.body;
    const winner = won.who === 'ana' ? { who: 'ana', note: 'valve reseated' } : { who: 'bo', note: 'belt changed' };
    expect(won).toMatchObject({ action: 'resolve', alertId, ...winner });
    const refusal = `alert ${alertId} is already being resolved by hand: by ${winner.who} at ${isoTime(won.time as number)} (the processor closes it at the machine's next window)`;
    expect(lost).toMatchObject({ statusCode: 409, message: refusal });
    // The same answer to a resolve asked after the winner's was answered.
    expect(await asked(`alerts/${alertId}/resolve`, { body: { who: 'cy' } })).toEqual({ status: 409, body: lost });

    // One resolve stored, the winner's, and the processor closes the episode with it.
    expect(await t.rows(`SELECT who, note, alert_id FROM alert_actions WHERE "action" = 'resolve'`)).toEqual([[won.time, winner.who, winner.note, alertId]]);
    await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index: 2, faulty: true }));
    await t.alerts.waitFor(2, 10_000);
    expect(await t.rows(`SELECT alert_id, message FROM alerts WHERE "state" = 'resolved'`)).toEqual([[T0 + 3 * WINDOW_MS, alertId, `resolved by hand by ${winner.who}: ${winner.note}`]]);
  });

  it('is not served without a token configured', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ScriptedScorer() });
    const response = await fetch(`http://127.0.0.1:${processor.httpPort}/api/alerts`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${processor.httpPort}/healthz`)).status).toBe(200);
  });
});
