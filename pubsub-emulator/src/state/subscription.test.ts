import { describe, expect, it } from 'vitest';
import { Subscription } from './subscription.js';

const config = { name: 'projects/p/subscriptions/s', topic: 'projects/p/topics/t', ackDeadlineSeconds: 10, labels: {}, enableMessageOrdering: true };
const message = (id: string, orderingKey = 'k') => ({ id, data: Buffer.from(`data-${id}`), attributes: { n: id }, orderingKey, publishTimeMs: 1_000 });

/** Leases and acks every deliverable message, one at a time (an ordering key's next only after the previous ack); returns their ids. */
function ackAll(sub: Subscription): string[] {
  const acked: string[] = [];
  for (let entry = sub.leaseNext(0, 10_000, undefined); entry; entry = sub.leaseNext(0, 10_000, undefined)) {
    expect(sub.ack(entry.lease!.ackId)).toBe(true);
    acked.push(entry.message.id);
  }
  return acked;
}

describe('Subscription.redeliverAcked (test hook)', () => {
  it('keeps the last keepAcked acked messages and puts the chosen ones back, the same message, its delivery count going on', () => {
    const sub = new Subscription(config, 'e', 1, 2);
    for (const id of ['1', '2', '3']) sub.enqueue(message(id));
    expect(ackAll(sub)).toEqual(['1', '2', '3']);
    expect(() => sub.redeliverAcked({ messageIds: ['1'] })).toThrow(/message 1 is not among the 2 acked messages kept/);
    expect(sub.redeliverAcked({ messageIds: ['2', '2'] })).toEqual(['2']);
    const again = sub.leaseNext(0, 10_000, undefined);
    expect(again?.message).toEqual(message('2'));
    expect(again?.attempts).toBe(2);
    expect(sub.stats()).toMatchObject({ published: 3, delivered: 4, redelivered: 1, acked: 3, outstanding: 1, backlog: 1 });
    // Unacked again, it is no longer among the acked ones; acked anew, it is the newest of them.
    expect(() => sub.redeliverAcked({ last: 2 })).toThrow(/last must be an integer from 1 to the 1 acked/);
    sub.ack(again!.lease!.ackId);
    expect(sub.redeliverAcked({ last: 2 })).toEqual(['3', '2']);
    expect(ackAll(sub)).toEqual(['3', '2']);
  });

  it('puts an acked message behind the unacked messages of its ordering key', () => {
    const sub = new Subscription(config, 'e', 1, 10);
    sub.enqueue(message('1'));
    expect(ackAll(sub)).toEqual(['1']);
    sub.enqueue(message('2'));
    sub.enqueue(message('other', 'o'));
    sub.redeliverAcked({ last: 1 });
    expect(ackAll(sub)).toEqual(['2', 'other', '1']);
  });

  it('keeps nothing by default: an ack is final', () => {
    const sub = new Subscription(config, 'e');
    sub.enqueue(message('1'));
    ackAll(sub);
    expect(() => sub.redeliverAcked({ last: 1 })).toThrow(/from 1 to the 0 acked messages kept .* \(keepAcked 0\)/);
    expect(() => sub.redeliverAcked({ messageIds: ['1'] })).toThrow(/message 1 is not among the 0 acked messages kept/);
  });
});
