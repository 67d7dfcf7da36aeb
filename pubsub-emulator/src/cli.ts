// `pdm pubsub-emulator`: runs the emulator until the user stops it. Returns the process exit code;
// bad flags return 2 with a message naming the flag.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { EMULATOR_DEFAULTS } from './defaults.js';
import { start } from './server.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  waitForStop(): Promise<NodeJS.Signals>;
}

export const EMULATOR_USAGE = `pdm pubsub-emulator [--port PORT] [--data-dir DIR] [--admin-port PORT] [--ordering-key-batch N]

Runs a local Google Cloud Pub/Sub emulator speaking the real gRPC API (google.pubsub.v1).
Point the official client at it with PUBSUB_EMULATOR_HOST=127.0.0.1:PORT.

Options:
  --port PORT         gRPC port on 127.0.0.1 (default: ${EMULATOR_DEFAULTS.port}; 0 picks a free one)
  --data-dir DIR      keep topics, subscriptions and unacked messages in DIR across restarts
                      (default: in memory only)
  --admin-port PORT   admin HTTP port for GET /stats and /healthz (default: a free port, printed)
  --ordering-key-batch N
                      hand out up to N messages of one ordering key at once, in one response, as
                      Google's service may (default: ${EMULATOR_DEFAULTS.orderingKeyBatch}, the next only after the previous is acked)
  -h, --help          show this help`;

class UsageError extends Error {}

function portFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`--${flag} must be a port number 0-65535, got "${value}"`);
  return port;
}

function countFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag} must be a whole number of at least 1, got "${value}"`);
  return Number(value);
}

function parse(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'admin-port': { type: 'string' },
        'ordering-key-batch': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values['data-dir'] === '') throw new UsageError('--data-dir must not be empty');
    return {
      help: values.help === true,
      port: portFlag('port', values.port, EMULATOR_DEFAULTS.port),
      adminPort: portFlag('admin-port', values['admin-port'], EMULATOR_DEFAULTS.adminPort),
      dataDir: values['data-dir'],
      orderingKeyBatch: countFlag('ordering-key-batch', values['ordering-key-batch'], EMULATOR_DEFAULTS.orderingKeyBatch),
    };
  } catch (error) {
    // parseArgs errors already name the flag ("Unknown option '--x'", "Option '--port <value>' argument missing").
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export async function runEmulatorCli(argv: string[], io: CliIo): Promise<number> {
  let flags: ReturnType<typeof parse>;
  try {
    flags = parse(argv);
  } catch (error) {
    io.err(`pdm pubsub-emulator: ${(error as Error).message}\n\n${EMULATOR_USAGE}`);
    return 2;
  }
  if (flags.help) {
    io.out(EMULATOR_USAGE);
    return 0;
  }
  // Structured logs go to the error stream so the output stream stays the human-facing summary.
  const logger = pino({ name: 'pubsub-emulator' }, { write: (line: string) => io.err(line.trimEnd()) });
  let emulator;
  try {
    emulator = await start({ port: flags.port, adminPort: flags.adminPort, dataDir: flags.dataDir, orderingKeyBatch: flags.orderingKeyBatch, logger });
  } catch (error) {
    io.err(`pdm pubsub-emulator: could not start on port ${flags.port}: ${(error as Error).message}`);
    return 1;
  }
  // Signals are taken over before it says it listens: a stop sent as soon as that is read must stop it gracefully.
  const stopRequested = io.waitForStop();
  io.out(`Pub/Sub emulator listening on ${emulator.endpoint}`);
  io.out(`  export PUBSUB_EMULATOR_HOST=${emulator.endpoint}`);
  io.out(`  admin: http://${emulator.host}:${emulator.adminPort}/stats  /healthz`);
  io.out(flags.dataDir ? `  state kept in ${flags.dataDir}` : '  state in memory only (use --data-dir to keep it)');
  if (flags.orderingKeyBatch > 1) io.out(`  up to ${flags.orderingKeyBatch} messages of an ordering key handed out at once`);
  const signal = await stopRequested;
  io.out(`${signal}: stopping…`);
  await emulator.stop();
  io.out('stopped cleanly.');
  return 0;
}
