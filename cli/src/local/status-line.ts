// The live status of `pdm start`: one line every 10 s with what a newcomer wants to see moving.
import { type Clock, every, systemClock } from '@pdm/clock';
import type { RunningProcessor } from '@pdm/cloud-processor';
import type { RunningGateway } from '@pdm/edge-gateway';

interface Sources {
  gateway: RunningGateway;
  processor: RunningProcessor;
  influxUrl: string;
  write: (line: string) => void;
  intervalMs?: number;
  clock?: Clock;
}

async function counterValue(metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
}

async function anomalies(influxUrl: string): Promise<number> {
  const q = 'SELECT COUNT(score) FROM anomaly WHERE is_anomaly = true';
  const response = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q, db: 'pdm' }) });
  const json = (await response.json()) as { results?: Array<{ series?: Array<{ values: unknown[][] }> }> };
  return Number(json.results?.[0]?.series?.[0]?.values[0]?.[1] ?? 0);
}

export function startStatusLine({ gateway, processor, influxUrl, write, intervalMs = 10_000, clock = systemClock }: Sources): { stop(): void } {
  let last = { at: clock.now(), readings: 0, windows: 0 };
  const stop = every(clock, intervalMs, () => {
    void (async () => {
      const readings = await counterValue(gateway.metrics.readings);
      const windows = await counterValue(gateway.metrics.windows);
      const scored = await counterValue(processor.metrics.scoreOutcomes, { outcome: 'scored' });
      const openAlerts = await counterValue(processor.metrics.openAlerts);
      const anomalous = await anomalies(influxUrl).catch(() => NaN);
      const now = clock.now();
      const seconds = (now - last.at) / 1000;
      write(
        `status: ${Math.round((readings - last.readings) / seconds).toLocaleString('en-US')} readings/s · ` +
          `${((windows - last.windows) / seconds).toFixed(1)} windows/s · ${scored} windows scored · ` +
          `${Number.isNaN(anomalous) ? '?' : anomalous} anomalous · ${openAlerts} open alert${openAlerts === 1 ? '' : 's'}`,
      );
      last = { at: now, readings, windows };
    })().catch(() => {});
  });
  return { stop };
}
