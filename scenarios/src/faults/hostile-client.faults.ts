// A hostile MQTT client while the fleet runs: oversized packets (a CONNECT announcing 256 MB before
// authentication, PUBLISHes announcing 256 MB from an authenticated device, each followed by a
// stream of junk) and a flood of new machine ids (one reading each for FLOOD_MACHINES machines).
// The gateway runs as a `pdm gateway` process with mqtt.maxPacketBytes and a per-user machine cap,
// so the test can read its resident memory from /proc. It must stay up, refuse every oversized
// packet from its header (the client disconnected, never buffered) and every reading for a machine
// beyond the device's cap, count each refusal under its reason, keep its memory bounded, and the
// fleet's windows must all arrive, complete and correct. Expected windows and content: what the
// simulator sent, plus the readings of the flood the cap admits (the device's first machines).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningProcessor } from '@pdm/cloud-processor';
import { freePort } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { WINDOW_MS } from './support/fleet-shape.js';
import { readMetric } from '../prometheus-text.js';
import type { PdmProcess } from '../processes/pdm-process.js';
import { eventually } from './support/poll.js';
import { rawConnect, sendOversized } from './support/raw-mqtt.js';
import { gatewayDrained, startGatewayProcess, startProcessorHere, windowsAcked, writeConfigFile } from './support/services.js';
import { useFaultSuite } from './support/suite.js';
import { windowKey } from './support/windows.js';

const DEVICE = { username: 'hostile-device', password: 'device-secret', publish: ['sensors/+/+'] };
const MAX_PACKET_BYTES = 1024 * 1024;
/** The largest packet MQTT can announce. */
const ANNOUNCED_BYTES = 268_435_455;
/** Junk streamed after each oversized header: what a broker that buffers would hold. */
const STREAMED_BYTES = 64 * 1024 * 1024;
/** What a connection takes before the broker hangs up, at most: the kernel's socket buffers (~4 MB on loopback), not the broker. */
const TAKEN_BEFORE_HANG_UP_BOUND_BYTES = 16 * 1024 * 1024;
const OVERSIZED_CONNECTS = 5;
const OVERSIZED_PUBLISHES = 5;
/** Above the fleet user's 30 machines: the cap applies to every user. */
const MACHINES_PER_USER = 50;
const FLOOD_MACHINES = 50_000;
/**
 * The gateway's resident memory under the attack stays below this (it runs at ~140 MiB before it);
 * buffering the oversized packets alone would take 640 MiB more.
 */
const RSS_BOUND_BYTES = 320 * 1024 * 1024;

function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.replace(/\D+/g, '')) * 1024; // reported in kB
}

describe('a hostile MQTT client: oversized packets and a flood of new machine ids', () => {
  const suite = useFaultSuite('faults-hostile', { users: [DEVICE] });
  let processor: RunningProcessor;
  let gateway: PdmProcess | undefined;

  beforeAll(async () => {
    processor = await startProcessorHere(suite.processorConfig());
  });

  afterAll(async () => {
    await gateway?.stop();
    await processor?.stop();
  });

  it("stays up with bounded memory, counts every refusal, and the fleet's windows arrive complete and correct", async () => {
    const { dir } = suite;
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const base = suite.gatewayConfig({ mqttPort, httpPort });
    const config = { ...base, mqtt: { ...base.mqtt, maxPacketBytes: MAX_PACKET_BYTES }, validation: { maxPayloadBytes: 256 * 1024, maxMachinesPerUser: MACHINES_PER_USER } };
    gateway = await startGatewayProcess(writeConfigFile(dir, 'gateway', config));
    const running = gateway;
    const fleet = startFleet(mqttPort, join(dir, 'sent'));
    await eventually(async () => (await windowsAcked(processor)) >= 100, 'the first 100 windows written', 60_000);
    const rejected = (reason: string) => readMetric(httpPort, 'pdm_gateway_rejected_total', { reason });

    const rssBefore = residentBytes(running.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, residentBytes(running.pid))), 50);
    try {
      const credentials = (i: number) => ({ clientId: `hostile-${i}`, username: DEVICE.username, password: DEVICE.password });
      const oversized = Promise.all([
        ...Array.from({ length: OVERSIZED_CONNECTS }, () => sendOversized(mqttPort, { announcedBytes: ANNOUNCED_BYTES, streamBytes: STREAMED_BYTES })),
        ...Array.from({ length: OVERSIZED_PUBLISHES }, (_, i) => sendOversized(mqttPort, { announcedBytes: ANNOUNCED_BYTES, streamBytes: STREAMED_BYTES, credentials: credentials(i) })),
      ]);

      const flooder = await rawConnect(mqttPort, credentials(OVERSIZED_PUBLISHES));
      const admitted = new Map<string, { ts: number; value: number }>();
      for (let i = 0; i < FLOOD_MACHINES; i++) {
        const machine = `flood-${String(i).padStart(5, '0')}`;
        const reading = { ts: Date.now(), value: i / 7 };
        if (i < MACHINES_PER_USER) admitted.set(machine, reading); // the device's first machines fit its cap
        flooder.publish(`sensors/${machine}/temp`, JSON.stringify(reading));
      }
      await flooder.sync();
      flooder.close();
      const results = await oversized;

      await eventually(async () => (await rejected('too_many_machines')) >= FLOOD_MACHINES - MACHINES_PER_USER, 'every flood reading beyond the cap refused', 30_000);
      await eventually(async () => (await rejected('packet_too_large')) >= results.length, 'every oversized packet refused', 30_000);
      const refusals = { packetTooLarge: await rejected('packet_too_large'), tooManyMachines: await rejected('too_many_machines') };
      // Refused from the header: each connection hung up long before its packet was read.
      expect(results.every((r) => r.closedByBroker && r.bytesWritten < TAKEN_BEFORE_HANG_UP_BOUND_BYTES)).toBe(true);
      expect(refusals).toEqual({ packetTooLarge: OVERSIZED_CONNECTS + OVERSIZED_PUBLISHES, tooManyMachines: FLOOD_MACHINES - MACHINES_PER_USER });

      // The fleet keeps going a while after the attack, then stops.
      const acked = await windowsAcked(processor);
      await eventually(async () => (await windowsAcked(processor)) >= acked + 300, '300 more windows written after the attack', 60_000);
      clearInterval(sampler);
      const sent = await fleet.stop();
      await eventually(() => gatewayDrained(httpPort), 'the last windows closed and published', 60_000);
      expect(running.alive()).toBe(true);

      for (const [machine, { ts, value }] of admitted) {
        const key = windowKey(machine, Math.floor(ts / WINDOW_MS) * WINDOW_MS);
        sent.windows.add(key);
        sent.readings.set(key, new Map([['temp', [value]]]));
      }
      await expectEventuallyExactlyOnce(suite.influx, sent, suite.contract, 60_000);

      const accounting = {
        ...refusals,
        oversizedBytesTakenBySocket: results.map((r) => r.bytesWritten),
        rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
        rssPeakMiB: Math.round(rssPeak / 2 ** 20),
        windows: sent.windows.size,
      };
      console.log('hostile client:', accounting);
      expect(rssPeak).toBeLessThan(RSS_BOUND_BYTES);
    } finally {
      clearInterval(sampler);
    }
  });
});
