// Scores a detector against ground truth. Definitions (also in the README of the package):
//
// - A fault's *detection interval* is [onset, failure); its *excluded interval* is [onset, recovered),
//   which adds the repair downtime after failure.
// - A fault counts only when its detection interval overlaps the span its machine was scored
//   (first window_start … last window_end); others are listed as not scored and left out of recall.
// - *Detected*: an alert episode (scores with alerts, below), else an anomalous window, of that
//   machine overlaps the detection interval. The first one is the detection; the window_end of the
//   window that raised it is when somebody was told, and lead time = failure − that window_end
//   (negative when the alert came only after failure).
// - *Window level*: a window is positive when it overlaps a detection interval of its machine,
//   negative when it overlaps no excluded interval, and ignored otherwise (downtime after failure).
//   precision = TP / (TP + FP), recall = TP / (TP + FN).
// - *Episodes*: the alerts — when the scores come with them (pdm score writes the processor's alert
//   rule's transitions beside the scores), an episode runs from a window whose alert is `open` to the end of the window
//   that resolved it (or the machine's last window). Scores without: a machine's anomalous windows,
//   sorted, merge while the next one starts no later than `episodeGapMs` after the episode's end. An
//   episode overlapping an excluded interval is true, otherwise a false alert. Event precision = true
//   episodes / episodes; event recall = detected faults / scored faults.
// - *False alerts per machine-day*: false episodes (and false windows) divided by the scored
//   machine-days (sum over machines of its scored span).
import type { FaultKind, FaultPlan } from '../faults/catalogue.js';
import type { ScoredWindow } from '@pdm/evaluation';

export interface EvaluationOptions {
  /** Anomalous windows closer than this merge into one episode (ms); 0 merges touching windows. */
  episodeGapMs?: number;
}

export interface FaultOutcome {
  machine: string;
  fault: FaultKind;
  onset: number;
  failure: number;
  scored: boolean;
  detected: boolean;
  /** window_end of the first anomalous window in the detection interval. */
  detectedAt?: number;
  leadTimeMs?: number;
}

export interface MachineFalseAlerts {
  machine: string;
  scoredDays: number;
  falseWindows: number;
  falseEpisodes: number;
}

export interface Ratio {
  value: number;
  numerator: number;
  denominator: number;
}

export interface Evaluation {
  faults: FaultOutcome[];
  machines: MachineFalseAlerts[];
  window: { tp: number; fp: number; fn: number; tn: number; ignored: number; precision: Ratio; recall: Ratio };
  event: { precision: Ratio; recall: Ratio; episodes: number };
  scoredMachineDays: number;
  falseEpisodesPerMachineDay: number;
  falseWindowsPerMachineDay: number;
}

const DAY_MS = 86_400_000;

const ratio = (numerator: number, denominator: number): Ratio => ({
  value: denominator > 0 ? numerator / denominator : Number.NaN,
  numerator,
  denominator,
});

const overlaps = (start: number, end: number, from: number, to: number) => start < to && end > from;

