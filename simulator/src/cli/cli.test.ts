import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGroundTruth } from '../faults/ground-truth.js';
import { MACHINE_SPECS, type MachineType } from '../fleet/machine-types.js';
import { type TestBroker, startTestBroker } from '../test-support/broker.js';
import { formatInstant } from '../time/parse.js';
import { runEvaluateCli } from './evaluate-cli.js';
import type { CliIo } from './io.js';
import { runSimulateCli } from './simulate-cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pdm-sim-'));
  dirs.push(d);
  return d;
}

function capture(waitForStop: CliIo['waitForStop'] = () => new Promise(() => {})) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), waitForStop }, out, err };
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('pdm simulate flags', () => {
  it('prints help', async () => {
    const { io, out } = capture();
    expect(await runSimulateCli(['--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/--machines N/);
  });

  it.each([
    [['--machines', 'many'], /--machines: expected an integer/],
    [['--duration', '10 parsecs'], /--duration: invalid duration "10 parsecs": expected a number with a unit/],
    [['--speed=0'], /--speed: expected a positive number or max/],
    [['--rate', 'lots'], /--rate: expected a rate like 1e6\/h/],
    [['--format', 'xml'], /--format: expected one of json, batch, protobuf/],
    [['--qos', '2'], /--qos: expected one of 0, 1/],
    [['--mqtt', 'localhost:1883'], /--mqtt: expected a URL like mqtt:\/\/host:1883/],
    [['--start', 'tomorrow'], /--start: expected an ISO-8601 time/],
    [['--bogus'], /--bogus/],
  ])('rejects %j with exit code 2 naming the flag', async (argv, message) => {
    const { io, err } = capture();
    expect(await runSimulateCli(argv, io)).toBe(2);
    expect(err.join('\n')).toMatch(message);
  });

  it('names the config key and the expected form of a bad config file', async () => {
    const dir = tempDir();
    const cases: [string, RegExp][] = [
      ['fleet:\n  machines: -3\n', /fleet\.yaml: fleet\.machines: expected a machine count \(a positive integer\) or a list of \{id, type\}/],
      ['duration: forever\n', /: duration: invalid duration "forever": expected a number with a unit/],
      ['chaos:\n  duplicates: 2\n', /chaos\.duplicates: .*(<=1|1)/],
      ['faults:\n  scheduled:\n    - { machine: nope, fault: imbalance, onset: 1h, failure: 2h }\n', /faults\.scheduled\[0\]\.machine: no machine "nope"/],
      ['fleet: { machines: 2 }\ncolour: red\n', /Unrecognized key.*colour/],
      ['fleet: [unclosed\n', /not valid YAML/],
    ];
    for (const [yaml, message] of cases) {
      const file = join(dir, 'fleet.yaml');
      writeFileSync(file, yaml);
      const { io, err } = capture();
      expect(await runSimulateCli(['--config', file, '--out-dir', dir], io)).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  it('exits 1 with a clear message when the gateway is unreachable', async () => {
    const { io, err } = capture();
    expect(await runSimulateCli(['--mqtt', 'mqtt://127.0.0.1:1', '--machines', '1'], io)).toBe(1);
    expect(err.join('\n')).toMatch(/cannot connect to MQTT mqtt:\/\/127\.0\.0\.1:1/);
  });
});

describe('pdm simulate --out', () => {
  it('writes the dataset to --out, and to --out-dir (old spelling); both at once is refused', async () => {
    for (const flag of ['--out', '--out-dir']) {
      const dir = tempDir();
      expect(await runSimulateCli(['--machines', '2', '--duration', '10s', flag, dir, '--vibration-hz', '8'], capture().io)).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['ground-truth.json', 'manifest.json']));
      expect(readdirSync(dir).filter((f) => f.endsWith('.csv'))).toHaveLength(2);
    }
    const { io, err } = capture();
    expect(await runSimulateCli(['--out', tempDir(), '--out-dir', tempDir()], io)).toBe(2);
    expect(err.join('\n')).toMatch(/--out-dir: is the old spelling of --out/);
  });
});

describe('generate → evaluate', () => {
  it('writes one CSV per machine, a ground truth, and evaluates a scores file against it', async () => {
    const dir = tempDir();
    const { io, out } = capture();
    const argv = ['--machines', '4', '--duration', '2h', '--out-dir', dir, '--vibration-hz', '64'];
    expect(await runSimulateCli([...argv, '--fault-probability', '1', '--seed', '9'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/Done: 7200 s simulated/);

    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      machines: { id: string; type: MachineType }[];
      start: string;
    };
    expect(readdirSync(dir).filter((f) => f.endsWith('.csv'))).toHaveLength(4);
    for (const m of manifest.machines) {
      const lines = readFileSync(join(dir, `${m.id}.csv`), 'utf8').trim().split('\n');
      const header = lines[0]?.split(',');
      expect(header).toEqual(['time', ...MACHINE_SPECS[m.type].sensors, 'vibration_rms', 'vibration_peak', 'vibration_kurtosis']);
      expect(lines).toHaveLength(1 + 7200);
      const first = lines[1]?.split(',') ?? [];
      expect(first[0]).toBe(manifest.start);
      expect(first[0]).toMatch(ISO_MS);
      expect(first).toHaveLength(header?.length ?? 0);
      expect(Date.parse(lines[2]?.split(',')[0] ?? '') - Date.parse(first[0] ?? '')).toBe(1000);
    }

    const truth = parseGroundTruth(JSON.parse(readFileSync(join(dir, 'ground-truth.json'), 'utf8')));
    expect(truth.length).toBeGreaterThan(0);

    // A detector that flags the windows of the first fault from its midpoint on, and nothing else.
    const target = truth[0];
    if (!target) throw new Error('no fault scheduled');
    const windowMs = 5 * 60_000;
    const start = Date.parse(manifest.start);
    const rows = ['window_start,window_end,machine,score,threshold,anomaly'];
    const midpoint = (target.onset + target.failure) / 2;
    for (const m of manifest.machines) {
      for (let w = start; w < start + 2 * 3_600_000; w += windowMs) {
        const hit = m.id === target.machine && w + windowMs > midpoint && w < target.failure;
        rows.push(`${formatInstant(w)},${formatInstant(w + windowMs)},${m.id},${hit ? 2 : 0.5},1,${hit ? 1 : 0}`);
      }
    }
    const scores = join(dir, 'scores.csv');
    writeFileSync(scores, rows.join('\n'));

    const evaluation = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'ground-truth.json'), '--scores', scores], evaluation.io)).toBe(0);
    const text = evaluation.out.join('\n');
    expect(text).toMatch(new RegExp(`${target.machine}\\s+${target.fault}.*detected`));
    expect(text).toMatch(/precision 100\.0% \(TP \d+, FP 0\)/);

    const json = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'ground-truth.json'), '--scores', scores, '--json'], json.io)).toBe(0);
    const parsed = JSON.parse(json.out.join('\n')) as { faults: { detected: boolean; leadTimeMs?: number }[] };
    const firstWindowEnd = Math.ceil((midpoint - start) / windowMs) * windowMs + start;
    expect(parsed.faults[0]?.leadTimeMs).toBe(target.failure - Math.max(firstWindowEnd, start + windowMs));
  });

  it('evaluate: missing flags are usage errors, unreadable or bad files are failures', async () => {
    const dir = tempDir();
    let c = capture();
    expect(await runEvaluateCli(['--scores', 'x.csv'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--ground-truth: is required/);
    c = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'none.json'), '--scores', 'x.csv'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--ground-truth: cannot read/);
    writeFileSync(join(dir, 'gt.json'), '[{"machine":"a"}]');
    writeFileSync(join(dir, 's.csv'), 'window_start,window_end,machine,score,threshold,anomaly\n');
    c = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 's.csv')], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/ground truth\[0\]\.fault/);
  });
});

