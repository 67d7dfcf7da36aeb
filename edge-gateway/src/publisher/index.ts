export { OutboxPublisher } from './publisher.js';
export { batchHeaderBytes, featureBatchMessages, singleWindowMessages, windowsOfMessage } from './feature-messages.js';
export type { FeatureBatchOptions, FeatureMessage, FeatureMessageFormat } from './feature-messages.js';
export type { PublisherEvents, PublisherOptions, PublisherState } from './publisher.js';
export { connectPubSub, usesPubSubEmulator } from './pubsub-client.js';
export type { PubSubClientOptions } from './pubsub-client.js';
export { openFeatureTopic } from './feature-topic.js';
