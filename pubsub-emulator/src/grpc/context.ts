// What every gRPC handler needs, built once per server by start().
import type { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeliveryScheduler } from '../delivery.js';
import type { FaultInjector } from '../faults.js';
import type { Broker } from '../state/broker.js';
import type { RpcErrorCounter } from '../rpc-errors.js';

export interface HandlerContext {
  broker: Broker;
  scheduler: DeliveryScheduler;
  faults: FaultInjector;
  errors: RpcErrorCounter;
  clock: Clock;
  log: Logger;
  /** Open StreamingPull sessions, so a test can drop them and a deleted subscription ends its own. */
  streams: Set<{ readonly subscriptionName: string | undefined; drop(code: status, details: string): void }>;
  pullWaitMs: number;
}
