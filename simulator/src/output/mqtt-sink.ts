// Publishes wire messages to one or more gateways with mqtt.js. Machines are spread over the
// connections by index, so each machine's stream stays ordered on one connection. Backpressure is
// mqtt.js's own: a QoS 0 publish calls back once written to the socket, a QoS 1 publish once acked;
// generation waits in settle() while too many are outstanding or a connection is down.
import { type Clock, systemClock } from '@pdm/clock';
import mqtt, { type MqttClient } from 'mqtt';
import { SIMULATOR_DEFAULTS } from '../defaults.js';
import type { WireMessage } from './payloads.js';

/** Sends of one QoS 1 message before it is counted as lost. */
const MAX_ATTEMPTS = 5;

export interface MqttTarget {
  urls: readonly string[];
  username?: string | undefined;
  password?: string | undefined;
  qos: 0 | 1;
  clientIdPrefix?: string;
  reconnectPeriodMs?: number;
  maxPendingMessages?: number;
}

export interface MqttCounters {
  messages: number;
  bytes: number;
  /** Successful reconnections after a drop. */
  reconnects: number;
  /** Publish or connection errors reported by mqtt.js. */
  errors: number;
  /** QoS 1 publishes mqtt.js gave up on (connection closed under them) and that were sent again. */
  republished: number;
  /**
   * Publishes that did not get through: QoS 0 ones mqtt.js reported as failed, QoS 1 ones given up
   * after MAX_ATTEMPTS, and whatever close() found still unsent or unacked.
   */
  lost: number;
}

export class MqttSink {
  readonly counters: MqttCounters = { messages: 0, bytes: 0, reconnects: 0, errors: 0, republished: 0, lost: 0 };
  private closing = false;
  /** Connections cut by drop() and not yet reconnected. */
  private readonly down = new Set<MqttClient>();
  /** Per connection: publishes to send again after it reconnects. */
  private readonly retries = new Map<MqttClient, (() => void)[]>();
  private pending = 0;
  /** Woken whenever a publish completes or a connection comes back. */
  private wake: (() => void) | undefined;

  private constructor(
    private readonly clients: MqttClient[],
    private readonly qos: 0 | 1,
    private readonly maxPending: number,
    private readonly clock: Clock,
  ) {
    for (const client of clients) {
      this.retries.set(client, []);
      client.on('connect', () => {
        this.counters.reconnects++;
        this.down.delete(client);
        const again = this.retries.get(client)?.splice(0) ?? [];
        for (const send of again) send();
        this.notify();
      });
      client.on('error', () => {
        this.counters.errors++;
      });
    }
  }

  /** Connects to every URL; rejects naming the URL that failed. `clock` times close()'s bound. */
  static async connect(target: MqttTarget, clock: Clock = systemClock): Promise<MqttSink> {
    const d = SIMULATOR_DEFAULTS.mqtt;
    const prefix = target.clientIdPrefix ?? d.clientIdPrefix;
    const clients = await Promise.all(
      target.urls.map(async (url, i) => {
        try {
          return await mqtt.connectAsync(
            url,
            {
              clientId: `${prefix}-${process.pid}-${i}`,
              username: target.username,
              password: target.password,
              reconnectPeriod: target.reconnectPeriodMs ?? d.reconnectPeriodMs,
              connectTimeout: 10_000,
              protocolVersion: 4,
            },
            false,
          );
        } catch (error) {
          throw new Error(`cannot connect to MQTT ${url}: ${(error as Error).message || String(error)}`);
        }
      }),
    );
    return new MqttSink(clients, target.qos, target.maxPendingMessages ?? d.maxPendingMessages, clock);
  }

  get connections(): number {
    return this.clients.length;
  }

  send(wire: WireMessage): void {
    const client = this.clients[wire.machineIndex % this.clients.length];
    if (!client) return;
    const payload =
      typeof wire.payload === 'string'
        ? wire.payload
        : Buffer.from(wire.payload.buffer, wire.payload.byteOffset, wire.payload.byteLength);
    this.pending++;
    this.counters.messages++;
    this.counters.bytes += payload.length;
    this.publish(client, wire.topic, payload);
  }

  private publish(client: MqttClient, topic: string, payload: string | Buffer, attempt = 1): void {
    client.publish(topic, payload, { qos: this.qos }, (error) => {
      if (error) {
        this.counters.errors++;
        // mqtt.js fails publishes queued behind a connection that dropped ("Connection closed").
        // At QoS 1 the promise is at-least-once, so they go again once the connection is back.
        if (this.qos === 1 && !this.closing && attempt < MAX_ATTEMPTS) {
          this.counters.republished++;
          this.retries.get(client)?.push(() => this.publish(client, topic, payload, attempt + 1));
          return;
        }
        this.counters.lost++;
      }
      this.pending--;
      this.notify();
    });
  }

  /** Resolves when few enough publishes are outstanding and every connection is up (or on abort). */
  async settle(signal?: AbortSignal): Promise<void> {
    if (!this.mustWait()) return;
    const onAbort = () => this.notify();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted && this.mustWait()) await new Promise<void>((resolve) => (this.wake = resolve));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Chaos: cuts connection `index` at the socket, as a network fault would; mqtt.js reconnects.
   * Returns false when that connection is already down (the cut would change nothing).
   */
  drop(index: number): boolean {
    const client = this.clients[index];
    if (!client || this.down.has(client) || !client.connected) return false;
    // Down from now, not from when mqtt.js sees the socket close: nothing more goes to a dead socket.
    this.down.add(client);
    client.stream.destroy();
    return true;
  }

  /**
   * Waits (at most `timeoutMs`) for everything published to be written (QoS 0) or acked (QoS 1),
   * then disconnects. The bound keeps a dead broker from hanging shutdown; what it leaves
   * outstanding counts as lost.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    let cancel = () => {};
    const timedOut = new Promise<void>((resolve) => (cancel = this.clock.schedule(resolve, timeoutMs)));
    const drained = (async () => {
      while (this.pending > 0) await new Promise<void>((resolve) => (this.wake = resolve));
    })();
    await Promise.race([drained, timedOut]);
    cancel();
    this.closing = true;
    await Promise.all(this.clients.map((c) => c.endAsync(this.pending > 0)));
    // Still outstanding after the forced end: queued for a connection that never came back (in
    // mqtt.js or in `retries`) or never acked. mqtt.js drops these without calling back, so unless
    // counted here a run that lost them would report nothing lost.
    this.counters.lost += this.pending;
    this.pending = 0;
  }

  private mustWait(): boolean {
    return this.pending > this.maxPending || this.down.size > 0 || this.clients.some((c) => !c.connected);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
