// google.pubsub.v1.Publisher: topic administration and Publish.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../errors.js';
import { parseProjectName } from '../names.js';
import { validatePublishBatch } from '../state/message.js';
import type { TopicState } from '../state/broker.js';
import type { HandlerContext } from './context.js';
import { page } from './paging.js';
import { unary } from './unary.js';
import type { WireTopic } from './wire.js';

interface TopicRequest {
  topic: string;
}
interface ListRequest {
  pageSize: number;
  pageToken: string;
}

const topicToWire = (t: TopicState) => ({ name: t.config.name, labels: t.config.labels, state: 'ACTIVE' });

export function publisherHandlers(ctx: HandlerContext): UntypedServiceImplementation {
  const { broker } = ctx;
  return {
    CreateTopic: unary<Partial<WireTopic>, object>(ctx, 'CreateTopic', (req) => topicToWire(broker.createTopic(req))),

    GetTopic: unary<TopicRequest, object>(ctx, 'GetTopic', (req) => topicToWire(broker.topic(req.topic))),

    UpdateTopic: unary<{ topic: Partial<WireTopic> | null; updateMask: { paths: string[] } | null }, object>(ctx, 'UpdateTopic', (req) => {
      const topic = broker.topic(req.topic?.name, 'topic.name');
      for (const path of req.updateMask?.paths ?? []) {
        if (path !== 'labels') throw invalidArgument(`update_mask names a field the emulator cannot update: "${path}".`);
        topic.config.labels = { ...req.topic?.labels };
      }
      return topicToWire(topic);
    }),

    Publish: unary<{ topic: string; messages: unknown }, { messageIds: string[] }>(ctx, 'Publish', (req) => {
      const topic = broker.topic(req.topic);
      return { messageIds: broker.publish(topic, validatePublishBatch(req.messages)) };
    }),

    ListTopics: unary<ListRequest & { project: string }, object>(ctx, 'ListTopics', (req) => {
      const project = parseProjectName(req.project);
      const names = [...broker.topics.keys()].filter((n) => n.startsWith(`projects/${project}/`)).sort();
      const result = page(names, req.pageSize, req.pageToken);
      return { topics: result.items.map((n) => topicToWire(broker.topic(n))), nextPageToken: result.nextPageToken };
    }),

    ListTopicSubscriptions: unary<ListRequest & TopicRequest, object>(ctx, 'ListTopicSubscriptions', (req) => {
      const result = page([...broker.topic(req.topic).subscriptions].sort(), req.pageSize, req.pageToken);
      return { subscriptions: result.items, nextPageToken: result.nextPageToken };
    }),

    DeleteTopic: unary<TopicRequest, object>(ctx, 'DeleteTopic', (req) => {
      broker.deleteTopic(req.topic);
      return {};
    }),
  };
}
