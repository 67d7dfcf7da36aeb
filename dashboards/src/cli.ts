// `pdm dashboards`: writes the Grafana dashboards and provisioning files. Returns the exit code: 0 when
// written, 2 for a bad flag, 1 when the files could not be written.
import { parseArgs } from 'node:util';
import { BUILD_DEFAULTS, buildDashboards } from './build.js';

export interface DashboardsCliIo {
  out(line: string): void;
  err(line: string): void;
  /** Part of every `pdm` command's io; this command finishes on its own and never waits. */
  waitForStop(): Promise<NodeJS.Signals>;
}

export const DASHBOARDS_USAGE = `pdm dashboards --out DIR [--influx-url URL] [--dashboards-path PATH]

Writes the Grafana dashboards (fleet overview, machine detail, pipeline health) and provisioning files:
  DIR/dashboards/*.json
  DIR/provisioning/datasources/pdm-influxdb.yaml   InfluxDB 1.x datasource (InfluxQL, database pdm)
  DIR/provisioning/dashboards/pdm.yaml             dashboard provider pointing at DIR/dashboards
Point Grafana's [paths] provisioning at DIR/provisioning (see dashboards/README.md).

Options:
  --out DIR                where to write (created if missing)
  --influx-url URL         InfluxDB as Grafana's server reaches it (default ${BUILD_DEFAULTS.influxUrl})
  --dashboards-path PATH   the dashboards folder as Grafana sees it, if not DIR/dashboards (e.g. in a container)
  -h, --help               show this help`;

function validUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : `--influx-url must be http(s), got ${url.protocol}`;
  } catch {
    return `--influx-url is not a URL: ${JSON.stringify(value)}`;
  }
}

export async function runDashboardsCli(argv: string[], io: DashboardsCliIo): Promise<number> {
  let values: { out?: string; 'influx-url'?: string; 'dashboards-path'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, 'influx-url': { type: 'string' }, 'dashboards-path': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.err(`pdm dashboards: ${(error as Error).message}\n\n${DASHBOARDS_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(DASHBOARDS_USAGE);
    return 0;
  }
  const problem = !values.out ? '--out DIR is required' : values['influx-url'] !== undefined ? validUrl(values['influx-url']) : undefined;
  if (problem || !values.out) {
    io.err(`pdm dashboards: ${problem}\n\n${DASHBOARDS_USAGE}`);
    return 2;
  }
  try {
    const files = await buildDashboards(values.out, { influxUrl: values['influx-url'], dashboardsPath: values['dashboards-path'] });
    for (const file of [...files.dashboards, files.datasource, files.provider]) io.out(`wrote ${file}`);
    return 0;
  } catch (error) {
    io.err(`pdm dashboards: could not write to ${values.out}: ${(error as Error).message}`);
    return 1;
  }
}
