// `pdm models compare`: what a candidate model version would have done beside the serving one, from
// the scores both wrote to InfluxDB — a shadow version's in `anomaly_shadow`, a serving one's (also a
// candidate serving a rollout subset) in `anomaly`; each side's points are those of its model tag and
// model_version field, from whichever measurement holds them. Reports the windows each scored and both
// scored (same site, machine and window start), how often they agree on is_anomaly, the alert episodes
// each would have opened under its model's alert rule (the processor's AlertTracker, replayed) and
// which of them the other missed, the maintenance team's labels on those episodes (the labels of the
// stored episodes they overlap: pdm alerts label) and how far the scores moved (median score/threshold).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALERT_DEFAULTS, AlertTracker, type AlertRule, type WindowScore } from '@pdm/cloud-processor';
import { AlertWorkflow, INFLUX_SINK_DEFAULTS, InfluxSink, influxString, type AlertLabel, type Episode } from '@pdm/cloud-processor/alert-workflow';
import { contractFileSchema, MODEL_FILES } from '@pdm/cloud-processor/model-lifecycle';
import type { Clock } from '@pdm/clock';
import { precisionBy, type PrecisionRow } from './labelled-precision.js';

/** Where each side's scores are: a serving version writes `anomaly`, a shadow version `anomaly_shadow`. */
const SCORE_MEASUREMENTS = ['anomaly', 'anomaly_shadow'] as const;
const FROM = SCORE_MEASUREMENTS.map((m) => `"${m}"`).join(', ');

/** A request the stored scores cannot answer: no points of the model or version asked for. */
export class ComparisonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComparisonError';
  }
}

export interface ModelRef {
  name: string;
  version: string;
}

export interface ComparisonRequest {
  serving: ModelRef;
  candidate: ModelRef;
  /** Epoch ms: windows starting after it. */
  since: number;
  /** Keeps only the machines (site/machine's machine id) it accepts; all when absent. */
  machines?: (machineId: string) => boolean;
  /** The model registry, for each version's alert rule and window length (contract.json). */
  registryDir: string;
}

/** One episode a side's alert rule would have opened. */
export interface ComparedEpisode {
  siteId: string;
  machineId: string;
  /** The alert id the processor would give it: machine-openedAt. */
  alertId: string;
  openedAt: number;
  /** Absent: still open at the side's last window of the machine. */
  resolvedAt?: number;
  /** The label of a stored episode it overlaps (pdm alerts label), if any. */
  label?: AlertLabel;
  /** missed: the other side scored the machine meanwhile and opened no overlapping episode; not_scored: it did not score the machine meanwhile. */
  other: 'also' | 'missed' | 'not_scored';
}

export interface SideReport {
  model: string;
  version: string;
  /** The measurements its points came from. */
  measurements: string[];
  rule: AlertRule;
  /** Where the rule came from: the version's contract.json, or the processor's default without one. */
  ruleSource: string;
  windows: number;
  anomalous: number;
  machines: number;
  episodes: ComparedEpisode[];
  /** Its episodes by label (key: the side), precision = fault / (fault + false_alarm). */
  labels: PrecisionRow;
  /** Stored episodes labelled fault in the period, on machines this side scored, that no episode of this side overlaps. */
  labelledFaultsMissed: number;
  /** Median of score / threshold over the windows both scored; null without any. */
  medianScoreRatio: number | null;
}

export interface Comparison {
  since: number;
  serving: SideReport;
  candidate: SideReport;
  common: {
    windows: number;
    /** Share of the common windows where both said the same on is_anomaly; null without any. */
    agreement: number | null;
    bothAnomalous: number;
    servingOnly: number;
    candidateOnly: number;
    bothNormal: number;
    /** candidate − serving median score/threshold over the common windows; null without any. */
    medianRatioDifference: number | null;
  };
}

interface ScoredWindow {
  siteId: string;
  machineId: string;
  windowStart: number;
  score: number;
  threshold: number;
  isAnomaly: boolean;
}

const machineKey = (w: { siteId: string; machineId: string }) => `${w.siteId}/${w.machineId}`;
const windowKey = (w: ScoredWindow) => `${machineKey(w)}@${w.windowStart}`;
const iso = (ms: number) => new Date(ms).toISOString();

