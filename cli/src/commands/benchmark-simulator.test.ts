// `pdm benchmark simulator` end to end on a small fleet (a pump and a motor, 4 h, one seed): real
// `pdm simulate`, `pdm train`, `pdm score` and `pdm evaluate`, its table checked against the ground
// truth that `pdm simulate` with the same flags writes. A run where pdm simulate fails is its own
// module's `run` made to fail: no flag the benchmark accepts makes the real one fail at once.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestDataDir } from '@pdm/influx-harness';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';
import { capture } from '../test-support/capture.js';
import { simulate } from './simulator.js';

const dir = makeTestDataDir('pdm-benchmark-simulator');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FLEET = ['--machines', '2', '--duration', '4h'];
const DETECTORS = ['default', 'autoencoder alone', 'null (never alerts)'];
/** A lead time as pdm evaluate prints it: 1d 6h 0m, 2h 43m, 12m. */
const LEAD = /^-?(\d+d )?(\d+h )?\d+m$/;

/** The table's rows by machine type and detector: cells split on the table's two-space gaps. */
function tableRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const cells = line.split(/\s{2,}/);
    if (cells.length === 9 && DETECTORS.includes(cells[1]!)) rows.set(`${cells[0]} ${cells[1]}`, cells);
  }
  return rows;
}

