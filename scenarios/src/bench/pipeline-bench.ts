// End-to-end benchmark and soak: a simulated fleet → gateway → Pub/Sub emulator → processor →
// InfluxDB, every part its own process as in production, on this one machine. Reports the latency
// from a window's close at the gateway to its points in InfluxDB (p50/p99) at nominal load (a site of
// 200 machines), then holds 5× that load (1,000 machines) for minutes and reports, slice by slice,
// whether lag and memory stay bounded. 5× of 1,000 machines is beyond this two-core box when the
// simulator, the gateway, the emulator, the processor and influxd all share it. Last, the same 5×
// load once with single MachineWindow messages (one Publish per machine and window, as before
// issue #17) and once with FeatureBatch messages (the default), the gateway restarted between them,
// and their close→store figures side by side.
// Usage: npm run bench -w @pdm/scenarios   (after a build; needs influxd)
// BENCH_NOMINAL_S / BENCH_OVERLOAD_S / BENCH_COMPARE_S = 0 leave out that part.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { trainDemoModel } from '@pdm/cli/demo';
import { freePort, startInflux } from '@pdm/influx-harness';
import { type PdmProcess, startPdm } from '../processes/pdm-process.js';
import { type Histogram, histogram, histogramDelta, metricValue, observations, scrape } from '../prometheus-text.js';
import { bucketQuantile } from '@pdm/edge-gateway';

const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1000;
const NOMINAL_MACHINES = Number(process.env.BENCH_MACHINES ?? 200);
const WARMUP_MS = seconds('BENCH_WARMUP_S', 40);
const NOMINAL_MS = seconds('BENCH_NOMINAL_S', 120);
const OVERLOAD_MS = seconds('BENCH_OVERLOAD_S', 300);
const SLICE_MS = seconds('BENCH_SLICE_S', 30);
/** Per message format, in the single vs batch comparison. */
const COMPARE_MS = seconds('BENCH_COMPARE_S', 120);
const OVERLOAD_FACTOR = 5;
const VIBRATION_HZ = 100;
const PROJECT = 'pdm-bench';
const TOPIC = 'pdm-features';
const CLOSE_TO_STORE = 'pdm_processor_close_to_store_latency_seconds';
const END_TO_END = 'pdm_processor_end_to_end_latency_seconds';
const STAGES_METRIC = 'pdm_processor_close_to_store_stage_seconds';
/** close→store = gateway (close → accepted by Pub/Sub) + delivery (→ received) + processor (→ stored). */
const STAGES = ['gateway', 'delivery', 'processor'] as const;
type Stage = (typeof STAGES)[number];

interface Scrape {
  at: number;
  processor: string;
  gateway: string;
}

