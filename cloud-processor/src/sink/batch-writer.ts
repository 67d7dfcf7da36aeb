// Collects points from many concurrent messages into one InfluxDB write. A batch is due when it
// reaches maxPoints or when its first point has waited maxDelayMs, whichever comes first. Each add()
// resolves only once the batch holding its points is written (and rejects if that write failed), so
// the transport acks a message only after its points are in InfluxDB.
// Writes go one at a time (maxWrites): InfluxDB takes requests one after another on one connection
// fastest (processor bench), and small requests beside a large one only cost it CPU. While a write is
// in progress the next batch fills; a batch due meanwhile waits for it, and when it finishes whatever
// accumulated goes out at once (it has waited already), so building the next request overlaps the
// write of the previous one and throughput is the slower of the two instead of their sum.
// Order between one machine's windows is not decided here: the transport starts a machine's next
// window only once the previous one is settled, i.e. after its add() resolved, so batches written side
// by side never hold two windows of one machine (transport/ordering-key-sequencer.ts,
// pipeline/ordering.test.ts).
import { systemClock, type Cancel, type Clock } from '@pdm/clock';

interface Batch<T> {
  points: T[];
  waiters: { resolve(): void; reject(error: unknown): void }[];
  cancelTimer?: Cancel;
}

export interface BatchWriterOptions {
  maxPoints: number;
  maxDelayMs: number;
  /** Writes in progress at once (default 1). */
  maxWrites?: number;
}

/** Batches points of any form (the sink hands it line protocol, one line per point). */
export class BatchWriter<T> {
  /** The batch being filled. */
  private current: Batch<T> | undefined;
  /** Batches that are due, waiting for a write to finish, oldest first. */
  private readonly due: Batch<T>[] = [];
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly write: (points: T[]) => Promise<void>,
    private readonly options: BatchWriterOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  add(points: T[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    // Points that would take the batch past maxPoints start the next one: the sink splits an overfull
    // batch into requests of maxPoints, and the remainder would be a request of a few points.
    if (this.current && this.current.points.length + points.length > this.options.maxPoints) this.close();
    const batch = (this.current ??= { points: [], waiters: [] });
    for (const point of points) batch.points.push(point);
    const written = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.points.length >= this.options.maxPoints) this.close();
    else batch.cancelTimer ??= this.clock.schedule(() => this.close(), this.options.maxDelayMs);
    return written;
  }

  /** Writes whatever is pending now and waits until every write, queued ones included, is done. */
  async flush(): Promise<void> {
    this.close();
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  /** Points waiting for their batch to go out. */
  pendingPoints(): number {
    return this.due.reduce((sum, batch) => sum + batch.points.length, this.current?.points.length ?? 0);
  }

  /** The batch being filled is due. */
  private close(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = undefined;
    batch.cancelTimer?.();
    this.due.push(batch);
    this.sendDue();
  }

  private sendDue(): void {
    while (this.due.length > 0 && this.writing.size < (this.options.maxWrites ?? 1)) this.send(this.due.shift()!);
  }

  private send(batch: Batch<T>): void {
    const writing: Promise<void> = this.write(batch.points)
      .then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (error: unknown) => batch.waiters.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.writing.delete(writing);
        // What accumulated during the write goes now rather than when its delay runs out.
        if (this.due.length === 0) this.close();
        else this.sendDue();
      });
    this.writing.add(writing);
  }
}
