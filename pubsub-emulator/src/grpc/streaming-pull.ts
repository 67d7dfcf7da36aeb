// StreamingPull, the RPC the official client subscribes with: the first request names the subscription,
// the stream's ack deadline and its flow control; later requests may carry acks and deadline changes (the
// Node client sends those as unary calls and only empty keep-alives here). The session is a Consumer of
// the delivery scheduler. Whatever a client sends or however it disconnects, only this stream ends.
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Consumer } from '../delivery.js';
import { invalidArgument, RpcError, toServiceError } from '../errors.js';
import type { QueueEntry } from '../state/message-queue.js';
import type { Subscription } from '../state/subscription.js';
import type { HandlerContext } from './context.js';
import { checkAckDeadlineSeconds, checkAckIds, toReceivedMessage } from './received.js';
import type { WireStreamingPullRequest } from './wire.js';

type Call = ServerDuplexStream<WireStreamingPullRequest, unknown>;

class StreamingPullSession implements Consumer {
  ackDeadlineMs = 0;
  private sub: Subscription | undefined;
  private maxMessages = 0;
  private maxBytes = 0;
  private outstandingMessages = 0;
  private outstandingBytes = 0;
  private writable = true;
  private closed = false;
  private detach: (() => void) | undefined;

  constructor(
    private readonly ctx: HandlerContext,
    private readonly call: Call,
  ) {}

  start(): void {
    this.ctx.streams.add(this);
    this.call.on('data', (req: WireStreamingPullRequest) => this.guard(() => this.onRequest(req)));
    this.call.on('end', () => this.finish({ code: status.OK, details: 'OK' }));
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.call.on('error', () => this.close());
    this.call.on('drain', () => {
      this.writable = true;
      if (this.sub) this.ctx.scheduler.wake(this.sub);
    });
  }

  room(): { messages: number; bytes: number } {
    if (this.closed || !this.writable) return { messages: 0, bytes: 0 };
    const messages = this.maxMessages > 0 ? this.maxMessages - this.outstandingMessages : Number.POSITIVE_INFINITY;
    const bytes = this.maxBytes > 0 ? this.maxBytes - this.outstandingBytes : Number.POSITIVE_INFINITY;
    return { messages: Math.max(0, messages), bytes: Math.max(0, bytes) };
  }

  send(sub: Subscription, entries: QueueEntry[]): void {
    for (const entry of entries) {
      this.outstandingMessages += 1;
      this.outstandingBytes += entry.bytes;
    }
    const response = {
      receivedMessages: entries.map((e) => toReceivedMessage(sub, e)),
      subscriptionProperties: { messageOrderingEnabled: sub.config.enableMessageOrdering, exactlyOnceDeliveryEnabled: false },
    };
    // Respect HTTP/2 back-pressure: stop feeding this stream until it drains.
    if (!this.call.write(response)) this.writable = false;
  }

  leaseEnded(bytes: number): void {
    this.outstandingMessages -= 1;
    this.outstandingBytes -= bytes;
  }

  /** The subscription the session pulls from; undefined until its first request named it. */
  get subscriptionName(): string | undefined {
    return this.sub?.name;
  }

  drop(code: status, details: string): void {
    this.finish({ code, details });
  }

  private onRequest(req: WireStreamingPullRequest): void {
    if (!this.sub) return this.open(req);
    if (req.maxOutstandingMessages || req.maxOutstandingBytes) {
      throw invalidArgument('max_outstanding_messages and max_outstanding_bytes may only be set on the initial StreamingPullRequest.');
    }
    if (req.streamAckDeadlineSeconds) {
      this.ackDeadlineMs = checkAckDeadlineSeconds(req.streamAckDeadlineSeconds, 'stream_ack_deadline_seconds', false) * 1000;
    }
    this.settle(this.sub, req);
  }

  private open(req: WireStreamingPullRequest): void {
    const fault = this.ctx.faults.take('StreamingPull');
    if (fault) throw fault;
    const sub = this.ctx.broker.subscription(req.subscription);
    this.ackDeadlineMs = checkAckDeadlineSeconds(req.streamAckDeadlineSeconds, 'stream_ack_deadline_seconds', false) * 1000;
    this.maxMessages = Math.max(0, Number(req.maxOutstandingMessages) || 0);
    this.maxBytes = Math.max(0, Number(req.maxOutstandingBytes) || 0);
    this.sub = sub;
    this.settle(sub, req);
    if (!this.closed) this.detach = this.ctx.scheduler.attach(sub, this);
  }

  private settle(sub: Subscription, req: WireStreamingPullRequest): void {
    if (req.ackIds.length > 0) this.ctx.broker.acknowledge(sub, checkAckIds(req.ackIds, 'ack_ids'));
    if (req.modifyDeadlineAckIds.length !== req.modifyDeadlineSeconds.length) {
      throw invalidArgument('modify_deadline_seconds and modify_deadline_ack_ids must have the same length.');
    }
    req.modifyDeadlineAckIds.forEach((ackId, i) => {
      const seconds = checkAckDeadlineSeconds(req.modifyDeadlineSeconds[i] ?? 0, `modify_deadline_seconds[${i}]`, true);
      this.ctx.broker.modifyAckDeadline(sub, checkAckIds([ackId], `modify_deadline_ack_ids[${i}]`), seconds);
    });
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.ctx.errors.record('StreamingPull', error);
      const serviceError = toServiceError(error);
      this.finish({ code: serviceError.code ?? status.INTERNAL, details: serviceError.details ?? 'error' });
    }
  }

  /** Ends the RPC with a status; messages it held stay leased until acked or their deadline passes. */
  private finish(result: { code: status; details: string }): void {
    if (this.closed) return;
    this.close();
    if (result.code === status.OK) this.call.end();
    else this.call.emit('error', new RpcError(result.code, result.details));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach?.();
    this.ctx.streams.delete(this);
  }
}

export function streamingPullHandler(ctx: HandlerContext) {
  return (call: Call): void => new StreamingPullSession(ctx, call).start();
}
