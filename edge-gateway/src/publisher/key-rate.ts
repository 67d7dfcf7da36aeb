// Keeps each ordering key under a byte rate. Pub/Sub accepts at most 1 MB/s per ordering key, and a
// gateway draining its outbox after an outage would otherwise publish a key (a shard of batches, or a
// machine) as fast as its link allows and be refused. A token bucket per key holding one second of
// the rate: a key that sent nothing for a second may send a second's worth at once; a message larger
// than that goes when the bucket is full and leaves it in debt. Keys whose bucket is full are
// forgotten, so the map holds only the keys that sent within the last second. The gateway clock is the
// wall clock: a step back (NTP correcting a clock that ran ahead) refills nothing and restarts the
// bucket's time from there, instead of holding every key for the length of the step.
export class KeyRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly bytesPerSecond: number) {}

  /** Milliseconds until `bytes` may go out on `key` (0: now), at gateway time `now`. */
  waitMs(key: string, bytes: number, now: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = this.refill(bucket, now);
    if (tokens >= this.bytesPerSecond) {
      this.buckets.delete(key);
      return 0;
    }
    const needed = Math.min(bytes, this.bytesPerSecond);
    return tokens >= needed ? 0 : Math.ceil(((needed - tokens) / this.bytesPerSecond) * 1000);
  }

  /** Records `bytes` sent on `key` at `now`. */
  spend(key: string, bytes: number, now: number): void {
    const bucket = this.buckets.get(key);
    const tokens = bucket ? this.refill(bucket, now) : this.bytesPerSecond;
    this.buckets.set(key, { tokens: tokens - bytes, at: now });
  }

  /** Brings the bucket to `now`; a clock that went back refills nothing. */
  private refill(bucket: { tokens: number; at: number }, now: number): number {
    bucket.tokens = Math.min(this.bytesPerSecond, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.bytesPerSecond);
    bucket.at = now;
    return bucket.tokens;
  }
}
