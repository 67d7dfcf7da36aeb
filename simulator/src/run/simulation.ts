// Runs a simulation: steps the fleet through virtual time tick by tick, sends each tick to the
// configured sinks (CSV files, MQTT through the chaos stage), paces virtual time onto real time,
// reports progress, and stops cleanly on abort with everything written so far flushed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChaosStage, type ChaosCounters } from '../chaos/chaos-stage.js';
import { type ChaosOptions, noChaos } from '../chaos/options.js';
import { SIMULATOR_DEFAULTS } from '../defaults.js';
import type { FaultKind, FaultPlan } from '../faults/catalogue.js';
import type { SettingsDocument } from '../config/schema.js';
import { toGroundTruth } from '../faults/ground-truth.js';
import type { MachineSpecEntry } from '../faults/schedule.js';
import { Fleet } from '../fleet/fleet.js';
import { CsvSink } from '../output/csv-sink.js';
import { type PayloadFormat, readingsIn, tickMessages } from '../output/messages.js';
import { type MqttCounters, MqttSink, type MqttTarget } from '../output/mqtt-sink.js';
import { formatInstant } from '../time/parse.js';
import { type Clock, systemClock } from '@pdm/clock';
import { Pacer } from './pacer.js';

export interface SimulationConfig {
  seed: number;
  startMs: number;
  durationMs: number;
  tickMs: number;
  vibrationHz: number;
  machines: MachineSpecEntry[];
  /** Resolved fault schedule (see scheduleFaults); also the ground truth. */
  faults: FaultPlan[];
  chaos: ChaosOptions;
  mqtt?: (MqttTarget & { format: PayloadFormat }) | undefined;
  /**
   * The settings the run was resolved from, complete and in config-file form (see resolveConfig);
   * written to manifest.json so that `pdm simulate --config manifest.json` regenerates the files.
   */
  settings?: SettingsDocument | undefined;
  /** Folder for one CSV per machine + ground-truth.json + manifest.json. */
  outDir?: string | undefined;
  /** Virtual seconds per real second; Infinity = as fast as possible. */
  speed: number;
  /** Cap on readings sent per real second; Infinity = none. */
  rate: number;
}

export interface ActiveFault {
  machine: string;
  fault: FaultKind;
  /** 0…1 from onset to failure; 1 while down for repair. */
  progress: number;
}

export interface Progress {
  virtualTs: number;
  readings: number;
  messages: number;
  /** Over the run so far, on the real clock. */
  readingsPerSecond: number;
  messagesPerSecond: number;
  /** MQTT publishes lost and QoS 1 publishes sent again so far (see MqttCounters); 0 without MQTT. */
  lost: number;
  republished: number;
  /** How far behind the --speed schedule the run is (ms). */
  lagMs: number;
  activeFaults: ActiveFault[];
}

export interface SimulationResult extends Progress {
  realMs: number;
  virtualMs: number;
  /** True when stopped by the abort signal before the end of the run. */
  stopped: boolean;
  chaos: ChaosCounters;
  mqtt?: MqttCounters | undefined;
  files: string[];
}

export interface RunOptions {
  /** Real time: pacing and MQTT close()'s bound read it and wait on it (a ManualClock in tests). */
  clock?: Clock;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  progressIntervalMs?: number;
}

/** Real ms between yields to the event loop when running flat out (socket events, Ctrl-C). */
const YIELD_EVERY_MS = 20;

export function activeFaults(plans: readonly FaultPlan[], ts: number): ActiveFault[] {
  return plans
    .filter((p) => ts >= p.onset && ts < p.recovered)
    .map((p) => ({
      machine: p.machine,
      fault: p.fault,
      progress: ts >= p.failure ? 1 : (ts - p.onset) / (p.failure - p.onset),
    }));
}

