export { Ingest, isReadingValue, MAX_READING_MAGNITUDE } from './ingest.js';
export type { IngestCounters, IngestLimits, IngestOutcome, ReadingSink, SensorIds } from './ingest.js';
export type { DecodedPayload } from './payload.js';
export { parseTimestamp } from './json-payload.js';
export { IngestRejection, REJECT_REASONS } from './reasons.js';
export type { RejectReason } from './reasons.js';
export { parseSensorTopic, isValidId } from './topic.js';
export type { SensorTopic } from './topic.js';
