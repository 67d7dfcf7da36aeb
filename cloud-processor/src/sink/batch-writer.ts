// Collects points from many concurrent messages into one InfluxDB write. While no write is in progress,
// a batch goes out when it reaches maxPoints or when its first point has waited maxDelayMs, whichever
// comes first. Each add() resolves only once the batch holding its points is written (and rejects if
// that write failed; a batch refused for some of its points is written again add by add, so only the
// adds that brought them fail), so the transport acks a message only after its points are in InfluxDB.
// Batches go one at a time (the sink writes each as a few requests at once, split by machine:
// influx-sink.ts), so a batch never overtakes the one before it. While a write is in
// progress the next batch keeps filling up to maxPoints, however long it waits (a full one waits in
// line and the next starts); when the write finishes, the oldest full batch, or else whatever
// accumulated, goes out at once (it has waited already). So each batch carries everything that
// arrived during the previous write, up to maxPoints, and building the next request overlaps the write
// of the previous one: throughput is the slower of the two instead of their sum.
// Order between one machine's windows is not decided here: the transport starts a machine's next
// window only once the previous one is settled, i.e. after its add() resolved, so batches written side
// by side never hold two windows of one machine (transport/ordering-key-sequencer.ts,
// pipeline/ordering.test.ts).
import { systemClock, type Cancel, type Clock } from '@pdm/clock';

/** One add(): settled with the write of its `count` points, which follow the earlier waiters' in the batch. */
interface Waiter {
  count: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface Batch<T> {
  points: T[];
  waiters: Waiter[];
  cancelTimer?: Cancel;
}

export interface BatchWriterOptions {
  maxPoints: number;
  maxDelayMs: number;
  /**
   * Whether a failed write was refused for some of its points (InfluxDB stores the rest of a partial
   * write and answers 400; the sink refuses a point alone over a body limit, 413): then each add()'s
   * points are written again on their own, so only the adds that brought refused points fail, not
   * every message whose points shared the batch.
   */
  refusedPoints?: (error: unknown) => boolean;
}

/** Batches points of any form (the sink hands it line protocol, one line per point). */
export class BatchWriter<T> {
  /** The batch being filled. */
  private current: Batch<T> | undefined;
  /** Batches that reached maxPoints during a write, waiting for it to finish, oldest first. */
  private readonly full: Batch<T>[] = [];
  /** The write in progress; it settles after the next batch, if any, went out. */
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: (points: T[]) => Promise<void>,
    private readonly options: BatchWriterOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  add(points: T[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    // Points that would take the batch past maxPoints start the next one: the sink splits an overfull
    // batch into requests of maxPoints, and the remainder would be a request of a few points.
    if (this.current && this.current.points.length + points.length > this.options.maxPoints) this.seal();
    const batch = (this.current ??= { points: [], waiters: [] });
    for (const point of points) batch.points.push(point);
    const written = new Promise<void>((resolve, reject) => batch.waiters.push({ count: points.length, resolve, reject }));
    if (batch.points.length >= this.options.maxPoints) this.seal();
    // During a write no timer: the batch goes out when the write finishes.
    else if (!this.writing) batch.cancelTimer ??= this.clock.schedule(() => this.sendNext(), this.options.maxDelayMs);
    return written;
  }

  /** Writes whatever is pending now and waits until every write, queued ones included, is done. */
  async flush(): Promise<void> {
    this.sendNext();
    while (this.writing) await this.writing;
  }

  /** Points waiting for their batch to go out. */
  pendingPoints(): number {
    return this.full.reduce((sum, batch) => sum + batch.points.length, this.current?.points.length ?? 0);
  }

  /** The batch being filled is full: it goes out now, or after the batches full before it. */
  private seal(): void {
    const batch = this.takeCurrent();
    if (!batch) return;
    this.full.push(batch);
    this.sendNext();
  }

  private takeCurrent(): Batch<T> | undefined {
    const batch = this.current;
    this.current = undefined;
    batch?.cancelTimer?.();
    return batch;
  }

  /** Unless a write is in progress, writes the oldest full batch, or else the one being filled. */
  private sendNext(): void {
    if (this.writing) return;
    const batch = this.full.shift() ?? this.takeCurrent();
    if (batch) this.send(batch);
  }

  private send(batch: Batch<T>): void {
    this.writing = this.write(batch.points)
      .then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (error: unknown) =>
          batch.waiters.length > 1 && this.options.refusedPoints?.(error) === true ? this.writeEach(batch) : batch.waiters.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.writing = undefined;
        // What accumulated during the write goes now rather than when its delay runs out.
        this.sendNext();
      });
  }

  /** Writes each waiter's points on their own, one after another (rare: a batch with refused points). */
  private async writeEach(batch: Batch<T>): Promise<void> {
    let from = 0;
    for (const waiter of batch.waiters) {
      const points = batch.points.slice(from, (from += waiter.count));
      await this.write(points).then(
        () => waiter.resolve(),
        (error: unknown) => waiter.reject(error),
      );
    }
  }
}
