/**
 * A handler's refusal to handle its message because an earlier message of the same ordering key failed
 * (its work must not overtake that one). Not a failure of its own: the transport nacks the message, like
 * one behind a nack, and counts it nowhere towards dead-lettering, so it is not dead-lettered with the
 * failing one however often it was redelivered behind it.
 */
export class BehindFailureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
