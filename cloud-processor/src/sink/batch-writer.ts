// Collects points from many concurrent messages into one InfluxDB write. A batch goes out when it
// reaches maxPoints or when its first point has waited maxDelayMs, whichever comes first. Each add()
// resolves only once the batch holding its points is written (and rejects if that write failed), so
// the transport acks a message only after its points are in InfluxDB.
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
}

/** Batches points of any form (the sink hands it line protocol, one line per point). */
export class BatchWriter<T> {
  private current: Batch<T> | undefined;
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly write: (points: T[]) => Promise<void>,
    private readonly options: BatchWriterOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  add(points: T[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    const batch = (this.current ??= { points: [], waiters: [] });
    batch.points.push(...points);
    const written = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.points.length >= this.options.maxPoints) this.send();
    else batch.cancelTimer ??= this.clock.schedule(() => this.send(), this.options.maxDelayMs);
    return written;
  }

  /** Writes whatever is pending now and waits for every write in progress. */
  async flush(): Promise<void> {
    this.send();
    await Promise.allSettled([...this.writing]);
  }

  /** Points waiting for their batch to go out. */
  pendingPoints(): number {
    return this.current?.points.length ?? 0;
  }

  private send(): void {
    const batch = this.current;
    if (!batch) return;
    this.current = undefined;
    batch.cancelTimer?.();
    const writing = this.write(batch.points).then(
      () => batch.waiters.forEach((w) => w.resolve()),
      (error: unknown) => batch.waiters.forEach((w) => w.reject(error)),
    );
    this.writing.add(writing);
    void writing.finally(() => this.writing.delete(writing));
  }
}
