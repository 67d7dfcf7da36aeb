// The RPC context handed to @EventPattern handlers: the raw Pub/Sub message, for handlers that need its
// attributes, id or delivery attempt (`@Ctx() ctx: PubSubContext`), and its place in its ordering key.
import type { Message } from '@google-cloud/pubsub';
import { BaseRpcContext } from '@nestjs/microservices';
import type { Settlement } from './options.js';

/** A message's place among the messages of its ordering key (ordering-key-sequencer.ts). */
export interface OrderingKeyTurn {
  /** Lets the next message of the key start now; it is still acked or nacked after this one. */
  readonly release: () => void;
  /** Resolves with how this message was settled (acked, nacked or dead-lettered) once it is; undefined when not known. */
  settled: Promise<Settlement | undefined>;
}

const NO_TURN: OrderingKeyTurn = { release: () => undefined, settled: Promise.resolve(undefined) };

export class PubSubContext extends BaseRpcContext<[Message, OrderingKeyTurn?]> {
  getMessage(): Message {
    return this.args[0];
  }

  getAttributes(): Record<string, string> {
    return this.args[0].attributes;
  }

  /**
   * Lets the next message of this one's ordering key be handled before this one is settled: call it
   * once the work of this message is handed on in order (e.g. its windows queued per machine), so the
   * next cannot overtake it. Without the call, the next starts once this one is settled. The next is
   * still settled after this one, and nacked if this one is.
   */
  releaseOrderingKey(): void {
    (this.args[1] ?? NO_TURN).release();
  }

  /**
   * Resolves with how this message was settled once it is acked, nacked or dead-lettered (undefined when
   * not known): a handler that resolved may still be nacked, when a message of its key before it was.
   */
  settled(): Promise<Settlement | undefined> {
    return (this.args[1] ?? NO_TURN).settled;
  }
}
