// One error type for everything the emulator rejects: it carries the gRPC status code the real service
// uses, because the official client decides whether to retry from that code alone.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const notFound = (what: string, name: string) => new RpcError(status.NOT_FOUND, `Resource not found (resource=${name}): ${what} does not exist.`);
export const alreadyExists = (what: string, name: string) => new RpcError(status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name}): ${what}.`);
export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
export const failedPrecondition = (message: string) => new RpcError(status.FAILED_PRECONDITION, message);

/** Turns anything thrown inside a handler into a gRPC error; unexpected errors become INTERNAL, never a crash. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof RpcError) return { code: error.code, details: error.message, metadata: new Metadata() };
  const message = error instanceof Error ? error.message : String(error);
  return { code: status.INTERNAL, details: `emulator internal error: ${message}`, metadata: new Metadata() };
}

export function statusName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}
