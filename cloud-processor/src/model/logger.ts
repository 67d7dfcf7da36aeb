import type { Logger } from 'pino';

/** The slice of a pino logger the model code uses, so callers can pass a child logger or a test double. */
export type ModelLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const ignore = (): void => undefined;

/** For callers that pass no logger. */
export const silentLogger: ModelLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
