// The deserializer on the bytes a gateway publishes (encodeFeatureBatchOf, as the gateway's publisher
// frames its outbox rows), damaged where a review found it dead-lettering more than it must.
import { FeatureBatchSchema, MachineWindowSchema, create, encodeFeatureBatchOf, encodeMachineWindow, pubsubAttributes, type FeatureBatch } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { makeWindow } from '../test-support/windows.js';
import { UndecodableMessageError } from './poison-message.js';
import { MAX_WINDOWS_PER_BATCH, ProtobufDeserializer, undecodableWindowsOf } from './protobuf-deserializer.js';

const header = { gatewayId: 'gw-1', siteId: 'plant-1', shard: 2 };
const deserializer = new ProtobufDeserializer([MachineWindowSchema, FeatureBatchSchema]);
const deserializeBatch = (data: Uint8Array) => deserializer.deserialize({ data, attributes: pubsubAttributes(FeatureBatchSchema, header) }).data as FeatureBatch;

/** The bytes of `count` empty windows (tag and length 0 each): the most windows per body byte. */
const emptyWindows = (count: number) => {
  const bytes = new Uint8Array(2 * count);
  for (let i = 0; i < bytes.length; i += 2) bytes[i] = 0x22;
  return bytes;
};

describe('ProtobufDeserializer: a FeatureBatch, window by window', () => {
  it('leaves out a window that does not decode, keeps the others, and records which window it was and where', () => {
    const good = [makeWindow({ machine: 'pump-1' }), makeWindow({ machine: 'pump-3' })];
    const bad = Uint8Array.from(encodeMachineWindow(makeWindow({ machine: 'pump-2' })));
    bad[Buffer.from(bad).indexOf('vib')] = 0xff; // invalid UTF-8 in a sensor_id
    const body = encodeFeatureBatchOf(header, [encodeMachineWindow(good[0]!), bad, encodeMachineWindow(good[1]!)]);
    // Pub/Sub hands the body over as a Buffer, often a view into a larger one: offsets are the body's.
    const pooled = Buffer.alloc(body.length + 16, 0xee);
    pooled.set(body, 7);
    const batch = deserializeBatch(pooled.subarray(7, 7 + body.length));

    expect(batch).toStrictEqual(create(FeatureBatchSchema, { ...header, windows: good }));
    const why = undecodableWindowsOf(batch);
    expect(why).toBeInstanceOf(UndecodableMessageError);
    expect(why!.reason).toBe('undecodable');
    const named = /^1 of 3 windows are not a valid pdm\.v1\.MachineWindow \(the batch's other windows were processed before it was dead-lettered\): windows\[1\] at body bytes \[(\d+), (\d+)\): (.+)$/.exec(why!.message);
    expect(named, why!.message).not.toBeNull();
    expect(body.subarray(Number(named![1]), Number(named![2]))).toStrictEqual(bad);
    expect(named![3]).toMatch(/utf-8/i);

    const whole = deserializeBatch(encodeFeatureBatchOf(header, good.map((w) => encodeMachineWindow(w))));
    expect(whole.windows).toHaveLength(2);
    expect(undecodableWindowsOf(whole)).toBeUndefined();
  });

  it('names the first five windows that do not decode and counts the rest', () => {
    const truncated = Uint8Array.from([0x20, 0x80]); // window_start: a varint cut off
    const body = encodeFeatureBatchOf(header, [...Array<Uint8Array>(8).fill(truncated), encodeMachineWindow(makeWindow())]);
    const batch = deserializeBatch(body);
    expect(batch.windows.map((w) => w.machineId)).toStrictEqual(['pump-1']);
    const message = undecodableWindowsOf(batch)!.message;
    expect(message).toMatch(/^8 of 9 windows are not a valid pdm\.v1\.MachineWindow /);
    // After the header's 17 bytes, each window takes 4: tag, length, and its 2 bytes.
    const first5 = [0, 1, 2, 3, 4].map((i) => `windows[${i}] at body bytes [${19 + 4 * i}, ${21 + 4 * i}): premature EOF`);
    expect(message.slice(message.indexOf(': windows['))).toBe(`: ${first5.join('; ')}; and 3 more`);
  });

  it(`refuses a batch of more than ${MAX_WINDOWS_PER_BATCH} windows, undecoded; a batch whose own framing is broken stays undecodable whole`, () => {
    expect(deserializeBatch(emptyWindows(MAX_WINDOWS_PER_BATCH)).windows).toHaveLength(MAX_WINDOWS_PER_BATCH);
    const refused = (data: Uint8Array) => {
      try {
        deserializeBatch(data);
      } catch (error) {
        expect(error).toBeInstanceOf(UndecodableMessageError);
        return [(error as UndecodableMessageError).reason, (error as Error).message];
      }
      throw new Error('decoded');
    };
    expect(refused(emptyWindows(MAX_WINDOWS_PER_BATCH + 1))).toStrictEqual([
      'undecodable',
      `a FeatureBatch of more than ${MAX_WINDOWS_PER_BATCH} windows: refused undecoded (no gateway sends more than ${MAX_WINDOWS_PER_BATCH} in one)`,
    ]);
    const body = encodeFeatureBatchOf(header, [encodeMachineWindow(makeWindow({ machine: 'pump-1' })), encodeMachineWindow(makeWindow({ machine: 'pump-2' }))]);
    expect(refused(body.subarray(0, body.length - 1))).toStrictEqual(['undecodable', 'body is not a valid pdm.v1.FeatureBatch: premature EOF']);
  });
});