describe('pdm simulate live', () => {
  let broker: TestBroker | undefined;
  afterAll(async () => {
    await broker?.close();
  });

  it('publishes to MQTT, prints progress, and stops cleanly on Ctrl-C with totals', async () => {
    broker = await startTestBroker();
    let stop!: (s: NodeJS.Signals) => void;
    const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
    const { io, out } = capture(() => stopped);
    const b = broker;
    const run = runSimulateCli(['--mqtt', b.url, '--machines', '2', '--duration', '30d', '--speed', 'max', '--vibration-hz', '10'], io);
    await b.waitFor(100);
    stop('SIGINT');
    expect(await run).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/SIGINT: stopping/);
    expect(text).toMatch(/Stopped: \d+ s simulated/);
    const sent = Number(/messages\s+(\d+)/.exec(text)?.[1]);
    expect(sent).toBeGreaterThanOrEqual(100);
    await b.waitFor(sent);
  });

  it('counts what a gateway that went away never acked as lost, says so and exits 1', async () => {
    const gone = await startTestBroker();
    let stop!: (s: NodeJS.Signals) => void;
    const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
    const { io, out, err } = capture(() => stopped);
    const run = runSimulateCli(['--mqtt', gone.url, '--qos', '1', '--machines', '2', '--duration', '30d', '--speed', 'max', '--vibration-hz', '10'], io);
    await gone.waitFor(100);
    // The gateway goes and does not come back: the simulator waits for it until Ctrl-C, and then
    // (after close()'s 10 s) gives up on the publishes still unacked.
    await gone.close();
    stop('SIGINT');
    expect(await run).toBe(1);
    const totals = /messages\s+(\d+) .*, republished \d+, lost (\d+)$/m.exec(out.join('\n'));
    const [sent, lost] = [Number(totals?.[1]), Number(totals?.[2])];
    expect(lost).toBeGreaterThan(0);
    expect(err).toEqual([`pdm simulate: ${lost} of ${sent} MQTT messages were lost (failed, or not acknowledged when the run ended): the gateway may be missing their readings`]);
  });
});
