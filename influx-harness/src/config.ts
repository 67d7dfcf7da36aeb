// Renders an influxd 1.x configuration whose state lives in one folder of ours and whose listeners
// bind to loopback only, so a test or local stack never touches a system-wide InfluxDB.
import { join } from 'node:path';

export interface InfluxdConfigInput {
  dataDir: string;
  httpPort: number;
  /** influxd's RPC service (backup/restore) also listens; it needs its own free port. */
  rpcPort: number;
}

const quote = (value: string) => JSON.stringify(value);

export function renderInfluxdConfig({ dataDir, httpPort, rpcPort }: InfluxdConfigInput): string {
  return [
    'reporting-disabled = true',
    `bind-address = ${quote(`127.0.0.1:${rpcPort}`)}`,
    '',
    '[meta]',
    `  dir = ${quote(join(dataDir, 'meta'))}`,
    '',
    '[data]',
    `  dir = ${quote(join(dataDir, 'data'))}`,
    `  wal-dir = ${quote(join(dataDir, 'wal'))}`,
    '  query-log-enabled = false',
    '',
    '[http]',
    '  enabled = true',
    `  bind-address = ${quote(`127.0.0.1:${httpPort}`)}`,
    '  log-enabled = false',
    '',
    // The _internal monitor database would add writes and a database nobody asked for.
    '[monitor]',
    '  store-enabled = false',
    '',
    '[continuous_queries]',
    '  enabled = true',
    '',
  ].join('\n');
}
