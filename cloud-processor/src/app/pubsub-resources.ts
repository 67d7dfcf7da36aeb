// For the local stack (createResources: true): creates the feature topic, the shared subscription
// (with message ordering, as the gateway publishes with ordering key = machine id), the dead-letter
// topic and the alerts topic when they are missing. Production leaves this to infrastructure code.
import { PubSub, type ClientConfig } from '@google-cloud/pubsub';
import type { ProcessorConfig } from '../config/schema.js';

const ALREADY_EXISTS = 6;

async function ignoreExisting(create: Promise<unknown>): Promise<void> {
  try {
    await create;
  } catch (error) {
    if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
  }
}

export async function ensurePubSubResources(client: ClientConfig, config: ProcessorConfig['pubsub']): Promise<void> {
  const pubsub = new PubSub(client);
  try {
    const topics = [config.featuresTopic, config.deadLetterTopic, ...(config.alertsTopic ? [config.alertsTopic] : [])];
    for (const topic of topics) await ignoreExisting(pubsub.createTopic(topic));
    await ignoreExisting(pubsub.topic(config.featuresTopic).createSubscription(config.subscription, { enableMessageOrdering: true }));
  } finally {
    await pubsub.close();
  }
}
