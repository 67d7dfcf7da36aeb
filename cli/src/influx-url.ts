// The --influx-url flag of the commands that ask InfluxDB (alerts, status, models, evaluate, train):
// refused up front, named, when it is no http(s) URL, instead of a bare "Invalid URL" from fetch at the
// first request.
import { hidePassword } from '@pdm/config';
import { UsageError } from './command.js';

/** `value` when it is an http(s) URL; a UsageError naming --influx-url otherwise. */
export function influxUrlFlag(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Printed with its password hidden: a URL with a typo may still carry one.
    throw new UsageError(`--influx-url is not a URL: ${JSON.stringify(hidePassword(value))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--influx-url must be http(s), got ${url.protocol}`);
  return value;
}
