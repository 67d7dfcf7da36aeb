// The windows `pdm start` trains and scores on: the simulator's demo pumps (1 Hz process sensors,
// 1 kHz vibration) through the gateway's own window engine, as cli/src/local/bootstrap-model.ts does.
// The model must be judged on the live feature path, operating transients included.
import { WindowEngine } from '@pdm/edge-gateway';
import { CloseReason, type MachineWindow } from '@pdm/proto';
import { Fleet, scheduleFaults, VIBRATION, type ExplicitFault, type MachineSpecEntry } from '@pdm/simulator';

export const DEMO_PUMPS: MachineSpecEntry[] = ['pump-1', 'pump-2', 'pump-3', 'pump-4'].map((id) => ({ id, type: 'pump' }));

export interface DemoFleetRun {
  seed: number;
  startMs: number;
  durationMs: number;
  faults?: ExplicitFault[];
}

/** Complete (WATERMARK) windows of every demo pump over the run, in emission order. */
export function demoFleetWindows(run: DemoFleetRun): MachineWindow[] {
  const faults = scheduleFaults({
    seed: run.seed,
    startMs: run.startMs,
    durationMs: run.durationMs,
    repairMs: 0,
    machines: DEMO_PUMPS,
    explicit: run.faults ?? [],
  });
  const fleet = new Fleet({ seed: run.seed, startMs: run.startMs, tickMs: 1_000, vibrationHz: 1_000, machines: DEMO_PUMPS, faults });
  const windows: MachineWindow[] = [];
  // A frozen gateway clock: no idle timeout or eviction, windows close on the event-time watermark only.
  const engine = new WindowEngine({ gatewayId: 'test', siteId: 'test', clock: { now: () => run.startMs } }, (w) => {
    if (w.closeReason === CloseReason.WATERMARK) windows.push(w);
  });
  for (let ts = run.startMs; ts < run.startMs + run.durationMs; ts += 1_000) {
    for (const tick of fleet.tick(ts)) {
      for (const [sensor, value] of Object.entries(tick.values)) engine.add(tick.machine, sensor, tick.ts, value);
      engine.addBlock(tick.machine, VIBRATION, tick.ts, tick.vibrationHz, tick.vibration);
    }
  }
  engine.endOfStream();
  return windows;
}
