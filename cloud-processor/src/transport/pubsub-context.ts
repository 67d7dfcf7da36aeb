// The RPC context handed to @EventPattern handlers: the raw Pub/Sub message, for handlers that need its
// attributes, id or delivery attempt (`@Ctx() ctx: PubSubContext`).
import type { Message } from '@google-cloud/pubsub';
import { BaseRpcContext } from '@nestjs/microservices';

export class PubSubContext extends BaseRpcContext<[Message]> {
  getMessage(): Message {
    return this.args[0];
  }

  getAttributes(): Record<string, string> {
    return this.args[0].attributes;
  }
}
