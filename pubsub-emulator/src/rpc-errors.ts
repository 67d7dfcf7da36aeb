// Counts every RPC the emulator answered with an error, by method and status, and logs it: a client
// sending bad input costs a counter and a log line, never the server.
import type { Logger } from 'pino';
import { status } from '@grpc/grpc-js';
import { RpcError, statusName } from './errors.js';

// Codes a healthy client produces in normal operation (exists() checks, create-if-missing races).
const ROUTINE = new Set<number>([status.NOT_FOUND, status.ALREADY_EXISTS, status.CANCELLED]);

export class RpcErrorCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  record(method: string, error: unknown): void {
    const code = error instanceof RpcError ? error.code : status.INTERNAL;
    const key = `${method} ${statusName(code)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const message = error instanceof Error ? error.message : String(error);
    if (ROUTINE.has(code)) this.log.debug({ method, code: statusName(code) }, message);
    else if (code === status.INTERNAL) this.log.error({ method, err: error }, 'handler failed');
    else this.log.warn({ method, code: statusName(code) }, message);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
