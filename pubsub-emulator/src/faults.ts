// Error injection for tests of the product's retry paths: make the next N calls of an RPC fail with a
// chosen gRPC status, the way the real service fails under load or during an incident.
import type { status } from '@grpc/grpc-js';
import { RpcError, statusName } from './errors.js';

/** RPC method names as in the proto service, e.g. "Publish", "Acknowledge", "StreamingPull". */
export type RpcMethod = string;

interface PlannedFailure {
  remaining: number;
  code: status;
  message: string;
}

export class FaultInjector {
  private readonly planned = new Map<RpcMethod, PlannedFailure[]>();

  failNext(method: RpcMethod, count: number, code: status, message = `injected ${statusName(code)} fault`): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`failNext: count must be a positive integer, got ${count}`);
    const list = this.planned.get(method) ?? [];
    list.push({ remaining: count, code, message });
    this.planned.set(method, list);
  }

  /** The error the next call of method must fail with, if one is planned (consumes it). */
  take(method: RpcMethod): RpcError | undefined {
    const list = this.planned.get(method);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) list.shift();
    if (list.length === 0) this.planned.delete(method);
    return new RpcError(head.code, head.message);
  }

  clear(): void {
    this.planned.clear();
  }
}
