// `pdm dashboards`: writes the Grafana dashboards and provisioning files. Returns the exit code: 0 when
// written, 2 for a bad flag, 1 when the files could not be written.
import { parseArgs } from 'node:util';
import { hidePassword } from '@pdm/config';
import { BUILD_DEFAULTS, buildDashboards } from './build.js';

export interface DashboardsCliIo {
  out(line: string): void;
  err(line: string): void;
  /** Part of every `pdm` command's io; this command finishes on its own and never waits. */
  waitForStop(): Promise<NodeJS.Signals>;
}

export const DASHBOARDS_USAGE = `pdm dashboards --out DIR [--influx-url URL] [--database NAME] [--dashboards-path PATH]

Writes the Grafana dashboards (fleet overview, machine detail, pipeline health) and the
provisioning files:
  DIR/dashboards/*.json
  DIR/provisioning/datasources/pdm-influxdb.yaml   InfluxDB 1.x datasource (InfluxQL, --database)
  DIR/provisioning/dashboards/pdm.yaml             dashboard provider pointing at DIR/dashboards
Point Grafana's [paths] provisioning at DIR/provisioning (see dashboards/README.md).

Options:
  --out DIR                where to write (created if missing)
  --influx-url URL         InfluxDB as Grafana's server reaches it (default ${BUILD_DEFAULTS.influxUrl});
                           with authentication on, its user and password, as for the other
                           commands: http://USER:PASSWORD@host:8086. The datasource file holds them
                           (user, secureJsonData.password): keep DIR/provisioning private
  --database NAME          the database the processor writes to (default: ${BUILD_DEFAULTS.database})
  --dashboards-path PATH   the dashboards folder as Grafana sees it, if not DIR/dashboards
                           (e.g. in a container)
  -h, --help               show this help`;

function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `--influx-url is not a URL: ${JSON.stringify(hidePassword(value))}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--influx-url must be http(s), got ${url.protocol}`;
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return '--influx-url: write a % in its user or password as %25';
  }
  return undefined;
}

interface DashboardsFlags {
  out?: string;
  'influx-url'?: string;
  database?: string;
  'dashboards-path'?: string;
  help?: boolean;
}

function flagProblem(values: DashboardsFlags): string | undefined {
  if (!values.out) return '--out DIR is required';
  if (values['influx-url'] !== undefined) {
    const problem = urlProblem(values['influx-url']);
    if (problem) return problem;
  }
  if (values.database === '') return '--database needs a name';
  return undefined;
}

export async function runDashboardsCli(argv: string[], io: DashboardsCliIo): Promise<number> {
  let values: DashboardsFlags;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'influx-url': { type: 'string' },
        database: { type: 'string' },
        'dashboards-path': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
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
  const problem = flagProblem(values);
  if (problem || !values.out) {
    io.err(`pdm dashboards: ${problem}\n\n${DASHBOARDS_USAGE}`);
    return 2;
  }
  try {
    const files = await buildDashboards(values.out, { influxUrl: values['influx-url'], database: values.database, dashboardsPath: values['dashboards-path'] });
    for (const file of [...files.dashboards, files.datasource, files.provider]) io.out(`wrote ${file}`);
    return 0;
  } catch (error) {
    io.err(`pdm dashboards: could not write to ${values.out}: ${(error as Error).message}`);
    return 1;
  }
}
