// The gateway's disk fills up under load. Its outbox lives on a small tmpfs of the test's own,
// nearly filled by a filler file, so SQLite runs out of space for real (needs root to mount).
// While the disk is full the gateway must keep running: /healthz answers, /readyz says the outbox
// cannot be written, pdm_gateway_outbox_errors_total counts the failures, the log names the
// outbox path, and closed windows wait in memory. Once the filler is deleted they must all be
// delivered. Expected windows: computed from the readings the simulator sent (nothing crashes, so
// every window the readings fall into must arrive, exactly once).
import { join } from 'node:path';
import type { RunningProcessor } from '@pdm/cloud-processor';
import { freePort } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEventuallyExactlyOnce } from './support/exactly-once.js';
import { startFleet } from './support/fleet.js';
import { readMetric } from '../prometheus-text.js';
import { windowsInOutbox } from './support/outbox-file.js';
import type { PdmProcess } from '../processes/pdm-process.js';
import { eventually } from './support/poll.js';
import { FEATURES_TOPIC, startGatewayProcess, startProcessorHere, windowsAcked, writeConfigFile } from './support/services.js';
import { useFaultSuite } from './support/suite.js';
import { mountTinyDisk, type TinyDisk } from './support/tiny-disk.js';

const DISK_BYTES = 8 * 1024 * 1024;
/** Room for the outbox's first few hundred windows, far less than SQLite's WAL grows to before its
 *  first automatic checkpoint (1000 pages), so the disk is certain to fill under load. */
const LEFT_FREE_BYTES = 512 * 1024;

async function get(httpPort: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}

describe('disk full at the gateway under load', () => {
  const suite = useFaultSuite('faults-disk');
  let disk: TinyDisk | undefined;
  let processor: RunningProcessor;
  let gateway: PdmProcess | undefined;

  beforeAll(async () => {
    disk = mountTinyDisk(join(suite.dir, 'small-disk'), DISK_BYTES);
    processor = await startProcessorHere(suite.processorConfig());
  });

  afterAll(async () => {
    await gateway?.stop();
    disk?.unmount();
    await processor?.stop();
  });

  it('keeps running and holding windows while the outbox disk is full, and delivers them all once space is back', async () => {
    if (!disk) throw new Error('no disk');
    const { dir, pubsub } = suite;
    const outboxPath = join(disk.dir, 'outbox.sqlite');
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    disk.fill(LEFT_FREE_BYTES);
    expect(disk.free()).toBeLessThanOrEqual(LEFT_FREE_BYTES);
    gateway = await startGatewayProcess(writeConfigFile(dir, 'gateway', suite.gatewayConfig({ mqttPort, httpPort, outboxPath })));
    const fleet = startFleet(mqttPort, join(dir, 'sent'));
    const metric = (name: string, labels: Record<string, string> = {}) => readMetric(httpPort, name, labels);

    // The disk fills: writes fail, the gateway counts them and carries on ingesting.
    await eventually(async () => (await metric('pdm_gateway_outbox_errors_total')) >= 1, 'the first outbox write error', 60_000);
    expect(disk.free()).toBeLessThan(64 * 1024);
    const readingsAtFull = await metric('pdm_gateway_readings_total');
    await eventually(async () => (await metric('pdm_gateway_readings_total')) >= readingsAtFull + 60_000, '60,000 more readings taken in while the disk is full (~10 s)', 60_000);
    expect(gateway.alive()).toBe(true);
    expect(await get(httpPort, '/healthz')).toMatchObject({ status: 200 });
    const ready = await get(httpPort, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain(`cannot write ${outboxPath}`);
    const errorsWhileFull = await metric('pdm_gateway_outbox_errors_total');
    expect(errorsWhileFull).toBeGreaterThan(1); // it keeps retrying
    const errorLines = gateway
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{') && (JSON.parse(line) as { level?: number }).level === 50);
    expect(errorLines.some((line) => line.includes(`"path":"${outboxPath}"`))).toBe(true);

    // Space comes back: the windows held in memory go out, and the fleet's keep flowing.
    disk.release();
    const ackedAtRelease = await windowsAcked(processor);
    await eventually(async () => (await windowsAcked(processor)) >= ackedAtRelease + 300, '300 windows written after space came back', 120_000);
    await eventually(async () => (await get(httpPort, '/readyz')).status === 200, 'the gateway ready again', 30_000);
    const expected = await fleet.stop();
    // Drained: no window open, and every window committed to the outbox confirmed by Pub/Sub.
    // (Not pdm_gateway_outbox_depth: it is checked against the outbox file below.)
    const drained = async () =>
      (await metric('pdm_gateway_open_windows')) === 0 && (await metric('pdm_gateway_published_total')) >= (await metric('pdm_gateway_windows_emitted_total'));
    await eventually(drained, 'the last windows closed and published', 60_000);
    expect(gateway.alive()).toBe(true);
    expect(await metric('pdm_gateway_outbox_dropped_total')).toBe(0);

    expect(expected.windows.size).toBeGreaterThanOrEqual(300);
    await expectEventuallyExactlyOnce(suite.influx, expected, suite.contract, 60_000);
    // Nothing written twice either: the gateway published each window once (a row whose delete
    // failed on the full disk is not published again), and the processor wrote each once. A late
    // revision is a window of its own (its own idempotency key, overwriting the point): readings
    // held up behind a stalled event loop on a busy box may reach the gateway after their window
    // closed (seen once in CI: 90 more, 3 windows of each of the 30 machines), so it counts apart.
    const messages = pubsub.emulator.stats().topics[FEATURES_TOPIC]?.published ?? 0;
    const revisions = await metric('pdm_gateway_windows_emitted_total', { close_reason: 'late_revision' });
    const accounting = { windows: expected.windows.size, errorsWhileFull, published: await metric('pdm_gateway_published_total'), acked: await windowsAcked(processor) };
    console.log('disk full:', { ...accounting, revisions, messages });
    const sent = expected.windows.size + revisions;
    expect(accounting).toEqual({ windows: expected.windows.size, errorsWhileFull, published: sent, acked: sent });

    // The outbox's own figures must describe the file, whatever failed in between: a write that
    // failed must not count as rows (the byte bound acts on these figures and drops real rows).
    await eventually(() => windowsInOutbox(outboxPath).length === 0, 'the outbox file to be empty', 30_000);
    expect({ depth: await metric('pdm_gateway_outbox_depth'), bytes: await metric('pdm_gateway_outbox_bytes') }).toEqual({ depth: 0, bytes: 0 });
  });
});
