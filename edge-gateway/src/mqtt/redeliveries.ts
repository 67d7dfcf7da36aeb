// Recognises a PUBLISH a client sends again, so that its readings are ingested once. QoS 1 is "at
// least once": a client that misses the PUBACK — lost, or the connection dropped first — sends the
// message again with the DUP flag and the same packet id, on the same connection or after
// reconnecting with the same client id. (aedes drops QoS 2 repeats itself, but only after the
// gateway has ingested them; they are recognised here too.)
//
// A repeat is a DUP PUBLISH whose packet id, topic and payload match one of the last
// 32 QoS 1/2 publishes of its client id that may still be unacknowledged at the sender. Matching the
// content too matters: a sender may reuse a packet id once it has the PUBACK [MQTT-2.3.1-3] (HiveMQ
// takes the lowest free id, so nearly every message of a bridge upstream is id 1), and a new message
// whose first copy was lost arrives with DUP set under a reused id — it is new, and ingested.
//
// A new publish under a remembered id proves the sender has the PUBACK of the last publish under it
// and, PUBACKs arriving in order, of every publish acknowledged before that one: none of them can
// come again, so they are forgotten. Otherwise a new message resent with DUP after a half-open
// connection (the sender went on publishing into it, each message under the lowest free id) met a
// stale publish under its id from a burst acknowledged long before, and was dropped if it had the
// same bytes — a steady plain-number reading, stamped at gateway time. Still ambiguous, and taken as
// the repeat: a DUP with the bytes of a publish that may be unacknowledged — the same message, or a
// new one under its id once the PUBACK arrived.
//
// The memory is bounded twice: it holds at most `maxClients` client ids (the least recently
// publishing forgotten first), and it forgets a client some minutes after its connection ended —
// a device that comes back later has long given up on its unacknowledged messages, or sends them
// right after reconnecting, well within that time.
import type { Clock } from '@pdm/clock';
import type { PublishPacket } from 'aedes';

/** Packet ids remembered per client: a retransmission repeats one of its publishes still unacknowledged. */
const IDS_PER_CLIENT = 32;
/** How long a disconnected client's publishes are remembered, for a reconnect that sends them again. */
export const FORGET_DISCONNECTED_AFTER_MS = 5 * 60_000;

/** A publish as remembered: ~3 KB per client of 32 ids (measured), whatever the size of its topics and payloads. */
interface Fingerprint {
  payloadBytes: number;
  /** Over topic and payload; a stray collision only drops a repeat that also matches id and length. */
  hash: number;
}

/** FNV-1a, continued from `hash`: cheap next to decoding the payload. */
function fnv1a(bytes: Buffer, hash = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/** Topic, a NUL (which no topic contains), then payload: another split of the same bytes hashes apart. */
function fingerprintOf(topic: string, payload: Buffer): Fingerprint {
  return { payloadBytes: payload.length, hash: fnv1a(payload, fnv1a(Buffer.from(`${topic}\0`))) };
}

/**
 * A new publish under `messageId`: the sender has the PUBACK of the last one under it, so that one
 * and every publish `seen` (in the order of their PUBACKs) holds before it are forgotten.
 */
function forgetAcknowledged(seen: Map<number, Fingerprint>, messageId: number): void {
  if (!seen.has(messageId)) return;
  for (const id of seen.keys()) {
    seen.delete(id);
    if (id === messageId) return;
  }
}

export class RedeliveryFilter {
  /** Each client's recent publishes by packet id; in order of use, least recently publishing first. */
  private readonly clients = new Map<string, Map<number, Fingerprint>>();
  /** When each remembered client's last connection ended; in that order, earliest first. */
  private readonly disconnectedAt = new Map<string, number>();

  /**
   * @param maxClients client ids remembered at most (the gateway: mqtt.rememberedClients, by default
   *   validation.maxMachines: a client per machine it may hold)
   * @param onConnectedForgotten called when the bound makes it forget a client still connected: that
   *   client's repeats after a lost PUBACK would be ingested twice — the bound is too small for the fleet
   */
  constructor(
    private readonly maxClients: number,
    private readonly clock: Clock,
    private readonly onConnectedForgotten: () => void = () => undefined,
  ) {}

  /** Whether `packet` repeats a publish this client id already sent; remembers it when it does not. */
  isRedelivery(clientId: string, packet: Pick<PublishPacket, 'qos' | 'dup' | 'messageId' | 'topic' | 'payload'>): boolean {
    // QoS 0 first: it is never repeated, and only a QoS 1/2 publish makes a client remembered, so
    // forgetting can wait for one (the memory stays bounded by maxClients meanwhile).
    if (packet.qos === 0 || packet.messageId === undefined) return false;
    this.forgetDisconnected();
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const fingerprint = fingerprintOf(packet.topic, payload);
    const seen = this.idsOf(clientId);
    const earlier = seen.get(packet.messageId);
    const repeat = packet.dup && earlier !== undefined && earlier.payloadBytes === fingerprint.payloadBytes && earlier.hash === fingerprint.hash;
    if (!repeat) forgetAcknowledged(seen, packet.messageId);
    seen.delete(packet.messageId); // re-inserted last: the map's order is the order of the PUBACKs
    seen.set(packet.messageId, fingerprint);
    if (seen.size > IDS_PER_CLIENT) seen.delete(seen.keys().next().value!);
    return repeat;
  }

  /** A connection of `clientId` was accepted: its publishes are remembered until it goes again. */
  connected(clientId: string): void {
    this.disconnectedAt.delete(clientId);
  }

  /** A connection of `clientId` ended: its publishes are forgotten forgetAfterMs from now unless it reconnects. */
  disconnected(clientId: string): void {
    if (!this.clients.has(clientId)) return;
    this.disconnectedAt.delete(clientId); // re-inserted last: the map's order is the order of disconnection
    this.disconnectedAt.set(clientId, this.clock.now());
  }

  /** How many client ids the memory holds now. */
  rememberedClients(): number {
    return this.clients.size;
  }

  /** Forgets the clients disconnected forgetAfterMs ago or longer; they are the first ones of disconnectedAt. */
  private forgetDisconnected(): void {
    const cutoff = this.clock.now() - FORGET_DISCONNECTED_AFTER_MS;
    for (const [clientId, at] of this.disconnectedAt) {
      if (at > cutoff) return;
      this.forget(clientId);
    }
  }

  private forget(clientId: string): void {
    this.clients.delete(clientId);
    this.disconnectedAt.delete(clientId);
  }

  /** The client's remembered ids, its entry moved to the most recent end. */
  private idsOf(clientId: string): Map<number, Fingerprint> {
    const seen = this.clients.get(clientId) ?? new Map<number, Fingerprint>();
    this.clients.delete(clientId);
    this.clients.set(clientId, seen);
    if (this.clients.size > this.maxClients) {
      const leastRecent = this.clients.keys().next().value!;
      if (!this.disconnectedAt.has(leastRecent)) this.onConnectedForgotten();
      this.forget(leastRecent);
    }
    return seen;
  }
}
