// What the scorer's state file holds for one machine under one model version, and how it is checked
// when read back: one schema per stateful kind (robust-t2 baselines with a new machine's level and the
// online threshold; adaptive-z histories; pca's and the autoencoder's online thresholds; running-state
// gates), in two encodings (format 2, before the pca and autoencoder thresholds, held none of theirs).
//   - A row of the state file (format 3, state-file.ts): the state as V8's serializer writes it
//     (node:v8, the structured clone format, which Node keeps readable by later versions): every
//     double exactly (NaN, ±Infinity, -0) and at native speed — JSON with a replacer for the numbers
//     JSON cannot hold took ~330 µs of CPU per calibrated robust-t2 machine, every save.
//   - The whole-file JSON of format 2 (the state file before format 3), read once to migrate it: NaN
//     and ±Infinity as the strings "NaN", "Infinity" and "-Infinity" (where a state holds a number,
//     such a string is only that number), an online threshold's score arrays as base64 of their doubles
//     (little-endian) or, in older files, as number arrays.
import { deserialize, serialize } from 'node:v8';
import { z } from 'zod';
import type { GateState } from '../model/regime.js';
import type { BaselineState } from '../model/robust-t2.js';
import type { MachineHistory } from './adaptive-z-batch.js';
import type { MachineStateEntry } from './machine-states.js';
import type { MachineThreshold } from './machine-thresholds.js';

/** Each stateful kind's per-machine state, by the name the state file gives the kind. */
export interface StateOf {
  'robust-t2': BaselineState;
  'adaptive-z': MachineHistory;
  pca: MachineThreshold;
  autoencoder: MachineThreshold;
  gate: GateState;
}
export type StateKind = keyof StateOf;

/** The machines' states of each stateful kind. */
export interface ScorerState {
  robustT2: MachineStateEntry<BaselineState>[];
  adaptiveZ: MachineStateEntry<MachineHistory>[];
  pcaThresholds: MachineStateEntry<MachineThreshold>[];
  autoencoderThresholds: MachineStateEntry<MachineThreshold>[];
  gates: MachineStateEntry<GateState>[];
}

export function emptyScorerState(): ScorerState {
  return { robustT2: [], adaptiveZ: [], pcaThresholds: [], autoencoderThresholds: [], gates: [] };
}

/** The state schemas, given how a number and an online threshold's score array are written. */
function stateSchemas(num: z.ZodType<number, unknown>, scoreArray: z.ZodType<number[], unknown>): { [K in StateKind]: z.ZodType<StateOf[K], unknown> } {
  const numbers = z.array(num);
  const spotState = z
    .object({
      q: num,
      maxPeaks: z.number().int().positive(),
      tail: num,
      peaks: scoreArray,
      ceilings: scoreArray,
      observations: num,
      gamma: num,
      sigma: num,
      threshold: num,
    })
    .strict();
  const onlineThreshold = z
    .object({ calibration: scoreArray, spot: spotState.nullable(), threshold: num.nullable(), bodyLimit: num.nullable(), recent: scoreArray, quiet: z.number().int().nonnegative(), unfitted: z.number().int().nonnegative() })
    .strict();
  const baselineState: z.ZodType<BaselineState, unknown> = z
    .object({
      baseline: numbers,
      decidedUntil: num,
      recent: z.array(z.object({ windowEnd: num, baseline: numbers, threshold: num.optional(), calibrating: z.literal(true).optional() }).strict()),
      level: z.object({ residuals: z.array(numbers), until: num }).strict().optional(),
      online: onlineThreshold.optional(),
      pending: z.array(numbers).optional(),
      spread: num.optional(),
    })
    .strict();
  const moments = z.object({ count: num, mean: num, variance: num }).strict();
  const machineHistory: z.ZodType<MachineHistory, unknown> = z
    .object({
      features: z.array(z.object({ point: moments, short: moments, seasonal: moments, values: numbers, shortMeans: numbers, seasonalReferences: numbers, seasonalDiffs: numbers }).strict()),
      decidedUntil: num,
      recent: z.array(z.object({ windowEnd: num, score: num, zs: numbers }).strict()),
    })
    .strict();
  const gateState: z.ZodType<GateState, unknown> = z
    .object({
      previous: numbers.nullable(),
      previousEnd: num,
      settleLeft: z.number().int().nonnegative(),
      recent: z.array(z.object({ windowEnd: num, hold: z.enum(['stopped', 'transient', 'settling']).nullable() }).strict()),
    })
    .strict();
  const machineThreshold: z.ZodType<MachineThreshold, unknown> = z
    .object({ online: onlineThreshold, decidedUntil: num, recent: z.array(z.object({ windowEnd: num, threshold: num }).strict()) })
    .strict();
  return { 'robust-t2': baselineState, 'adaptive-z': machineHistory, pca: machineThreshold, autoencoder: machineThreshold, gate: gateState };
}

