// Runs the gateway as its own process (`node dist/bin.js --config gateway.yaml`): what `pdm gateway`
// runs, also used by tests that kill a gateway process.
import { runGatewayCli } from './cli.js';

const waitForStop = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

process.exitCode = await runGatewayCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  waitForStop,
});
