import { createHash } from 'node:crypto';
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

describe('pdm simulate manifest', () => {
  it('regenerates identical files from manifest.json alone', async () => {
    const dir = tempDir();
    const config = join(dir, 'fleet.yaml');
    // Nothing here is a default, so the manifest must carry every setting to reproduce the run.
    writeFileSync(
      config,
      [
        'seed: 21',
        'fleet: { machines: 3, mix: { pump: 1, fan: 2 }, vibrationHz: 8 }',
        'faults:',
        '  probability: 1',
        '  kinds: [imbalance, sensor_drift]',
        '  healthyFraction: 0.5',
        '  repair: 5m',
        '  scheduled:',
        '    - { machine: pump-0001, fault: overheating, onset: 10m, failure: 40m }',
        'chaos: { duplicates: 0.1, late: { probability: 0.2 } }',
        '',
      ].join('\n'),
    );
    const first = join(dir, 'first');
    const again = join(dir, 'again');
    expect(await runSimulateCli(['--config', config, '--duration', '2h', '--tick', '5s', '--start', '2024-03-01T00:00:00Z', '--out', first], capture().io)).toBe(0);
    expect(await runSimulateCli(['--config', join(first, 'manifest.json'), '--out', again], capture().io)).toBe(0);
    const md5 = (folder: string) =>
      Object.fromEntries(readdirSync(folder).sort().map((f) => [f, createHash('md5').update(readFileSync(join(folder, f))).digest('hex')]));
    expect(Object.keys(md5(first))).toEqual(['fan-0002.csv', 'fan-0003.csv', 'ground-truth.json', 'manifest.json', 'pump-0001.csv']);
    expect(md5(again)).toEqual(md5(first));
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
    expect(c.err.join('\n')).toMatch(/gt\.json\[0\]\.fault/);
  });

  // Two machines, 1 h windows 00:00–06:00. m-a: fault [02:00, 04:00), down until 05:00; anomalous
  // [02, 03) (detected, lead 1 h) and [05, 06) (false). m-b: fault [01:00, 05:00); anomalous [01, 02)
  // (detected, lead 3 h).
  const H = 3_600_000;
  const T0 = Date.UTC(2024, 0, 1);
  const twoMachines = () => {
    const dir = tempDir();
    const at = (h: number) => formatInstant(T0 + h * H);
    const truth = [
      { machine: 'm-a', fault: 'imbalance', onset: at(2), failure: at(4), recovered: at(5), sensors: ['vibration'] },
      { machine: 'm-b', fault: 'overheating', onset: at(1), failure: at(5), recovered: at(5), sensors: ['bearing_temp'] },
    ];
    writeFileSync(join(dir, 'gt.json'), JSON.stringify(truth, null, 2));
    const scores = (machine: string, anomalous: number[]) =>
      ['window_start,window_end,machine,score,threshold,anomaly']
        .concat([0, 1, 2, 3, 4, 5].map((h) => `${at(h)},${at(h + 1)},${machine},0.5,1,${anomalous.includes(h) ? 1 : 0}`))
        .join('\n');
    writeFileSync(join(dir, 'a.csv'), scores('m-a', [2, 5]));
    writeFileSync(join(dir, 'b.csv'), scores('m-b', [1]));
    return dir;
  };

  it('evaluate: pools the windows of every --scores file', async () => {
    const dir = twoMachines();
    const c = capture();
    const argv = ['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 'a.csv'), '--scores', join(dir, 'b.csv'), '--json'];
    expect(await runEvaluateCli(argv, c.io)).toBe(0);
    const result = JSON.parse(c.out.join('\n')) as {
      faults: { machine: string; scored: boolean; detected: boolean; leadTimeMs?: number }[];
      window: { tp: number; fp: number; fn: number; tn: number; ignored: number };
      event: { episodes: number; precision: { numerator: number }; recall: { numerator: number; denominator: number } };
      falseEpisodesPerMachineDay: number;
    };
    expect(result.faults.map((f) => [f.machine, f.scored, f.detected, f.leadTimeMs])).toEqual([
      ['m-a', true, true, H],
      ['m-b', true, true, 3 * H],
    ]);
    // m-a: TP [2,3), FN [3,4), ignored [4,5) (repair), FP [5,6), TN [0,2); m-b: TP [1,2), FN [2,5), TN [0,1) and [5,6).
    expect(result.window).toMatchObject({ tp: 2, fn: 4, fp: 1, tn: 4, ignored: 1 });
    expect(result.event).toMatchObject({ episodes: 3, precision: { numerator: 2 }, recall: { numerator: 2, denominator: 2 } });
    // One false episode over 2 machines × 6 h = 0.5 machine-days.
    expect(result.falseEpisodesPerMachineDay).toBe(2);
  });

  it('evaluate: refuses a machine scored in two files, naming both', async () => {
    const dir = twoMachines();
    const c = capture();
    const argv = ['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 'a.csv'), '--scores', join(dir, 'a.csv')];
    expect(await runEvaluateCli(argv, c.io)).toBe(1);
    expect(c.err).toEqual([`pdm evaluate: machine m-a has windows in both ${join(dir, 'a.csv')} and ${join(dir, 'a.csv')}: give each machine's scores once`]);
  });

  it('evaluate: refuses files that disagree on alerts, naming both', async () => {
    const dir = twoMachines();
    // pdm score wrote a.csv's alerts beside it (none opened); b.csv comes without.
    writeFileSync(join(dir, 'a.alerts.csv'), 'window_start,window_end,machine,alert\n');
    const c = capture();
    const argv = ['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 'a.csv'), '--scores', join(dir, 'b.csv')];
    expect(await runEvaluateCli(argv, c.io)).toBe(1);
    expect(c.err).toEqual([`pdm evaluate: ${join(dir, 'a.csv')} comes with alerts and ${join(dir, 'b.csv')} without: score all files the same way`]);
  });

  it('evaluate: pools a scores file without windows beside the others (it has no alerts to disagree on)', async () => {
    const dir = twoMachines();
    // a.csv and b.csv with their alerts files (no alert in them), and a scores file without a row or alerts.
    for (const name of ['a', 'b']) writeFileSync(join(dir, `${name}.alerts.csv`), 'window_start,window_end,machine,alert\n');
    writeFileSync(join(dir, 'empty.csv'), `${readFileSync(join(dir, 'a.csv'), 'utf8').split('\n')[0]}\n`);
    const files = (...names: string[]) => names.flatMap((name) => ['--scores', join(dir, name)]);
    const pooled = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'gt.json'), ...files('a.csv', 'empty.csv', 'b.csv'), '--json'], pooled.io)).toBe(0);
    const alone = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'gt.json'), ...files('a.csv', 'b.csv'), '--json'], alone.io)).toBe(0);
    expect(pooled.out).toEqual(alone.out);
  });

  it('evaluate: takes the episodes from the alerts beside the scores', async () => {
    const dir = twoMachines();
    const without = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 'a.csv'), '--scores', join(dir, 'b.csv'), '--json'], without.io)).toBe(0);
    // m-a's alert opened on [02, 03) and resolved on [03, 04); m-b's windows opened none.
    const at = (h: number) => formatInstant(T0 + h * H);
    writeFileSync(join(dir, 'a.alerts.csv'), `window_start,window_end,machine,alert\n${at(2)},${at(3)},m-a,open\n${at(3)},${at(4)},m-a,resolved\n`);
    writeFileSync(join(dir, 'b.alerts.csv'), 'window_start,window_end,machine,alert\n');
    const withAlerts = capture();
    expect(await runEvaluateCli(['--ground-truth', join(dir, 'gt.json'), '--scores', join(dir, 'a.csv'), '--scores', join(dir, 'b.csv'), '--json'], withAlerts.io)).toBe(0);
    const episodes = (out: string[]) => (JSON.parse(out.join('\n')) as { event: { episodes: number } }).event.episodes;
    // Without alerts each run of anomalous windows is an episode: [02, 03) and [05, 06) of m-a, [01, 02) of m-b.
    expect(episodes(without.out)).toBe(3);
    expect(episodes(withAlerts.out)).toBe(1);
  });

  it('evaluate: errors in a scores or ground-truth file name the file and where in it', async () => {
    const dir = twoMachines();
    const run = async (gt: string, scores: string) => {
      const c = capture();
      expect(await runEvaluateCli(['--ground-truth', join(dir, gt), '--scores', join(dir, 'a.csv'), '--scores', join(dir, scores)], c.io)).toBe(1);
      return c.err.join('\n');
    };
    writeFileSync(join(dir, 'bad.csv'), 'window_start,window_end,machine,score,threshold,anomaly\n2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,m-b,high,1,0\n');
    expect(await run('gt.json', 'bad.csv')).toMatch(new RegExp(`^pdm evaluate: ${join(dir, 'bad\\.csv')} line 2: score "high" is not a`));
    writeFileSync(join(dir, 'late.json'), '[\n  {"machine": "m-a", "fault": "imbalance", "onset": "2024-01-01T02:00:00Z", "failure": "2024-01-01T01:00:00Z"}\n]');
    expect(await run('late.json', 'b.csv')).toBe(`pdm evaluate: ${join(dir, 'late.json')}[0].failure: failure must be after onset`);
    writeFileSync(join(dir, 'broken.json'), '[\n  {"machine": "m-a"},\n  {machine}\n]');
    expect(await run('broken.json', 'b.csv')).toMatch(new RegExp(`^pdm evaluate: ${join(dir, 'broken\\.json')} line 3: not JSON`));
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
