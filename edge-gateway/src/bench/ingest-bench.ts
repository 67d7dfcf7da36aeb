// Ingest micro-benchmark: what one single JSON reading costs from the topic and payload aedes hands
// over to the window engine's add (Ingest.handle with a real WindowEngine), in this process alone.
// The gateway benchmark's same-run ratios move ±10 % on a shared box and cannot resolve a change
// worth a few per cent of the gateway's CPU; this one can, taking turns with another build in the
// same process (BENCH_COMPARE_DIST) and counting CPU time.
// Usage: node dist/bench/ingest-bench.js   (after a build)
//   BENCH_COMPARE_DIST=/path/to/other/edge-gateway/dist   another build, measured in turns with this one
//   BENCH_READINGS (default 1,000,000 per turn), BENCH_ROUNDS (default 10)
// Load as the gateway benchmark's: 1,250 machines × 8 sensors taking turns, each message 100 ms of
// event time later than the sensor's last, so every machine's window closes every 10 s of event time.
import { join } from 'node:path';
import type * as ingestModule from '../ingest/index.js';
import type * as windowModule from '../window/index.js';
import { MESSAGE_SPAN_MS } from './load-shape.js';

type IngestModule = typeof ingestModule;
type WindowModule = typeof windowModule;

const READINGS = Number(process.env.BENCH_READINGS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const MACHINES = 1250;
const SENSORS = 8;
const START = Date.UTC(2026, 0, 1);

const topics = Array.from({ length: MACHINES * SENSORS }, (_, i) => Buffer.from(`sensors/bench-${Math.floor(i / SENSORS)}/s${i % SENSORS}`));
// One payload per turn of all sensors, built up front: enough for every round and the warm-up.
const turns = Math.ceil(((ROUNDS + 1) * READINGS) / topics.length) + 1;
const payloads = Array.from({ length: turns }, (_, j) => Buffer.from(JSON.stringify({ ts: START + j * MESSAGE_SPAN_MS, value: 20 + Math.sin(j) })));

/** One build's ingest and engine, fed the load from where its last turn stopped. */
class Subject {
  private next = 0;
  private now = START;
  readonly cpuNsPerReading: number[] = [];
  accepted = 0;
  rejected = 0;
  windows = 0;
  private readonly handle: (topic: string, payload: Buffer) => void;

  constructor(
    readonly name: string,
    { Ingest }: IngestModule,
    { WindowEngine }: WindowModule,
  ) {
    const clock = { now: () => this.now, schedule: () => () => {} };
    const engine = new WindowEngine({ gatewayId: 'bench', siteId: 'bench', clock }, () => this.windows++);
    const limits = { maxPayloadBytes: 256 * 1024, maxFutureSkewMs: 60_000, maxAgeMs: 24 * 3_600_000, maxSampleRateHz: 100_000, maxMachines: 5_000, maxSensorsPerMachine: 64 };
    const ingest = new Ingest(limits, clock, engine, { accepted: (n) => (this.accepted += n), rejected: (_reason, n) => (this.rejected += n) });
    this.handle = (topic, payload) => ingest.handle(topic, payload);
  }

  run(readings: number): void {
    const started = process.cpuUsage();
    for (let k = 0; k < readings; k++) {
      const i = this.next++;
      const turn = Math.floor(i / topics.length);
      this.now = START + turn * MESSAGE_SPAN_MS;
      // A fresh string, as mqtt-packet makes one for every PUBLISH.
      this.handle(topics[i % topics.length]!.toString('utf8'), payloads[turn]!);
    }
    const used = process.cpuUsage(started);
    this.cpuNsPerReading.push(((used.user + used.system) * 1000) / readings);
  }
}

const here = new URL('.', import.meta.url).pathname;
const load = async (dist: string, name: string) =>
  new Subject(name, (await import(join(dist, 'ingest/index.js'))) as IngestModule, (await import(join(dist, 'window/index.js'))) as WindowModule);
const subjects = [await load(join(here, '..'), 'this build')];
const compared = process.env.BENCH_COMPARE_DIST;
if (compared !== undefined) subjects.push(await load(compared, compared));

for (const subject of subjects) subject.run(READINGS); // warm-up: the engine holds every sensor, the code is optimised
for (let round = 0; round < ROUNDS; round++) for (const subject of subjects) subject.run(READINGS);

console.log(`ingest benchmark: single JSON readings, ${MACHINES} machines × ${SENSORS} sensors, ${ROUNDS} turns of ${READINGS.toLocaleString('en-US')} per build`);
console.log('CPU time of Ingest.handle + WindowEngine per reading (the load generation included, the same for every build)');
console.log('');
console.log('| build | min ns | median ns | readings accepted | rejected | windows closed |');
console.log('|---|---|---|---|---|---|');
for (const subject of subjects) {
  const sorted = [...subject.cpuNsPerReading].sort((a, b) => a - b);
  const ns = (n: number | undefined) => Math.round(n ?? NaN);
  console.log(`| ${subject.name} | ${ns(sorted[0])} | ${ns(sorted[sorted.length >> 1])} | ${subject.accepted.toLocaleString('en-US')} | ${subject.rejected} | ${subject.windows.toLocaleString('en-US')} |`);
}
