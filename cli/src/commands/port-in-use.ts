// A start-up failure because a port is taken, told as the flag that moves it: where a system
// mosquitto already listens on 1883, `pdm start` should say "--mqtt-port", not just EADDRINUSE.
import { UsageError } from '../command.js';

/** `error` as a UsageError naming the flag whose port is taken; any other error unchanged. */
export function explainPortInUse(error: unknown, portsByFlag: Record<string, number>): unknown {
  const { code, port } = error as NodeJS.ErrnoException & { port?: number };
  if (code !== 'EADDRINUSE') return error;
  const flag = Object.entries(portsByFlag).find(([, value]) => value === port)?.[0];
  if (!flag) return error;
  return new UsageError(`port ${port} is already in use (another program listens there, e.g. a system mosquitto on 1883): pass --${flag} PORT, or --${flag} 0 for any free port`);
}
