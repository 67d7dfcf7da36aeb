// Writes the dashboards and the provisioning files into one folder:
//   <out>/dashboards/<uid>.json
//   <out>/provisioning/datasources/pdm-influxdb.yaml
//   <out>/provisioning/dashboards/pdm.yaml
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DASHBOARDS } from './dashboards/index.js';
import { dashboardProviderYaml, datasourceYaml } from './provisioning.js';
import { DEFAULT_DATABASE } from '@pdm/cloud-processor/influx-series';

export const BUILD_DEFAULTS = {
  /** InfluxDB as Grafana's server reaches it: on the same host, where `pdm start` and the other commands' default put it. */
  influxUrl: 'http://127.0.0.1:8086',
  database: DEFAULT_DATABASE,
  /** The gateway's default window is 10 s: a smaller GROUP BY interval only adds empty buckets. */
  minInterval: '10s',
  folder: 'Predictive maintenance',
};

export interface BuildDashboardsOptions {
  /** http(s)://[user:password@]host:port, as Grafana's server reaches InfluxDB. */
  influxUrl?: string;
  /** The database the processor writes to (its `influx.database`). */
  database?: string;
  minInterval?: string;
  folder?: string;
  /**
   * The dashboards folder as Grafana sees it, when that differs from where it is written (a container
   * mount, another host). Default: the absolute path of `<out>/dashboards`.
   */
  dashboardsPath?: string;
}

export interface BuiltFiles {
  dashboards: string[];
  datasource: string;
  provider: string;
}

export async function buildDashboards(outDir: string, options: BuildDashboardsOptions = {}): Promise<BuiltFiles> {
  // Key by key: an option given as undefined (an unset flag) keeps its default instead of erasing it.
  const settings = {
    influxUrl: options.influxUrl ?? BUILD_DEFAULTS.influxUrl,
    database: options.database ?? BUILD_DEFAULTS.database,
    minInterval: options.minInterval ?? BUILD_DEFAULTS.minInterval,
    folder: options.folder ?? BUILD_DEFAULTS.folder,
  };
  const dashboardsDir = resolve(outDir, 'dashboards');
  const datasourcesDir = resolve(outDir, 'provisioning', 'datasources');
  const providersDir = resolve(outDir, 'provisioning', 'dashboards');
  await Promise.all([dashboardsDir, datasourcesDir, providersDir].map((dir) => mkdir(dir, { recursive: true })));

  const dashboards = await Promise.all(
    DASHBOARDS.map(async (spec) => {
      const file = join(dashboardsDir, `${spec.uid}.json`);
      await writeFile(file, `${JSON.stringify(spec.build(), null, 2)}\n`);
      return file;
    }),
  );
  const datasource = join(datasourcesDir, 'pdm-influxdb.yaml');
  await writeFile(datasource, datasourceYaml({ influxUrl: settings.influxUrl, database: settings.database, minInterval: settings.minInterval }));
  const provider = join(providersDir, 'pdm.yaml');
  await writeFile(provider, dashboardProviderYaml({ dashboardsPath: options.dashboardsPath ?? dashboardsDir, folder: settings.folder }));
  return { dashboards, datasource, provider };
}
