export { ManualClock, every, sleep, systemClock, type Cancel, type Clock } from './clock.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { MAX_DATE_MS, isoTime } from './time-text.js';
