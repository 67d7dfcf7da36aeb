// `pdm models compare`: a candidate model version beside the serving one, from the scores both wrote
// to InfluxDB (model-comparison.ts), as a table for people or JSON for scripts. A subcommand of
// `pdm models` (commands/models.ts), which parses its flags and shows its help.
import type { ParseArgsConfig } from 'node:util';
import { systemClock } from '@pdm/clock';
import { parseDuration } from '@pdm/config';
import { type CommandContext, UsageError } from '../command.js';
import { influxUrlFlag } from '../influx-url.js';
import type { Comparison, ModelRef, SideReport } from '../model-comparison.js';

/** The flags of `pdm models compare`, beside `pdm models`' own (--registry). */
const OPTIONS = {
  serving: { type: 'string' },
  candidate: { type: 'string' },
  since: { type: 'string', default: '24h' },
  machines: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  'influx-url': { type: 'string', default: 'http://127.0.0.1:8086' },
  database: { type: 'string', default: 'pdm' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** A subcommand of `pdm models` (its SUBCOMMANDS table parses the flags and calls run). */
export const modelsCompare = {
  synopsis: 'compare --serving NAME@VER --candidate NAME@VER',
  describe:
    'from InfluxDB: windows each and both scored, agreement on is_anomaly, the alert episodes each would have ' +
    'opened under its alert rule and which the other missed, their labels and precision, score drift',
  options: OPTIONS,
  async run(positionals: string[], values: Record<string, unknown>, context: CommandContext): Promise<number> {
    if (positionals.length > 0) throw new UsageError(`pdm models compare takes no argument, got "${positionals[0]}"`);
    const serving = modelRef('serving', values.serving);
    const candidate = modelRef('candidate', values.candidate);
    let sinceMs: number;
    try {
      sinceMs = parseDuration(String(values.since));
    } catch (error) {
      throw new UsageError(`--since: ${(error as Error).message}`);
    }
    const given = (values.machines as string[] | undefined) ?? [];
    const patterns = given.flatMap((v) => v.split(',')).map((p) => p.trim());
    if (patterns.includes('')) throw new UsageError(`--machines needs machine ids or patterns such as pump-*, got "${given.join('", "')}"`);
    // Loaded here, not with `pdm models`: the processor's alert rule comes with TensorFlow, which list and the lifecycle changes do without.
    const [{ machinesPattern }, { ComparisonError, compareModels }] = await Promise.all([import('@pdm/cloud-processor'), import('../model-comparison.js')]);
    const accepted = patterns.length > 0 ? machinesPattern(patterns) : undefined;
    try {
      const comparison = await compareModels(
        { url: influxUrlFlag(String(values['influx-url'])), database: String(values.database) },
        { serving, candidate, since: systemClock.now() - sinceMs, registryDir: String(values.registry), ...(accepted && { machines: (id: string) => accepted.test(id) }) },
        systemClock,
      );
      if (values.json === true) context.out(JSON.stringify(comparison, null, 2));
      else for (const line of renderComparison(comparison)) context.out(line);
      return 0;
    } catch (error) {
      // Scores that are not there (a misspelt model or version) are the user's mistake, told in one line.
      if (!(error instanceof ComparisonError)) throw error;
      context.err(`pdm models compare: ${error.message}`);
      return 1;
    }
  },
};

function modelRef(flag: string, text: unknown): ModelRef {
  if (typeof text !== 'string') throw new UsageError(`--${flag} NAME@VERSION is required`);
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new UsageError(`--${flag}: "${text}" is not NAME@VERSION, e.g. pumps@3`);
  return { name: text.slice(0, at), version: text.slice(at + 1) };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const ratio = (value: number | null) => (value === null ? '-' : value.toFixed(2));
const percent = (value: number | null) => (value === null ? '-' : `${(100 * value).toFixed(1)}%`);
const signed = (value: number | null) => (value === null ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`);
const ruleText = (side: SideReport) => `${side.rule.openAfter} of ${side.rule.within} anomalous opens, ${side.rule.resolveAfter} normal resolve: ${side.ruleSource}`;

/** Two columns, serving and candidate, then the common windows and every episode. */
export function renderComparison(c: Comparison): string[] {
  const { serving: s, candidate: k } = c;
  const missedBy = (side: SideReport) => side.episodes.filter((e) => e.other === 'missed').length;
  const rows: [string, string, string][] = [
    ['', `serving ${s.model}@${s.version}`, `candidate ${k.model}@${k.version}`],
    ['scores from', s.measurements.join(','), k.measurements.join(',')],
    ['machines', String(s.machines), String(k.machines)],
    ['windows scored', String(s.windows), String(k.windows)],
    ['anomalous', String(s.anomalous), String(k.anomalous)],
    ['alert episodes', String(s.labels.episodes), String(k.labels.episodes)],
    ['  the other missed', String(missedBy(s)), String(missedBy(k))],
    ['  fault', String(s.labels.fault), String(k.labels.fault)],
    ['  false_alarm', String(s.labels.false_alarm), String(k.labels.false_alarm)],
    ['  maintenance', String(s.labels.maintenance), String(k.labels.maintenance)],
    ['  unlabelled', String(s.labels.unlabelled), String(k.labels.unlabelled)],
    ['precision', ratio(s.labels.precision), ratio(k.labels.precision)],
    ['labelled faults missed', String(s.labelledFaultsMissed), String(k.labelledFaultsMissed)],
    ['median score/threshold', ratio(s.medianScoreRatio), ratio(k.medianScoreRatio)],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const common = c.common;
  const lines = [
    `windows since ${iso(c.since)}`,
    `alert rule: serving ${ruleText(s)}`,
    `            candidate ${ruleText(k)}`,
    ...rows.map(([label, a, b]) => `${label.padEnd(widths[0]!)}  ${a.padStart(widths[1]!)}  ${b.padStart(widths[2]!)}`),
    `windows scored by both: ${common.windows}; agreement on is_anomaly ${percent(common.agreement)} ` +
      `(both anomalous ${common.bothAnomalous}, serving only ${common.servingOnly}, candidate only ${common.candidateOnly}, both normal ${common.bothNormal})`,
    `score drift: median score/threshold candidate − serving ${signed(common.medianRatioDifference)}`,
  ];
  const episodes = [...s.episodes.map((e) => ({ side: 'serving', ...e })), ...k.episodes.map((e) => ({ side: 'candidate', ...e }))].sort(
    (a, b) => a.openedAt - b.openedAt || a.side.localeCompare(b.side),
  );
  if (episodes.length === 0) return [...lines, 'no alert episode on either side'];
  const other = { also: 'the other too', missed: 'the other missed it', not_scored: 'the other did not score it' } as const;
  lines.push('episodes (side  machine  opened  resolved  label  the other):');
  for (const e of episodes) {
    lines.push(`${e.side.padEnd(9)}  ${e.siteId}/${e.machineId}  ${iso(e.openedAt)}  ${e.resolvedAt === undefined ? 'open' : iso(e.resolvedAt)}  ${e.label ?? '-'}  ${other[e.other]}`);
  }
  return lines;
}
