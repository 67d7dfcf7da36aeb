// The `bridge` section of the gateway configuration: the plant brokers the gateway subscribes to as an
// MQTT client, and how their topics and payloads map onto readings. No upstream: no bridge.
import { durationMs } from '@pdm/config';
import { z } from 'zod';
import { topicFilterProblem } from '../mqtt/topic-filter.js';
import { topicTemplateProblem } from './topic-template.js';

const duration = durationMs().pipe(z.number().int().positive());

const topicTemplate = z.string().superRefine((template, ctx) => {
  const problem = topicTemplateProblem(template);
  if (problem) ctx.addIssue({ code: 'custom', message: `topic template "${template}" ${problem.message}` });
});

const topicFilter = z.string().superRefine((filter, ctx) => {
  const problem = topicFilterProblem(filter);
  if (problem) ctx.addIssue({ code: 'custom', message: `MQTT topic filter "${filter}" is invalid: ${problem}` });
});

const path = z.string().regex(/^[^.]+(\.[^.]+)*$/, 'must be keys separated by dots, e.g. "value" or "data.temp"');

const bridgeMappingSchema = z
  .object({
    /** Topic template: literal levels, `+`, `{name}` and a last `#`; {machine} and {sensor} required. */
    topic: topicTemplate,
    /**
     * The machine id, made of the template's named levels and [A-Za-z0-9_.-] text, e.g. "{line}-{machine}"
     * when machine names repeat across lines. Default "{machine}".
     */
    machineId: z.string().optional(),
    /** The sensor id, likewise. Default "{sensor}". */
    sensorId: z.string().optional(),
    /** Where the value sits in a JSON object payload (a plain number payload is the value itself). */
    value: path.default('value'),
    /** Where the timestamp sits; a payload without one is read at gateway time. */
    timestamp: path.default('ts'),
    /** What a numeric timestamp counts: epoch milliseconds or seconds (a string one is ISO 8601). */
    epochUnit: z.enum(['ms', 's']).default('ms'),
    /** Per sensor id (after mapping): value × scale + offset; `unit` documents what the result is in. */
    sensors: z
      .record(
        z.string(),
        z.object({ scale: z.number().finite().default(1), offset: z.number().finite().default(0), unit: z.string().optional() }).strict(),
      )
      .default({}),
  })
  .strict()
  .superRefine((mapping, ctx) => {
    // The template alone is checked above; this names the id format a mistake is in.
    if (topicTemplateProblem(mapping.topic) !== undefined) return;
    const problem = topicTemplateProblem(mapping.topic, mapping);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: [problem.key] });
  });

const upstreamSchema = z
  .object({
    /** Label of this upstream on the bridge's metrics and logs; unique. */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must match [A-Za-z0-9_.-]{1,64}'),
    /** mqtt://host:1883, mqtts://host:8883, ws://… or wss://… */
    url: z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL'),
    username: z.string().optional(),
    password: z.string().optional(),
    /**
     * A file holding the password (one trailing newline ignored), to keep it out of the configuration:
     * environment overrides cannot reach into this list. Read at start.
     */
    passwordFile: z.string().optional(),
    /** PEM files: the CA that signed the broker's certificate, and this gateway's client certificate and key. */
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    /**
     * The session's client id; it must stay the same across restarts for the broker to keep the
     * session (subscriptions and QoS 1 messages queued while the gateway is away). Default:
     * pdm-<gatewayId>-<name>.
     */
    clientId: z.string().min(1).max(65_535).optional(),
    /** MQTT filters to subscribe to; default: each mapping's topic template as a filter, and spBv1.0/# with sparkplug. */
    subscribe: z.array(topicFilter).min(1).optional(),
    /** Topic templates tried in order; the first match maps a message. */
    mappings: z.array(bridgeMappingSchema).default([]),
    /**
     * The upstream carries Sparkplug B (spBv1.0/… topics, read as on the embedded broker, key
     * `sparkplug`); Rebirth requests are published to the upstream. Default false.
     */
    sparkplug: z.boolean().default(false),
    /** Reconnection back-off (with 20 % jitter), on the gateway clock. */
    backoff: z
      .object({ initialMs: duration.default(1_000), multiplier: z.number().min(1).default(2), maxMs: duration.default(30_000) })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((u) => u.sparkplug || u.mappings.length > 0, { message: 'an upstream needs at least one mapping, or sparkplug: true', path: ['mappings'] })
  .refine((u) => (u.cert === undefined) === (u.key === undefined), { message: 'cert and key go together', path: ['cert'] })
  .refine((u) => u.password === undefined || u.passwordFile === undefined, { message: 'give password or passwordFile, not both', path: ['passwordFile'] });

export const bridgeSchema = z
  .object({
    /** Plant brokers to subscribe to, alongside the embedded broker. */
    upstreams: z
      .array(upstreamSchema)
      .default([])
      .superRefine((upstreams, ctx) => {
        const seen = new Set<string>();
        for (const [i, upstream] of upstreams.entries()) {
          if (seen.has(upstream.name)) ctx.addIssue({ code: 'custom', message: `upstream name "${upstream.name}" is used twice`, path: [i, 'name'] });
          seen.add(upstream.name);
        }
      }),
  })
  .strict();

export type UpstreamConfig = z.infer<typeof upstreamSchema>;
