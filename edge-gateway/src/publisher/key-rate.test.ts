import { describe, expect, it } from 'vitest';
import { KeyRateLimiter } from './key-rate.js';

describe('KeyRateLimiter', () => {
  it('lets a key send a second of its rate at once, then as fast as the rate refills', () => {
    const rate = new KeyRateLimiter(1_000); // 1,000 bytes/s, a bucket of 1,000 bytes
    expect(rate.waitMs('a', 600, 0)).toBe(0);
    rate.spend('a', 600, 0);
    expect(rate.waitMs('a', 400, 0)).toBe(0);
    rate.spend('a', 400, 0);
    expect(rate.waitMs('a', 300, 0)).toBe(300); // 300 bytes at 1,000 bytes/s
    expect(rate.waitMs('a', 300, 100)).toBe(200);
    expect(rate.waitMs('b', 1_000, 0)).toBe(0); // another key has its own bucket
  });

  it('sends a message larger than the bucket once the bucket is full, and leaves the key in debt', () => {
    const rate = new KeyRateLimiter(1_000);
    rate.spend('a', 500, 0);
    expect(rate.waitMs('a', 5_000, 0)).toBe(500); // waits for a full bucket, not for 5,000 bytes
    rate.spend('a', 5_000, 500); // the bucket was full at 500 ms: 1,000 - 5,000 = -4,000
    expect(rate.waitMs('a', 100, 500)).toBe(4_100);
    expect(rate.waitMs('a', 100, 4_600)).toBe(0);
  });

  it('holds a key no longer than its rate says when the clock steps back', () => {
    const rate = new KeyRateLimiter(1_000);
    rate.spend('a', 1_000, 3_600_000); // sent a full second's worth, then NTP sets the clock back an hour
    expect(rate.waitMs('a', 500, 0)).toBe(500); // not an hour and a half second
    expect(rate.waitMs('a', 500, 500)).toBe(0); // the bucket refills from the new time on
    rate.spend('a', 500, 500);
    expect(rate.waitMs('a', 500, 1_000)).toBe(0);
  });
});
