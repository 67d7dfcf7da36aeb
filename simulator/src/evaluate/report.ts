// Renders an Evaluation as a readable table for the terminal, or as JSON with ISO times.
import { formatInstant } from '../time/parse.js';
import type { Evaluation, Ratio } from './evaluate.js';

export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.round(Math.abs(ms) / 60_000);
  const days = Math.floor(rest / 1440);
  rest -= days * 1440;
  const hours = Math.floor(rest / 60);
  const minutes = rest - hours * 60;
  if (days > 0) return `${sign}${days}d ${hours}h ${minutes}m`;
  if (hours > 0) return `${sign}${hours}h ${minutes}m`;
  return `${sign}${minutes}m`;
}

const pct = (r: Ratio) => (Number.isNaN(r.value) ? 'n/a' : `${(100 * r.value).toFixed(1)}%`);

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

export function renderEvaluation(e: Evaluation): string[] {
  const faultRows = [
    ['machine', 'fault', 'onset', 'failure', 'result', 'lead time'],
    ...e.faults.map((f) => [
      f.machine,
      f.fault,
      formatInstant(f.onset),
      formatInstant(f.failure),
      !f.scored ? 'not scored' : f.detected ? 'detected' : 'MISSED',
      f.leadTimeMs === undefined ? '' : formatDuration(f.leadTimeMs),
    ]),
  ];
  const w = e.window;
  const lines = [
    'Faults',
    ...table(faultRows).map((l) => `  ${l}`),
    '',
    `Window level  precision ${pct(w.precision)} (TP ${w.tp}, FP ${w.fp})  recall ${pct(w.recall)} (FN ${w.fn})  TN ${w.tn}, ignored ${w.ignored}`,
    `Event level   recall ${pct(e.event.recall)} (${e.event.recall.numerator}/${e.event.recall.denominator} faults)  precision ${pct(e.event.precision)} (${e.event.precision.numerator}/${e.event.precision.denominator} alert episodes)`,
    `False alerts  ${fixed(e.falseEpisodesPerMachineDay)} episodes and ${fixed(e.falseWindowsPerMachineDay)} windows per machine-day over ${e.scoredMachineDays.toFixed(2)} machine-days`,
  ];
  const noisy = e.machines.filter((m) => m.falseEpisodes > 0);
  if (noisy.length > 0) {
    lines.push('', 'False alerts per machine');
    const rows = [
      ['machine', 'episodes', 'windows', 'per day'],
      ...noisy.map((m) => [
        m.machine,
        String(m.falseEpisodes),
        String(m.falseWindows),
        m.scoredDays > 0 ? (m.falseEpisodes / m.scoredDays).toFixed(2) : 'n/a',
      ]),
    ];
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  return lines;
}

const fixed = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

/** JSON form: times as ISO strings, ratios with their counts. NaN (undefined ratio) becomes null. */
export function evaluationJson(e: Evaluation): unknown {
  return {
    ...e,
    faults: e.faults.map((f) => ({
      ...f,
      onset: formatInstant(f.onset),
      failure: formatInstant(f.failure),
      ...(f.detectedAt === undefined ? {} : { detectedAt: formatInstant(f.detectedAt) }),
    })),
  };
}
