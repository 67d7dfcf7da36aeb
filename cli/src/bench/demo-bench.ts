// `npm run bench -- demo`: issue #15's live-demo figure — the alert for the demo's injected fault opens
// within three minutes of `npm start`. Runs `pdm start` as a user does (a fresh data folder, so the first
// start's model training is in the time; every port picked free, so nothing else running is in the way),
// reads the InfluxDB address it prints, and asks InfluxDB's `alerts` every 2 s which machines alerted,
// until the faulty pump has and three minutes have passed (or six minutes, if it never does). Prints
// when the stack was up, when the fault set in (two minutes after the fleet started), when its alert
// opened, and any alert of a healthy pump (a false one) meanwhile; then stops the stack with Ctrl-C's
// signal and waits for it to stop cleanly. Fails (exit 1) when the target is not met, a healthy pump
// alerted, or the stack did not stop cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_MACHINES, demoFault } from '../local/demo-fleet.js';

const TARGET_S = 180;
const GIVE_UP_S = 360;
const POLL_MS = 2_000;

const pdm = fileURLToPath(new URL('../../bin/pdm.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'pdm-demo-bench-'));
const ports = ['--mqtt-port', '--influx-port', '--pubsub-port', '--gateway-http-port', '--processor-http-port'].flatMap((flag) => [flag, '0']);
const started = performance.now();
const seconds = () => (performance.now() - started) / 1000;
const child = spawn(process.execPath, [pdm, 'start', '--data-dir', dataDir, ...ports], { stdio: ['ignore', 'pipe', 'pipe'] });

let output = '';
let stackUpAt: number | undefined;
let influxUrl: string | undefined;
child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
  output += chunk;
  influxUrl ??= /InfluxDB\s+(http:\/\/\S+)/.exec(output)?.[1];
  if (stackUpAt === undefined && output.includes('Local stack running')) stackUpAt = seconds();
});
child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
let childExited = false;
void exited.then(() => (childExited = true));

/** The machines with an alert opened so far, from the stack's InfluxDB (none while it does not answer within a poll). */
async function machinesAlerted(url: string): Promise<string[]> {
  const q = `SELECT first(score) FROM alerts WHERE "state" = 'open' GROUP BY "machine"`;
  const response = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q, db: 'pdm' }), signal: AbortSignal.timeout(POLL_MS) });
  const json = (await response.json()) as { results?: { series?: { tags: { machine: string } }[] }[] };
  return (json.results?.[0]?.series ?? []).map((s) => s.tags.machine);
}

const faulty = demoFault(0).machine;
/** When each machine's first alert was seen open, in seconds since the start (polled: up to POLL_MS late). */
const seen = new Map<string, number>();
// Until the faulty pump's alert and at least the target's three minutes, so that "no healthy pump
// alerted" covers them all.
while (!childExited && seconds() < GIVE_UP_S && (!seen.has(faulty) || seconds() < TARGET_S)) {
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  if (influxUrl === undefined || stackUpAt === undefined) continue;
  for (const machine of await machinesAlerted(influxUrl).catch(() => [])) if (!seen.has(machine)) seen.set(machine, seconds());
}

// The fleet starts as the stack says it runs: the fault's onset is two minutes (demoFault) after.
const onsetS = stackUpAt === undefined ? undefined : stackUpAt + demoFault(0).onset / 1000;
const faultyAlertS = seen.get(faulty);
const healthy = [...seen].filter(([machine]) => machine !== faulty);
const met = faultyAlertS !== undefined && faultyAlertS <= TARGET_S;
const watchedS = seconds();

child.kill('SIGINT');
const stopTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
const code = await exited;
clearTimeout(stopTimer);
rmSync(dataDir, { recursive: true, force: true });

const s = (value: number | undefined) => (value === undefined ? 'never' : `${value.toFixed(0)} s`);
console.log(`pdm start on a fresh data folder (the first start trains the demo model), ${DEMO_MACHINES.length} pumps, ${faulty} develops ${demoFault(0).fault}:`);
console.log(`  stack running after        ${s(stackUpAt)}`);
console.log(`  fault onset at             ${s(onsetS)}`);
console.log(`  ${`${faulty} alert opened at`.padEnd(27)}${s(faultyAlertS)}${faultyAlertS !== undefined && onsetS !== undefined ? ` (${(faultyAlertS - onsetS).toFixed(0)} s after the onset)` : ''} · target ≤ ${TARGET_S} s from start: ${met ? 'met' : 'NOT met'}`);
console.log(`  alerts of healthy pumps    ${healthy.length === 0 ? `none in ${s(watchedS)}` : healthy.map(([m, at]) => `${m} at ${s(at)}`).join(', ')}`);
console.log(`  stopped                    ${code === 0 && output.includes('stopped cleanly.') ? 'cleanly' : `exit ${code}`}`);
if (!met || healthy.length > 0 || code !== 0) {
  console.log(`\npdm start's output:\n${output}`);
  process.exitCode = 1;
}