interface Slice {
  seconds: number;
  windowsPerSecond: number;
  readingsPerSecond: number;
  closeToStore: Histogram;
  endToEnd: Histogram;
  stages: Record<Stage, Histogram>;
  outboxDepth: number;
  gatewayRssMb: number;
  processorRssMb: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const ms = (s: number) => (Number.isNaN(s) ? 'n/a' : `${Math.round(s * 1000).toLocaleString('en-US')} ms`);

function sliceBetween(a: Scrape, b: Scrape, pids: { gateway: number; processor: number }): Slice {
  const span = (b.at - a.at) / 1000;
  const delta = (page: 'processor' | 'gateway', name: string) => metricValue(b[page], name) - metricValue(a[page], name);
  const interval = (name: string, labels: Record<string, string> = {}) => histogramDelta(histogram(b.processor, name, labels), histogram(a.processor, name, labels));
  const closeToStore = interval(CLOSE_TO_STORE);
  return {
    seconds: span,
    windowsPerSecond: observations(closeToStore) / span,
    readingsPerSecond: delta('gateway', 'pdm_gateway_readings_total') / span,
    closeToStore,
    endToEnd: interval(END_TO_END),
    stages: Object.fromEntries(STAGES.map((name) => [name, interval(STAGES_METRIC, { stage: name })])) as Record<Stage, Histogram>,
    outboxDepth: metricValue(b.gateway, 'pdm_gateway_outbox_depth'),
    gatewayRssMb: rssMb(pids.gateway),
    processorRssMb: rssMb(pids.processor),
  };
}

/** One histogram of a whole phase from its slices. */
function merged(slices: Slice[], pick: (s: Slice) => Histogram): Histogram {
  return slices.reduce<Histogram>((total, s) => pick(s).map((bucket, i) => ({ le: bucket.le, count: bucket.count + (total[i]?.count ?? 0) })), []);
}

// A benchmark must end by itself: fail loudly rather than hang a CI or a terminal.
let stage = 'start-up';
setTimeout(
  () => {
    console.error(`pipeline benchmark: no result in time (stuck at: ${stage})`);
    process.exit(1);
  },
  WARMUP_MS * 4 + NOMINAL_MS + OVERLOAD_MS + 2 * COMPARE_MS + 10 * 60_000,
).unref();

const dir = mkdtempSync(join(tmpdir(), 'pdm-pipeline-bench-'));
const children: PdmProcess[] = [];
const influx = await startInflux({ dataDir: join(dir, 'influxdb'), port: await freePort() });
try {
  console.log(`pipeline benchmark on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(`every part its own process: simulator, gateway, Pub/Sub emulator, processor, influxd; 10 s windows; pumps at 1 Hz + ${VIBRATION_HZ} Hz vibration`);

  stage = 'training the model';
  const registryDir = join(dir, 'models');
  await trainDemoModel(registryDir, () => {});

  stage = 'starting the Pub/Sub emulator';
  const pubsubPort = await freePort();
  children.push(await startPdm('pubsub-emulator', ['pubsub-emulator', '--port', String(pubsubPort), '--admin-port', '0'], /listening on/));
  const emulatorHost = `127.0.0.1:${pubsubPort}`;

  stage = 'starting the processor';
  const writeConfig = (name: string, config: object) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  };
  const processorHttp = await freePort();
  const processor = await startPdm(
    'processor',
    ['processor', '--config', writeConfig('processor', {
      instanceId: 'bench-processor',
      pubsub: { projectId: PROJECT, emulatorHost, featuresTopic: TOPIC, createResources: true },
      influx: { url: influx.url },
      model: { registryDir },
      http: { host: '127.0.0.1', port: processorHttp },
      log: { level: 'warn' },
    })],
    /ops HTTP on port/,
  );
  children.push(processor);

  stage = 'starting the gateway';
  const mqttPort = await freePort();
  const gatewayHttp = await freePort();
  const startGateway = async (featureBatches: boolean) => {
    const started = await startPdm(
      'gateway',
      ['gateway', '--config', writeConfig(`gateway-${featureBatches ? 'batches' : 'single'}`, {
        gatewayId: 'bench-gateway',
        siteId: 'bench-site',
        mqtt: { host: '127.0.0.1', port: mqttPort, allowAnonymous: true },
        http: { host: '127.0.0.1', port: gatewayHttp },
        outbox: { path: join(dir, 'outbox.sqlite') },
        pubsub: { projectId: PROJECT, topic: TOPIC, emulatorHost, createTopic: true, featureBatches: { enabled: featureBatches } },
        log: { level: 'warn' },
      })],
      /operations\s+http:\/\//,
    );
    children.push(started);
    return started;
  };
  let gateway = await startGateway(true);
  const pids = { gateway: gateway.pid, processor: processor.pid };
  const scrapeBoth = async (): Promise<Scrape> => ({ at: performance.now(), processor: await scrape(processorHttp), gateway: await scrape(gatewayHttp) });

  const startFleet = (machines: number) => {
    const fleet = writeConfig(`fleet-${machines}`, { fleet: { machines, mix: { pump: 1 }, vibrationHz: VIBRATION_HZ } });
    return startPdm(
      `simulator (${machines} machines)`,
      ['simulate', '--config', fleet, '--mqtt', `mqtt://127.0.0.1:${mqttPort}`, '--speed', '1', '--tick', '1s', '--duration', '1d', '--fault-probability', '0'],
      /./,
    );
  };

  /** Runs a load for `durationMs` after a warm-up; returns the slices measured. */
  const phase = async (name: string, machines: number, durationMs: number): Promise<Slice[]> => {
    stage = `${name}: warming up`;
    const fleet = await startFleet(machines);
    await delay(WARMUP_MS);
    const slices: Slice[] = [];
    let previous = await scrapeBoth();
    for (let elapsed = 0; elapsed < durationMs; elapsed += SLICE_MS) {
      stage = `${name}: measuring (${elapsed / 1000} s of ${durationMs / 1000} s)`;
      await delay(SLICE_MS);
      const current = await scrapeBoth();
      slices.push(sliceBetween(previous, current, pids));
      previous = current;
      const last = slices[slices.length - 1]!;
      console.log(`  ${name} +${(elapsed + SLICE_MS) / 1000} s: ${Math.round(last.readingsPerSecond).toLocaleString('en-US')} readings/s, ${last.windowsPerSecond.toFixed(0)} windows/s stored, close→store p99 ${ms(bucketQuantile(0.99, last.closeToStore))}, outbox ${last.outboxDepth}`);
    }
    await fleet.stop();
    return slices;
  };

  const nominal = NOMINAL_MS > 0 ? await phase('nominal', NOMINAL_MACHINES, NOMINAL_MS) : [];
  const overload = OVERLOAD_MS > 0 ? await phase(`${OVERLOAD_FACTOR}× load`, NOMINAL_MACHINES * OVERLOAD_FACTOR, OVERLOAD_MS) : [];