// --- format 3: one row per machine ------------------------------------------------------------------

/** Any number, NaN and ±Infinity included (zod's number() refuses them). */
const anyNumber = z.custom<number>((value) => typeof value === 'number', { message: 'expected a number' });
const rowSchemas = stateSchemas(anyNumber, z.array(anyNumber));

/** A machine's state as the state file's row holds it. */
export function encodeRowState(state: unknown): Buffer {
  return serialize(state);
}

/** The state in a row of `kind`; throws, naming what is wrong, when it is not one. */
export function decodeRowState<K extends StateKind>(kind: K, bytes: Buffer): StateOf[K] {
  const parsed = rowSchemas[kind].safeParse(deserialize(bytes));
  if (!parsed.success) throw new Error(`not a state of kind ${kind}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// --- format 2: the whole-file JSON, read to migrate it -----------------------------------------------

export const JSON_STATE_FILE_FORMAT = 2;

const storedNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)]);
/** An online threshold's array: base64 of its doubles, or plain numbers in files written before packing. */
const packedNumbers = z.union([
  z.array(storedNumber),
  z.string().transform((text, ctx) => {
    // Node's decoder skips what is not base64: the bytes encoded again show whether anything was.
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length % Float64Array.BYTES_PER_ELEMENT === 0 && bytes.toString('base64') === text) return unpackNumbers(bytes);
    ctx.addIssue({ code: 'custom', message: 'not the base64 of whole doubles' });
    return z.NEVER;
  }),
]);

function unpackNumbers(bytes: Buffer): number[] {
  // Copied into an aligned buffer of its own: a decoded Buffer may start at any offset of a shared pool.
  const doubles = new Float64Array(Uint8Array.from(bytes).buffer);
  // A loop, not Array.from: its iterator took 6x as long.
  const values = new Array<number>(doubles.length);
  for (let i = 0; i < doubles.length; i++) values[i] = doubles[i]!;
  return values;
}

const jsonSchemas = stateSchemas(storedNumber, packedNumbers);
const machine = { model: z.string().min(1), version: z.string().min(1), trainedAt: z.string().min(1), siteId: z.string(), machineId: z.string() };
const jsonStateFile = z
  .object({
    format: z.literal(JSON_STATE_FILE_FORMAT),
    savedAt: z.number(),
    machines: z.array(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('robust-t2'), ...machine, state: jsonSchemas['robust-t2'] }).strict(),
        z.object({ kind: z.literal('adaptive-z'), ...machine, state: jsonSchemas['adaptive-z'] }).strict(),
        z.object({ kind: z.literal('gate'), ...machine, state: jsonSchemas.gate }).strict(),
      ]),
    ),
  })
  .strict();

/** The states in the text of a format-2 state file; throws (naming what is wrong) when it is not one. */
export function decodeJsonStateFile(text: string): ScorerState {
  const parsed = jsonStateFile.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`not a scorer state file of format ${JSON_STATE_FILE_FORMAT}: ${z.prettifyError(parsed.error)}`);
  const state = emptyScorerState();
  for (const m of parsed.data.machines) {
    const entry = { model: m.model, version: m.version, trainedAt: m.trainedAt, siteId: m.siteId, machineId: m.machineId };
    if (m.kind === 'robust-t2') state.robustT2.push({ ...entry, state: m.state });
    else if (m.kind === 'adaptive-z') state.adaptiveZ.push({ ...entry, state: m.state });
    else state.gates.push({ ...entry, state: m.state });
  }
  return state;
}
