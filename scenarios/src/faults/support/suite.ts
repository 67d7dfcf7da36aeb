// What every fault suite sets up the same way, before its test and torn down after it: a data folder
// of its own, InfluxDB with its data in that folder (so a test can start it again on the same data),
// the small model for the fault fleet, the gateways' users file and, unless the suite runs the
// emulator as a process of its own, the in-process Pub/Sub emulator on its manual clock. The suite starts its gateway and
// processor itself: which of them run in-process or as a `pdm` child process is what differs.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessorConfigInput } from '@pdm/cloud-processor';
import type { GatewayConfigInput } from '@pdm/edge-gateway';
import { makeTestDataDir, startInflux, type RunningInflux } from '@pdm/influx-harness';
import { startTestEmulator, type TestEmulator } from '@pdm/pubsub-emulator/testing';
import { afterAll, beforeAll } from 'vitest';
import { trainFaultModel } from './model.js';
import { FLEET_USER, gatewayConfig, processorConfig, writeUsersFile } from './services.js';

export interface FaultSuite {
  /** The suite's own folder, removed after it. */
  readonly dir: string;
  /** InfluxDB's data folder, inside `dir`. */
  readonly influxDir: string;
  /** The model registry, holding the fault fleet's model. */
  readonly registryDir: string;
  /** The sensors of the model's contract. */
  readonly contract: string[];
  /** The gateways' users file: the fleet's user, with its ACL. */
  readonly usersFile: string;
  /** InfluxDB. A test that restarts it assigns the new one here, so that the suite stops that one. */
  influx: RunningInflux;
  /** The in-process emulator (only without `ownEmulator`). */
  readonly pubsub: TestEmulator;
  /** A processor of this suite: its InfluxDB and model, the in-process emulator unless told another. */
  processorConfig(o?: { emulatorHost?: string; instanceId?: string }): ProcessorConfigInput;
  /**
   * A gateway of this suite: its users file, an outbox in `dir` (outbox.sqlite unless told another),
   * the in-process emulator unless told another, free ports (0) unless told which.
   */
  gatewayConfig(o?: { mqttPort?: number; httpPort?: number; outboxPath?: string; emulatorHost?: string }): GatewayConfigInput;
}

/**
 * Registers the suite's set-up and tear-down. Call it first in the `describe`: the suite's own
 * after-hooks, registered later, then run first (vitest runs after-hooks in reverse order), so its
 * gateway and processors stop before Pub/Sub and InfluxDB do.
 */
export function useFaultSuite(name: string, options: { ownEmulator?: boolean; users?: ReadonlyArray<{ username: string; password: string; publish: string[] }> } = {}): FaultSuite {
  const dir = makeTestDataDir(name);
  const influxDir = join(dir, 'influxdb');
  const registryDir = join(dir, 'models');
  const usersFile = join(dir, 'users.json');
  let contract: string[] | undefined;
  let influx: RunningInflux | undefined;
  let pubsub: TestEmulator | undefined;
  const running = <T>(part: T | undefined, what: string): T => {
    if (part === undefined) throw new Error(`${name}: ${what} is not running`);
    return part;
  };

  beforeAll(async () => {
    influx = await startInflux({ dataDir: influxDir });
    if (!options.ownEmulator) pubsub = await startTestEmulator();
    contract = await trainFaultModel(registryDir);
    await writeUsersFile(dir, [FLEET_USER, ...(options.users ?? [])]);
  });

  afterAll(async () => {
    await pubsub?.close();
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    dir,
    influxDir,
    registryDir,
    usersFile,
    get contract() {
      return running(contract, 'the model');
    },
    get influx() {
      return running(influx, 'InfluxDB');
    },
    set influx(restarted) {
      influx = restarted;
    },
    get pubsub() {
      return running(pubsub, 'the in-process emulator');
    },
    processorConfig(o = {}) {
      const emulatorHost = o.emulatorHost ?? running(pubsub, 'the in-process emulator').emulator.endpoint;
      return processorConfig({ emulatorHost, influxUrl: running(influx, 'InfluxDB').url, registryDir, instanceId: o.instanceId });
    },
    gatewayConfig(o = {}) {
      return gatewayConfig({
        mqttPort: o.mqttPort ?? 0,
        httpPort: o.httpPort ?? 0,
        outboxPath: o.outboxPath ?? join(dir, 'outbox.sqlite'),
        emulatorHost: o.emulatorHost ?? running(pubsub, 'the in-process emulator').emulator.endpoint,
        usersFile,
      });
    },
  };
}
