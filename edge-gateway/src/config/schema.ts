// The gateway configuration: this zod schema is the documentation of every knob and its default.
// Files are YAML or JSON; env variables PDM_GATEWAY_<PATH> override single keys (see load.ts). Every
// …Ms key is a duration: milliseconds, or a string with a unit ("10s", "500ms", "1h30m", "7d").
import { durationMs, logFormatSchema, logLevelSchema } from '@pdm/config';
import { z } from 'zod';
import { bridgeSchema } from '../bridge/schema.js';
import { aclSchema } from '../mqtt/users.js';
import { sparkplugSchema } from '../sparkplug/schema.js';
import { windowEngineOptionsSchema } from '../window/options.js';

const port = z.number().int().min(0).max(65535);
/** A duration key: milliseconds, or a string with a unit such as "10s" or "7d"; a whole number of ms > 0. */
const duration = durationMs().pipe(z.number().int().positive());
/** A duration key that may be 0. */
const durationOrZero = durationMs().pipe(z.number().int().min(0));
/** The largest packet MQTT can frame: a 1-byte type, a 4-byte remaining length, 268,435,455 bytes [MQTT 2.2.3]. */
const MQTT_MAX_PACKET_BYTES = 1 + 4 + 268_435_455;
/** What a PUBLISH adds to its payload at most: fixed header, a 65,535-byte topic with its length, a packet id. */
const PUBLISH_OVERHEAD_BYTES = 5 + 2 + 65_535 + 2;
const id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must match [A-Za-z0-9_.-]{1,64}');

