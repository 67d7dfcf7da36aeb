// The processor configuration: this zod schema is the documentation of every knob and its default.
// Files are YAML or JSON; env variables PDM_PROCESSOR_<PATH> override single keys (see load.ts).
import { durationMs, logFormatSchema, logLevelSchema } from '@pdm/config';
import { z } from 'zod';
import { ALERT_DEFAULTS, DEFAULT_ALERT_SLACK } from '../alerts/alert-tracker.js';
import { ALERT_ACTIONS_REFRESH_MS } from '../alerts/alert-actions.js';
import { ALERT_DELIVERY_DEFAULTS } from '../alerts/alert-delivery.js';
import { WEBHOOK_DEFAULTS } from '../alerts/webhook.js';
import { PIPELINE_DEFAULTS } from '../pipeline/window-pipeline.js';
import { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
import { PUBSUB_TRANSPORT_DEFAULTS } from '../transport/options.js';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
/** A duration key: milliseconds, or a string with a unit ("10s", "1m30s"). */
const positiveMs = durationMs().pipe(positiveInt);
const nonNegativeMs = durationMs().pipe(z.number().int().min(0));
const id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must match [A-Za-z0-9_.-]{1,64}');
const influxDuration = z.string().regex(/^(\d+(ns|u|µ|ms|s|m|h|d|w))+$|^INF$/, 'must be an InfluxQL duration such as 30d, 12h or INF');
/** A GROUP BY time() interval: a duration of whole milliseconds or more, never INF. */
const influxInterval = z.string().regex(/^(\d+(ms|s|m|h|d|w))+$/, 'must be an InfluxQL duration such as 1m or 1h');
const retention = (name: string, duration: string) =>
  z.object({ name: z.string().min(1).default(name), duration: influxDuration.default(duration) }).strict().prefault({});

export const processorConfigSchema = z
  .object({
    /** Names this instance in logs and in the `pipeline` measurement's `instance` tag. */
    instanceId: id.default('processor-1'),

    pubsub: z
      .object({
        projectId: z.string().min(1).default('pdm-local'),
        /** host:port of a Pub/Sub emulator. Unset: Google Cloud with application default credentials. */
        emulatorHost: z.string().optional(),
        /** Feature messages are pulled from here; every processor instance shares it. */
        subscription: z.string().min(1).default('pdm-features-processor'),
        /** Messages that can never be processed go here, with the reason attribute. */
        deadLetterTopic: z.string().min(1).default('pdm-features-dead-letter'),
        /** pdm.v1.Alert messages are published here; null turns alert publishing off. */
        alertsTopic: z.string().min(1).nullable().default('pdm-alerts'),
        /** Create missing topics and the subscription at start (local stack; off for production IAM). */
        createResources: z.boolean().default(false),
        /** The feature topic the subscription is attached to (only used by createResources). */
        featuresTopic: z.string().min(1).default('pdm-features'),
        flowControl: z
          .object({
            maxMessages: positiveInt.default(PUBSUB_TRANSPORT_DEFAULTS.flowControl.maxMessages),
            maxBytes: positiveInt.default(PUBSUB_TRANSPORT_DEFAULTS.flowControl.maxBytes),
          })
          .strict()
          .prefault({}),
        /**
         * Windows scored and written at once by this instance, lone or from batches: flow control
         * counts messages, and one pdm.v1.FeatureBatch may carry thousands of windows.
         */
        maxWindowsInFlight: positiveInt.default(PIPELINE_DEFAULTS.maxWindowsInFlight),
        /** Failed handler runs (not counting InfluxDB outages) before a message is dead-lettered. */
        maxAttempts: positiveInt.default(PUBSUB_TRANSPORT_DEFAULTS.maxAttempts),
        /** Hold before nacking a message whose write failed because InfluxDB was unreachable. */
        transientBackoff: z
          .object({
            initialMs: positiveMs.default(PUBSUB_TRANSPORT_DEFAULTS.transientBackoff.initialMs),
            maxMs: positiveMs.default(PUBSUB_TRANSPORT_DEFAULTS.transientBackoff.maxMs),
          })
          .strict()
          .prefault({}),
        drainTimeoutMs: positiveMs.default(PUBSUB_TRANSPORT_DEFAULTS.drainTimeoutMs),
      })
      .strict()
      .prefault({}),

    influx: z
      .object({
        url: z.url().default(INFLUX_SINK_DEFAULTS.url),
        database: z.string().min(1).default(INFLUX_SINK_DEFAULTS.database),
        rawRetention: retention(INFLUX_SINK_DEFAULTS.rawRetention.name, INFLUX_SINK_DEFAULTS.rawRetention.duration),
        downsampledRetention: retention(INFLUX_SINK_DEFAULTS.downsampledRetention.name, INFLUX_SINK_DEFAULTS.downsampledRetention.duration),
        downsampleIntervals: z.array(influxInterval).default(INFLUX_SINK_DEFAULTS.downsampleIntervals),
        batchMaxPoints: positiveInt.default(INFLUX_SINK_DEFAULTS.batchMaxPoints),
        batchMaxDelayMs: nonNegativeMs.default(INFLUX_SINK_DEFAULTS.batchMaxDelayMs),
        parallelRequests: positiveInt.default(INFLUX_SINK_DEFAULTS.parallelRequests),
        requestTimeoutMs: positiveMs.default(INFLUX_SINK_DEFAULTS.requestTimeoutMs),
      })
      .strict()
      .prefault({}),

    /** The model registry the scorer loads from (and reloads when a new version appears). */
    model: z
      .object({
        registryDir: z.string().min(1).default('.data/models'),
        maxBatch: positiveInt.optional(),
        maxDelayMs: nonNegativeMs.optional(),
        pollMs: positiveMs.optional(),
        /**
         * Where robust-t2 baselines, adaptive-z histories and gate states are kept across restarts (not in the
         * registry, which is read-only input). Unset: in memory only, every machine starts afresh.
         */
        stateFile: z.string().min(1).optional(),
        /** How often the state file is written; a stop writes it too. */
        stateSaveMs: positiveMs.optional(),
        /** A machine silent this long (event time, against its model's newest window) is forgotten: its per-machine state dropped. */
        forgetMachinesAfterMs: positiveMs.optional(),
        /**
         * A served model version whose worst feature PSI (its recent windows against its training profile)
         * exceeds this should be retrained; default 0.25 (scoring/drift.ts).
         */
        driftRetrainPsi: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),

    /** The alert rule (K of the last N windows anomalous opens, M normal in a row resolves) and the webhook. */
    alerts: z
      .object({
        /** K: anomalous windows among the last `within` that open an alert. */
        openAfter: positiveInt.default(ALERT_DEFAULTS.openAfter),
        /** N ≥ K windows looked at; unset: K + 2 (3 of 5 by default); N = K is K consecutive anomalous windows. */
        within: positiveInt.optional(),
        /** M: consecutive normal windows that resolve an alert. */
        resolveAfter: positiveInt.default(ALERT_DEFAULTS.resolveAfter),
        /** How often the processor reads people's alert actions (`pdm alerts resolve|mute`): they apply at a machine's next window after the read. */
        actionsRefreshMs: positiveMs.default(ALERT_ACTIONS_REFRESH_MS),
        webhook: z
          .object({
            url: z.url(),
            /** Attempts per notification; unset: until delivery.giveUpAfterMs. */
            maxAttempts: positiveInt.optional(),
            backoff: z
              .object({
                initialMs: positiveMs.default(WEBHOOK_DEFAULTS.backoff.initialMs),
                multiplier: z.number().min(1).default(WEBHOOK_DEFAULTS.backoff.multiplier),
                maxMs: positiveMs.default(WEBHOOK_DEFAULTS.backoff.maxMs),
              })
              .strict()
              .prefault({}),
            timeoutMs: positiveMs.default(WEBHOOK_DEFAULTS.timeoutMs),
            maxPending: positiveInt.default(WEBHOOK_DEFAULTS.maxPending),
          })
          .strict()
          .optional(),
        /** Delivery of transitions to the alerts topic and the webhook (alerts/alert-delivery.ts); unset: ALERT_DELIVERY_DEFAULTS. */
        delivery: z
          .object({
            /** Between attempts of the topic (the webhook has its own). */
            backoff: z
              .object({
                initialMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.backoff.initialMs),
                multiplier: z.number().min(1).default(ALERT_DELIVERY_DEFAULTS.backoff.multiplier),
                maxMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.backoff.maxMs),
              })
              .strict()
              .prefault({}),
            /** One publish to the alerts topic, at most; an unanswered one counts as failed and is retried. */
            publishTimeoutMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.publishTimeoutMs),
            /** A transition not delivered within this long is given up. */
            giveUpAfterMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.giveUpAfterMs),
            /** A pending delivery not updated for this long is taken over by another processor. */
            takeoverAfterMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.takeoverAfterMs),
            /** How often each processor looks for deliveries to take over. */
            sweepIntervalMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.sweepIntervalMs),
            /** On stop, how long deliveries in progress may take before they are released to the next sweep. */
            stopTimeoutMs: positiveMs.default(ALERT_DELIVERY_DEFAULTS.stopTimeoutMs),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((alerts) => alerts.within === undefined || alerts.within >= alerts.openAfter, {
        path: ['within'],
        message: 'must be at least alerts.openAfter (K anomalous windows cannot fit in fewer than K)',
      })
      // A delivery refreshes its record when an attempt fails: a takeover sooner than the longest wait
      // between refreshes (a back-off, an attempt's timeout) would start a second one. Checked against
      // the defaults too when alerts.delivery is unset.
      .superRefine((alerts, ctx) => {
        const delivery = alerts.delivery ?? ALERT_DELIVERY_DEFAULTS;
        const waits: [string, number][] = [
          ['alerts.delivery.backoff.maxMs', delivery.backoff.maxMs],
          ['alerts.delivery.publishTimeoutMs', delivery.publishTimeoutMs],
          ...(alerts.webhook
            ? ([
                ['alerts.webhook.backoff.maxMs', alerts.webhook.backoff.maxMs],
                ['alerts.webhook.timeoutMs', alerts.webhook.timeoutMs],
              ] as [string, number][])
            : []),
        ];
        const longer = waits.filter(([, ms]) => ms >= delivery.takeoverAfterMs);
        if (longer.length === 0) return;
        ctx.addIssue({
          code: 'custom',
          path: ['delivery', 'takeoverAfterMs'],
          message:
            `must be longer than the longest back-off and send timeout, or live deliveries are taken over: ` +
            `${longer.map(([key, ms]) => `${key} is ${ms} ms`).join(', ')}, takeoverAfterMs ${delivery.takeoverAfterMs} ms${alerts.delivery ? '' : ' (the default)'}`,
        });
      })
      .transform((alerts) => ({ ...alerts, within: alerts.within ?? alerts.openAfter + DEFAULT_ALERT_SLACK }))
      .prefault({}),

    http: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: port.default(9465),
        /** Bearer token of the alert workflow API (/api, ops/alerts-api.ts); unset, the API is off. Better from the environment (PDM_PROCESSOR_HTTP__API_TOKEN). */
        apiToken: z.string().min(16, 'must be at least 16 characters (a random token, e.g. openssl rand -hex 32)').optional(),
      })
      .strict()
      .prefault({}),

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

    /**
     * What the revision guard remembers (pipeline/revision-guard.ts): per machine its last
     * `windowsPerMachine` windows, for the `machines` seen most recently, 24 bytes a window (2.4 kB a
     * machine at 100). A processor that serves more machines than `machines` remembers none of them
     * by their next window: raise it with the fleet.
     */
    revisions: z
      .object({
        machines: positiveInt.default(PIPELINE_DEFAULTS.revisionMemory.machines),
        windowsPerMachine: positiveInt.default(PIPELINE_DEFAULTS.revisionMemory.windowsPerMachine),
      })
      .strict()
      .prefault({}),

    /** How often throughput/latency/lag go to the `pipeline` measurement; 0 turns it off. */
    pipelineReportIntervalMs: nonNegativeMs.default(10_000),
  })
  .strict();

export type ProcessorConfig = z.infer<typeof processorConfigSchema>;
export type ProcessorConfigInput = z.input<typeof processorConfigSchema>;
