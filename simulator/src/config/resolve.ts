// Merges a validated config file with command-line overrides and the defaults into the one
// SimulationConfig a run needs, including the concrete fault schedule (the ground truth) and the
// settings in complete form for manifest.json.
import { type ChaosOptions, noChaos } from '../chaos/options.js';
import { SIMULATOR_DEFAULTS as D } from '../defaults.js';
import { FAULT_KINDS } from '../faults/catalogue.js';
import { type MachineSpecEntry, scheduleFaults } from '../faults/schedule.js';
import { fleetFromMix } from '../fleet/fleet.js';
import type { PayloadFormat } from '../output/messages.js';
import type { SimulationConfig } from '../run/simulation.js';
import { formatInstant, parseDuration, parseInstant, parseRate, parseSpeed } from '../time/parse.js';
import { ConfigError } from './config-error.js';
import type { FileConfig } from './schema.js';

/** Command-line overrides, already checked by the CLI (each names its flag when wrong). */
export interface ConfigOverrides {
  seed?: number;
  machines?: number;
  startMs?: number;
  durationMs?: number;
  tickMs?: number;
  speed?: number;
  rate?: number;
  vibrationHz?: number;
  faultProbability?: number;
  mqttUrls?: string[];
  username?: string;
  password?: string;
  qos?: 0 | 1;
  format?: PayloadFormat;
  outDir?: string;
}

/** Datasets default to a fixed start so the same seed regenerates the same files. */
export const DEFAULT_FILE_START = '2024-01-01T00:00:00.000Z';
export const DEFAULT_MQTT_URL = 'mqtt://localhost:1883';

export function resolveConfig(file: FileConfig, o: ConfigOverrides, nowMs: number): SimulationConfig {
  const seed = o.seed ?? file.seed ?? D.seed;
  const tickMs = o.tickMs ?? file.tick ?? parseDuration(D.tick);
  const durationMs = o.durationMs ?? file.duration ?? parseDuration(D.duration);
  const outDir = o.outDir ?? file.output?.dir;
  // MQTT is on when asked for, or when there is nowhere else for the readings to go.
  const fileMqtt = file.output?.mqtt;
  const mqttUrls = o.mqttUrls ?? (fileMqtt ? [fileMqtt.urls].flat() : outDir ? undefined : [DEFAULT_MQTT_URL]);
  // A live run starts now (dashboards show it as current); a dataset starts at a fixed instant.
  const startMs =
    o.startMs ??
    file.start ??
    (mqttUrls ? Math.floor(nowMs / tickMs) * tickMs : parseInstant(DEFAULT_FILE_START));

  const machines = fleetEntries(file, o);
  const f = file.faults ?? {};
  const repairMs = f.repair ?? parseDuration(D.faults.repair);
  const explicit = (f.scheduled ?? []).map((s) => ({
    machine: s.machine,
    fault: s.fault,
    onset: 'at' in s.onset ? s.onset.at : startMs + s.onset.afterStart,
    failure: 'at' in s.failure ? s.failure.at : startMs + s.failure.afterStart,
    sensor: s.sensor,
  }));
  const random = {
    probability: o.faultProbability ?? f.probability ?? D.faults.probability,
    kinds: f.kinds ?? [...FAULT_KINDS],
    healthyFraction: f.healthyFraction ?? D.faults.healthyFraction,
  };
  const faults = scheduleFaults({ seed, startMs, durationMs, tickMs, repairMs, machines, explicit, random });
  const vibrationHz = o.vibrationHz ?? file.fleet?.vibrationHz ?? D.vibrationHz;
  const chaos = chaosOptions(file);
  const ms = (value: number) => `${value}ms`;

  return {
    seed,
    startMs,
    durationMs,
    tickMs,
    vibrationHz,
    machines,
    faults,
    chaos,
    // Every setting that shapes what is generated, defaults filled in and times absolute, so that the
    // files can be regenerated from manifest.json even after the defaults change. Output, speed and
    // rate are left out: they change where and how fast the data goes, not the data.
    settings: {
      seed,
      start: formatInstant(startMs),
      duration: ms(durationMs),
      tick: ms(tickMs),
      fleet: { machines, vibrationHz },
      faults: {
        ...random,
        repair: ms(repairMs),
        scheduled: explicit.map((e) => ({
          ...e,
          onset: formatInstant(e.onset),
          failure: formatInstant(e.failure),
        })),
      },
      chaos: {
        late: {
          probability: chaos.lateProbability,
          delay: {
            distribution: chaos.lateDelay.distribution,
            min: ms(chaos.lateDelay.minMs),
            max: ms(chaos.lateDelay.maxMs),
            mean: ms(chaos.lateDelay.meanMs),
          },
        },
        outOfOrder: { probability: chaos.outOfOrderProbability, burst: chaos.outOfOrderBurst },
        duplicates: chaos.duplicateProbability,
        clockSkewSigma: ms(chaos.clockSkewSigmaMs),
        malformed: chaos.malformedProbability,
        dropsPerHour: chaos.dropsPerHour,
      },
    },
    mqtt: mqttUrls && {
      urls: mqttUrls,
      username: o.username ?? fileMqtt?.username,
      password: o.password ?? fileMqtt?.password,
      qos: o.qos ?? fileMqtt?.qos ?? D.mqtt.qos,
      format: o.format ?? fileMqtt?.format ?? D.mqtt.format,
      clientIdPrefix: fileMqtt?.clientIdPrefix ?? D.mqtt.clientIdPrefix,
    },
    outDir,
    // Pacing matters only to a live gateway; files alone are written as fast as the disk takes them.
    speed: o.speed ?? file.speed ?? (mqttUrls ? parseSpeed(D.speed) : Number.POSITIVE_INFINITY),
    rate: o.rate ?? file.rate ?? parseRate(D.rate),
  };
}

