// POSTs line protocol to InfluxDB 1.x's /write over keep-alive connections (node:http, no client
// library: the request is one POST, and the `influx` client's per-point work was the cost to remove).
// Node's built-in fetch (undici) was measured against it on the same bodies (the processor benchmark):
// 0.82 × the rate, 5.0 against 0.2 µs of the processor's CPU a point — CPU the sink shares with influxd.
// Idle kept-alive connections do not hold the process open (Node unrefs an agent's free sockets).
// Resolves once InfluxDB answered 204, i.e. the points are stored.
// Failures keep the meaning the sink's callers rely on (settlement: TransientError = nack after a
// back-off, never dead-lettered; anything else counts towards dead-lettering):
// - a 400 answer (unparsable line, field type conflict, a partial write) is InfluxDB 1.x refusing
//   these points: InfluxWriteRefused, with InfluxDB's own message;
// - any other answer, a connection that fails or a request that times out is about InfluxDB or the way
//   to it, not the points (401/403 credentials, 404 the database dropped, 413 a body limit, 429 a
//   proxy's rate limit, 5xx): TransientError, saying what to do. Counted towards dead-lettering, it
//   would dead-letter every message within pubsub.maxAttempts deliveries although its points are fine.
//   A 413 is an InfluxRequestTooLarge, a TransientError to a caller that would send the same body again,
//   so that the sink can tell it and send the points again in smaller requests.
import http from 'node:http';
import https from 'node:https';
import { gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import { TransientError } from '../shared/transient-error.js';
import { basicAuthorization } from '@pdm/config';

const gzip = promisify(gzipCallback);

/**
 * InfluxDB will not take these points as they are: it answered 400, or (the sink's verdict) 413 to a
 * request of one point.
 */
export class InfluxWriteRefused extends Error {
  constructor(body: string, status = 400) {
    super(`InfluxDB refused the write (${status}): ${body.trim()}`);
    this.name = 'InfluxWriteRefused';
  }
}

/** What to look at, for the answers that name their cause; the others (5xx) are InfluxDB's own trouble. */
const REMEDIES: Partial<Record<number, string>> = {
  401: 'check the user and password in influx.url',
  403: 'grant the user in influx.url READ and WRITE on influx.database',
  404: 'the database is gone, or influx.url does not lead to InfluxDB: restarting a processor creates the database again, with its retention policies and continuous queries',
  413: "a request is over InfluxDB's [http] max-body-size or a proxy's body limit: raise it, or lower influx.batchMaxPoints",
  429: 'InfluxDB or a proxy in front of it limits the request rate',
};

/** `message`, with what to do when the answer (statusCode) says. */
function withRemedy(message: string, statusCode: number | undefined): string {
  const remedy = statusCode === undefined ? undefined : REMEDIES[statusCode];
  return remedy ? `${message} (${remedy})` : message;
}

/** A failure of InfluxDB or the way to it (statusCode: its answer, if any), with what to do when the answer says. */
export function influxUnavailable(message: string, statusCode: number | undefined, options?: ErrorOptions): TransientError {
  return new TransientError(withRemedy(message, statusCode), options);
}

/**
 * InfluxDB or a proxy in front of it answered 413: the request's body is over its size limit. Sent as
 * it is again, it fails again; the sink sends its points again in smaller requests (influx-sink.ts).
 */
export class InfluxRequestTooLarge extends TransientError {
  constructor(readonly body: string) {
    super(withRemedy(`InfluxDB write failed: 413 ${body.trim()}`, 413));
    this.name = 'InfluxRequestTooLarge';
  }
}

export interface InfluxWriteOptions {
  /** http(s)://[user:password@]host:port */
  url: string;
  database: string;
  /** A request that has not been answered after this long of silence on its connection fails. */
  requestTimeoutMs: number;
  /** Send the body gzip-compressed (Content-Encoding: gzip, which InfluxDB 1.x accepts). */
  gzip?: boolean;
  /** Connections kept open to InfluxDB (writes beyond this many wait for one). */
  maxSockets?: number;
}

export class InfluxWrite {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly base: URL;
  private readonly path: string;
  private readonly authorization: string | undefined;

  constructor(private readonly options: InfluxWriteOptions) {
    this.base = new URL(options.url);
    const secure = this.base.protocol === 'https:';
    this.agent = new (secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: options.maxSockets ?? Infinity });
    this.request = secure ? https.request : http.request;
    this.authorization = basicAuthorization(this.base);
    this.path = `${this.base.pathname.replace(/\/$/, '')}/write?${new URLSearchParams({ db: options.database, precision: 'ms' }).toString()}`;
  }

  /** Writes one body of line protocol, as text or its UTF-8 bytes (timestamps in epoch ms). */
  async write(lines: string | Buffer): Promise<void> {
    const body = this.options.gzip ? await gzip(lines) : typeof lines === 'string' ? Buffer.from(lines) : lines;
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length };
    if (this.options.gzip) headers['content-encoding'] = 'gzip';
    if (this.authorization) headers.authorization = this.authorization;
    const answer = await this.post(body, headers);
    if (answer.statusCode >= 200 && answer.statusCode < 300) return;
    if (answer.statusCode === 400) throw new InfluxWriteRefused(answer.body);
    if (answer.statusCode === 413) throw new InfluxRequestTooLarge(answer.body);
    throw influxUnavailable(`InfluxDB write failed: ${answer.statusCode} ${answer.body.trim()}`, answer.statusCode);
  }

  private post(body: Buffer, headers: http.OutgoingHttpHeaders): Promise<{ statusCode: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = this.request(
        { protocol: this.base.protocol, hostname: this.base.hostname, port: this.base.port, path: this.path, method: 'POST', headers, agent: this.agent },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, body: text }));
          response.on('error', (error) => reject(new TransientError(`InfluxDB write failed: ${error.message}`, { cause: error })));
        },
      );
      request.setTimeout(this.options.requestTimeoutMs, () => request.destroy(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)));
      request.on('error', (error) => reject(new TransientError(`InfluxDB write failed: ${error.message || String(error)}`, { cause: error })));
      request.end(body);
    });
  }
}