export async function compareModels(influx: { url: string; database: string }, request: ComparisonRequest, clock: Clock): Promise<Comparison> {
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, ...influx });
  const [serving, candidate, stored] = await Promise.all([
    scoresOf(sink, request.serving, request),
    scoresOf(sink, request.candidate, request),
    new AlertWorkflow(sink, clock).list(request.since),
  ]);
  const [servingContract, candidateContract] = await Promise.all([contractOf(request.registryDir, request.serving), contractOf(request.registryDir, request.candidate)]);

  const servingByKey = new Map(serving.windows.map((w) => [windowKey(w), w]));
  const pairs = candidate.windows.flatMap((c) => {
    const s = servingByKey.get(windowKey(c));
    return s ? [{ s, c }] : [];
  });
  const counts = { bothAnomalous: 0, servingOnly: 0, candidateOnly: 0, bothNormal: 0 };
  for (const { s, c } of pairs) counts[s.isAnomaly ? (c.isAnomaly ? 'bothAnomalous' : 'servingOnly') : c.isAnomaly ? 'candidateOnly' : 'bothNormal']++;
  const servingRatio = median(pairs.map(({ s }) => s.score / s.threshold));
  const candidateRatio = median(pairs.map(({ c }) => c.score / c.threshold));

  const storedEpisodes = stored.episodes.filter((e) => (request.machines?.(e.machineId) ?? true) && e.openedAt > request.since);
  const servingEpisodes = episodesOf(serving.windows, request.serving, servingContract, clock.now());
  const candidateEpisodes = episodesOf(candidate.windows, request.candidate, candidateContract, clock.now());
  const side = (own: typeof serving, ownEpisodes: Span[], other: typeof serving, otherEpisodes: Span[], contract: Contract, ratio: number | null, ref: ModelRef): SideReport => {
    const episodes = ownEpisodes.map((e) => compared(e, otherEpisodes, other.windows, storedEpisodes, clock.now()));
    const scored = new Set(own.windows.map(machineKey));
    const faults = storedEpisodes.filter((e) => e.label?.label === 'fault' && scored.has(machineKey(e)));
    return {
      model: ref.name,
      version: ref.version,
      measurements: own.measurements,
      rule: contract.rule,
      ruleSource: contract.source,
      windows: own.windows.length,
      anomalous: own.windows.filter((w) => w.isAnomaly).length,
      machines: scored.size,
      episodes,
      labels: labelCounts(episodes, `${ref.name}@${ref.version}`),
      labelledFaultsMissed: faults.filter((f) => !ownEpisodes.some((e) => overlaps(e, spanOfStored(f, clock.now())))).length,
      medianScoreRatio: ratio,
    };
  };
  return {
    since: request.since,
    serving: side(serving, servingEpisodes, candidate, candidateEpisodes, servingContract, servingRatio, request.serving),
    candidate: side(candidate, candidateEpisodes, serving, servingEpisodes, candidateContract, candidateRatio, request.candidate),
    common: {
      windows: pairs.length,
      agreement: pairs.length === 0 ? null : (counts.bothAnomalous + counts.bothNormal) / pairs.length,
      ...counts,
      medianRatioDifference: servingRatio === null || candidateRatio === null ? null : candidateRatio - servingRatio,
    },
  };
}

/** A side's windows, oldest first, and the measurements they came from; refuses a model or version with none. */
async function scoresOf(sink: InfluxSink, ref: ModelRef, request: ComparisonRequest): Promise<{ windows: ScoredWindow[]; measurements: string[] }> {
  const model = `"model" = ${influxString(ref.name)}`;
  const after = `time > ${request.since}ms`;
  const series = await sink.query(
    `SELECT "score", "threshold", "is_anomaly" FROM ${FROM} WHERE ${model} AND "model_version" = ${influxString(ref.version)} AND ${after} GROUP BY "site", "machine"`,
  );
  // A window in both measurements (a version moving between shadow and serving) counts once.
  const windows = new Map<string, ScoredWindow>();
  const measurements = new Set<string>();
  for (const s of series) {
    const machineId = s.tags?.machine ?? '';
    if (!(request.machines?.(machineId) ?? true)) continue;
    const column = (name: string) => s.columns.indexOf(name);
    for (const row of s.values) {
      const w: ScoredWindow = {
        siteId: s.tags?.site ?? '',
        machineId,
        windowStart: Number(row[column('time')]),
        score: Number(row[column('score')]),
        threshold: Number(row[column('threshold')]),
        isAnomaly: row[column('is_anomaly')] === true,
      };
      measurements.add(s.name);
      if (!windows.has(windowKey(w))) windows.set(windowKey(w), w);
    }
  }
  if (windows.size === 0) throw new ComparisonError(await noScoresMessage(sink, ref, request));
  return { windows: [...windows.values()].sort((a, b) => a.windowStart - b.windowStart), measurements: [...measurements].sort() };
}

/** Says whether the model or only the version is unknown in the period, and what there is instead. */
async function noScoresMessage(sink: InfluxSink, ref: ModelRef, request: ComparisonRequest): Promise<string> {
  const period = `since ${iso(request.since)}${request.machines ? ' on the machines asked for' : ''}`;
  const distinct = async (statement: string) => {
    const values = (await sink.query(statement)).flatMap((s) => s.values.map((row) => String(row[1])));
    return [...new Set(values)].sort();
  };
  const versions = await distinct(`SELECT distinct("model_version") FROM ${FROM} WHERE "model" = ${influxString(ref.name)} AND time > ${request.since}ms`);
  if (versions.length > 0) return `model ${ref.name} has no scores of version ${ref.version} ${period} in ${SCORE_MEASUREMENTS.join(' or ')} (versions scored: ${versions.join(', ')})`;
  const models = await distinct(`SHOW TAG VALUES FROM ${FROM} WITH KEY = "model"`);
  return `no scores of model ${ref.name} ${period} in ${SCORE_MEASUREMENTS.join(' or ')} (models with scores: ${models.length > 0 ? models.join(', ') : 'none'})`;
}

