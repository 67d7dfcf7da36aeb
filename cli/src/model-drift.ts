// `pdm models list`'s drift line: the newest `model_drift` point of each model version (the processor's
// DriftReporter writes one per version and processor instance every pipeline report), the worst
// instance's among those still reporting when several processors serve it, as "drift PSI 0.31 on
// vib.rms: above 0.25, retrain".
import { hidePassword } from '@pdm/config';
import { INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import { SERIES } from '@pdm/cloud-processor/influx-series';
import { age } from './age.js';

export const MODEL_DRIFT_LOOKUP = {
  /** Points older than this are not looked at: a version no longer served stops reporting. */
  lookBack: '1d',
  /** A report older than this is shown with its age (the processor reports every 10 s by default). */
  staleAfterMs: 10 * 60_000,
  /** `pdm models list` must not hang on an InfluxDB that does not answer. */
  requestTimeoutMs: 5_000,
} as const;

export interface VersionDrift {
  model: string;
  version: string;
  /** The worst feature's PSI, that feature, and the threshold the processor judged it by. */
  psi: number;
  feature: string;
  threshold: number;
  /** Windows the PSI was counted over. */
  windows: number;
  /** When it was reported (epoch ms). */
  at: number;
}

/** The newest drift of every model version that reported one within the look-back. */
export async function latestModelDrift(influx: { url: string; database: string }): Promise<VersionDrift[]> {
  const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, ...influx, requestTimeoutMs: MODEL_DRIFT_LOOKUP.requestTimeoutMs });
  const fields = SERIES.model_drift.fields.map((f) => `"${f}"`).join(', ');
  const series = await sink.query(
    `SELECT ${fields} FROM "model_drift" WHERE time > now() - ${MODEL_DRIFT_LOOKUP.lookBack} GROUP BY "model", "version", "instance" ORDER BY time DESC LIMIT 1`,
  );
  const newestByVersion = new Map<string, VersionDrift[]>();
  for (const s of series) {
    const row = s.values[0];
    if (row === undefined) continue;
    const cell = (name: string) => row[s.columns.indexOf(name)];
    const drift: VersionDrift = {
      model: s.tags?.model ?? '',
      version: s.tags?.version ?? '',
      psi: Number(cell('psi')),
      feature: String(cell('feature')),
      threshold: Number(cell('threshold')),
      windows: Number(cell('windows')),
      at: Number(cell('time')),
    };
    const key = `${drift.model}@${drift.version}`;
    newestByVersion.set(key, [...(newestByVersion.get(key) ?? []), drift]);
  }
  const worst = [...newestByVersion.values()].map((instances) => {
    // Instances that stopped reporting while others go on (stopped, or scaled down) no longer say how
    // the version does: the worst of those that reported lately.
    const freshest = Math.max(...instances.map((d) => d.at));
    const live = instances.filter((d) => d.at >= freshest - MODEL_DRIFT_LOOKUP.staleAfterMs);
    return live.reduce((a, b) => (b.psi > a.psi ? b : a));
  });
  return worst.sort((a, b) => `${a.model}@${a.version}`.localeCompare(`${b.model}@${b.version}`));
}

/** "drift PSI 0.31 on vib.rms: above 0.25, retrain", with the report's age when it is old. */
export function describeDrift(drift: VersionDrift, now: number): string {
  const verdict = drift.psi > drift.threshold ? `above ${drift.threshold}, retrain` : `below ${drift.threshold}`;
  const stale = now - drift.at > MODEL_DRIFT_LOOKUP.staleAfterMs ? ` (reported ${age(now - drift.at)} ago)` : '';
  return `drift PSI ${drift.psi.toFixed(2)} on ${drift.feature}: ${verdict}${stale}`;
}

/** latestModelDrift for a listing: an InfluxDB that cannot be asked costs the drift lines, not the listing. */
export async function driftForListing(influx: { url: string; database: string }, warn: (line: string) => void): Promise<VersionDrift[]> {
  try {
    return await latestModelDrift(influx);
  } catch (error) {
    warn(`pdm models: drift not shown: InfluxDB at ${hidePassword(influx.url)}: ${(error as Error).message}`);
    return [];
  }
}
