// A failure of infrastructure (InfluxDB unreachable, timed out, 5xx), not of the message: the
// transport nacks it after a back-off and does not count it towards dead-lettering, so an outage
// delays messages instead of sending them to the dead-letter topic.
export class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}
