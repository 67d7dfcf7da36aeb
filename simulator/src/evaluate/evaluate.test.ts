// A hand-made scoring run: one machine with a fault, one healthy machine, 10-minute windows over a
// day. Expected figures are derived from the inputs below, not copied from the evaluator's output.
import { describe, expect, it } from 'vitest';
import type { FaultPlan } from '../faults/catalogue.js';
import { formatInstant } from '../time/parse.js';
import { evaluate, mergeEpisodes } from './evaluate.js';
import { renderEvaluation } from './report.js';
import { parseScoresCsv } from '@pdm/evaluation';

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const WINDOW = 10 * MIN;
const WINDOWS = 144; // one day

const fault: FaultPlan = {
  machine: 'pump-0001',
  fault: 'bearing_wear',
  onset: T0 + 600 * MIN, // window 60
  failure: T0 + 900 * MIN, // end of window 89
  recovered: T0 + 1020 * MIN, // end of window 101
  sensors: ['vibration'],
};
const missedFault: FaultPlan = { ...fault, machine: 'fan-0002', fault: 'imbalance', onset: T0 + 200 * MIN, failure: T0 + 260 * MIN, recovered: T0 + 380 * MIN };

// Anomalous windows per machine: pump has one false alarm pair (10, 11), a detection from window 75
// to 95 (runs into the repair downtime), and a lone false alarm at 130; the fan has one at 140 only.
const anomalous: Record<string, Set<number>> = {
  'pump-0001': new Set([10, 11, ...Array.from({ length: 21 }, (_, k) => 75 + k), 130]),
  'fan-0002': new Set([140]),
};

function scoresCsv(): string {
  const lines = ['window_start,window_end,machine,score,threshold,anomaly'];
  for (const machine of Object.keys(anomalous)) {
    for (let w = 0; w < WINDOWS; w++) {
      const a = anomalous[machine]?.has(w) ?? false;
      lines.push(
        `${formatInstant(T0 + w * WINDOW)},${formatInstant(T0 + (w + 1) * WINDOW)},${machine},${a ? 0.9 : 0.1},0.5,${a ? 1 : 0}`,
      );
    }
  }
  return lines.join('\n');
}

const windowIndex = (ms: number) => (ms - T0) / WINDOW;

describe('evaluate', () => {
  const result = evaluate([fault, missedFault], parseScoresCsv(scoresCsv()));

  it('reports detection and lead time per fault', () => {
    const firstHit = Math.min(...[...(anomalous['pump-0001'] ?? [])].filter((w) => w >= windowIndex(fault.onset)));
    const detectedAt = T0 + (firstHit + 1) * WINDOW;
    expect(result.faults[0]).toMatchObject({ detected: true, scored: true, detectedAt, leadTimeMs: fault.failure - detectedAt });
    expect(result.faults[1]).toMatchObject({ machine: 'fan-0002', detected: false, scored: true });
    expect(result.faults[1]?.leadTimeMs).toBeUndefined();
  });

  it('computes window-level precision and recall, ignoring repair downtime', () => {
    const inInterval = (f: FaultPlan, w: number) => T0 + w * WINDOW < f.failure && T0 + (w + 1) * WINDOW > f.onset;
    const inExcluded = (f: FaultPlan, w: number) => T0 + w * WINDOW < f.recovered && T0 + (w + 1) * WINDOW > f.onset;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const [machine, set] of Object.entries(anomalous)) {
      const f = machine === fault.machine ? fault : missedFault;
      for (let w = 0; w < WINDOWS; w++) {
        if (inInterval(f, w)) {
          if (set.has(w)) tp++;
          else fn++;
        } else if (!inExcluded(f, w) && set.has(w)) fp++;
      }
    }
    expect(result.window).toMatchObject({ tp, fp, fn });
    expect(result.window.precision.value).toBeCloseTo(tp / (tp + fp), 12);
    expect(result.window.recall.value).toBeCloseTo(tp / (tp + fn), 12);
  });

  it('groups alerts into episodes for event precision, recall and false alerts per machine-day', () => {
    // pump: {10,11} false, {75..95} true, {130} false; fan: {140} false.
    const episodes = 4;
    const falseEpisodes = 3;
    expect(result.event.episodes).toBe(episodes);
    expect(result.event.precision.value).toBeCloseTo((episodes - falseEpisodes) / episodes, 12);
    expect(result.event.recall).toMatchObject({ numerator: 1, denominator: 2 });
    const machineDays = (2 * WINDOWS * WINDOW) / 86_400_000;
    expect(result.scoredMachineDays).toBeCloseTo(machineDays, 12);
    expect(result.falseEpisodesPerMachineDay).toBeCloseTo(falseEpisodes / machineDays, 12);
    expect(result.falseWindowsPerMachineDay).toBeCloseTo(result.window.fp / machineDays, 12);
  });

  it('merges episodes across a configured gap', () => {
    const rows = parseScoresCsv(scoresCsv()).filter((r) => r.anomaly && r.machine === 'pump-0001');
    expect(mergeEpisodes(rows, 0)).toHaveLength(3);
    // A gap longer than windows 96…129 joins the detection with the alarm at 130.
    expect(mergeEpisodes(rows, 35 * WINDOW)).toHaveLength(2);
  });

  it('leaves faults outside the scored span out of recall', () => {
    const early: FaultPlan = { ...fault, onset: T0 - 10 * WINDOW, failure: T0 - WINDOW, recovered: T0 };
    const e = evaluate([early], parseScoresCsv(scoresCsv()));
    expect(e.faults[0]?.scored).toBe(false);
    expect(e.event.recall.denominator).toBe(0);
  });

  it('renders a table naming each fault and its result', () => {
    const text = renderEvaluation(result).join('\n');
    expect(text).toMatch(/pump-0001\s+bearing_wear.*detected\s+\d+h \d+m/);
    expect(text).toMatch(/fan-0002\s+imbalance.*MISSED/);
    expect(text).toMatch(/Event level\s+recall 50\.0% \(1\/2 faults\)/);
  });

  it('rejects a malformed scores file naming the line and column', () => {
    expect(() => parseScoresCsv('window_start,machine\n')).toThrow(/line 1: header lacks window_end/);
    const bad = `${scoresCsv().split('\n').slice(0, 2).join('\n')}\n2024-01-01T00:00:00Z,2024-01-01T00:10:00Z,m,abc,0.5,1`;
    expect(() => parseScoresCsv(bad)).toThrow(/line 3: score "abc" is not a/);
    expect(() => parseScoresCsv(`${scoresCsv().split('\n')[0]}\nnope,2024-01-01T00:10:00Z,m,1,1,1`)).toThrow(
      /line 2: window_start "nope"/,
    );
    expect(() => parseScoresCsv(`${scoresCsv().split('\n')[0]}\n2024-01-01T00:00:00Z,2024-01-01T00:10:00Z,m,1,1,yes`)).toThrow(
      /anomaly must be 0 or 1/,
    );
  });
});

