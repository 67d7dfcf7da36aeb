// Unary Pull: leases up to max_messages to a one-shot consumer; with nothing deliverable it waits (real
// time, bounded by pullWaitMs) for a publish instead of making the client spin.
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { Consumer } from '../delivery.js';
import { invalidArgument } from '../errors.js';
import type { QueueEntry } from '../state/message-queue.js';
import type { Subscription } from '../state/subscription.js';
import type { HandlerContext } from './context.js';
import { toReceivedMessage } from './received.js';
import type { WireReceivedMessage } from './wire.js';

interface PullRequest {
  subscription: string;
  maxMessages: number;
  returnImmediately: boolean;
}

export async function pull(ctx: HandlerContext, req: PullRequest, call: ServerUnaryCall<PullRequest, unknown>): Promise<{ receivedMessages: WireReceivedMessage[] }> {
  const sub = ctx.broker.subscription(req.subscription);
  if (!Number.isInteger(req.maxMessages) || req.maxMessages <= 0) throw invalidArgument(`max_messages must be a positive integer, got ${req.maxMessages}.`);
  const received = await new Promise<WireReceivedMessage[]>((resolve) => {
    let done = false;
    const finish = (messages: WireReceivedMessage[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      detach();
      resolve(messages);
    };
    const consumer: Consumer = {
      ackDeadlineMs: sub.config.ackDeadlineSeconds * 1000,
      room: () => ({ messages: done ? 0 : req.maxMessages, bytes: Number.POSITIVE_INFINITY }),
      send: (s: Subscription, entries: QueueEntry[]) => finish(entries.map((e) => toReceivedMessage(s, e))),
      leaseEnded: () => {},
    };
    const detach = ctx.scheduler.attach(sub, consumer);
    const timer = setTimeout(() => finish([]), req.returnImmediately ? 0 : ctx.pullWaitMs);
    call.once('cancelled', () => finish([]));
  });
  return { receivedMessages: received };
}
