// google.pubsub.v1.Subscriber: subscription administration, Pull, Acknowledge, ModifyAckDeadline and
// StreamingPull.
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { parseProjectName } from '../names.js';
import { configFromCreate, configFromUpdate, configToWire } from '../state/subscription-config.js';
import type { HandlerContext } from './context.js';
import { page } from './paging.js';
import { pull } from './pull.js';
import { checkAckDeadlineSeconds, checkAckIds } from './received.js';
import { streamingPullHandler } from './streaming-pull.js';
import { unary } from './unary.js';
import type { WireSubscription } from './wire.js';

interface SubscriptionRequest {
  subscription: string;
}

export function subscriberHandlers(ctx: HandlerContext): UntypedServiceImplementation {
  const { broker } = ctx;
  return {
    CreateSubscription: unary<WireSubscription, object>(ctx, 'CreateSubscription', (req) =>
      configToWire(broker.createSubscription(configFromCreate(req)).config),
    ),

    GetSubscription: unary<SubscriptionRequest, object>(ctx, 'GetSubscription', (req) => configToWire(broker.subscription(req.subscription).config)),

    UpdateSubscription: unary<{ subscription: WireSubscription | null; updateMask: { paths: string[] } | null }, object>(ctx, 'UpdateSubscription', (req) => {
      const sub = broker.subscription(req.subscription?.name, 'subscription.name');
      const next = configFromUpdate(sub.config, req.subscription as WireSubscription, req.updateMask?.paths ?? []);
      return configToWire(broker.updateSubscription(sub, next).config);
    }),

    ListSubscriptions: unary<{ project: string; pageSize: number; pageToken: string }, object>(ctx, 'ListSubscriptions', (req) => {
      const project = parseProjectName(req.project);
      const names = [...broker.subscriptions.keys()].filter((n) => n.startsWith(`projects/${project}/`)).sort();
      const result = page(names, req.pageSize, req.pageToken);
      return { subscriptions: result.items.map((n) => configToWire(broker.subscription(n).config)), nextPageToken: result.nextPageToken };
    }),

    DeleteSubscription: unary<SubscriptionRequest, object>(ctx, 'DeleteSubscription', (req) => {
      broker.deleteSubscription(req.subscription);
      // As Pub/Sub does: the streams pulling from it end with NOT_FOUND, which the client does not
      // retry (it stops pulling for good) — a subscriber must see its subscription is gone.
      for (const stream of [...ctx.streams]) {
        if (stream.subscriptionName === req.subscription) stream.drop(status.NOT_FOUND, `Resource not found (resource=${req.subscription}).`);
      }
      return {};
    }),

    Acknowledge: unary<SubscriptionRequest & { ackIds: string[] }, object>(ctx, 'Acknowledge', (req) => {
      const sub = broker.subscription(req.subscription);
      broker.acknowledge(sub, checkAckIds(req.ackIds, 'ack_ids'));
      return {};
    }),

    ModifyAckDeadline: unary<SubscriptionRequest & { ackIds: string[]; ackDeadlineSeconds: number }, object>(ctx, 'ModifyAckDeadline', (req) => {
      const sub = broker.subscription(req.subscription);
      const seconds = checkAckDeadlineSeconds(req.ackDeadlineSeconds, 'ack_deadline_seconds', true);
      broker.modifyAckDeadline(sub, checkAckIds(req.ackIds, 'ack_ids'), seconds);
      return {};
    }),

    Pull: unary<Parameters<typeof pull>[1], object>(ctx, 'Pull', (req, call) => pull(ctx, req, call)),

    StreamingPull: streamingPullHandler(ctx),
  };
}