describe('evaluate, when the scores say where alerts opened and resolved', () => {
  // The same anomalous windows, with the alerts a 3-in-a-row rule (resolve after 2 normal) gives, as pdm
  // score writes them beside the scores: the pairs 10–11 and the lone 130 and 140 open nothing; 75–95
  // opens at 77 and resolves at 97.
  const alertAt: Record<string, Record<number, string>> = { 'pump-0001': { 77: 'open', 97: 'resolved' }, 'fan-0002': {} };
  const transitions = scoresCsv()
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const [start, end, machine] = line.split(',');
      const alert = alertAt[machine!]?.[windowIndex(Date.parse(start!))];
      return alert === undefined ? [] : [`${start},${end},${machine},${alert}`];
    });
  const alerts = { text: ['window_start,window_end,machine,alert', ...transitions].join('\n'), source: 'scores.alerts.csv' };
  const result = evaluate([fault, missedFault], parseScoresCsv(scoresCsv(), 'scores.csv', alerts));

  it('counts the alerts as the episodes, and dates a detection by the window that opened its alert', () => {
    expect(result.event.episodes).toBe(1);
    expect(result.event.precision).toMatchObject({ numerator: 1, denominator: 1 });
    expect(result.machines.map((m) => m.falseEpisodes)).toEqual([0, 0]);
    const raisedAt = T0 + 78 * WINDOW;
    expect(result.faults[0]).toMatchObject({ detected: true, detectedAt: raisedAt, leadTimeMs: fault.failure - raisedAt });
    // Windows are still judged one by one.
    expect(result.window.fp).toBe(4);
  });

  it('does not credit a fault to an alert that was already open when it began', () => {
    // The pump's alert opened at window 50 (before the onset at 60) and never resolved.
    const isOpening = (line: string) => line.includes('pump-0001') && windowIndex(Date.parse(line.split(',')[0]!)) === 50;
    // Window 50 anomalous, as the window that opens an alert is.
    const scores = scoresCsv()
      .split('\n')
      .map((line) => (isOpening(line) ? line.replace(/,0$/, ',1') : line))
      .join('\n');
    const opening = scores.split('\n').find(isOpening)!;
    const early = { text: `window_start,window_end,machine,alert\n${opening.split(',').slice(0, 3).join(',')},open`, source: 'scores.alerts.csv' };
    const e = evaluate([fault], parseScoresCsv(scores, 'scores.csv', early));
    expect(e.faults[0]).toMatchObject({ detected: false });
    expect(e.event.episodes).toBe(1);
  });
});