  // The same 5× load with each message format, the gateway restarted on it between them.
  const compared: Array<[string, Slice[]]> = [];
  const overloadMachines = (NOMINAL_MACHINES * OVERLOAD_FACTOR).toLocaleString('en-US');
  for (const featureBatches of COMPARE_MS > 0 ? [false, true] : []) {
    stage = `restarting the gateway with featureBatches.enabled ${featureBatches}`;
    await gateway.stop();
    gateway = await startGateway(featureBatches);
    pids.gateway = gateway.pid;
    const format = featureBatches ? 'FeatureBatch messages' : 'single MachineWindow messages';
    compared.push([`${overloadMachines} machines, ${format}`, await phase(`${OVERLOAD_FACTOR}× load, ${format}`, NOMINAL_MACHINES * OVERLOAD_FACTOR, COMPARE_MS)]);
  }

  const all: Array<[string, Slice[]]> = [
    [`nominal: ${NOMINAL_MACHINES.toLocaleString('en-US')} machines`, nominal],
    [`${OVERLOAD_FACTOR}×: ${overloadMachines} machines`, overload],
    ...compared,
  ];
  const phases = all.filter(([, slices]) => slices.length > 0);
  const quantiles = (h: Histogram) => `${ms(bucketQuantile(0.5, h))} | ${ms(bucketQuantile(0.99, h))}`;
  console.log('');
  console.log('| load | readings/s | windows/s stored | close→store p50 | close→store p99 | window end→store p50 | window end→store p99 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, slices] of phases) {
    const mean = (pick: (s: Slice) => number) => slices.reduce((sum, s) => sum + pick(s), 0) / slices.length;
    console.log(`| ${name} | ${Math.round(mean((s) => s.readingsPerSecond)).toLocaleString('en-US')} | ${mean((s) => s.windowsPerSecond).toFixed(0)} | ${quantiles(merged(slices, (s) => s.closeToStore))} | ${quantiles(merged(slices, (s) => s.endToEnd))} |`);
  }
  console.log('');
  console.log('Where close→store goes: gateway = close → accepted by Pub/Sub (outbox, publish), delivery = Pub/Sub → processor, processor = received → stored (score, InfluxDB write).');
  console.log('');
  console.log('| load | gateway p50 | gateway p99 | delivery p50 | delivery p99 | processor p50 | processor p99 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, slices] of phases) {
    console.log(`| ${name} | ${STAGES.map((stage) => quantiles(merged(slices, (s) => s.stages[stage]))).join(' | ')} |`);
  }
  const [single, batches] = compared.map(([, slices]) => merged(slices, (s) => s.closeToStore));
  if (single && batches) {
    const p = (q: number, h: Histogram) => bucketQuantile(q, h);
    console.log('');
    console.log(`close→store at ${overloadMachines} machines, FeatureBatch / single MachineWindow messages (same run, gateway restarted between them): p50 ${(p(0.5, batches) / p(0.5, single)).toFixed(2)}, p99 ${(p(0.99, batches) / p(0.99, single)).toFixed(2)}`);
  }
  if (overload.length > 0) {
    console.log('');
    console.log(`${OVERLOAD_FACTOR}× load held for ${OVERLOAD_MS / 1000} s, per ${SLICE_MS / 1000} s slice (is lag bounded? is memory?):`);
    console.log('');
    console.log('| slice | close→store p99 | gateway outbox depth | gateway RSS | processor RSS |');
    console.log('|---|---|---|---|---|');
    overload.forEach((s, i) =>
      console.log(`| ${((i + 1) * SLICE_MS) / 1000} s | ${ms(bucketQuantile(0.99, s.closeToStore))} | ${s.outboxDepth} | ${s.gatewayRssMb.toFixed(0)} MB | ${s.processorRssMb.toFixed(0)} MB |`),
    );
    const first = overload[0];
    const last = overload[overload.length - 1];
    if (first && last) {
      const bounded = bucketQuantile(0.99, last.closeToStore) <= 2 * Math.max(bucketQuantile(0.99, first.closeToStore), 0.1) && last.outboxDepth < 10 * OVERLOAD_FACTOR * NOMINAL_MACHINES;
      console.log('');
      console.log(`lag ${bounded ? 'stayed bounded' : 'GREW'} under ${OVERLOAD_FACTOR}× load (last slice's p99 within 2× of the first's, outbox not piling up)`);
    }
  }
} catch (error) {
  console.error(`pipeline benchmark failed at ${stage}: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  stage = 'stopping';
  for (const child of children.reverse()) await child.stop();
  await influx.stop();
  rmSync(dir, { recursive: true, force: true });
}