function fleetEntries(file: FileConfig, o: ConfigOverrides): MachineSpecEntry[] {
  const listed = file.fleet?.machines;
  if (Array.isArray(listed) && o.machines === undefined) {
    const seen = new Set<string>();
    listed.forEach((m, i) => {
      if (seen.has(m.id)) throw new ConfigError(`fleet.machines[${i}].id`, `duplicate machine id "${m.id}"`);
      seen.add(m.id);
    });
    return listed;
  }
  const count = o.machines ?? (typeof listed === 'number' ? listed : D.machines);
  const mix = file.fleet?.mix ?? { pump: 1, motor: 1, fan: 1, compressor: 1 };
  if (!Object.values(mix).some((w) => w > 0)) throw new ConfigError('fleet.mix', 'needs a positive weight');
  return fleetFromMix(count, mix);
}

function chaosOptions(file: FileConfig): ChaosOptions {
  const c = file.chaos;
  const base = noChaos();
  if (!c) return base;
  const delay = c.late?.delay;
  const meanMs = delay?.mean ?? base.lateDelay.meanMs;
  return {
    lateProbability: c.late?.probability ?? base.lateProbability,
    lateDelay: {
      distribution: delay?.distribution ?? base.lateDelay.distribution,
      minMs: delay?.min ?? base.lateDelay.minMs,
      maxMs: delay?.max ?? 2 * meanMs,
      meanMs,
    },
    outOfOrderProbability: c.outOfOrder?.probability ?? base.outOfOrderProbability,
    outOfOrderBurst: c.outOfOrder?.burst ?? base.outOfOrderBurst,
    duplicateProbability: c.duplicates ?? base.duplicateProbability,
    clockSkewSigmaMs: c.clockSkewSigma ?? base.clockSkewSigmaMs,
    malformedProbability: c.malformed ?? base.malformedProbability,
    dropsPerHour: c.dropsPerHour ?? base.dropsPerHour,
  };
}
