// Rate bench (a script, not a test): how many readings per second one simulator process pushes
// into an MQTT broker with batched vibration payloads. The broker and a counting subscriber run in
// a child process. Baseline in the same run: the fleet generating readings with no sink at all.
// Usage: npm run bench -w @pdm/simulator  [-- --seconds 15 --machines 100 --format batch]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { noChaos } from '../chaos/options.js';
import { fleetFromMix } from '../fleet/fleet.js';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../output/messages.js';
import { type SimulationConfig, type SimulationResult, runSimulation } from '../run/simulation.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    machines: { type: 'string', default: '100' },
    'vibration-hz': { type: 'string', default: '2000' },
    format: { type: 'string', default: 'batch' },
  },
});
const seconds = Number(values.seconds);
const format = values.format as PayloadFormat;
if (!PAYLOAD_FORMATS.includes(format)) throw new Error(`--format must be one of ${PAYLOAD_FORMATS.join(', ')}`);

const config = (mqttUrl?: string): SimulationConfig => ({
  seed: 1,
  startMs: Date.UTC(2024, 0, 1),
  durationMs: 365 * 86_400_000,
  tickMs: 1000,
  vibrationHz: Number(values['vibration-hz']),
  machines: fleetFromMix(Number(values.machines), { pump: 1, motor: 1, fan: 1, compressor: 1 }),
  faults: [],
  chaos: noChaos(),
  mqtt: mqttUrl ? { urls: [mqttUrl], qos: 0, format } : undefined,
  speed: Number.POSITIVE_INFINITY,
  rate: Number.POSITIVE_INFINITY,
});

async function timed(config: SimulationConfig, runSeconds: number): Promise<SimulationResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), runSeconds * 1000);
  try {
    return await runSimulation(config, { signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const baseline = await timed(config(), Math.min(5, seconds));
console.log(`baseline  generation only: ${fmt(baseline.readingsPerSecond)} readings/s`);

const child = fork(fileURLToPath(new URL('./broker-process.js', import.meta.url)));
const [ready] = (await once(child, 'message')) as [{ port: number }];
try {
  const result = await timed(config(`mqtt://127.0.0.1:${ready.port}`), seconds);
  // The subscriber drains what is still in flight; ask until the count stops moving.
  let counts = { messages: 0, bytes: 0 };
  for (let previous = -1; counts.messages !== previous; ) {
    previous = counts.messages;
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.send('report');
    [counts] = (await once(child, 'message')) as [{ messages: number; bytes: number }];
  }
  const realS = result.realMs / 1000;
  console.log(
    `mqtt      ${values.machines} machines, vibration ${values['vibration-hz']} Hz as ${format} payloads, QoS 0, ${realS.toFixed(1)} s`,
  );
  console.log(`          readings sent  ${fmt(result.readingsPerSecond)} /s  (${fmt(result.readings)} total)`);
  console.log(`          messages sent  ${fmt(result.messagesPerSecond)} /s  (${fmt(result.messages)} total, ${fmt(result.mqtt?.bytes ?? 0)} bytes)`);
  console.log(`          received by subscriber  ${fmt(counts.messages)} messages (${((100 * counts.messages) / Math.max(1, result.messages)).toFixed(1)}%)`);
  console.log(`          ratio to baseline  ${(result.readingsPerSecond / baseline.readingsPerSecond).toFixed(2)}`);
} finally {
  child.send('stop');
  await once(child, 'exit');
}
