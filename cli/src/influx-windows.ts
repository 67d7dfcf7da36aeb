// Rebuilds MachineWindows from the `sensor_features` measurement the processor writes, for
// `pdm train --from-influx`: one window per timestamp, one SensorStats per sensor series.
import { CloseReason, MachineWindowSchema, SENSOR_STAT_FIELDS, create, type MachineWindow } from '@pdm/proto';

interface Series {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}


const text = (value: unknown) => (typeof value === 'string' ? value : '');

export async function windowsFromInflux(url: string, database: string, machine: string, start: string, end: string): Promise<MachineWindow[]> {
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const q = `SELECT * FROM sensor_features WHERE machine = ${quote(machine)} AND time >= ${quote(start)} AND time < ${quote(end)} GROUP BY sensor`;
  const response = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q, db: database, epoch: 'ms' }) });
  const json = (await response.json()) as { results?: Array<{ series?: Series[]; error?: string }>; error?: string };
  const error = json.error ?? json.results?.[0]?.error;
  if (!response.ok || error) throw new Error(`InfluxDB at ${url} refused the query: ${error ?? response.statusText}`);

  const byTime = new Map<number, MachineWindow>();
  for (const series of json.results?.[0]?.series ?? []) {
    const column = (name: string) => series.columns.indexOf(name);
    for (const row of series.values) {
      const time = Number(row[column('time')]);
      const windowMs = Number(row[column('window_ms')]);
      let window = byTime.get(time);
      if (!window) {
        window = create(MachineWindowSchema, {
          machineId: machine,
          siteId: text(row[column('site')]),
          gatewayId: text(row[column('gateway')]),
          windowStart: BigInt(time),
          windowEnd: BigInt(time + windowMs),
          featureVersion: Number(row[column('feature_version')] ?? 0),
          revision: Number(row[column('revision')] ?? 0),
          closeReason: CloseReason.WATERMARK,
        });
        byTime.set(time, window);
      }
      const stats: Record<string, number | string> = { sensorId: series.tags?.sensor ?? '' };
      for (const [field, key] of Object.entries(SENSOR_STAT_FIELDS)) {
        const value = row[column(field)];
        if (typeof value === 'number') stats[key] = value;
      }
      window.sensors.push(stats as unknown as MachineWindow['sensors'][number]);
    }
  }
  return [...byTime.values()].sort((a, b) => Number(a.windowStart - b.windowStart));
}
