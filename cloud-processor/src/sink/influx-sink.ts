// The processor's InfluxDB 1.x sink: sets up the schema on start, then batches points of concurrent
// messages into few writes. Every write method resolves only once its points are stored, which is
// what lets the transport ack after the write (ARCHITECTURE.md "Reliability rules").
import { systemClock, type Clock } from '@pdm/clock';
import { InfluxDB, type IPoint } from 'influx';
import type { GatewayHealth, MachineWindow } from '@pdm/proto';
import type { WindowScore } from '../model/api.js';
import type { ModelDrift } from '../scoring/drift.js';
import type { ModelChange } from '../model/lifecycle.js';
import { BatchWriter } from './batch-writer.js';
import {
  alertActionPoint,
  alertDeliveryPoint,
  alertPoint,
  alertStatePoint,
  modelChangePoint,
  gatewayHealthPoint,
  pipelinePoint,
  unscoredPoint,
  type AlertActionInput,
  type AlertDeliveryInput,
  type AlertPointInput,
  type AlertStateInput,
  type BuiltPoints,
  type Unscored,
} from './points.js';
import type { InfluxSinkOptions } from './options.js';
import { DOWNSAMPLED_MEASUREMENTS, PROCESSOR_COMPONENT, type ProcessorReport } from './influx-series.js';
import { downsampleQuery, ensureInfluxSchema } from './schema-setup.js';
import { DownsampleBackfill, type BackfillRange } from './downsample-backfill.js';
import { modelDriftPoint } from './model-drift-point.js';
import { InfluxRequestTooLarge, InfluxWrite, InfluxWriteRefused, influxUnavailable } from './influx-write.js';
import { lineBytes, pointLine } from './line-protocol.js';
import { partitionByMachine } from './machine-partition.js';
import { anomalyLine, featureLines, type BuiltLines } from './window-lines.js';

/** One series of a query's answer, as InfluxDB returns it. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxSinkEvents {
  /** A write request succeeded: its points and how long the HTTP write took. */
  batchWritten?(points: number, durationMs: number): void;
  /** Non-finite statistics left out of a point (line protocol cannot carry them). */
  fieldsDropped?(count: number): void;
  /** Downsampled means computed again for windows stored too late for the CQs; `error` when it failed. */
  downsampleBackfilled?(range: BackfillRange, error?: Error): void;
  /** A write request of `points` was answered 413 (over a body limit): written again as two halves, or refused if one point. */
  requestTooLarge?(points: number): void;
  /**
   * Write requests carry at most `maxPoints` from now on, until a restart: the most that went through
   * after a 413 (`cause`, with what to do). Once per lowering, a few times over a process's life.
   */
  requestMaxPointsLowered?(maxPoints: number, cause: Error): void;
}

/** How writing one request's points, halved as need be, went. */
interface Split {
  /** Points of the largest request stored. */
  largestStored: number;
  /** The first 413, if the request was halved. */
  tooLarge?: InfluxRequestTooLarge;
}

function influxClient(options: InfluxSinkOptions): InfluxDB {
  const url = new URL(options.url);
  return new InfluxDB({
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 8086)),
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: options.database,
    // No client-side retries: a failed query fails its message, which Pub/Sub redelivers.
    pool: { requestTimeout: options.requestTimeoutMs, maxRetries: 0 },
  });
}

/** One backfill query at most (downsample-backfill.ts). */
const BACKFILL_TIMEOUT_MS = 300_000;

/** The status of an answer influx's RequestError (not exported) carries: a 3xx or 4xx. */
const answerStatus = (error: unknown) => (error as { res?: { statusCode?: number } }).res?.statusCode;

/**
 * Set-up and queries go through the `influx` client; writes, where its per-point CPU was the cost
 * (issue #17), through our own line protocol and keep-alive POSTs.
 */
export class InfluxSink {
  private readonly influx: InfluxDB;
  private readonly writer: InfluxWrite;
  /**
   * Points as lines of line protocol (their bytes: line-protocol.ts lineBytes), built as they are added,
   * while the previous write is in flight: built when the batch goes out, InfluxDB waited for them.
   * One batch at a time (batch-writer.ts), its requests side by side (writeBatch).
   */
  private readonly batches: BatchWriter<Buffer>;
  private readonly backfill: DownsampleBackfill;
  /** For the backfill's queries: seconds each at 1,000 machines (10–26 s for an hour), over a write's timeout. */
  private readonly backfillInflux: InfluxDB;
  /**
   * Points per write request at most: batchMaxPoints until InfluxDB or a proxy answers 413, then the
   * most that went through after it, so that later batches go out in requests that fit instead of
   * being halved again each time. It never grows back: a body limit is configuration and does not move
   * by itself, and probing would cost a 413 and the request sent again every time; after the limit
   * was raised, a restart sends batchMaxPoints again.
   */
  private requestMaxPoints: number;

