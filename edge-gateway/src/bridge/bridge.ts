// Bridge mode: the gateway subscribes as an MQTT client to the plant's own brokers, so devices keep
// publishing where they do today. Each upstream gets one client with a persistent session (clean
// false, a stable client id, QoS 1): the broker keeps the subscriptions and queues QoS 1 messages
// while the gateway is away, and delivers them when it reconnects. A message is mapped (topic
// template, payload paths, scale) and handed to the same ingest as the embedded broker's messages;
// its PUBACK goes out only after ingest returned, i.e. after the reading is in the window engine, so a
// gateway that dies first gets it again from the broker. Reconnection backs off on the gateway clock.
//
// A message the broker sends again (DUP, same packet id, topic and payload) after the connection
// dropped before it got the PUBACK is ingested once, as from the embedded broker's clients (the memory
// lives in this process: after a gateway restart such a repeat is ingested again). Unlike a device's,
// an upstream's memory is never forgotten while the gateway runs, however long the upstream was away:
// a plant broker keeps the session, and resends its unacknowledged messages, whenever the bridge
// comes back (it is one client of 32 packet ids per upstream).
//
// A message ingest refuses is acknowledged too, counted under its reason and logged (sent again, it
// would be refused again): also one refused for capacity, a new machine beyond validation.maxMachines
// or a new sensor beyond maxSensorsPerMachine, whose readings are dropped. validation.maxMachinesPerUser
// does not apply to mapped messages: an upstream carries a whole plant, not one user.
//
// With `sparkplug`, messages on spBv1.0/ topics go to a Sparkplug B host of their own per upstream
// (births, aliases, sequence numbers), which publishes its Rebirth requests to that upstream. It is
// told when the connection drops: its nodes' births are stale from then on (sparkplug.ts).
//
// A delivery with the RETAIN flag is skipped (counted as `retained`): the broker sends it because a
// subscription was made, it replays the topic's last value, which the gateway ingested when it was
// published if it was subscribed then. The bridge subscribes again at every connection, so a change of
// mappings or filters takes effect on a kept session too.
import { readFileSync } from 'node:fs';
import { type Cancel, type Clock, backoffDelay } from '@pdm/clock';
import { ConfigError } from '@pdm/config';
import { type IClientOptions, type IPublishPacket, type MqttClient, connect } from 'mqtt';
import type { Ingest, IngestRejection } from '../ingest/index.js';
import { checkSecureContext } from '../mqtt/credentials.js';
import { RedeliveryFilter } from '../mqtt/redeliveries.js';
import type { LogLimiter, Logger } from '../ops/log.js';
import { SparkplugIngest } from '../sparkplug/index.js';
import type { BridgeMetrics, BridgeOutcome } from './metrics.js';
import { PayloadMapping } from './payload-mapping.js';
import type { UpstreamConfig } from './schema.js';
import { TopicTemplate } from './topic-template.js';

export interface BridgeDependencies {
  ingest: Pick<Ingest, 'handleMapped'>;
  metrics: BridgeMetrics;
  /** Drives reconnection back-off. */
  clock: Clock;
  log: Logger;
  limiter: LogLimiter;
  /** A message ingest refused (after the bridge counted it), for the gateway's log and debug topic. */
  rejected(topic: string, payload: Buffer, rejection: IngestRejection): void;
  /** The Sparkplug B host of an upstream with `sparkplug`, publishing its Rebirth requests with `publish`. */
  sparkplug(publish: (topic: string, payload: Buffer) => void): Pick<SparkplugIngest, 'handle' | 'connectionLost'>;
}

interface Mapping {
  readonly template: TopicTemplate;
  readonly payload: PayloadMapping;
}

/** The default session client id: stable across restarts, distinct per gateway and upstream. */
const defaultClientId = (gatewayId: string, upstream: string) => `pdm-${gatewayId}-${upstream}`;

