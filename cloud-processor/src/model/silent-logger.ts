import type { ModelLogger } from './logger.js';

const ignore = (): void => undefined;

/** For callers that pass no logger. */
export const silentLogger: ModelLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
