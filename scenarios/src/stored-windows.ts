// The windows the processor stored, counted in InfluxDB itself rather than by any counter of the
// processor: how many distinct (machine, window start) hold `sensor_features` points. A window counts
// once however many sensors it has, however often it was written (a revision or a redelivery
// overwrites its points) — so "nothing lost" can be judged against the windows the gateway closed.
import type { RunningInflux } from '@pdm/influx-harness';

/**
 * Distinct (machine, window start) stored in `sensor_features` of `database` with a start in
 * [fromMs, toMs]. Counted per machine and second (a machine's windows start whole seconds apart).
 */
export async function storedWindowCount(influx: RunningInflux, database: string, fromMs: number, toMs: number): Promise<number> {
  // The bounds are explicit: without an upper one InfluxDB stops a GROUP BY time() at now(), and a
  // simulator on virtual time may store windows ahead of the wall clock.
  const perMachineSecond = `SELECT count("revision") AS points FROM "sensor_features" WHERE time >= ${fromMs}ms AND time <= ${toMs}ms GROUP BY time(1s), "machine" fill(none)`;
  const response = await influx.query(`SELECT count("points") FROM (${perMachineSecond})`, database);
  const count = response.results[0]?.series?.[0]?.values[0]?.[1];
  return typeof count === 'number' ? count : 0;
}
