// Plain-text tables of a protocol's results, per file and in total, with the baselines measured on
// the same rows: what `pdm evaluate --protocol …` and `pdm benchmark` print.
import { NAB_PROFILES, NAB_PROFILE_NAMES, nabCorpusScore } from './nab.js';
import type { NabFileResult } from './evaluate.js';
import { type Confusion, type SkabFileResult, skabBaselines, skabMetrics, sumSkab } from './skab.js';

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const count = (n: number) => n.toLocaleString('en-US');
const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const percent = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const signed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

export interface FileOutcome<R> {
  file: string;
  result: R;
  /** Why the figures of this file are what they are, when it is not the detector's doing (e.g. training failed). */
  note?: string;
}

/** A recording left out of the figures because its content was refused (a malformed row, rows out of order). */
export interface SkippedFile {
  file: string;
  reason: string;
}

function notes(files: readonly FileOutcome<unknown>[], skipped: readonly SkippedFile[]): string[] {
  const why = [...files.filter((f) => f.note).map((f) => `  ${f.file}: ${f.note}`), ...skipped.map((f) => `  ${f.file}: skipped, ${f.reason}`)];
  return why.length > 0 ? ['notes:', ...why] : [];
}

/** "2 files" and, when some were skipped, ", 1 skipped (see notes)": the totals say what they leave out. */
function filesCounted(files: readonly unknown[], skipped: readonly SkippedFile[]): string {
  const counted = `${files.length} file${files.length === 1 ? '' : 's'}`;
  return skipped.length === 0 ? counted : `${counted}, ${skipped.length} skipped (see notes)`;
}

export function renderSkab(files: readonly FileOutcome<SkabFileResult>[], skipped: readonly SkippedFile[] = []): string[] {
  const total = sumSkab(files.map((f) => f.result));
  const { never, always } = skabBaselines(total);
  const row = (name: string, c: Confusion, extra: { rows?: number; anomalous?: number; undecided?: number }) => {
    const m = skabMetrics(c);
    const cell = (n: number | undefined) => (n === undefined ? '' : count(n));
    return [name, cell(extra.rows), cell(extra.anomalous), count(c.tp), count(c.fp), count(c.fn), count(c.tn), cell(extra.undecided), ratio(m.f1), percent(m.far), percent(m.mar)];
  };
  const lines = renderTable(
    ['file', 'test rows', 'labelled', 'TP', 'FP', 'FN', 'TN', 'no decision', 'F1', 'FAR', 'MAR'],
    [
      ...files.map((f) => row(f.file, f.result, f.result)),
      row('total', total, total),
      row('null (never anomalous)', never, {}),
      row('always anomalous', always, {}),
    ],
  );
  const metrics = skabMetrics(total);
  lines.push('', `total over ${filesCounted(files, skipped)}: F1 ${ratio(metrics.f1)} · FAR ${percent(metrics.far)} · MAR ${percent(metrics.mar)}`);
  if (total.undecided > 0) lines.push(`rows without a decision: ${count(total.undecided)} of ${count(total.rows)} test rows lie in no scored window and count as normal`);
  lines.push(...notes(files, skipped));
  return lines;
}

export function renderNab(files: readonly FileOutcome<NabFileResult>[], skipped: readonly SkippedFile[] = []): string[] {
  const lines = renderTable(
    ['file', 'rows', 'probation', 'windows', 'detected', 'FP rows', 'no decision', 'standard', 'low FP', 'low FN', 'std normalised'],
    files.map(({ file, result }) => {
      const standard = nabCorpusScore([result.scores.standard], NAB_PROFILES.standard);
      return [
        file,
        count(result.rows),
        count(result.probationRows),
        count(result.scores.standard.windows),
        count(result.scores.standard.detectedWindows),
        count(result.scores.standard.fp),
        count(result.undecided),
        signed(result.scores.standard.score, 3),
        signed(result.scores.reward_low_FP_rate.score, 3),
        signed(result.scores.reward_low_FN_rate.score, 3),
        signed(standard.normalised, 1),
      ];
    }),
  );
  const windows = files.reduce((sum, f) => sum + f.result.scores.standard.labelledWindows, 0);
  const inProbation = windows - files.reduce((sum, f) => sum + f.result.scores.standard.windows, 0);
  // A window wholly in probation counts in S_perfect (NAB's runner) but not in S_null (its sweeper).
  const hidden = inProbation > 0 ? `, ${inProbation} of them wholly in probation` : '';
  lines.push(
    '',
    `NAB score over ${filesCounted(files, skipped)} (${windows} window${windows === 1 ? '' : 's'}${hidden}): 100 · (S − S_null) / (S_perfect − S_null); the null detector (never detects) scores 0, a perfect one 100`,
    ...renderTable(
      ['profile', 'S', 'S_null', 'S_perfect', 'normalised'],
      NAB_PROFILE_NAMES.map((name) => {
        const corpus = nabCorpusScore(files.map((f) => f.result.scores[name]), NAB_PROFILES[name]);
        return [name, signed(corpus.score, 3), signed(corpus.nullScore, 3), signed(corpus.perfectScore, 3), signed(corpus.normalised, 1)];
      }),
    ),
  );
  const undecided = files.reduce((sum, f) => sum + f.result.undecided, 0);
  const scored = files.reduce((sum, f) => sum + f.result.rows - f.result.probationRows, 0);
  if (undecided > 0) lines.push(`rows without a decision: ${count(undecided)} of ${count(scored)} scored rows lie in no scored window and count as no detection`);
  const openings = files.filter((f) => f.result.decidedBy === 'alert openings').length;
  lines.push(
    openings === files.length
      ? 'detections: the windows that opened an alert (the alerts beside each scores.csv)'
      : `detections: the windows that opened an alert in ${openings} file${openings === 1 ? '' : 's'}; every anomalous window in ${files.length - openings} whose scores come without alerts`,
  );
  lines.push(...notes(files, skipped));
  return lines;
}