  constructor(
    private readonly options: InfluxSinkOptions,
    private readonly events: InfluxSinkEvents = {},
    /** Timers of the batch delay. */
    clock: Clock = systemClock,
  ) {
    this.influx = influxClient(options);
    this.writer = new InfluxWrite({ url: options.url, database: options.database, requestTimeoutMs: options.requestTimeoutMs });
    this.batches = new BatchWriter(
      (points) => this.writeBatch(points),
      { maxPoints: options.batchMaxPoints, maxDelayMs: options.batchMaxDelayMs, refusedPoints: (error) => error instanceof InfluxWriteRefused },
      clock,
    );
    this.backfill = new DownsampleBackfill(options.downsampleIntervals, (range) => this.backfillRange(range), clock);
    this.backfillInflux = influxClient({ ...options, requestTimeoutMs: Math.max(options.requestTimeoutMs, BACKFILL_TIMEOUT_MS) });
    this.requestMaxPoints = options.batchMaxPoints;
  }

  /** Creates database, retention policies and continuous queries (idempotent). */
  start(): Promise<void> {
    return ensureInfluxSchema(this.influx, this.options);
  }

  /**
   * A window's features and, when it was scored, its anomaly point (and its shadow versions' points in
   * `anomaly_shadow`), in one batch: one wait for the batch to go out instead of two, which is most of
   * a window's time in the processor.
   */
  async writeScoredWindow(window: MachineWindow, score: WindowScore | undefined, shadows: readonly WindowScore[] = []): Promise<void> {
    const features = featureLines(window);
    const built = score ? [features, anomalyLine(score), ...shadows.map((shadow) => anomalyLine(shadow, 'anomaly_shadow'))] : [features];
    await this.addLines({ lines: built.flatMap((b) => b.lines), droppedFields: built.reduce((sum, b) => sum + b.droppedFields, 0) });
    this.backfill.stored(Number(window.windowStart));
  }

  /** A change of a model's lifecycle (`model_changes`), as `pdm models` records it. */
  writeModelChange(model: string, change: ModelChange): Promise<void> {
    return this.add([modelChangePoint(model, change)]);
  }

  /** A window no model scored: its features and an `unscored` point saying why, in one batch. */
  async writeUnscoredWindow(window: MachineWindow, unscored: Unscored): Promise<void> {
    const features = featureLines(window);
    await this.addLines({ lines: [...features.lines, pointLine(unscoredPoint(window, unscored))], droppedFields: features.droppedFields });
    this.backfill.stored(Number(window.windowStart));
  }

  writeAlert(alert: AlertPointInput): Promise<void> {
    return this.add([alertPoint(alert)]);
  }

  /**
   * A machine's alert state after a window, with the `alerts` point and the delivery record of the
   * transition that window caused, if any: one batch, so a transition is never stored without the
   * state that made it, nor the state without its transition.
   */
  writeAlertDecision(state: AlertStateInput, transition?: { alert: AlertPointInput; delivery?: AlertDeliveryInput }): Promise<void> {
    const points = [alertStatePoint(state)];
    if (transition) points.push(alertPoint(transition.alert));
    if (transition?.delivery) points.push(alertDeliveryPoint(transition.delivery));
    return this.add(points);
  }

  /** What a person did about an alert or a machine (`alert_actions`). */
  writeAlertAction(action: AlertActionInput): Promise<void> {
    return this.add([alertActionPoint(action)]);
  }

  /** Rewrites an alert transition's delivery record (targets still pending, attempts, last update). */
  writeAlertDelivery(delivery: AlertDeliveryInput): Promise<void> {
    return this.add([alertDeliveryPoint(delivery)]);
  }

  /**
   * Runs one InfluxQL query on the database (times in epoch ms). Rejects with the error InfluxDB reports
   * when it refuses the statement (a 400, or an error in the results); with a TransientError, like a
   * failed write, when InfluxDB cannot be reached or answers anything else (401/403 credentials, a
   * proxy's 404 or 429, 5xx: influx-write.ts), so a message whose alert state could not be loaded waits
   * instead of being dead-lettered.
   */
  async query(statement: string): Promise<InfluxSeries[]> {
    let raw: { results?: { error?: string; series?: InfluxSeries[] }[] };
    try {
      raw = (await this.influx.queryRaw(statement, { precision: 'ms' })) as typeof raw;
    } catch (error) {
      const status = answerStatus(error);
      if (status === 400) throw error;
      throw influxUnavailable(`InfluxDB query failed: ${(error as Error).message || String(error)}`, status, { cause: error });
    }
    const result = raw.results?.[0];
    if (result?.error) throw new Error(`InfluxDB query failed: ${result.error}`);
    return result?.series ?? [];
  }

  /** The processor's own figures as a `pipeline` point (component=cloud-processor). */
  writeProcessorReport(instance: string, report: ProcessorReport, timestamp: number): Promise<void> {
    return this.add([pipelinePoint(PROCESSOR_COMPONENT, instance, report, timestamp)]);
  }

  /** One gateway health report as a `pipeline` point (component=edge-gateway). */
  writeGatewayHealth(health: GatewayHealth): Promise<void> {
    return this.addBuilt(gatewayHealthPoint(health));
  }

  /** The drift of the model versions this instance serves, one `model_drift` point each. */
  writeModelDrift(drifts: readonly ModelDrift[], instance: string, threshold: number, timestamp: number): Promise<void> {
    return this.add(drifts.map((drift) => modelDriftPoint(drift, instance, threshold, timestamp)));
  }

