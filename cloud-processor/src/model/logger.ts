import type { Logger } from 'pino';

/** The slice of a pino logger the model code uses, so callers can pass a child logger or a test double. */
export type ModelLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
