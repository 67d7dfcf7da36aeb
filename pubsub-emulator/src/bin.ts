// Runs the emulator as its own process (`node dist/bin.js --port 8085`): used by the benchmark, and by
// anyone who wants it without the `pdm` command.
import { runEmulatorCli } from './cli.js';

const waitForStop = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

process.exitCode = await runEmulatorCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  waitForStop,
});
