import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketSizeScanner } from './packet-size-guard.js';

const publish = (payloadBytes: number) =>
  generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(payloadBytes), qos: 0, retain: false, dup: false });

/** Feeds `bytes` to a scanner in chunks of `chunkBytes`; the first oversized packet it reports, if any. */
function scanInChunks(limit: number, bytes: Buffer, chunkBytes: number) {
  const scanner = new PacketSizeScanner(limit);
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    const found = scanner.scan(bytes.subarray(i, i + chunkBytes));
    if (found) return found;
  }
  return undefined;
}

describe('the packet size scanner', () => {
  // A PUBLISH of topic "t" and n payload bytes: 1 type byte, the remaining length (2 + 1 + n) in
  // 1 byte below 128 and 2 bytes below 16,384. So 200 payload bytes make 1 + 2 + 203 = 206 bytes.
  it('measures each packet by its header, whole packet included, across any chunking', () => {
    expect(publish(200)).toHaveLength(206);
    const stream = Buffer.concat([publish(10), generate({ cmd: 'pingreq' }), publish(200), publish(10)]);
    for (const chunkBytes of [1, 2, 3, 7, 64, stream.length]) {
      expect(scanInChunks(206, stream, chunkBytes), `chunks of ${chunkBytes}`).toBeUndefined();
      expect(scanInChunks(205, stream, chunkBytes), `chunks of ${chunkBytes}`).toEqual({ type: 'publish', bytes: 206 });
    }
  });

  it('reports a packet from its header alone, before any of its body', () => {
    // CONNECT announcing 268,435,455 bytes: 0xFF 0xFF 0xFF 0x7F = 127 + 127·128 + 127·128² + 127·128³.
    expect(scanInChunks(1_000_000, Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]), 1)).toEqual({ type: 'connect', bytes: 1 + 4 + 268_435_455 });
  });

  it('leaves a malformed remaining length to the parser, which refuses it', () => {
    expect(scanInChunks(100, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]), 3)).toBeUndefined();
  });
});
