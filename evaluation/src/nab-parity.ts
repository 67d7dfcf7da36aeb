// The proof of the NAB scorer: NAB publishes, per detector and file, each row's anomaly_score and
// the row's share of the file's score under each profile (columns S(t)_<profile>), together with the
// detector's threshold per profile (config/thresholds.json). Thresholding anomaly_score there
// (score ≥ threshold is a detection) and scoring with our rules must give each column's sum.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { NAB_PROFILES, NAB_PROFILE_NAMES, type NabProfileName, type NabWindow, scoreNabFile } from './nab.js';
import { parseNabLabels } from './nab-labels.js';
import { RecordingFormatError, readDelimited, readRecording } from './recording.js';

/** Scores further apart than this are a mismatch. */
export const NAB_PARITY_TOLERANCE = 1e-6;

export interface NabParityRow {
  detector: string;
  /** The data file's label key, e.g. realKnownCause/nyc_taxi.csv. */
  file: string;
  profile: NabProfileName;
  threshold: number;
  ours: number;
  published: number;
}

export function parityHolds(row: NabParityRow): boolean {
  return Math.abs(row.ours - row.published) <= NAB_PARITY_TOLERANCE;
}

/** Scores one published results file with our rules next to its own S(t) sums. */
export function nabParityOfFile(
  text: string,
  source: string,
  windows: readonly NabWindow[],
  thresholds: Record<NabProfileName, number>,
): { profile: NabProfileName; threshold: number; ours: number; published: number }[] {
  const table = readDelimited(text, source);
  const column = (name: string) => {
    const index = table.header.indexOf(name);
    if (index < 0) throw new RecordingFormatError(source, 1, `no column "${name}"`);
    return index;
  };
  const scoreIndex = column('anomaly_score');
  const { timestamps } = readRecording(text, source, { timeColumn: 'timestamp' });
  const anomalyScores = table.rows.map(({ cells }) => Number(cells[scoreIndex]));
  return NAB_PROFILE_NAMES.map((profile) => {
    const sumIndex = column(`S(t)_${profile}`);
    const published = table.rows.reduce((sum, { cells }) => sum + Number(cells[sumIndex]), 0);
    const threshold = thresholds[profile];
    const detections = anomalyScores.map((s) => (s >= threshold ? 1 : 0));
    const ours = scoreNabFile(timestamps, detections, windows, NAB_PROFILES[profile]).score;
    return { profile, threshold, ours, published };
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.csv')).map((e) => join(e.parentPath, e.name)).sort();
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/**
 * Runs the proof over a NAB folder (labels/combined_windows.json, config/thresholds.json,
 * config/profiles.json, results/<detector>/<category>/<detector>_<file>.csv): every detector that has
 * both results and thresholds. Also checks that the folder's profiles are the ones we score with.
 */
export async function checkNabParity(nabDir: string, onFile: (row: NabParityRow) => void = () => {}): Promise<NabParityRow[]> {
  const labels = parseNabLabels(await readJson(join(nabDir, 'labels', 'combined_windows.json')));
  const profiles = (await readJson(join(nabDir, 'config', 'profiles.json'))) as Record<string, { CostMatrix?: Record<string, number> }>;
  for (const name of NAB_PROFILE_NAMES) {
    const theirs = profiles[name]?.CostMatrix;
    const ours = NAB_PROFILES[name];
    if (theirs?.tpWeight !== ours.tpWeight || theirs.fpWeight !== ours.fpWeight || theirs.fnWeight !== ours.fnWeight) {
      throw new Error(`config/profiles.json: profile ${name} is ${JSON.stringify(theirs)}, the scorer uses ${JSON.stringify(ours)}`);
    }
  }
  const thresholdsByDetector = (await readJson(join(nabDir, 'config', 'thresholds.json'))) as Record<string, Record<string, { threshold?: number }>>;
  const rows: NabParityRow[] = [];
  for (const [detector, byProfile] of Object.entries(thresholdsByDetector)) {
    const resultsDir = join(nabDir, 'results', detector);
    const files = await filesUnder(resultsDir).catch(() => [] as string[]);
    const thresholds = Object.fromEntries(NAB_PROFILE_NAMES.map((p) => [p, byProfile[p]?.threshold])) as Record<NabProfileName, number>;
    if (files.length === 0 || NAB_PROFILE_NAMES.some((p) => typeof thresholds[p] !== 'number')) continue;
    for (const path of files) {
      const [category, name] = relative(resultsDir, path).split(/[\\/]/);
      const key = `${category}/${name?.replace(`${detector}_`, '')}`;
      const windows = labels.get(key);
      if (!windows) throw new Error(`${path}: no windows for ${key} in labels/combined_windows.json`);
      for (const result of nabParityOfFile(await readFile(path, 'utf8'), path, windows, thresholds)) {
        const row = { detector, file: key, ...result };
        rows.push(row);
        onFile(row);
      }
    }
  }
  return rows;
}
