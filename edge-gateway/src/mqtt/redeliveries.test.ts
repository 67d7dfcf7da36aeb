import { ManualClock } from '@pdm/clock';
import { describe, expect, it } from 'vitest';
import { FORGET_DISCONNECTED_AFTER_MS, RedeliveryFilter } from './redeliveries.js';

const publish = (messageId: number, dup: boolean, topic = 'sensors/m/s', payload = '{"ts":1,"value":1}') => ({
  qos: 1 as const,
  dup,
  messageId,
  topic,
  payload: Buffer.from(payload),
});

describe('the memory of redeliveries', () => {
  it('recognises the repeat of each of 5,000 clients (validation.maxMachines by default), all publishing before any repeats', () => {
    const filter = new RedeliveryFilter(5_000, new ManualClock());
    const clients = Array.from({ length: 5_000 }, (_, i) => `device-${i}`);
    for (const client of clients) expect(filter.isRedelivery(client, publish(1, false))).toBe(false);
    const repeats = clients.filter((client) => filter.isRedelivery(client, publish(1, true)));
    expect(repeats).toHaveLength(5_000);
    expect(filter.rememberedClients()).toBe(5_000);
  });

  it('holds at most maxClients clients, forgetting the least recently publishing', () => {
    const filter = new RedeliveryFilter(3, new ManualClock());
    for (const client of ['a', 'b', 'c']) filter.isRedelivery(client, publish(1, false));
    filter.isRedelivery('a', publish(2, false)); // a publishes again: b is now the least recent
    filter.isRedelivery('d', publish(1, false));
    expect(filter.rememberedClients()).toBe(3);
    expect(filter.isRedelivery('a', publish(1, true))).toBe(true);
    expect(filter.isRedelivery('b', publish(1, true))).toBe(false); // forgotten: ingested as new
  });

  it('says when it forgets a client still connected for want of room, not when the one it forgets had left', () => {
    let full = 0;
    const filter = new RedeliveryFilter(2, new ManualClock(), () => full++);
    for (const client of ['a', 'b']) filter.isRedelivery(client, publish(1, false));
    filter.disconnected('a');
    filter.isRedelivery('c', publish(1, false)); // forgets 'a', which had left
    expect(full).toBe(0);
    filter.isRedelivery('d', publish(1, false)); // forgets 'b', still connected: its repeat would be new
    expect(full).toBe(1);
    expect(filter.isRedelivery('b', publish(1, true))).toBe(false);
  });

  it('forgets the publishes a reused packet id shows acknowledged: new messages resent under the same ids after a half-open connection are new', () => {
    const filter = new RedeliveryFilter(10, new ManualClock());
    const send = (messageId: number, dup: boolean, payload: string) => filter.isRedelivery('broker', publish(messageId, dup, 'plant/press-1/temp', payload));
    send(1, false, '5');
    send(2, false, '4'); // id 1 not yet acknowledged
    send(1, false, '6'); // id 1 reused: its first publish was acknowledged and is forgotten (2 may not be yet)
    send(3, false, '9'); // its PUBACK lost with the connection
    // After the reconnect: 3 again, then two new messages the sender had sent into the dead connection under ids 1 and 2
    // (the new one under 1 shows 2 acknowledged before it: forgotten too).
    expect([send(3, true, '9'), send(1, true, '8'), send(2, true, '4')]).toEqual([true, false, false]);
    // Each is remembered in turn: sent again, it is a repeat.
    expect([send(1, true, '8'), send(2, true, '4')]).toEqual([true, true]);
  });

  it('matches topic and payload, not their concatenation', () => {
    const filter = new RedeliveryFilter(10, new ManualClock());
    filter.isRedelivery('a', publish(1, false, 'sensors/m/s1', '2'));
    expect(filter.isRedelivery('a', publish(1, true, 'sensors/m/s', '12'))).toBe(false);
  });

  it('forgets a client FORGET_DISCONNECTED_AFTER_MS after its connection ended, unless it came back', () => {
    const clock = new ManualClock(1_000_000);
    const filter = new RedeliveryFilter(10, clock);
    filter.connected('gone');
    filter.connected('back');
    filter.isRedelivery('gone', publish(1, false));
    filter.isRedelivery('back', publish(1, false));
    filter.disconnected('gone');
    filter.disconnected('back');
    clock.advance(60_000);
    filter.connected('back'); // reconnects a minute later and stays

    // One millisecond before the cutoff 'gone' is remembered still: its repeat after a reconnect is recognised.
    clock.advance(FORGET_DISCONNECTED_AFTER_MS - 60_000 - 1);
    filter.isRedelivery('other', publish(1, false));
    expect(filter.rememberedClients()).toBe(3);

    clock.advance(1);
    filter.isRedelivery('other', publish(2, false));
    expect(filter.rememberedClients()).toBe(2);
    expect(filter.isRedelivery('back', publish(1, true))).toBe(true);
    filter.connected('gone');
    expect(filter.isRedelivery('gone', publish(1, true))).toBe(false); // forgotten: ingested as new
  });

  it('ignores the disconnection of a client it does not remember', () => {
    const clock = new ManualClock();
    const filter = new RedeliveryFilter(10, clock);
    filter.disconnected('never-published');
    filter.isRedelivery('never-published', publish(1, false));
    clock.advance(FORGET_DISCONNECTED_AFTER_MS);
    expect(filter.isRedelivery('never-published', publish(1, true))).toBe(true);
  });
});
