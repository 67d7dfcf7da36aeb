export { Outbox } from './outbox.js';
export type { OutboxEntry, OutboxOptions, OutboxRecord, OutboxStats } from './outbox.js';
