// The broker's maximum packet size, enforced on the byte stream before anything buffers a packet.
// aedes hands each connection's bytes to mqtt-packet, which collects a whole packet — up to the
// protocol's 256 MB, a CONNECT's will message included, before authentication — before aedes or the
// gateway sees it; neither library (aedes 1.2, mqtt-packet 9) takes a size limit. This guard sits
// between the connection and aedes, reads only each packet's fixed header (a type byte and a
// remaining length of 1–4 bytes) and lets the body pass: an oversized packet is refused as soon as
// its header has arrived, and its body is never held.
import { Duplex, Transform, pipeline } from 'node:stream';

/** MQTT 3.1.1 control packet types by the high nibble of the first byte [MQTT 2.2.1]. */
const PACKET_TYPES = ['reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'];

export interface OversizedPacket {
  /** 'connect', 'publish', …, or 'websocket message' when the WebSocket layer refused it first. */
  type: string;
  /** The whole packet as its header declares it: fixed header plus remaining length (unknown for a WebSocket message). */
  bytes?: number;
}

/** Follows packet boundaries through a connection's bytes, chunk by chunk, from the fixed headers alone. */
export class PacketSizeScanner {
  private state: 'type' | 'length' | 'body' | 'malformed' = 'type';
  private type = 0;
  private length = 0;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Scans the next chunk of the stream; returns the first packet it finds over the limit. */
  scan(chunk: Buffer): Required<OversizedPacket> | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'type':
          this.type = chunk[i++]! >> 4;
          this.length = 0;
          this.lengthBytes = 0;
          this.state = 'length';
          break;
        case 'length': {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
          if (byte & 0x80) {
            // A fifth length byte is a protocol error; mqtt-packet refuses it and the connection ends.
            if (this.lengthBytes === 4) this.state = 'malformed';
            break;
          }
          const bytes = 1 + this.lengthBytes + this.length;
          if (bytes > this.maxPacketBytes) return { type: PACKET_TYPES[this.type]!, bytes };
          this.bodyLeft = this.length;
          this.state = this.bodyLeft > 0 ? 'body' : 'type';
          break;
        }
        case 'body': {
          const taken = Math.min(this.bodyLeft, chunk.length - i);
          i += taken;
          this.bodyLeft -= taken;
          if (this.bodyLeft === 0) this.state = 'type';
          break;
        }
        case 'malformed':
          return undefined;
      }
    }
    return undefined;
  }
}

export class PacketTooLargeError extends Error {
  constructor(packet: Required<OversizedPacket>, limit: number) {
    super(`${packet.type} packet of ${packet.bytes} bytes exceeds the broker's limit of ${limit} (mqtt.maxPacketBytes)`);
    this.name = 'PacketTooLargeError';
  }
}

/**
 * The connection as aedes should see it: writes go straight through; reads pass the size check.
 * A packet over `maxPacketBytes` calls `onTooLarge` once and ends the connection.
 */
export function guardPacketSize(connection: Duplex, maxPacketBytes: number, onTooLarge: (packet: OversizedPacket) => void): Duplex {
  const scanner = new PacketSizeScanner(maxPacketBytes);
  const inbound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const oversized = scanner.scan(chunk);
      if (!oversized) return done(null, chunk);
      onTooLarge(oversized);
      done(new PacketTooLargeError(oversized, maxPacketBytes));
    },
  });
  // An error on either side destroys both; aedes then sees the error and drops the client.
  pipeline(connection, inbound, () => {});
  const guarded = Duplex.from({ readable: inbound, writable: connection });
  // mqtt-packet corks the stream while it writes a packet's pieces. Corked here they would reach the
  // connection as separate writes (Nagle then holds a PUBACK's tail ~40 ms for the peer's delayed
  // ACK): cork the connection itself, so a packet leaves as one segment as it did without the guard.
  guarded.cork = () => connection.cork();
  guarded.uncork = () => connection.uncork();
  return guarded;
}
