export { ConfigError, applyEnvOverrides, loadConfig, parseConfig } from './load.js';
export type { ConfigSource } from './load.js';
export { durationMs, logLevelSchema, parseDuration, type DurationOptions } from './duration.js';
export { TIME_COLUMN_NAMES, findTimeColumn, noTimeColumnReason, parseTimestamp } from './timestamp.js';
export { resolvePubSubCredentials, usesPubSubEmulator, type GoogleCredentialSource } from './google-credentials.js';
export { logDestination, logFormatFlag, logFormatSchema, prettyLogLine, resolveLogFormat, type LogFormat } from './log-format.js';
export { HIDDEN, hidePassword } from './hide-password.js';
export { basicAuthorization, credentialsOf } from './url-credentials.js';