  /**
   * Writes what is pending and waits for writes in progress; then computes again, without waiting for
   * a quiet spell, the downsampled means of the intervals late windows went into.
   */
  async flush(): Promise<void> {
    await this.batches.flush();
    await this.backfill.flush();
  }

  pendingPoints(): number {
    return this.batches.pendingPoints();
  }

  /** The CQs' own queries over a range: never rejects, says how it went through the events. */
  private async backfillRange(range: BackfillRange): Promise<void> {
    try {
      for (const measurement of DOWNSAMPLED_MEASUREMENTS) {
        const raw = (await this.backfillInflux.queryRaw(downsampleQuery(this.options, measurement, range.interval, range), { method: 'POST' })) as { results?: { error?: string }[] };
        const error = raw.results?.find((result) => result.error !== undefined)?.error;
        if (error !== undefined) throw new Error(`InfluxDB refused the backfill of ${measurement}_${range.interval}: ${error}`);
      }
      this.events.downsampleBackfilled?.(range);
    } catch (error) {
      this.events.downsampleBackfilled?.(range, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private addBuilt(built: BuiltPoints): Promise<void> {
    if (built.droppedFields > 0) this.events.fieldsDropped?.(built.droppedFields);
    return this.add(built.points);
  }

  private addLines(built: BuiltLines): Promise<void> {
    if (built.droppedFields > 0) this.events.fieldsDropped?.(built.droppedFields);
    return this.batches.add(built.lines.map(lineBytes));
  }

  /** A point line protocol cannot carry fails only its own write, not the batch it would have joined. */
  private async add(points: IPoint[]): Promise<void> {
    await this.batches.add(points.map((point) => lineBytes(pointLine(point))));
  }

  /**
   * Writes a batch in chunks of at most batchMaxPoints (a batch can be larger when one message brings
   * many points), one chunk after another, each split by machine into parallelRequests groups written
   * at once (machine-partition.ts), a group as one request unless it is over requestMaxPoints. The batch
   * settles once every request of it has: the next batch never overtakes a request still in flight.
   * 400, points refused: InfluxWriteRefused (counts towards dead-lettering; the batch is written again
   * message by message: batch-writer.ts); 413, over a body limit: written again as smaller requests
   * (writeHalving); any other answer or the link: TransientError (influx-write.ts).
   */
  private async writeBatch(lines: Buffer[]): Promise<void> {
    for (let i = 0; i < lines.length; i += this.options.batchMaxPoints) {
      const groups = partitionByMachine(lines.slice(i, i + this.options.batchMaxPoints), this.options.parallelRequests);
      const outcomes = await Promise.allSettled(groups.map((group) => this.writeGroup(group)));
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /**
   * Writes a group's points as requests of at most requestMaxPoints, one after another: of two points
   * of one series and time, InfluxDB keeps the one written last, so requests of a group are never in
   * flight together (machine-partition.ts). A request halved after a 413 lowers requestMaxPoints to
   * what went through, unless it ended in a refused point: that 413 may have been the point's alone.
   */
  private async writeGroup(lines: Buffer[]): Promise<void> {
    for (let from = 0; from < lines.length; ) {
      const request = lines.slice(from, (from += this.requestMaxPoints));
      const split: Split = { largestStored: 0 };
      await this.writeHalving(request, split);
      // Groups written at once may both have been halved: the lower figure holds.
      if (split.tooLarge && split.largestStored < this.requestMaxPoints) {
        this.requestMaxPoints = split.largestStored;
        this.events.requestMaxPointsLowered?.(split.largestStored, split.tooLarge);
      }
    }
  }

  /**
   * Writes the points as one request; answered 413 (over InfluxDB's or a proxy's body limit), as two
   * halves, one after the other, each halved again if need be. A single point answered 413 is refused
   * like a 400 (InfluxWriteRefused): it counts towards dead-lettering, and the batch is written again
   * message by message, so only the message that brought it fails (batch-writer.ts). Notes in `split`
   * the largest request stored and the first 413.
   */
  private async writeHalving(lines: Buffer[], split: Split): Promise<void> {
    try {
      await this.writeRequest(lines);
      split.largestStored = Math.max(split.largestStored, lines.length);
    } catch (error) {
      if (!(error instanceof InfluxRequestTooLarge)) throw error;
      this.events.requestTooLarge?.(lines.length);
      if (lines.length === 1) throw new InfluxWriteRefused(`${error.body.trim()} (a point of ${lines[0]!.length} bytes, alone over InfluxDB's [http] max-body-size or a proxy's body limit: raise it to store such points)`, 413);
      split.tooLarge ??= error;
      const half = Math.ceil(lines.length / 2);
      await this.writeHalving(lines.slice(0, half), split);
      await this.writeHalving(lines.slice(half), split);
    }
  }

  private async writeRequest(lines: Buffer[]): Promise<void> {
    const started = performance.now();
    await this.writer.write(Buffer.concat(lines));
    this.events.batchWritten?.(lines.length, performance.now() - started);
  }
}
