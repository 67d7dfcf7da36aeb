import { describe, expect, it } from 'vitest';
import { type LeaseHolder, MessageQueue, type QueueEntry } from './message-queue.js';

const message = (id: string, orderingKey = '') => ({ id, data: Buffer.from(id), attributes: {}, orderingKey, publishTimeMs: 0 });

function takeAll(queue: MessageQueue, now = 0, holder?: LeaseHolder, max = Number.POSITIVE_INFINITY): QueueEntry[] {
  const taken: QueueEntry[] = [];
  for (let e = queue.takeNext(holder); e; e = taken.length < max ? queue.takeNext(holder) : undefined) {
    queue.lease(e, `ack-${e.seq}-${e.attempts + 1}`, now + 10_000, holder);
    taken.push(e);
  }
  return taken;
}

const ids = (entries: QueueEntry[]) => entries.map((e) => e.message.id);
const holder = (): LeaseHolder => ({ leaseEnded: () => {} });

describe('MessageQueue', () => {
  it('keeps one message per ordering key in flight and releases the next on removal', () => {
    const queue = new MessageQueue(true);
    ['a1', 'a2', 'b1', 'b2'].forEach((id, i) => queue.add(i + 1, message(id, id[0])));
    queue.add(5, message('free'));
    const first = takeAll(queue);
    expect(first.map((e) => e.message.id)).toEqual(['a1', 'b1', 'free']);
    queue.remove(first[0] as QueueEntry);
    expect(takeAll(queue).map((e) => e.message.id)).toEqual(['a2']);
  });

  it('puts a released head back in front of its key, after its backoff', () => {
    const queue = new MessageQueue(true);
    queue.add(1, message('k1', 'k'));
    queue.add(2, message('k2', 'k'));
    const [head] = takeAll(queue);
    queue.release(head as QueueEntry, 5_000, 1_000);
    expect(queue.takeNext()).toBeUndefined();
    queue.promoteDue(4_999);
    expect(queue.takeNext()).toBeUndefined();
    queue.promoteDue(5_000);
    expect(takeAll(queue).map((e) => [e.message.id, e.attempts])).toEqual([['k1', 2]]);
  });

  it('ignores ordering keys when ordering is disabled and reports expired leases', () => {
    const queue = new MessageQueue(false);
    queue.add(1, message('x1', 'x'));
    queue.add(2, message('x2', 'x'));
    expect(takeAll(queue, 0)).toHaveLength(2);
    expect(queue.expired(9_999)).toHaveLength(0);
    expect(queue.expired(10_000).map((e) => e.message.id)).toEqual(['x1', 'x2']);
    expect({ backlog: queue.backlog, outstanding: queue.outstanding }).toEqual({ backlog: 2, outstanding: 2 });
  });

  describe('with an orderingKeyBatch above 1 (as Google may deliver)', () => {
    /** A lease holder that sums the bytes its ended leases give back to its flow control. */
    const countingHolder = () => {
      const freed = { bytes: 0, leaseEnded: (bytes: number) => void (freed.bytes += bytes) };
      return freed;
    };
    const ackIdOf = (entry: QueueEntry) => entry.lease?.ackId ?? 'not leased';

    it('hands a key out up to N at a time, in order, and the next one as soon as one of them is acked', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3', 'a4', 'a5'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      queue.add(6, message('b1', 'b'));
      queue.add(7, message('free'));
      const first = takeAll(queue);
      expect(ids(first)).toEqual(['a1', 'a2', 'a3', 'b1', 'free']);
      const [a1, , a3] = first as [QueueEntry, QueueEntry, QueueEntry];
      queue.remove(a3); // acks may arrive in any order
      expect(ids(takeAll(queue))).toEqual(['a4']);
      expect(takeAll(queue)).toEqual([]); // three of the key are out again
      queue.remove(a1);
      expect(ids(takeAll(queue))).toEqual(['a5']);
    });

    it('on a nack, ends the leases of the later outstanding messages and redelivers from the failed one at once, in order', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3', 'a4'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      const stream = countingHolder();
      const [a1, a2, a3] = takeAll(queue, 0, stream) as [QueueEntry, QueueEntry, QueueEntry];
      const [a1Ack, a3Ack] = [ackIdOf(a1), ackIdOf(a3)];
      queue.release(a2, 1_000, 1_000); // nacked, no backoff
      // a3's old delivery is over: its ack or nack is not recognised, and its bytes are freed with a2's.
      expect(queue.leased(a3Ack)).toBeUndefined();
      expect(stream.bytes).toBe(a2.bytes + a3.bytes);
      // a1, before the failed one, keeps its lease; the key goes on from a2 without waiting for a3's old delivery.
      expect(queue.leased(a1Ack)).toBe(a1);
      expect(takeAll(queue, 0, stream).map((e) => [e.message.id, e.attempts])).toEqual([
        ['a2', 2],
        ['a3', 2],
      ]);
      queue.remove(a1);
      expect(ids(takeAll(queue, 0, stream))).toEqual(['a4']);
      expect({ backlog: queue.backlog, outstanding: queue.outstanding }).toEqual({ backlog: 3, outstanding: 3 });
    });

    it('on an expiry with a backoff, ends the later leases and holds the key until the failed message is due', () => {
      const queue = new MessageQueue(true, 2);
      ['a1', 'a2', 'a3'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      const [a1, a2] = takeAll(queue) as [QueueEntry, QueueEntry];
      const a2Ack = ackIdOf(a2);
      queue.release(a1, 5_000, 1_000);
      expect(queue.leased(a2Ack)).toBeUndefined();
      expect(queue.expired(20_000)).toEqual([]); // nothing of the key is leased any more
      queue.promoteDue(4_999);
      expect(takeAll(queue)).toEqual([]);
      queue.promoteDue(5_000);
      expect(takeAll(queue).map((e) => [e.message.id, e.attempts])).toEqual([
        ['a1', 2],
        ['a2', 2],
      ]);
    });

    it('gives a key to one holder at a time: another gets none of it while the first holds some', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      queue.add(4, message('free'));
      const one = holder();
      const other = holder();
      const [a1] = takeAll(queue, 0, one, 1); // the first holder's room ran out after one message
      expect(ids(takeAll(queue, 0, other))).toEqual(['free']);
      const rest = takeAll(queue, 0, one);
      expect(ids(rest)).toEqual(['a2', 'a3']);
      for (const entry of [a1, ...rest]) queue.remove(entry as QueueEntry);
      queue.add(5, message('a4', 'a'));
      expect(ids(takeAll(queue, 0, other))).toEqual(['a4']);
    });
  });
});
