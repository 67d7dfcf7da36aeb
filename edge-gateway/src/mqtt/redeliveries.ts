// Recognises a PUBLISH a client sends again, so that its readings are ingested once. QoS 1 is "at
// least once": a client that misses the PUBACK — lost, or the connection dropped first — sends the
// message again with the DUP flag and the same packet id, on the same connection or after
// reconnecting with the same client id. (aedes drops QoS 2 repeats itself, but only after the
// gateway has ingested them; they are recognised here too.)
//
// A repeat is a DUP PUBLISH whose packet id, topic and payload match one of the last
// 32 QoS 1/2 publishes of its client id. Matching the content too matters: a client may
// reuse a packet id once it has been acknowledged, and a new message whose first copy was lost
// arrives with DUP set under a reused id — it is new, and ingested.
import type { PublishPacket } from 'aedes';

/** Packet ids remembered per client: a retransmission repeats one of its publishes still unacknowledged. */
const IDS_PER_CLIENT = 32;
/** Client ids remembered, the least recently publishing forgotten first: at most ~10 MB in all. */
const CLIENTS = 4_096;

interface Fingerprint {
  topic: string;
  bytes: number;
  hash: number;
}

/** FNV-1a over the payload: cheap next to decoding it, and a stray collision only drops a repeat. */
function fnv1a(payload: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) hash = Math.imul(hash ^ payload[i]!, 0x01000193);
  return hash >>> 0;
}

export class RedeliveryFilter {
  private readonly clients = new Map<string, Map<number, Fingerprint>>();

  /** Whether `packet` repeats a publish this client id already sent; remembers it when it does not. */
  isRedelivery(clientId: string, packet: Pick<PublishPacket, 'qos' | 'dup' | 'messageId' | 'topic' | 'payload'>): boolean {
    if (packet.qos === 0 || packet.messageId === undefined) return false;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const fingerprint: Fingerprint = { topic: packet.topic, bytes: payload.length, hash: fnv1a(payload) };
    const seen = this.idsOf(clientId);
    const earlier = seen.get(packet.messageId);
    if (packet.dup && earlier && earlier.topic === fingerprint.topic && earlier.bytes === fingerprint.bytes && earlier.hash === fingerprint.hash) {
      return true;
    }
    seen.delete(packet.messageId); // re-inserted last: the map's order is the order of use
    seen.set(packet.messageId, fingerprint);
    if (seen.size > IDS_PER_CLIENT) seen.delete(seen.keys().next().value!);
    return false;
  }

  /** The client's remembered ids, its entry moved to the most recent end. */
  private idsOf(clientId: string): Map<number, Fingerprint> {
    const seen = this.clients.get(clientId) ?? new Map<number, Fingerprint>();
    this.clients.delete(clientId);
    this.clients.set(clientId, seen);
    if (this.clients.size > CLIENTS) this.clients.delete(this.clients.keys().next().value!);
    return seen;
  }
}
