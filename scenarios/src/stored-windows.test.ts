import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestInflux, uniqueDatabaseName, type RunningInflux } from '@pdm/influx-harness';
import { storedWindowCount } from './stored-windows.js';

// Each window counted once, from what InfluxDB holds: the points are written as the processor writes
// them (one per sensor, a window's start as their time), some twice, some as a later revision.
describe('storedWindowCount', () => {
  let influx: RunningInflux;
  const database = uniqueDatabaseName('stored_windows');
  const base = Date.UTC(2026, 0, 1, 0, 0, 0);
  const line = (machine: string, sensor: string, startMs: number, revision: number) =>
    `sensor_features,site=s,gateway=g,machine=${machine},sensor=${sensor} mean=1.5,revision=${revision},window_ms=1000 ${startMs}`;
  // By hand: m1 windows at +0, +1, +2 s (+2 s only its vibration sensor); m2 at +0 and +1 s; m3 at +1 s
  // written twice (a redelivery) and revised; m4 at +10 s, outside [base, base + 5 s] → 3 + 2 + 1 = 6.
  const lines = [
    ...[0, 1].flatMap((w) => ['m1', 'm2'].flatMap((m) => ['temp', 'vibration'].map((s) => line(m, s, base + w * 1000, 0)))),
    line('m1', 'vibration', base + 2000, 0),
    line('m3', 'temp', base + 1000, 0),
    line('m3', 'temp', base + 1000, 0),
    line('m3', 'temp', base + 1000, 1),
    line('m4', 'temp', base + 10_000, 0),
  ];

  beforeAll(async () => {
    influx = await startTestInflux();
    await influx.createDatabase(database);
    for (const chunk of [lines.slice(0, 5), lines.slice(5)]) {
      const res = await fetch(`${influx.url}/write?db=${database}&precision=ms`, { method: 'POST', body: chunk.join('\n') });
      expect(res.status).toBe(204);
    }
  });
  afterAll(async () => {
    await influx.stop();
  });

  it('counts distinct machine and window start, over sensors, rewrites and revisions', async () => {
    expect(await storedWindowCount(influx, database, base, base + 5_000)).toBe(6);
  });

  it('counts windows ahead of the wall clock (a simulator on virtual time)', async () => {
    const future = Date.now() + 3_600_000;
    await fetch(`${influx.url}/write?db=${database}&precision=ms`, { method: 'POST', body: [line('m1', 'temp', future, 0), line('m2', 'temp', future, 0)].join('\n') });
    expect(await storedWindowCount(influx, database, future - 1_000, future + 1_000)).toBe(2);
  });

  it('counts 0 where nothing is stored', async () => {
    expect(await storedWindowCount(influx, database, base - 60_000, base - 1)).toBe(0);
  });
});
