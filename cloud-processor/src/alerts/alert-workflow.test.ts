// The alert workflow over a real influxd, on a manual clock: the episodes listed with what people did
// about them (values by hand from the points written), and what it refuses, naming why.
import { ManualClock } from '@pdm/clock';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { MachineWindowSchema, create } from '@pdm/proto';
import { AlertWorkflow } from './alert-workflow.js';

/** Within the retention policy (30 d): an hour ago, aligned to 10 s. */
const BASE = Math.floor((Date.now() - 3_600_000) / 10_000) * 10_000;
const MINUTE = 60_000;

describe('AlertWorkflow', () => {
  let influx: RunningInflux;
  beforeAll(async () => {
    influx = await startTestInflux();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /**
   * pump-1 (plant-1) opened at BASE + 10 s, still open; fan-2 (plant-1) opened at BASE + 20 s while
   * muted, resolved at BASE + 40 s; the clock at BASE + 1 min.
   */
  async function fleet() {
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: uniqueDatabaseName('workflow'), batchMaxDelayMs: 1 });
    await sink.start();
    const alert = (machineId: string, state: string, windowEnd: number, alertEnd: number, suppressed = false) =>
      sink.writeAlert({ siteId: 'plant-1', machineId, alertId: `${machineId}-${alertEnd}`, state, score: 9, message: `${machineId} ${state}`, windowEnd, suppressed });
    // fan-2's one site is known from a window of it.
    const window = create(MachineWindowSchema, { siteId: 'plant-1', machineId: 'fan-2', gatewayId: 'g', windowStart: BigInt(BASE), windowEnd: BigInt(BASE + 10_000) });
    await Promise.all([
      alert('pump-1', 'open', BASE + 10_000, BASE + 10_000),
      alert('fan-2', 'open', BASE + 20_000, BASE + 20_000, true),
      alert('fan-2', 'resolved', BASE + 40_000, BASE + 20_000, true),
      sink.writeUnscoredWindow(window, { kind: 'no_model' }),
    ]);
    await sink.flush();
    const clock = new ManualClock(BASE + MINUTE);
    return { sink, clock, workflow: new AlertWorkflow(sink, clock) };
  }

  it('lists open episodes first, with their ack, label and resolve by hand, and the machines muted now', async () => {
    const { clock, workflow } = await fleet();
    const pump = `pump-1-${BASE + 10_000}`;
    const fan = `fan-2-${BASE + 20_000}`;
    await workflow.ack(pump, { who: 'ana', note: 'on my way' });
    clock.advance(1_000);
    await workflow.label(fan, 'maintenance', 'planned belt change', { who: 'bo' });
    await workflow.mute({ machineId: 'fan-2' }, BASE + 2 * MINUTE, { who: 'bo', note: 'belt' }); // its one site, found
    clock.advance(1_000);
    await workflow.resolve(pump, { who: 'ana' });

    const { episodes, mutes } = await workflow.list(BASE);
    expect(episodes.map((e) => [e.alertId, e.state, e.suppressed, e.resolvedAt, e.ack?.who, e.label?.label, e.label?.cause, e.resolvedByHand?.time])).toEqual([
      [pump, 'resolving', false, undefined, 'ana', undefined, undefined, BASE + MINUTE + 2_000],
      [fan, 'resolved', true, BASE + 40_000, undefined, 'maintenance', 'planned belt change', undefined],
    ]);
    expect(mutes).toEqual([{ time: BASE + MINUTE + 1_000, action: 'mute', siteId: 'plant-1', machineId: 'fan-2', who: 'bo', note: 'belt', muteUntil: BASE + 2 * MINUTE }]);
    // A resolved episode without action after `since` is left out; a mute ended is no longer listed.
    clock.advance(2 * MINUTE);
    const later = await workflow.list(BASE + MINUTE + 1_500);
    expect(later.episodes.map((e) => e.alertId)).toEqual([pump]);
    expect(later.mutes).toEqual([]);
  });

  it('refuses what the stored alerts do not allow, naming what is wrong', async () => {
    const { workflow } = await fleet();
    const by = { who: 'ana' };
    await expect(workflow.ack('pump-1-123', by)).rejects.toThrow('unknown alert id "pump-1-123"');
    await expect(workflow.ack("x' OR 1=1", by)).rejects.toThrow(`unknown alert id "x' OR 1=1"`);
    await expect(workflow.resolve(`fan-2-${BASE + 20_000}`, by)).rejects.toThrow(`alert fan-2-${BASE + 20_000} is already resolved`);
    await expect(workflow.label(`fan-2-${BASE + 20_000}`, 'broken', undefined, by)).rejects.toThrow('unknown label "broken": expected one of fault, false_alarm, maintenance');
    await expect(workflow.mute({ machineId: 'press-9' }, BASE + 2 * MINUTE, by)).rejects.toThrow('unknown machine "press-9"');
    await expect(workflow.mute({ machineId: 'fan-2' }, BASE + MINUTE, by)).rejects.toThrow(`the mute would end at ${new Date(BASE + MINUTE).toISOString()}, which is not in the future`);
    await workflow.resolve(`pump-1-${BASE + 10_000}`, by);
    await expect(workflow.resolve(`pump-1-${BASE + 10_000}`, by)).rejects.toThrow('is already being resolved by hand');
    // A machine not seen yet can be muted with its site.
    await expect(workflow.mute({ siteId: 'plant-2', machineId: 'press-9' }, BASE + 2 * MINUTE, by)).resolves.toMatchObject({ siteId: 'plant-2', machineId: 'press-9' });
  });
});