describe('pdm benchmark simulator', () => {
  it('trains each machine on its healthy start, scores the rest, and prints per machine type the figures of the detector, the autoencoder and the null detector', async () => {
    const { context, out, err } = capture();
    expect(await main(['benchmark', 'simulator', ...FLEET, '--seed', '7'], context)).toBe(0);
    const text = out.join('\n');

    // The ground truth of the same simulation, as a user would get it.
    const data = join(dir, 'data');
    expect(await main(['simulate', '--out', data, ...FLEET, '--fault-probability', '1', '--seed', '7'], capture().context)).toBe(0);
    const truth = JSON.parse(readFileSync(join(data, 'ground-truth.json'), 'utf8')) as { machine: string; fault: string; onset: string }[];
    const manifest = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8')) as { machines: { id: string; type: string }[] };
    const typeOf = new Map(manifest.machines.map((m) => [m.id, m.type]));
    expect([...new Set(typeOf.values())]).toEqual(['pump', 'motor']);
    expect(truth).toHaveLength(2);

    // Training ends at 30 % of the 4 h run, before any fault's onset.
    expect(text).toContain("pdm train on the first 30 % of each run (until 2024-01-01T01:12:00.000Z: no fault starts before it)");
    for (const fault of truth) expect(Date.parse(fault.onset)).toBeGreaterThanOrEqual(Date.parse('2024-01-01T01:12:00.000Z'));

    const rows = tableRows(text);
    for (const type of ['pump', 'motor', 'all types']) {
      const faults = truth.filter((f) => type === 'all types' || typeOf.get(f.machine) === type).length;
      for (const detector of DETECTORS) {
        const [, , faultCells, detectedCells, recall, lead, machineDays, falseEpisodes, perDay] = rows.get(`${type} ${detector}`) ?? [];
        expect(Number(faultCells), `${type} ${detector}`).toBe(faults);
        const detected = Number(detectedCells);
        expect(detected).toBeLessThanOrEqual(faults);
        expect(Number(recall)).toBeCloseTo(detected / faults, 3);
        expect(Number(recall)).toBeGreaterThanOrEqual(0);
        expect(Number(recall)).toBeLessThanOrEqual(1);
        expect(lead).toMatch(detected === 0 ? /^—$/ : LEAD);
        // 2.8 h scored per machine
        expect(Number(machineDays)).toBeCloseTo((faults * 2.8) / 24, 1);
        // the printed machine-days are rounded: the rate within 5 % of the one they give
        expect(Math.abs(Number(perDay) - Number(falseEpisodes) / Number(machineDays))).toBeLessThanOrEqual((0.05 * Number(falseEpisodes)) / Number(machineDays));
        if (detector === 'null (never alerts)') expect([detected, Number(falseEpisodes)]).toEqual([0, 0]);
      }
    }
    expect(text).toMatch(/^target\s+≥ 0\.950\s+reported\s+≤ 1\.00$/m);
    expect(text).toMatch(/^default: (meets the targets on every machine type|short of the targets: .+)$/m);
    // each fault of the ground truth, with what the two detectors made of it
    const outcome = `(${LEAD.source.slice(1, -1)}|missed)`;
    for (const fault of truth) expect(text).toMatch(new RegExp(`^7\\s+${fault.machine}\\s+${fault.fault}\\s+${outcome}\\s+${outcome}$`, 'm'));
    expect(err.join('\n')).toMatch(/\[4\/4\] seed 7 motor-0002 autoencoder alone: \d+ windows scored, \d+ anomalous/);
  });

  it('says each detector has no figures, short of the targets, when no seed could be simulated, and names each seed in the notes', async () => {
    // pdm simulate fails outright for seed 1 and leaves an unreadable manifest for seed 2: nothing trains.
    const simulateRun = vi.spyOn(simulate, 'run').mockImplementation((args, io) => {
      const flag = (name: string) => args[args.indexOf(name) + 1]!;
      if (flag('--seed') === '1') {
        io.err('pdm simulate: no space left on device');
        return Promise.resolve(1);
      }
      mkdirSync(flag('--out'), { recursive: true });
      writeFileSync(join(flag('--out'), 'manifest.json'), 'start: [');
      return Promise.resolve(0);
    });
    try {
      const { context, out, err } = capture();
      expect(await main(['benchmark', 'simulator', ...FLEET, '--seed', '1', '--seed', '2'], context)).toBe(1);
      const text = out.join('\n');
      expect(text).toMatch(/^default: short of the targets: no figures, every run failed \(see the notes\)$/m);
      expect(text).toMatch(/^autoencoder alone: short of the targets: no figures, every run failed \(see the notes\)$/m);
      expect(text).not.toContain('meets the targets');
      expect(text).toMatch(/^ {2}seed 1: pdm simulate failed: pdm simulate: no space left on device$/m);
      expect(text).toMatch(/^ {2}seed 2: pdm simulate's manifest: \S+manifest\.json(:\d+)?: not valid YAML/m);
      expect(err.join('\n')).toContain('benchmark: 2 runs failed (see the notes)');
    } finally {
      simulateRun.mockRestore();
    }
  });

  it('refuses a bad seed, machine count or duration, and the flags of the other benchmarks, with exit 2', async () => {
    const refusals: [string[], string][] = [
      [['--seed', 'seven'], '--seed: expected an integer from 0 to 9007199254740991, got "seven"'],
      [['--seed', '1.5'], '--seed: expected an integer from 0 to 9007199254740991, got "1.5"'],
      [['--machines', '0'], '--machines: expected an integer from 1 to 1000000, got "0"'],
      // pdm simulate's cap, refused before any seed runs
      [['--machines', '2000000'], '--machines: expected an integer from 1 to 1000000, got "2000000"'],
      [['--duration', 'soon'], '--duration: invalid duration "soon"'],
      [['--duration', '0h'], '--duration: expected a duration above zero, got "0h"'],
      [['--data', dir], '--data is not for pdm benchmark simulator: it makes its own data'],
      [['--kind', 'forest'], '--kind must be one of '],
    ];
    for (const [flags, message] of refusals) {
      const { context, err } = capture();
      expect(await main(['benchmark', 'simulator', ...flags], context), flags.join(' ')).toBe(2);
      expect(err.join('\n')).toContain(`pdm benchmark: ${message}`);
    }
    const skab = capture();
    expect(await main(['benchmark', 'skab', '--data', dir, '--seed', '7'], skab.context)).toBe(2);
    expect(skab.err.join('\n')).toContain('--seed is not for pdm benchmark skab: it belongs to pdm benchmark simulator');
  });
});
