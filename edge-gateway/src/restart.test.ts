// A gateway restarted gracefully carries on with its window state (restored from the checkpoint in
// its outbox database): a window it sent as a SHUTDOWN partial fills on after the restart and goes
// out again, complete, as revision 1; never a second window under the same idempotency key.
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from './config/index.js';
import { type GatewayTestbed, T0, metricValue, startGatewayTestbed } from './test-support/gateway-harness.js';

const summary = (w: MachineWindow) => [Number(w.windowStart) - T0, w.revision, w.closeReason, w.sensors[0]?.count, w.sensors[0]?.mean];

/** Every idempotency key the topic carried maps to one content. */
function expectOneContentPerKey(windows: readonly MachineWindow[]): void {
  const byKey = new Map<string, string>();
  for (const w of windows) {
    const key = `${w.machineId}/${w.windowStart}/${w.featureVersion}/${w.revision}`;
    const content = JSON.stringify(w.sensors);
    expect(byKey.get(key) ?? content, key).toBe(content);
    byKey.set(key, content);
  }
}

describe('gateway restart with checkpointed window state', () => {
  let bed: GatewayTestbed;
  let mqtt: MqttClient;
  afterEach(async () => {
    await mqtt.endAsync();
    await bed.close();
  });

  async function start(windows: GatewayConfigInput['windows']): Promise<void> {
    bed = await startGatewayTestbed({ windows });
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  }
  async function restart(): Promise<void> {
    await mqtt.endAsync();
    await bed.restartGateway();
    mqtt = await connectAsync(`mqtt://127.0.0.1:${bed.gateway.mqttPort}`, { reconnectPeriod: 0 });
  }
  const send = (i: number) => mqtt.publishAsync('sensors/pump-1/temp', JSON.stringify({ ts: T0 + i * 1_000, value: i }), { qos: 1 });

  for (const lateMode of ['revise', 'count'] as const) {
    it(`the issue's repro, lateMode ${lateMode}: 5 readings, stop, restart, 5 more in the same window → revision 1 with all 10`, async () => {
      await start({ lateMode });
      for (let i = 0; i < 5; i++) await send(i);
      await restart(); // the stop sends [0, 10 s) as a SHUTDOWN partial: count 5, mean 2
      expect(await metricValue(bed.gateway, 'pdm_gateway_checkpoint_restored_machines')).toBe(1);
      expect(await metricValue(bed.gateway, 'pdm_gateway_checkpoint_restored_open_windows')).toBe(1);
      for (let i = 5; i < 10; i++) await send(i); // the restored window is open again: on time
      await send(12.5); // the watermark (12.5 s − 2 s) closes it
      await bed.waitForWindows(2);
      // By hand: values 0..4 → mean 2; values 0..9 → mean 4.5.
      expect(bed.windows().map(summary)).toEqual([
        [0, 0, CloseReason.SHUTDOWN, 5, 2],
        [0, 1, CloseReason.WATERMARK, 10, 4.5],
      ]);
      expect(await metricValue(bed.gateway, 'pdm_gateway_late_readings_total')).toBe(0);
      expectOneContentPerKey(bed.windows());
    });
  }

  it('a restored partial window that gets no more readings goes out again once, as revision 1, at the idle timeout', async () => {
    await start({});
    for (let i = 0; i < 5; i++) await send(i);
    await restart();
    bed.clock.advance(30_000);
    bed.gateway.tick();
    await bed.waitForWindows(2);
    expect(bed.windows().map(summary)).toEqual([
      [0, 0, CloseReason.SHUTDOWN, 5, 2],
      [0, 1, CloseReason.IDLE_TIMEOUT, 5, 2],
    ]);
  });

  it('a window the idle timeout closed stays closed after a restart: a reading for it revises it, never opens it again', async () => {
    await start({ lateMode: 'revise' });
    await send(1);
    bed.clock.advance(30_000);
    bed.gateway.tick(); // idle timeout: [0, 10 s) goes out with count 1
    await bed.waitForWindows(1);
    await restart();
    await send(2); // for the window already sent: revision 1, not a new revision 0 with count 1
    bed.gateway.tick();
    await bed.waitForWindows(2);
    expect(bed.windows().map(summary)).toEqual([
      [0, 0, CloseReason.IDLE_TIMEOUT, 1, 1],
      [0, 1, CloseReason.LATE_REVISION, 2, 1.5],
    ]);
  });

  it('restores at start only the machines seen within windows.evictAfterMs; an older one is recalled from its checkpoint when it sends again', async () => {
    await start({ lateMode: 'revise' });
    const sendAs = (machine: string, ts: number, value: number) => mqtt.publishAsync(`sensors/${machine}/temp`, JSON.stringify({ ts: T0 + ts, value }), { qos: 1 });
    await sendAs('pump-old', 1_000, 1);
    bed.clock.advance(30_000);
    bed.gateway.tick(); // idle timeout: pump-old's [0, 10 s) goes out
    await bed.waitForWindows(1);
    bed.clock.advance(11 * 60_000);
    bed.gateway.tick(); // pump-old unseen for 11 min: forgotten (evictAfterMs is 10 min), its checkpoint kept
    await sendAs('pump-new', 700_000, 5);
    await restart();
    expect(await metricValue(bed.gateway, 'pdm_gateway_checkpoint_restored_machines')).toBe(1);
    expect(bed.gateway.engine.sensorsOf('pump-old')).toBeUndefined();
    await sendAs('pump-old', 2_000, 2); // for the window already sent: revision 1, with the first reading
    bed.gateway.tick();
    await bed.waitForWindows(3);
    // By hand: [1] → mean 1; [1, 2] → mean 1.5.
    expect(bed.windows().filter((w) => w.machineId === 'pump-old').map(summary)).toEqual([
      [0, 0, CloseReason.IDLE_TIMEOUT, 1, 1],
      [0, 1, CloseReason.LATE_REVISION, 2, 1.5],
    ]);
  });

  it('drops a checkpoint table of version 1 at start and counts its rows as dropped checkpoints', async () => {
    await start({});
    const v1 = new Database(bed.config().outbox!.path);
    v1.exec('CREATE TABLE checkpoint (machine_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL)');
    v1.prepare('INSERT INTO checkpoint VALUES (?, ?, ?), (?, ?, ?)').run('m1', T0, '{"version":1}', 'm2', T0, '{"version":1}');
    v1.close();
    await restart();
    expect(await metricValue(bed.gateway, 'pdm_gateway_checkpoint_dropped_total')).toBe(2);
  });
});
