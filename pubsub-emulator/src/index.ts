// Public entry point of @pdm/pubsub-emulator.
export { start } from './server.js';
export type { EmulatorOptions, RunningEmulator, EmulatorStats } from './server.js';
export { runEmulatorCli, EMULATOR_USAGE } from './cli.js';
export type { CliIo } from './cli.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { EMULATOR_DEFAULTS } from './defaults.js';
export { DEAD_LETTER_ATTRIBUTES } from './state/broker.js';
export type { AckedSelection, SubscriptionStats } from './state/subscription.js';
