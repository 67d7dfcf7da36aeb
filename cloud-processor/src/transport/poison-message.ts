// Messages that can never be processed, however often they are retried: the transport publishes them
// to the dead-letter topic with the reason instead of nacking them forever. Each reason becomes the
// dead-letter attribute and a metric label, so keep the set small and stable.
export type DeadLetterReason =
  /** No `schema` attribute: not a message of ours. */
  | 'missing_schema'
  /** A schema this processor has no decoder or handler for (another publisher, or a newer gateway). */
  | 'unknown_schema'
  /** The body does not decode as its schema. */
  | 'undecodable'
  /** The body decoded, but lacks what the processor needs (e.g. a GatewayHealth without gateway_id): a fault of its publisher. */
  | 'unusable'
  /** The handler failed maxAttempts times (not counting InfluxDB outages). */
  | 'handler_failed';

/** A message that retrying cannot help; `reason` says why. */
export class PoisonMessageError extends Error {
  constructor(
    readonly reason: Exclude<DeadLetterReason, 'handler_failed'>,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Thrown by the deserializer: no or an unknown schema, or bytes that do not decode. */
export class UndecodableMessageError extends PoisonMessageError {
  constructor(reason: 'missing_schema' | 'unknown_schema' | 'undecodable', message: string) {
    super(reason, message);
  }
}

/** Thrown by a handler for a message that decoded but whose content it cannot use. */
export class UnusableMessageError extends PoisonMessageError {
  constructor(message: string) {
    super('unusable', message);
  }
}