export async function runSimulation(config: SimulationConfig, options: RunOptions = {}): Promise<SimulationResult> {
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  const interval = options.progressIntervalMs ?? SIMULATOR_DEFAULTS.progressIntervalMs;
  const fleet = new Fleet(config);
  const files: string[] = [];
  const csv = config.outDir ? new CsvSink(config.outDir, config.machines) : undefined;
  const mqtt = config.mqtt ? await MqttSink.connect(config.mqtt, clock) : undefined;
  const chaos = new ChaosStage(
    config.mqtt ? config.chaos : noChaos(),
    config.seed,
    config.machines.map((m) => m.id),
    config.mqtt?.format ?? 'batch',
    (wire) => mqtt?.send(wire),
  );
  const pacer = new Pacer(clock, config.speed, config.rate);
  const end = config.startMs + config.durationMs;
  const realStart = clock.now();
  let readings = 0;
  let ts = config.startMs;
  let lastProgress = realStart;
  let lastYield = realStart;

  const snapshot = (): Progress => {
    const realS = Math.max(1e-3, (clock.now() - realStart) / 1000);
    const messages = mqtt?.counters.messages ?? 0;
    return {
      virtualTs: ts,
      readings,
      messages,
      readingsPerSecond: readings / realS,
      messagesPerSecond: messages / realS,
      lost: mqtt?.counters.lost ?? 0,
      republished: mqtt?.counters.republished ?? 0,
      lagMs: pacer.lagMs(ts),
      activeFaults: activeFaults(config.faults, ts),
    };
  };

  pacer.start(config.startMs);
  try {
    for (; ts < end && !signal?.aborted; ts += config.tickMs) {
      await pacer.wait(ts, readings, signal);
      if (signal?.aborted) break;
      chaos.beginTick(ts);
      fleet.tick(ts).forEach((tick, index) => {
        csv?.write(tick);
        if (mqtt && config.mqtt) {
          const messages = tickMessages(tick, index, config.mqtt.format);
          chaos.pushTick(tick.machine, messages);
          for (const m of messages) readings += readingsIn(m);
        } else readings += Object.keys(tick.values).length + tick.vibration.length;
      });
      chaos.endTick();
      if (mqtt) {
        const cut = chaos.dropInTick(config.tickMs, mqtt.connections);
        if (cut !== undefined && mqtt.drop(cut)) chaos.countDrop();
        await mqtt.settle(signal);
      }
      await csv?.settle();
      const now = clock.now();
      if (now - lastProgress >= interval) {
        lastProgress = now;
        options.onProgress?.(snapshot());
      }
      if (now - lastYield >= YIELD_EVERY_MS) {
        lastYield = now;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    chaos.flush();
    await mqtt?.close();
    await csv?.close();
  }

  if (config.outDir) {
    for (const m of config.machines) files.push(join(config.outDir, `${m.id}.csv`));
    const groundTruth = join(config.outDir, 'ground-truth.json');
    writeFileSync(groundTruth, `${JSON.stringify(toGroundTruth(config.faults), null, 2)}\n`);
    const manifestFile = join(config.outDir, 'manifest.json');
    writeFileSync(manifestFile, `${JSON.stringify(manifest(config, ts), null, 2)}\n`);
    files.push(groundTruth, manifestFile);
  }
  const final = snapshot();
  return {
    ...final,
    realMs: clock.now() - realStart,
    virtualMs: ts - config.startMs,
    stopped: ts < end,
    chaos: chaos.counters,
    mqtt: mqtt?.counters,
    files,
  };
}

/**
 * What produced the files. With `config` (runs resolved from settings, as pdm simulate's are) the
 * dataset can be regenerated exactly: `pdm simulate --config manifest.json --out DIR`. A run stopped
 * early is regenerated whole (its faults were placed over the configured duration): its files are the
 * regenerated ones up to `end`.
 */
function manifest(config: SimulationConfig, reachedTs: number) {
  return {
    seed: config.seed,
    start: formatInstant(config.startMs),
    end: formatInstant(reachedTs),
    tickMs: config.tickMs,
    vibrationHz: config.vibrationHz,
    machines: config.machines,
    ...(config.settings ? { config: config.settings } : {}),
  };
}