/** The MQTT client options of an upstream; its files are read here, one that cannot be read naming its key. */
function clientOptions(upstream: UpstreamConfig, index: number, gatewayId: string): IClientOptions {
  const file = (key: 'ca' | 'cert' | 'key' | 'passwordFile'): Buffer | undefined => {
    const path = upstream[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`bridge.upstreams.${index}.${key}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const ca = file('ca');
  const cert = file('cert');
  const key = file('key');
  // A client certificate or key OpenSSL refuses as too weak would make connect() throw at start
  // with OpenSSL's bare reason: refused here, as the listener's are, naming the key and the file.
  if (upstream.cert !== undefined && upstream.key !== undefined && cert !== undefined && key !== undefined) {
    checkSecureContext(`bridge.upstreams.${index}`, { cert: upstream.cert, key: upstream.key, ...(upstream.ca === undefined ? {} : { ca: upstream.ca }) }, { cert, key, ...(ca === undefined ? {} : { ca }) });
  }
  return {
    clientId: upstream.clientId ?? defaultClientId(gatewayId, upstream.name),
    protocolVersion: 4,
    clean: false,
    // Reconnection is ours, with back-off on the gateway clock.
    reconnectPeriod: 0,
    ...(upstream.username === undefined ? {} : { username: upstream.username }),
    ...(upstream.password === undefined ? {} : { password: upstream.password }),
    ...(upstream.passwordFile === undefined ? {} : { password: file('passwordFile')!.toString('utf8').replace(/\r?\n$/, '') }),
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert, key }),
  };
}

/** One upstream broker: its client, its mappings, its reconnection. */
class UpstreamLink {
  private readonly client: MqttClient;
  private readonly mappings: readonly Mapping[];
  private readonly filters: readonly string[];
  private readonly redeliveries: RedeliveryFilter;
  /** Its edge nodes' births and sequence numbers, when it carries Sparkplug B. */
  private readonly sparkplug: Pick<SparkplugIngest, 'handle' | 'connectionLost'> | undefined;
  private failures = 0;
  private cancelRetry: Cancel | undefined;
  /** A subscription the upstream refused, asked again after a back-off while the connection lasts. */
  private cancelResubscribe: Cancel | undefined;
  private stopped = false;

  constructor(
    private readonly upstream: UpstreamConfig,
    options: IClientOptions,
    private readonly deps: BridgeDependencies,
  ) {
    this.mappings = upstream.mappings.map((m) => ({
      template: new TopicTemplate(m.topic, m),
      payload: new PayloadMapping({ valuePath: m.value, timestampPath: m.timestamp, epochUnit: m.epochUnit, sensors: m.sensors }),
    }));
    this.filters = upstream.subscribe ?? [...new Set([...this.mappings.map((m) => m.template.filter), ...(upstream.sparkplug ? ['spBv1.0/#'] : [])])];
    // Never told of a disconnection, so never forgotten (see the top of the file).
    this.redeliveries = new RedeliveryFilter(1, deps.clock);
    deps.metrics.connected.set({ upstream: upstream.name }, 0);
    this.client = connect(upstream.url, options);
    // Sparkplug commands go out at QoS 0, not retained (Sparkplug 3.0, 7.2).
    this.sparkplug = upstream.sparkplug ? deps.sparkplug((topic, payload) => this.client.publish(topic, payload, { qos: 0, retain: false })) : undefined;
    // mqtt.js sends a QoS 1 PUBACK when this calls back: after the reading is in the window engine.
    this.client.handleMessage = (packet, done) => {
      this.handle(packet);
      done();
    };
    this.client.on('connect', (connack) => this.connected(connack.sessionPresent));
    this.client.on('close', () => this.closed());
    this.client.on('error', (error) =>
      deps.limiter.maybe(`bridge:${upstream.name}:error`, (suppressed) =>
        deps.log.warn({ upstream: upstream.name, url: upstream.url, err: error.message, suppressed }, 'bridge: upstream error'),
      ),
    );
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    this.cancelResubscribe?.();
    // A DISCONNECT keeps the session (clean false): what is published from now on waits for the next start.
    await this.client.endAsync();
    this.deps.metrics.connected.set({ upstream: this.upstream.name }, 0);
  }

  private connected(sessionPresent: boolean): void {
    const { name } = this.upstream;
    this.failures = 0;
    this.deps.metrics.connects.inc({ upstream: name });
    this.deps.log.info({ upstream: name, url: this.upstream.url, sessionPresent, filters: this.filters }, 'bridge: connected to upstream');
    this.subscribe(1);
  }

  /**
   * Subscribes to every filter. One the upstream refuses (its ACL not set up yet, its auth backend
   * failing) is asked again after the upstream's back-off for as long as the connection lasts: until
   * then no message of it reaches the gateway, and none is queued for it.
   */
  private subscribe(attempt: number): void {
    const { name } = this.upstream;
    this.cancelResubscribe = undefined;
    this.client.subscribe([...this.filters], { qos: 1 }, (error, granted) => {
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (!error && refused.length === 0) {
        this.deps.metrics.connected.set({ upstream: name }, 1);
        return;
      }
      if (this.stopped || !this.client.connected) return;
      const delayMs = backoffDelay(attempt, this.upstream.backoff);
      this.deps.log.error({ upstream: name, err: error?.message, refused, retryInMs: Math.round(delayMs) }, 'bridge: subscription refused by the upstream broker; asking again');
      this.cancelResubscribe = this.deps.clock.schedule(() => {
        if (!this.stopped && this.client.connected) this.subscribe(attempt + 1);
      }, delayMs);
    });
  }

  private closed(): void {
    this.sparkplug?.connectionLost();
    this.cancelResubscribe?.();
    this.cancelResubscribe = undefined;
    this.deps.metrics.connected.set({ upstream: this.upstream.name }, 0);
    if (this.stopped || this.cancelRetry !== undefined) return;
    this.failures++;
    const delayMs = backoffDelay(this.failures, this.upstream.backoff);
    this.deps.limiter.maybe(`bridge:${this.upstream.name}:closed`, (suppressed) =>
      this.deps.log.warn({ upstream: this.upstream.name, url: this.upstream.url, retryInMs: Math.round(delayMs), suppressed }, 'bridge: not connected to upstream; retrying'),
    );
    this.cancelRetry = this.deps.clock.schedule(() => {
      this.cancelRetry = undefined;
      if (!this.stopped) this.client.reconnect();
    }, delayMs);
  }

  private count(outcome: BridgeOutcome): void {
    this.deps.metrics.messages.inc({ upstream: this.upstream.name, outcome });
  }

  private handle(packet: IPublishPacket): void {
    const { name } = this.upstream;
    const { topic } = packet;
    if (packet.retain) {
      this.count('retained');
      return;
    }
    if (this.redeliveries.isRedelivery(name, packet)) {
      this.count('redelivered');
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (this.sparkplug && SparkplugIngest.owns(topic)) {
      // No publisher, as for mapped messages below: a plant broker's edge nodes are not one user.
      this.sparkplug.handle(topic, payload, null);
      this.count('sparkplug');
      return;
    }
    for (const { template, payload: mapping } of this.mappings) {
      const ids = template.match(topic);
      if (ids === undefined) continue;
      // No publisher: a plant broker's devices are not one user, its machines are capped by validation.maxMachines only.
      const outcome = this.deps.ingest.handleMapped(topic, payload, ids, (bytes) => mapping.read(ids.sensorId, bytes), null);
      const rejection = outcome.rejection;
      this.count(rejection ? rejection.reason : 'ingested');
      if (rejection) this.deps.rejected(topic, payload, rejection);
      return;
    }
    this.count('unmatched');
    this.deps.limiter.maybe(`bridge:${name}:unmatched`, (suppressed) =>
      this.deps.log.warn({ upstream: name, topic, suppressed }, 'bridge: message on a topic no mapping matches; skipped'),
    );
  }
}

/** The bridge: one link per configured upstream. */
export class Bridge {
  private readonly options: readonly IClientOptions[];
  private links: UpstreamLink[] = [];

  /**
   * Reads every certificate file (a missing one is a ConfigError naming its key; a client certificate
   * or key OpenSSL refuses, a TlsFileError naming its key); connects nothing yet.
   */
  constructor(
    private readonly upstreams: readonly UpstreamConfig[],
    gatewayId: string,
    private readonly deps: BridgeDependencies,
  ) {
    this.options = upstreams.map((upstream, i) => clientOptions(upstream, i, gatewayId));
  }

  /** Connects to every upstream; from then on their messages are ingested. */
  start(): void {
    this.links = this.upstreams.map((upstream, i) => new UpstreamLink(upstream, this.options[i]!, this.deps));
  }

  /** Disconnects from every upstream (keeping the sessions); no message is ingested after it resolves. */
  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()));
  }
}
