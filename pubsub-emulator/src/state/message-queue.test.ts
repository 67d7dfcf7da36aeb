import { describe, expect, it } from 'vitest';
import { MessageQueue, type QueueEntry } from './message-queue.js';

const message = (id: string, orderingKey = '') => ({ id, data: Buffer.from(id), attributes: {}, orderingKey, publishTimeMs: 0 });

function takeAll(queue: MessageQueue, now = 0): QueueEntry[] {
  const taken: QueueEntry[] = [];
  for (let e = queue.takeNext(); e; e = queue.takeNext()) {
    queue.lease(e, `ack-${e.seq}-${e.attempts + 1}`, now + 10_000, undefined);
    taken.push(e);
  }
  return taken;
}

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
});
