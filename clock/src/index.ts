export { ManualClock, every, sleep, systemClock, type Cancel, type Clock } from './clock.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