export function evaluate(
  truth: readonly FaultPlan[],
  scores: readonly ScoredWindow[],
  options: EvaluationOptions = {},
): Evaluation {
  const gap = options.episodeGapMs ?? 0;
  const byMachine = new Map<string, ScoredWindow[]>();
  for (const row of scores) {
    const list = byMachine.get(row.machine) ?? [];
    list.push(row);
    byMachine.set(row.machine, list);
  }
  for (const list of byMachine.values()) list.sort((a, b) => a.start - b.start);
  const faultsOf = (machine: string) => truth.filter((f) => f.machine === machine);
  const alerts = scores.some((r) => r.alert !== undefined);
  const episodesOf = (rows: readonly ScoredWindow[]) => (alerts ? alertEpisodes(rows) : mergeEpisodes(rows.filter((r) => r.anomaly), gap));

  const faults = truth.map((f): FaultOutcome => {
    const rows = byMachine.get(f.machine) ?? [];
    const span = scoredSpan(rows);
    const scored = span !== undefined && overlaps(span.start, span.end, f.onset, f.failure);
    // An alert counts for a fault when it was raised during it: one already open at onset (a false alert
    // that never resolved) did not see the fault coming.
    const hit = alerts
      ? alertEpisodes(rows).find((e) => overlaps(e.start, e.raisedAt, f.onset, f.failure))
      : rows.filter((r) => r.anomaly && overlaps(r.start, r.end, f.onset, f.failure)).map((r) => ({ raisedAt: r.end }))[0];
    const outcome: FaultOutcome = {
      machine: f.machine,
      fault: f.fault,
      onset: f.onset,
      failure: f.failure,
      scored,
      detected: scored && hit !== undefined,
    };
    if (scored && hit) {
      outcome.detectedAt = hit.raisedAt;
      outcome.leadTimeMs = f.failure - hit.raisedAt;
    }
    return outcome;
  });

  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let ignored = 0;
  let episodes = 0;
  let trueEpisodes = 0;
  const machines: MachineFalseAlerts[] = [];
  for (const [machine, rows] of [...byMachine].sort(([a], [b]) => a.localeCompare(b))) {
    const plans = faultsOf(machine);
    const positive = (r: ScoredWindow) => plans.some((f) => overlaps(r.start, r.end, f.onset, f.failure));
    const excluded = (start: number, end: number) => plans.some((f) => overlaps(start, end, f.onset, f.recovered));
    let falseWindows = 0;
    for (const r of rows) {
      if (positive(r)) {
        if (r.anomaly) tp++;
        else fn++;
      } else if (excluded(r.start, r.end)) ignored++;
      else if (r.anomaly) {
        fp++;
        falseWindows++;
      } else tn++;
    }
    let falseEpisodes = 0;
    for (const e of episodesOf(rows)) {
      episodes++;
      if (excluded(e.start, e.end)) trueEpisodes++;
      else falseEpisodes++;
    }
    const span = scoredSpan(rows);
    machines.push({ machine, scoredDays: span ? (span.end - span.start) / DAY_MS : 0, falseWindows, falseEpisodes });
  }

  const scoredFaults = faults.filter((f) => f.scored);
  const machineDays = machines.reduce((sum, m) => sum + m.scoredDays, 0);
  const perDay = (n: number) => (machineDays > 0 ? n / machineDays : Number.NaN);
  return {
    faults,
    machines,
    window: { tp, fp, fn, tn, ignored, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) },
    event: {
      precision: ratio(trueEpisodes, episodes),
      recall: ratio(scoredFaults.filter((f) => f.detected).length, scoredFaults.length),
      episodes,
    },
    scoredMachineDays: machineDays,
    falseEpisodesPerMachineDay: perDay(machines.reduce((s, m) => s + m.falseEpisodes, 0)),
    falseWindowsPerMachineDay: perDay(machines.reduce((s, m) => s + m.falseWindows, 0)),
  };
}

/** First window_start … last window_end of rows sorted by window_start. */
function scoredSpan(rows: readonly ScoredWindow[]): { start: number; end: number } | undefined {
  const first = rows[0];
  if (!first) return undefined;
  return { start: first.start, end: rows.reduce((end, r) => Math.max(end, r.end), first.end) };
}

/** An alert episode [start, end) and when it was raised (the window_end of its first window, which starts at `start`). */
export interface Episode {
  start: number;
  end: number;
  raisedAt: number;
}

/** Sorted anomalous windows → episodes. */
export function mergeEpisodes(anomalous: readonly ScoredWindow[], gapMs: number): Episode[] {
  const out: Episode[] = [];
  for (const r of anomalous) {
    const last = out.at(-1);
    if (last && r.start <= last.end + gapMs) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end, raisedAt: r.end });
  }
  return out;
}

/** A machine's sorted windows → its alert episodes, from each `open` to the window that resolved it. */
export function alertEpisodes(rows: readonly ScoredWindow[]): Episode[] {
  const out: Episode[] = [];
  let open: Episode | undefined;
  for (const r of rows) {
    if (r.alert === 'open' && open === undefined) out.push((open = { start: r.start, end: r.end, raisedAt: r.end }));
    if (open !== undefined) open.end = r.end;
    if (r.alert === 'resolved') open = undefined;
  }
  return out;
}
