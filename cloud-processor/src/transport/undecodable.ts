// Why a message can never be processed, whatever the number of retries. Each reason becomes the
// dead-letter attribute and a metric label, so keep the set small and stable.
export type DeadLetterReason = 'missing_schema' | 'unknown_schema' | 'undecodable' | 'handler_failed';

export class UndecodableMessageError extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
  ) {
    super(message);
    this.name = 'UndecodableMessageError';
  }
}
