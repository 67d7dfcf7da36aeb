// Window engine throughput: single readings and 100-sample blocks for 1 000 machines × 8 sensors,
// against a baseline measured in the same run — the bare Moments update over the same values, i.e.
// the arithmetic floor without any windowing.
//
// Run (from edge-gateway/): npx tsc -p tsconfig.build.json && node dist/window/bench.js
// Each phase runs for about two seconds.
import { ManualClock } from '@pdm/clock';
import { WindowEngine } from '../window/engine.js';
import { Moments } from '../window/moments.js';

const MACHINES = 1_000;
const SENSORS = 8;
const BLOCK = 100;
const PHASE_MS = 2_000;
const T0 = 1_700_000_000_000;

const machineIds = Array.from({ length: MACHINES }, (_, i) => `machine-${i}`);
const sensorIds = Array.from({ length: SENSORS }, (_, i) => `sensor-${i}`);
const values = Float64Array.from({ length: 4096 }, (_, i) => Math.sin(i) * 10 + 50);

interface Measurement {
  readings: number;
  seconds: number;
  windows: number;
}

function perSecond(m: Measurement): number {
  return m.readings / m.seconds;
}

/** Runs `step` (returning readings done) until PHASE_MS has passed. */
function timed(step: (i: number) => number, windows: () => number): Measurement {
  const start = performance.now();
  let readings = 0;
  let i = 0;
  while (performance.now() - start < PHASE_MS) readings += step(i++);
  return { readings, seconds: (performance.now() - start) / 1000, windows: windows() };
}

function engine(): { engine: WindowEngine; clock: ManualClock; emitted: () => number } {
  const clock = new ManualClock(T0);
  let windows = 0;
  const e = new WindowEngine({ gatewayId: 'bench', siteId: 'bench', clock }, () => windows++);
  return { engine: e, clock, emitted: () => windows };
}

function baseline(): Measurement {
  const accumulators = Array.from({ length: MACHINES * SENSORS }, () => new Moments());
  return timed(() => {
    for (let k = 0; k < accumulators.length; k++) {
      const m = accumulators[k] as Moments;
      for (let j = 0; j < BLOCK; j++) m.add(values[(k + j) & 4095] as number);
    }
    return accumulators.length * BLOCK;
  }, () => 0);
}

/** Every sensor sends one reading every 100 ms of event time. */
function singles(): Measurement {
  const { engine: e, clock, emitted } = engine();
  return timed((step) => {
    const ts = T0 + step * 100;
    clock.set(ts);
    for (let mi = 0; mi < MACHINES; mi++) {
      const machine = machineIds[mi] as string;
      for (let si = 0; si < SENSORS; si++) e.add(machine, sensorIds[si] as string, ts, values[(step + mi + si) & 4095] as number);
    }
    if (step % 10 === 0) e.tick();
    return MACHINES * SENSORS;
  }, emitted);
}

/** Every sensor sends a 100-sample block at 1 kHz: 100 ms of event time per step. */
function blocks(): Measurement {
  const { engine: e, clock, emitted } = engine();
  return timed((step) => {
    const ts = T0 + step * 100;
    clock.set(ts);
    for (let mi = 0; mi < MACHINES; mi++) {
      const machine = machineIds[mi] as string;
      for (let si = 0; si < SENSORS; si++) {
        const offset = (step * 7 + mi + si) & 4095 & ~127;
        e.addBlock(machine, sensorIds[si] as string, ts, 1_000, values.subarray(offset, offset + BLOCK));
      }
    }
    if (step % 10 === 0) e.tick();
    return MACHINES * SENSORS * BLOCK;
  }, emitted);
}

const base = baseline();
const single = singles();
const block = blocks();
const fmt = (n: number) => `${(n / 1e6).toFixed(2)} M/s`;
console.log(`machines × sensors: ${MACHINES} × ${SENSORS}`);
console.log(`baseline Moments.add          ${fmt(perSecond(base))}`);
console.log(
  `single add()                  ${fmt(perSecond(single))}  (${(perSecond(single) / perSecond(base)).toFixed(3)} × baseline, ${single.windows} windows)`,
);
console.log(
  `addBlock(), ${BLOCK} samples      ${fmt(perSecond(block))}  (${(perSecond(block) / perSecond(base)).toFixed(3)} × baseline, ${block.windows} windows)`,
);