export const gatewayConfigSchema = z
  .object({
    /** This gateway's id and its site, carried on every feature message. */
    gatewayId: id.default('gateway-1'),
    siteId: id.default('site-1'),

    mqtt: z
      .object({
        /**
         * The embedded MQTT broker (every listener below). false: bridge only — readings come from the
         * plant's own brokers (bridge.upstreams, at least one), and no port is opened for devices.
         */
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: port.default(1883),
        /** The plain (unencrypted) MQTT listener on `port`; false: TLS-only (needs `tls`). */
        plain: z.boolean().default(true),
        /**
         * Optional TLS listener; cert and key are PEM file paths. ca: PEM bundle of the CAs whose
         * client certificates are accepted: a certificate it verifies authenticates the client as the
         * users-file user named by the certificate's subject CN (its password is not asked; a CN that
         * names no user is refused, reason unknown_certificate). requireClientCert: refuse TLS clients
         * without such a certificate (needs ca); otherwise they may use a password.
         */
        tls: z
          .object({ port: port.default(8883), cert: z.string(), key: z.string(), ca: z.string().optional(), requireClientCert: z.boolean().default(false) })
          .strict()
          .refine((tls) => !tls.requireClientCert || tls.ca !== undefined, { message: 'requireClientCert needs ca (the CA bundle that verifies client certificates)', path: ['requireClientCert'] })
          .optional(),
        /** Optional MQTT over WebSocket listener. */
        websocket: z.object({ port: port.default(8080), path: z.string().default('/mqtt') }).strict().optional(),
        /** Clients without credentials are refused unless this is true (the local demo turns it on). */
        allowAnonymous: z.boolean().default(false),
        /**
         * What clients without credentials may do when allowAnonymous, with the users file's keys and
         * defaults: publish MQTT topic filters (default ["sensors/#"]), subscribe filters (default none).
         */
        anonymous: aclSchema.strict().prefault({}),
        /**
         * Largest MQTT packet the broker reads, in bytes, headers included (CONNECT and its will
         * message too, before authentication). A bigger packet is refused from its header, before it is
         * buffered: the client is disconnected and the refusal counted (reason packet_too_large).
         * Must leave room for a PUBLISH carrying validation.maxPayloadBytes; payloads between the two
         * limits are read and refused as too_large without disconnecting.
         */
        maxPacketBytes: z.number().int().positive().max(MQTT_MAX_PACKET_BYTES).default(1024 * 1024),
        /**
         * Client ids whose last 32 QoS 1/2 publishes are remembered (~3 KB each) so a repeat after a
         * lost PUBACK is ingested once. Unset: validation.maxMachines (a client per machine); raise it
         * where devices connect as several clients each (pdm_gateway_mqtt_redelivery_memory_full_total).
         */
        rememberedClients: z.number().int().positive().optional(),
        /** YAML/JSON file of users with scrypt password hashes and publish ACLs (`pdm gateway hash-password`). */
        usersFile: z.string().optional(),
      })
      .strict()
      .prefault({}),

    validation: z
      .object({
        maxPayloadBytes: z.number().int().positive().default(256 * 1024),
        /** A reading may be this far ahead of the gateway clock (device clock skew). */
        maxFutureSkewMs: duration.default(60_000),
        /** A reading older than this (gateway clock) is refused. */
        maxAgeMs: duration.default(24 * 3_600_000),
        maxSampleRateHz: z.number().positive().default(100_000),
        /**
         * Most machines the gateway holds window state for. A reading for another machine is refused
         * (too_many_machines) and creates no state; a machine frees its place once the window engine
         * forgets it (all its sensors unseen for windows.evictAfterMs, default 10 min).
         */
        maxMachines: z.number().int().positive().default(5_000),
        /**
         * Most sensors per machine, likewise (too_many_sensors); a sensor frees its place when evicted:
         * unseen for windows.evictAfterMs, and only once no revision (lateMode revise, reviseHorizonMs) can reach its data.
         */
        maxSensorsPerMachine: z.number().int().positive().default(64),
        /**
         * Most machines the readings of one MQTT user may create state for (anonymous clients count as
         * one user), so one device cannot take every place of maxMachines; refused as too_many_machines.
         * A machine counts for the user whose reading created its state, until the engine forgets it.
         * Unset: no per-user cap.
         */
        maxMachinesPerUser: z.number().int().positive().optional(),
        /** When set, refused messages are republished here with the reason, for debugging devices. */
        debugTopic: z.string().optional(),
      })
      .strict()
      .prefault({}),

    /** Window engine knobs; omitted ones take the engine's defaults, documented in window/options.ts. */
    windows: z
      .object({
        windowMs: duration.optional(),
        allowedLatenessMs: durationOrZero.optional(),
        idleTimeoutMs: duration.optional(),
        lateMode: z.enum(['count', 'revise']).optional(),
        reviseHorizonMs: durationOrZero.optional(),
        /** How far a sensor may trail its machine's leading sensor and still fill its closed windows (default 60 s). */
        maxSensorLagMs: durationOrZero.optional(),
        sensorRates: z.record(z.string(), z.number().positive()).optional(),
        evictAfterMs: duration.optional(),
        hopMs: duration.optional(),
        /** How often the gateway clock drives idle timeouts, revisions and eviction. */
        tickMs: duration.default(1_000),
      })
      .strict()
      .prefault({}),

    outbox: z
      .object({
        path: z.string().default('.data/gateway/outbox.sqlite'),
        maxBytes: z.number().int().positive().default(1024 ** 3),
        maxAgeMs: duration.default(7 * 24 * 3_600_000),
        /**
         * How often the window state (open windows, each machine's closed frontier and revision
         * counters) is checkpointed into the outbox database, restored at start. A crash (SIGKILL,
         * power cut) loses at most the readings accepted since the last checkpoint; windows closed
         * are written with their machine's checkpoint in one transaction, whatever this interval.
         */
        checkpointIntervalMs: duration.default(1_000),
        /**
         * Machine checkpoints kept at most. A machine the gateway forgot (windows.evictAfterMs) keeps its
         * closed frontier, revision counters and last panes there, so a reading of it revises its windows
         * instead of reusing their keys. Beyond this bound the oldest of those go (counted in
         * pdm_gateway_checkpoint_dropped_total): a machine whose checkpoint went starts afresh when it
         * returns, and a window of it sent again under a used key is refused by the processor (counted).
         */
        checkpointMaxMachines: z.number().int().positive().default(100_000),
      })
      .strict()
      .prefault({}),

    pubsub: z
      .object({
        projectId: z.string().min(1).default('pdm-local'),
        topic: z.string().min(1).default('pdm-features'),
        /** host:port of a Pub/Sub emulator; the client also honours PUBSUB_EMULATOR_HOST. Unset: Google, with application default credentials. */
        emulatorHost: z.string().optional(),
        /** Create the topic at start if it does not exist (handy with the emulator; off for production IAM). */
        createTopic: z.boolean().default(false),
        /** Windows published and not confirmed yet, at most. */
        maxInFlight: z.number().int().positive().default(1000),
        /**
         * Bytes per second one ordering key is published at most (a shard of batches, or a machine):
         * Pub/Sub refuses more than 1 MB/s per key, and an outbox draining after an outage would
         * otherwise go as fast as the link allows.
         */
        keyMaxBytesPerSecond: z.number().int().positive().max(1_000_000).default(256 * 1024),
        /**
         * The windows closed in one tick go out together, one pdm.v1.FeatureBatch per shard of the
         * machines (ordering key "<gatewayId>:<shard>"), instead of one pdm.v1.MachineWindow per message
         * (ordering key = machine id). The default: one Publish request per shard and tick instead of
         * one per machine. Upgrade every processor of the subscription first: older ones dead-letter
         * batches (unknown_schema); `enabled: false` keeps sending single windows.
         */
        featureBatches: z
          .object({
            enabled: z.boolean().default(true),
            /**
             * Shards (ordering keys) a gateway's machines are spread over. At the 1,000-machine nominal
             * site (windows of ~1 KB every 10 s: 100 KB/s) each of 8 keys carries ~12.5 KB/s, and at
             * validation.maxMachines (5,000) ~62.5 KB/s; draining after an outage, each key is held to
             * keyMaxBytesPerSecond, so 8 keys drain 2 MiB/s beside live traffic. Change it with the
             * outbox drained (machines move between keys).
             */
            shards: z.number().int().positive().max(1_000).default(8),
            /**
             * The bytes of one batch message at most, its framing included; at most keyMaxBytesPerSecond.
             * A 1,000-machine boundary's ~110 KB a shard goes as one batch.
             */
            maxBytes: z.number().int().positive().default(256 * 1024),
          })
          .strict()
          .prefault({}),
        batchMaxMessages: z.number().int().positive().max(1000).default(100),
        batchMaxMilliseconds: durationOrZero.default(10),
        /** Total time the client may spend on one publish, retries included. */
        publishTimeoutMs: duration.default(60_000),
        backoff: z
          .object({ initialMs: duration.default(500), multiplier: z.number().min(1).default(2), maxMs: duration.default(30_000) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),

    http: z
      .object({ host: z.string().default('0.0.0.0'), port: port.default(9464) })
      .strict()
      .prefault({}),

    /**
     * The gateway's health report (pdm.v1.GatewayHealth: ingest, rejects, outbox, publish latency),
     * published on `pubsub.topic` so the processor writes it to InfluxDB `pipeline`
     * (component=edge-gateway) for the pipeline dashboard.
     */
    health: z
      .object({
        /** Milliseconds between reports; 0 turns the report off. */
        intervalMs: durationOrZero.default(10_000),
      })
      .strict()
      .prefault({}),

    /**
     * Bridge mode: plant MQTT brokers the gateway subscribes to as a client (persistent session,
     * QoS 1), alongside its embedded broker; each upstream maps its topics and payloads onto readings
     * (see bridge/schema.ts). No upstream: no bridge.
     */
    bridge: bridgeSchema.prefault({}),

    /**
     * Sparkplug B edge nodes (topics spBv1.0/…, on the embedded broker): how devices and nodes map
     * to machines, how often a Rebirth may be requested (see sparkplug/schema.ts).
     */
    sparkplug: sparkplugSchema.prefault({}),

    log: z
      .object({
        level: logLevelSchema.default('info'),
        /**
         * How log lines are written to standard output: json (one JSON object a line, for jq, journald
         * and log shippers), pretty (time, level, message, key=value: for a person), or auto: pretty on
         * a terminal, json otherwise. The --log-format flag overrides it.
         */
        format: logFormatSchema.default('auto'),
      })
      .strict()
      .prefault({}),

    /** On SIGTERM/SIGINT: how long to wait for Pub/Sub to confirm what is in flight before exiting. */
    shutdownTimeoutMs: duration.default(10_000),
  })
  .strict()
  .refine((c) => !c.mqtt.enabled || c.mqtt.plain || c.mqtt.tls !== undefined, {
    // Without a listener devices could reach the gateway only by WebSocket; say so instead of guessing.
    message: 'plain: false (TLS-only) needs mqtt.tls',
    path: ['mqtt', 'plain'],
  })
  .refine((c) => c.mqtt.enabled || c.bridge.upstreams.length > 0, {
    // A gateway with neither would take no reading at all.
    message: 'enabled: false (no embedded broker) needs at least one bridge upstream (bridge.upstreams)',
    path: ['mqtt', 'enabled'],
  })
  .refine((c) => c.mqtt.maxPacketBytes >= c.validation.maxPayloadBytes + PUBLISH_OVERHEAD_BYTES, {
    // Otherwise a valid payload on a long topic would cost its device the connection.
    message: `must be at least validation.maxPayloadBytes + ${PUBLISH_OVERHEAD_BYTES} (a PUBLISH's largest headers and topic)`,
    path: ['mqtt', 'maxPacketBytes'],
  })
  .superRefine((c, ctx) => {
    // The rate limiter sends a message larger than a second of its key's rate whole, as soon as the
    // key's bucket is full: a bigger batch would go out faster than keyMaxBytesPerSecond, and past
    // Pub/Sub's 1 MB/s per ordering key when over 1,000,000 bytes.
    const { featureBatches, keyMaxBytesPerSecond } = c.pubsub;
    if (featureBatches.enabled && featureBatches.maxBytes > keyMaxBytesPerSecond) {
      ctx.addIssue({
        code: 'custom',
        message: `${featureBatches.maxBytes} is more than pubsub.keyMaxBytesPerSecond (${keyMaxBytesPerSecond}): a batch must fit in a second of its ordering key's rate`,
        path: ['pubsub', 'featureBatches', 'maxBytes'],
      });
    }
  })
  .superRefine((c, ctx) => {
    // Two of the gateway's own listeners on one port: the second would fail at start with a bare
    // EADDRINUSE (the WebSocket listener's default 8080 is a common http.port too). 0 picks a free port.
    const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
    const listeners: Array<{ key: string; port: number; host: string }> = [
      ...(c.mqtt.enabled && c.mqtt.plain ? [{ key: 'mqtt.port', port: c.mqtt.port, host: c.mqtt.host }] : []),
      ...(c.mqtt.enabled && c.mqtt.tls ? [{ key: 'mqtt.tls.port', port: c.mqtt.tls.port, host: c.mqtt.host }] : []),
      ...(c.mqtt.enabled && c.mqtt.websocket ? [{ key: 'mqtt.websocket.port', port: c.mqtt.websocket.port, host: c.mqtt.host }] : []),
      { key: 'http.port', port: c.http.port, host: c.http.host },
    ];
    for (const [i, later] of listeners.entries()) {
      const earlier = listeners.slice(0, i).find((l) => l.port === later.port && l.port !== 0 && (l.host === later.host || wildcard(l.host) || wildcard(later.host)));
      if (earlier) ctx.addIssue({ code: 'custom', message: `port ${later.port} is ${earlier.key}'s too: give each listener its own port`, path: later.key.split('.') });
    }
    // The window engine's own rules (hopMs divides windowMs, evictAfterMs ≥ idleTimeoutMs) are its
    // schema's: checked here with it, so a bad pair is refused at load naming windows.<key>.
    const { tickMs: _tickMs, ...knobs } = c.windows;
    const engine = windowEngineOptionsSchema.safeParse({ ...knobs, gatewayId: c.gatewayId, siteId: c.siteId });
    for (const issue of engine.error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message, path: ['windows', ...issue.path] });
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
