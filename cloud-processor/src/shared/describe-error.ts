// One way to turn anything thrown (Errors, Nest's RPC error objects, strings) into a log/attribute text.
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error).message);
  return String(error);
}
