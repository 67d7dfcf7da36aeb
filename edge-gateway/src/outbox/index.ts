export { Outbox } from './outbox.js';
export type { OutboxEntry, OutboxOptions, OutboxRecord, OutboxStats } from './outbox.js';
export { MAX_PENDING_WINDOWS, OutboxWriter } from './outbox-writer.js';
export type { CheckpointSource, OutboxWriterEvents } from './outbox-writer.js';
