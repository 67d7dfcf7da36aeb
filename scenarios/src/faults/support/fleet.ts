// The load: a simulated fleet publishing over MQTT (QoS 1) to a gateway in real time, with every
// reading also written to CSV, so a test knows exactly which windows the readings fall into.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noChaos, runSimulation } from '@pdm/simulator';
import { expect } from 'vitest';
import { FLEET, FLEET_SEED, TICK_MS, VIBRATION_HZ, WINDOW_MS } from './fleet-shape.js';
import { type WindowKey, windowKey } from './windows.js';

/** Longer than any test runs: a test always ends the run with stop(). */
const MAX_RUN_MS = 30 * 60_000;

export interface FleetRun {
  /** Event time (ms) the fleet has reached. */
  virtualTs(): number;
  /**
   * Stops generating and waits until the broker acked every publish (none may be lost); resolves
   * with the windows the readings fall into.
   */
  stop(): Promise<Set<WindowKey>>;
}

export function startFleet(mqttPort: number, csvDir: string): FleetRun {
  const startMs = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  const abort = new AbortController();
  let reached = startMs;
  const run = runSimulation(
    {
      seed: FLEET_SEED,
      startMs,
      durationMs: MAX_RUN_MS,
      tickMs: TICK_MS,
      vibrationHz: VIBRATION_HZ,
      machines: FLEET,
      faults: [],
      chaos: noChaos(),
      mqtt: { urls: [`mqtt://127.0.0.1:${mqttPort}`], qos: 1, format: 'batch', clientIdPrefix: 'faults-fleet' },
      outDir: csvDir,
      speed: 1,
      rate: Infinity,
    },
    { signal: abort.signal, progressIntervalMs: 50, onProgress: (p) => (reached = p.virtualTs) },
  );
  run.catch(() => {}); // surfaced by stop()
  return {
    virtualTs: () => reached,
    async stop() {
      abort.abort();
      const result = await run;
      expect(result.mqtt?.lost, 'readings the broker never acked').toBe(0);
      return windowsSent(csvDir);
    },
  };
}

/** The windows the fleet's readings fall into, from the CSV rows it wrote (one row per tick sent). */
function windowsSent(csvDir: string): Set<WindowKey> {
  const keys = new Set<WindowKey>();
  for (const { id } of FLEET) {
    const rows = readFileSync(join(csvDir, `${id}.csv`), 'utf8').trimEnd().split('\n').slice(1);
    for (const row of rows) {
      const ts = Date.parse(row.slice(0, row.indexOf(',')));
      if (Number.isNaN(ts)) throw new Error(`${id}.csv: unreadable time in row "${row.slice(0, 60)}"`);
      keys.add(windowKey(id, Math.floor(ts / WINDOW_MS) * WINDOW_MS));
    }
  }
  return keys;
}