interface Contract {
  rule: AlertRule;
  source: string;
  /** Window length; undefined without a contract.json (then taken from the scores' spacing). */
  windowMs?: number;
}

/** The version's alert rule and window from its contract.json; the processor's default rule without one. */
async function contractOf(registryDir: string, ref: ModelRef): Promise<Contract> {
  const file = join(registryDir, ref.name, ref.version, MODEL_FILES.contract);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { rule: ALERT_DEFAULTS, source: `the processor's default (no ${file})` };
  }
  let parsed;
  try {
    parsed = contractFileSchema.safeParse(JSON.parse(text));
  } catch (error) {
    throw new ComparisonError(`${file}: ${(error as Error).message}`);
  }
  if (!parsed.success) throw new ComparisonError(`${file}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  const { alertRule, windowMs } = parsed.data;
  return { rule: alertRule ?? ALERT_DEFAULTS, source: alertRule ? file : `the processor's default (${file} has no alertRule)`, windowMs };
}

/** An episode with the span it covers: from opening until resolved, or until the side's last window of the machine. */
interface Span extends Omit<ComparedEpisode, 'other' | 'label'> {
  end: number;
}

/** Replays the side's windows, machine by machine, through the processor's alert rule. */
function episodesOf(windows: ScoredWindow[], ref: ModelRef, contract: Contract, now: number): Span[] {
  const tracker = new AlertTracker(contract.rule);
  const lastEnd = new Map<string, number>();
  const open = new Map<string, Span>();
  const spans: Span[] = [];
  const windowMs = contract.windowMs ?? smallestGap(windows);
  for (const w of windows) {
    const windowEnd = w.windowStart + windowMs;
    lastEnd.set(machineKey(w), windowEnd);
    const score: WindowScore = { ...w, windowEnd, model: ref.name, modelVersion: ref.version, contributions: {} };
    const transition = tracker.observe(score);
    if (transition?.state === 'open') {
      const span: Span = { siteId: w.siteId, machineId: w.machineId, alertId: transition.alertId, openedAt: transition.openedAt, end: now };
      open.set(machineKey(w), span);
      spans.push(span);
    } else if (transition?.state === 'resolved') {
      const span = open.get(machineKey(w))!;
      span.resolvedAt = span.end = windowEnd;
      open.delete(machineKey(w));
    }
  }
  for (const [key, span] of open) span.end = lastEnd.get(key)!;
  return spans;
}

/** Tumbling windows follow each other: the smallest gap between a machine's windows is their length. */
function smallestGap(windows: ScoredWindow[]): number {
  let gap = Number.POSITIVE_INFINITY;
  const previous = new Map<string, number>();
  for (const w of windows) {
    const before = previous.get(machineKey(w));
    if (before !== undefined && w.windowStart > before) gap = Math.min(gap, w.windowStart - before);
    previous.set(machineKey(w), w.windowStart);
  }
  return Number.isFinite(gap) ? gap : 0;
}

const overlaps = (a: { siteId: string; machineId: string; openedAt: number; end: number }, b: { siteId: string; machineId: string; openedAt: number; end: number }) =>
  machineKey(a) === machineKey(b) && a.openedAt <= b.end && b.openedAt <= a.end;

const spanOfStored = (e: Episode, now: number) => ({ siteId: e.siteId, machineId: e.machineId, openedAt: e.openedAt, end: e.resolvedAt ?? now });

function compared(span: Span, otherSpans: Span[], otherWindows: ScoredWindow[], stored: Episode[], now: number): ComparedEpisode {
  const { end, ...episode } = span;
  const label = stored.find((e) => e.label && overlaps(span, spanOfStored(e, now)))?.label?.label;
  const other = otherSpans.some((o) => overlaps(span, o))
    ? 'also'
    : otherWindows.some((w) => machineKey(w) === machineKey(span) && w.windowStart >= span.openedAt && w.windowStart <= end)
      ? 'missed'
      : 'not_scored';
  return { ...episode, ...(label !== undefined && { label }), other };
}

/** The episodes by label, as pdm evaluate --from-influx counts them. */
function labelCounts(episodes: ComparedEpisode[], key: string): PrecisionRow {
  const labelled = episodes.map((e) => ({ ...(e.label !== undefined && { label: { label: e.label } }) }));
  return precisionBy(labelled, () => key)[0] ?? { key, episodes: 0, fault: 0, false_alarm: 0, maintenance: 0, unlabelled: 0, precision: null };
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
