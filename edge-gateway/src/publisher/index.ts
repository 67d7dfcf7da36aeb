export { OutboxPublisher, realScheduler } from './publisher.js';
export type { PublisherEvents, PublisherOptions, PublisherState, Scheduler } from './publisher.js';
