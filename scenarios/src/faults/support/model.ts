// An anomaly model (the default kind) for the fault fleet's window size, so the processor scores every
// complete window and the tests can count `anomaly` points too. Trained on the minutes just before the
// test's fleet starts: the fleet's operating regime follows the time of day, and a model trained hours
// away from it flags every healthy window; trained next to it, a healthy pump scores normal and a
// fault the simulator injects stands out (the alert scenario relies on that).
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { trainModel } from '@pdm/cloud-processor';
import { WindowEngine } from '@pdm/edge-gateway';
import { Fleet, VIBRATION } from '@pdm/simulator';
import { FLEET, FLEET_SEED, TICK_MS, VIBRATION_HZ, WINDOW_MS } from './fleet-shape.js';

const TRAINING_SPAN_MS = 5 * 60_000;

/** Trains the model into `registryDir`; returns the sensors of its contract. */
export async function trainFaultModel(registryDir: string): Promise<string[]> {
  const startMs = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - TRAINING_SPAN_MS - 60_000;
  const machines = FLEET.slice(0, 4);
  const fleet = new Fleet({ seed: FLEET_SEED + 1, startMs, tickMs: TICK_MS, vibrationHz: VIBRATION_HZ, machines, faults: [] });
  const windows: MachineWindow[] = [];
  const engine = new WindowEngine({ gatewayId: 'training', siteId: 'training', windowMs: WINDOW_MS, allowedLatenessMs: 0 }, (w) => {
    if (w.closeReason === CloseReason.WATERMARK) windows.push(w);
  });
  for (let ts = startMs; ts < startMs + TRAINING_SPAN_MS; ts += TICK_MS) {
    for (const tick of fleet.tick(ts)) {
      for (const [sensor, value] of Object.entries(tick.values)) engine.add(tick.machine, sensor, tick.ts, value);
      engine.addBlock(tick.machine, VIBRATION, tick.ts, tick.vibrationHz, tick.vibration);
    }
  }
  engine.endOfStream();
  const report = await trainModel(windows, { outDir: registryDir, name: 'pump' });
  return [...new Set(report.contract.featureNames.map((name) => name.slice(0, name.lastIndexOf('.'))))];
}
