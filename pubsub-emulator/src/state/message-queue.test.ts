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
    it('hands a key out several at a time, in order, and the rest only once all of them are settled', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3', 'a4'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      queue.add(5, message('b1', 'b'));
      queue.add(6, message('free'));
      const first = takeAll(queue);
      expect(ids(first)).toEqual(['a1', 'a2', 'a3', 'b1', 'free']);
      const [a1, a2, a3] = first as [QueueEntry, QueueEntry, QueueEntry];
      queue.remove(a3); // acks may arrive in any order
      queue.remove(a2);
      expect(takeAll(queue)).toEqual([]);
      queue.remove(a1);
      expect(ids(takeAll(queue))).toEqual(['a4']);
    });

    it('after a nack, starts the key again from the failed message, once the rest of its batch is settled', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3', 'a4'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      const [a1, a2, a3] = takeAll(queue) as [QueueEntry, QueueEntry, QueueEntry];
      queue.release(a2, 1_000, 1_000); // nacked, no backoff
      expect(takeAll(queue)).toEqual([]); // a1 and a3 are still out
      queue.remove(a1);
      queue.release(a3, 1_000, 1_000);
      expect(takeAll(queue).map((e) => [e.message.id, e.attempts])).toEqual([
        ['a2', 2],
        ['a3', 2],
        ['a4', 1],
      ]);
    });

    it('holds the key while its oldest message waits out a backoff, then starts from it', () => {
      const queue = new MessageQueue(true, 2);
      ['a1', 'a2', 'a3'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      const [a1, a2] = takeAll(queue) as [QueueEntry, QueueEntry];
      queue.release(a1, 5_000, 1_000);
      queue.remove(a2);
      queue.promoteDue(4_999);
      expect(takeAll(queue)).toEqual([]);
      queue.promoteDue(5_000);
      expect(ids(takeAll(queue))).toEqual(['a1', 'a3']);
    });

    it('gives a key to one holder at a time: another holder gets none of it until the batch is settled', () => {
      const queue = new MessageQueue(true, 3);
      ['a1', 'a2', 'a3'].forEach((id, i) => queue.add(i + 1, message(id, 'a')));
      queue.add(4, message('free'));
      const one = holder();
      const other = holder();
      const [a1] = takeAll(queue, 0, one, 1); // the first holder's room ran out after one message
      expect(ids(takeAll(queue, 0, other))).toEqual(['free']);
      expect(takeAll(queue, 0, one)).toEqual([]);
      queue.remove(a1 as QueueEntry);
      expect(ids(takeAll(queue, 0, other))).toEqual(['a2', 'a3']);
    });
  });
});
