// A synthetic centrifugal pump for tests and the benchmark: correlated sensors driven by a varying load,
// windowed into pdm.v1.MachineWindows, with optional labelled faults. Seeded, so runs repeat exactly.
// (The simulator package models fleets in depth; this is the small, known ground truth the model tests
// need, with no dependency on another service package.)
import { CloseReason, create, MachineWindowSchema, SensorStatsSchema, type MachineWindow, type SensorStats } from '@pdm/proto';
import { twoPassStatistics } from '@pdm/proto/testing';

export type PumpFault =
  /** Bearing/cooling problem: temperature climbs away from what the load explains, `magnitude` °C per window. */
  | { kind: 'temperature_drift'; startWindow: number; magnitude: number }
  /** Imbalance/misalignment: the vibration level is multiplied by (1 + magnitude). */
  | { kind: 'vibration_rise'; startWindow: number; magnitude: number }
  /** Bearing defect: periodic impulses of `magnitude` × the vibration amplitude (high-rate vibration only). */
  | { kind: 'bearing_impulses'; startWindow: number; magnitude: number };

export interface PumpOptions {
  seed: number;
  windows: number;
  windowMs?: number;
  /** Epoch ms of the first window (aligned to windowMs). */
  startMs?: number;
  machineId?: string;
  /** 1 (default): every sensor at 1 Hz, vibration as an RMS value. Higher: `vib` is the raw waveform. */
  vibrationHz?: number;
  fault?: PumpFault;
  featureVersion?: number;
}

export interface PumpRecording {
  windows: MachineWindow[];
  /** labels[i]: window i is affected by the fault. */
  labels: boolean[];
  /** Per window, how far the faulted quantity has moved (°C of drift, relative rise, impulse ratio). */
  faultSize: number[];
}

/** Load cycles over four minutes, so a few hundred seconds of normal data span the operating range. */
const LOAD_PERIOD_S = 240;

export function simulatePump(options: PumpOptions): PumpRecording {
  const windowMs = options.windowMs ?? 10_000;
  const seconds = windowMs / 1000;
  const start = options.startMs ?? 1_700_000_000_000 - (1_700_000_000_000 % windowMs);
  const rand = gaussian(options.seed);
  const phase = (options.seed % 97) / 97 * 2 * Math.PI;
  const vibHz = options.vibrationHz ?? 1;
  const fault = options.fault;
  let loadNoise = 0;
  let temp = 40 + 0.3 * 70;
  const out: PumpRecording = { windows: [], labels: [], faultSize: [] };
  for (let w = 0; w < options.windows; w++) {
    const since = fault && w >= fault.startWindow ? w - fault.startWindow + 1 : 0;
    const drift = fault?.kind === 'temperature_drift' ? since * fault.magnitude : 0;
    const vibGain = fault?.kind === 'vibration_rise' && since > 0 ? 1 + fault.magnitude : 1;
    const impulses = fault?.kind === 'bearing_impulses' && since > 0 ? fault.magnitude : 0;
    const series: Record<string, number[]> = { current: [], flow: [], pressure: [], temp: [], vib: [] };
    for (let s = 0; s < seconds; s++) {
      const t = w * seconds + s;
      loadNoise += -loadNoise / 30 + 0.8 * rand(); // Ornstein–Uhlenbeck, τ = 30 s
      const load = 70 + 15 * Math.sin((2 * Math.PI * t) / LOAD_PERIOD_S + phase) + loadNoise;
      temp += (40 + 0.3 * load - temp) / 60; // first-order lag towards the load's equilibrium, τ = 60 s
      series['current']!.push(0.5 * load + 0.3 * rand());
      series['flow']!.push(1.2 * load + 1.0 * rand());
      series['pressure']!.push(3 + 0.02 * load + 0.03 * rand());
      series['temp']!.push(temp + drift + 0.1 * rand());
      const vibLevel = (1 + 0.02 * load) * vibGain;
      if (vibHz <= 1) series['vib']!.push(vibLevel * (1 + 0.05 * rand()));
      else series['vib']!.push(...waveform(vibLevel, vibHz, t, impulses, rand));
    }
    const sensors = Object.entries(series).map(([id, values]) => statsOf(id, values));
    out.windows.push(
      create(MachineWindowSchema, {
        gatewayId: 'gw-synthetic',
        siteId: 'site-synthetic',
        machineId: options.machineId ?? 'pump-1',
        windowStart: BigInt(start + w * windowMs),
        windowEnd: BigInt(start + (w + 1) * windowMs),
        featureVersion: options.featureVersion ?? 1,
        sensors,
        revision: 0,
        closeReason: CloseReason.WATERMARK,
      }),
    );
    out.labels.push(since > 0);
    out.faultSize.push(fault?.kind === 'temperature_drift' ? drift : since > 0 ? fault!.magnitude : 0);
  }
  return out;
}

/** One second of accelerometer signal: 1× running speed (25 Hz) plus noise, and bearing impulses. */
function waveform(level: number, hz: number, second: number, impulses: number, rand: () => number): number[] {
  const amplitude = level * Math.SQRT2;
  const samples: number[] = [];
  for (let k = 0; k < hz; k++) {
    const t = second + k / hz;
    let x = amplitude * Math.sin(2 * Math.PI * 25 * t) + 0.3 * level * rand();
    // An outer-race defect strikes ~87 times a second; each strike rings for a couple of samples.
    if (impulses > 0 && k % Math.max(1, Math.round(hz / 87)) < 2) x += impulses * amplitude * (k % 2 === 0 ? 1 : -0.6);
    samples.push(x);
  }
  return samples;
}

/** A sensor's window statistics as the gateway computes them (every reading arrived). */
function statsOf(sensorId: string, values: number[]): SensorStats {
  return create(SensorStatsSchema, { sensorId, expectedCount: values.length, ...twoPassStatistics(values) });
}

/** Standard normal draws from a seeded mulberry32 generator (Box–Muller). */
export function gaussian(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let r = Math.imul(state ^ (state >>> 15), 1 | state);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-300)) * Math.cos(2 * Math.PI * uniform());
}
