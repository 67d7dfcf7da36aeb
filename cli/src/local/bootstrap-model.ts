// First start of the local stack: no model yet, so train one on simulated healthy operation of the
// demo fleet. Readings go through the gateway's own window engine, so the model sees exactly the
// features live traffic produces (training/serving consistency).
import { WindowEngine } from '@pdm/edge-gateway';
import { trainModel, type TrainReport } from '@pdm/cloud-processor';
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { Fleet, VIBRATION } from '@pdm/simulator';
import { DEMO_MACHINES, DEMO_SEED, DEMO_TICK_MS, DEMO_VIBRATION_HZ } from './demo-fleet.js';

const TRAINING_SPAN_MS = 60 * 60_000;

export async function trainDemoModel(registryDir: string, progress: (line: string) => void): Promise<TrainReport> {
  const startMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * TRAINING_SPAN_MS;
  // A different seed than the live fleet: the model must generalise, not memorise the demo.
  const fleet = new Fleet({ seed: DEMO_SEED + 1, startMs, tickMs: DEMO_TICK_MS, vibrationHz: DEMO_VIBRATION_HZ, machines: DEMO_MACHINES, faults: [] });
  const windows: MachineWindow[] = [];
  const engine = new WindowEngine({ gatewayId: 'bootstrap', siteId: 'local-site' }, (w) => {
    if (w.closeReason === CloseReason.WATERMARK) windows.push(w);
  });
  let lastLine = 0;
  for (let ts = startMs; ts < startMs + TRAINING_SPAN_MS; ts += DEMO_TICK_MS) {
    for (const tick of fleet.tick(ts)) {
      for (const [sensor, value] of Object.entries(tick.values)) engine.add(tick.machine, sensor, tick.ts, value);
      engine.addBlock(tick.machine, VIBRATION, tick.ts, tick.vibrationHz, tick.vibration);
    }
    if (Date.now() - lastLine > 1000) {
      lastLine = Date.now();
      progress(`  simulating healthy operation: ${Math.round((100 * (ts - startMs)) / TRAINING_SPAN_MS)}% (${windows.length} windows)`);
    }
  }
  engine.endOfStream();
  progress(`  training on ${windows.length} windows of simulated healthy operation…`);
  return trainModel(windows, { outDir: registryDir, name: 'pump' });
}
