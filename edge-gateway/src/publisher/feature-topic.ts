// Opens the topic a gateway publishes its windows and health reports on.
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { GatewayConfig } from '../config/index.js';

/** gRPC status of a create that lost the race to another gateway. */
const ALREADY_EXISTS = 6;

/**
 * The feature topic with message ordering (ordering key = machine id, or gateway and shard for
 * FeatureBatch messages), the configured batching and
 * publish timeout; created first when `createTopic` is set and it does not exist yet.
 */
export async function openFeatureTopic(pubsub: PubSub, config: GatewayConfig['pubsub']): Promise<Topic> {
  const { topic: name, batchMaxMessages, batchMaxMilliseconds, publishTimeoutMs, createTopic } = config;
  const topic = pubsub.topic(name, {
    messageOrdering: true,
    batching: { maxMessages: batchMaxMessages, maxMilliseconds: batchMaxMilliseconds },
    gaxOpts: { timeout: publishTimeoutMs },
  });
  if (createTopic) {
    const [exists] = await topic.exists();
    if (!exists) {
      await topic.create().catch((error: { code?: number }) => {
        if (error.code !== ALREADY_EXISTS) throw error;
      });
    }
  }
  return topic;
}
