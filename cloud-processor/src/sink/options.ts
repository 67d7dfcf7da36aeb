// Knobs of the InfluxDB sink and their defaults, in one place.
import { DEFAULT_DATABASE } from './influx-series.js';

export const INFLUX_SINK_DEFAULTS = {
  /** http(s)://[user:password@]host:port of an InfluxDB 1.x (or anything speaking its v1 API). */
  url: 'http://127.0.0.1:8086',
  database: DEFAULT_DATABASE,
  /** Where points are written (the database's default policy) and how long they are kept. */
  rawRetention: { name: 'raw', duration: '30d' },
  /** Where the continuous queries put their 1-minute and 1-hour means. */
  downsampledRetention: { name: 'downsampled', duration: '365d' },
  /** Intervals of the downsampling continuous queries (InfluxQL durations). */
  downsampleIntervals: ['1m', '1h'] as string[],
  /**
   * A batch is written when it holds this many points… Under the pipeline's flow batches average
   * ~2,400 points, so the cap rarely binds; 1,000 measured the same within the noise (BENCHMARKS.md).
   */
  batchMaxPoints: 5_000,
  /**
   * …or when its oldest point waited this long. Bounds the ack latency added by batching while no write
   * is in progress; writes go one at a time, so points that arrive during a write go out when it
   * finishes, as one request (of batchMaxPoints at most).
   */
  batchMaxDelayMs: 20,
  /**
   * Requests a batch is split into (by machine: machine-partition.ts), written at once. InfluxDB
   * handles a write request on one core: two requests of half the points each took 108 ms for a
   * boundary's 7,000 points on a two-core box, one request 230 ms (issue #17). 1: one at a time.
   */
  parallelRequests: 2,
  /** One HTTP request to InfluxDB, at most. A timed-out write fails its batch (nack, redelivery). */
  requestTimeoutMs: 10_000,
};

export interface RetentionPolicy {
  name: string;
  duration: string;
}

export interface InfluxSinkOptions {
  url: string;
  database: string;
  rawRetention: RetentionPolicy;
  downsampledRetention: RetentionPolicy;
  downsampleIntervals: string[];
  batchMaxPoints: number;
  batchMaxDelayMs: number;
  parallelRequests: number;
  requestTimeoutMs: number;
}
