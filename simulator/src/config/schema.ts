// The fleet config file (YAML or JSON), validated with zod. This schema is the reference for every
// knob a user can set; defaults live in defaults.ts. Errors name the dotted key and the expected form.
import { z } from 'zod';
import { DELAY_DISTRIBUTIONS } from '../chaos/options.js';
import { FAULT_KINDS } from '../faults/catalogue.js';
import { LOW_RATE_SENSORS, MACHINE_TYPES } from '../fleet/machine-types.js';
import { PAYLOAD_FORMATS } from '../output/messages.js';
import { parseDuration, parseInstant, parseRate, parseSpeed } from '../time/parse.js';

/** A string (or number) field run through one of the time/rate parsers, whose RangeError becomes the issue. */
function parsedBy<T>(parse: (text: string) => T) {
  return z.union([z.string(), z.number()]).transform((value, ctx): T => {
    try {
      return parse(String(value));
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: (error as Error).message, input: value });
      return z.NEVER;
    }
  });
}

export const duration = parsedBy(parseDuration);
const probability = z.number({ error: 'expected a probability between 0 and 1' }).min(0).max(1);

/** An ISO instant, or a duration measured from the run start ("36h"). */
const when = parsedBy((text): { at: number } | { afterStart: number } =>
  /^\d{4}-/.test(text) ? { at: parseInstant(text) } : { afterStart: parseDuration(text) },
);

export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const machineId = z.string().regex(ID_PATTERN, { error: 'expected an id of 1–64 characters from A-Z a-z 0-9 _ . -' });
const mqttUrl = z.string().regex(/^(mqtts?|tcp|ssl|wss?):\/\/./, { error: 'expected a URL like mqtt://host:1883' });

export const configSchema = z.strictObject({
  seed: z.number().int().nonnegative().optional(),
  start: parsedBy(parseInstant).optional(),
  duration: duration.optional(),
  /** Low-rate sample interval and CSV row interval. */
  tick: duration.optional(),
  speed: parsedBy(parseSpeed).optional(),
  rate: parsedBy(parseRate).optional(),
  fleet: z
    .strictObject({
      machines: z
        .union([
          z.number().int().positive({ error: 'expected a machine count (a positive integer) or a list of {id, type}' }),
          z.array(z.strictObject({ id: machineId, type: z.enum(MACHINE_TYPES) })).min(1),
        ], { error: 'expected a machine count or a list of {id, type}' })
        .optional(),
      mix: z.partialRecord(z.enum(MACHINE_TYPES), z.number().nonnegative()).optional(),
      vibrationHz: z.number().positive().max(50_000).optional(),
    })
    .optional(),
  faults: z
    .strictObject({
      probability: probability.optional(),
      kinds: z.array(z.enum(FAULT_KINDS)).min(1).optional(),
      healthyFraction: z.number().min(0).max(0.95).optional(),
      repair: duration.optional(),
      scheduled: z
        .array(
          z.strictObject({
            machine: z.string(),
            fault: z.enum(FAULT_KINDS),
            onset: when,
            failure: when,
            sensor: z.enum(LOW_RATE_SENSORS).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  chaos: z
    .strictObject({
      late: z
        .strictObject({
          probability,
          delay: z
            .strictObject({
              distribution: z.enum(DELAY_DISTRIBUTIONS),
              min: duration.optional(),
              max: duration.optional(),
              mean: duration.optional(),
            })
            .optional(),
        })
        .optional(),
      outOfOrder: z.strictObject({ probability, burst: z.number().int().min(2).optional() }).optional(),
      duplicates: probability.optional(),
      clockSkewSigma: duration.optional(),
      malformed: probability.optional(),
      dropsPerHour: z.number().nonnegative().optional(),
    })
    .optional(),
  output: z
    .strictObject({
      mqtt: z
        .strictObject({
          urls: z.union([mqttUrl, z.array(mqttUrl).min(1)]),
          username: z.string().optional(),
          password: z.string().optional(),
          qos: z.union([z.literal(0), z.literal(1)], { error: 'expected 0 or 1' }).optional(),
          format: z.enum(PAYLOAD_FORMATS).optional(),
          clientIdPrefix: machineId.optional(),
        })
        .optional(),
      dir: z.string().min(1).optional(),
    })
    .optional(),
});

export type FileConfig = z.output<typeof configSchema>;
/** A config document as written (durations and times as text), e.g. the `config` of a manifest.json. */
export type SettingsDocument = z.input<typeof configSchema>;
