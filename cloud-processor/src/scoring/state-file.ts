// The scorer's state file: every stateful model kind's per-machine state (robust-t2 baselines, a new
// machine's level while a class model learns it, online thresholds; adaptive-z histories) and the running-state gates' (the previous window, settling), so a restarted
// processor decides the next window as if it had never stopped.
// JSON with a format number and one entry per machine and model version. Numbers JSON cannot hold (NaN
// in a history not yet full, -Infinity before a machine's first decision) are written as the strings
// "NaN", "Infinity" and "-Infinity"; where a state holds a number, such a string is only that number.
// An online threshold's score arrays (2,000 calibration scores, 1,000 peaks and 1,000 ceilings, 64 recent
// scores) are written as base64 of their doubles in the machine's byte order (little-endian on x64 and
// arm64): every double exactly, NaN included, in 10⅔ characters where JSON took ~19, and without the
// replacer's call per number: 1,000 calibrated machines' state took seconds to write, every save. Files
// that hold them as number arrays still read.
// A save writes a temporary file in the same folder and renames it over the old one: a crash mid-save
// leaves the previous file whole.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { OnlineThresholdState } from '../model/online-threshold.js';
import type { GateState } from '../model/regime.js';
import type { BaselineState } from '../model/robust-t2.js';
import type { MachineHistory } from './adaptive-z-batch.js';
import type { MachineStateEntry } from './machine-states.js';

/** Raised when the format changes incompatibly; a file of another format is unreadable (set aside). */
export const STATE_FILE_FORMAT = 2;

/** The machines' states of each stateful kind. */
export interface ScorerState {
  robustT2: MachineStateEntry<BaselineState>[];
  adaptiveZ: MachineStateEntry<MachineHistory>[];
  gates: MachineStateEntry<GateState>[];
}

const storedNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)]);
const numbers = z.array(storedNumber);
/** An online threshold's array: packed (packNumbers), or as plain numbers in files written before packing. */
const packedNumbers = z.union([
  numbers,
  z.string().transform((text, ctx) => {
    // Node's decoder skips what is not base64: the bytes encoded again show whether anything was.
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length % Float64Array.BYTES_PER_ELEMENT === 0 && bytes.toString('base64') === text) return unpackNumbers(bytes);
    ctx.addIssue({ code: 'custom', message: 'not the base64 of whole doubles' });
    return z.NEVER;
  }),
]);

const spotState = z
  .object({
    q: storedNumber,
    maxPeaks: z.number().int().positive(),
    tail: storedNumber,
    peaks: packedNumbers,
    ceilings: packedNumbers,
    observations: storedNumber,
    gamma: storedNumber,
    sigma: storedNumber,
    threshold: storedNumber,
  })
  .strict();
const onlineThreshold = z
  .object({ calibration: packedNumbers, spot: spotState.nullable(), threshold: storedNumber.nullable(), bodyLimit: storedNumber.nullable(), recent: packedNumbers, quiet: z.number().int().nonnegative(), unfitted: z.number().int().nonnegative() })
  .strict();
const baselineState: z.ZodType<BaselineState, unknown> = z
  .object({
    baseline: numbers,
    decidedUntil: storedNumber,
    recent: z.array(z.object({ windowEnd: storedNumber, baseline: numbers, threshold: storedNumber.optional(), calibrating: z.literal(true).optional() }).strict()),
    level: z.object({ residuals: z.array(numbers), until: storedNumber }).strict().optional(),
    online: onlineThreshold.optional(),
    pending: z.array(numbers).optional(),
  })
  .strict();

const moments = z.object({ count: storedNumber, mean: storedNumber, variance: storedNumber }).strict();
const machineHistory: z.ZodType<MachineHistory, unknown> = z
  .object({
    features: z.array(
      z.object({ point: moments, short: moments, seasonal: moments, values: numbers, shortMeans: numbers, seasonalReferences: numbers, seasonalDiffs: numbers }).strict(),
    ),
    decidedUntil: storedNumber,
    recent: z.array(z.object({ windowEnd: storedNumber, score: storedNumber, zs: numbers }).strict()),
  })
  .strict();

const gateState: z.ZodType<GateState, unknown> = z
  .object({
    previous: numbers.nullable(),
    previousEnd: storedNumber,
    settleLeft: z.number().int().nonnegative(),
    recent: z.array(z.object({ windowEnd: storedNumber, hold: z.enum(['stopped', 'transient', 'settling']).nullable() }).strict()),
  })
  .strict();

const machine = { model: z.string().min(1), version: z.string().min(1), trainedAt: z.string().min(1), siteId: z.string(), machineId: z.string() };
const stateFileSchema = z
  .object({
    format: z.literal(STATE_FILE_FORMAT),
    /** When the file was written (epoch ms): for the operator reading it. */
    savedAt: z.number(),
    machines: z.array(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('robust-t2'), ...machine, state: baselineState }).strict(),
        z.object({ kind: z.literal('adaptive-z'), ...machine, state: machineHistory }).strict(),
        z.object({ kind: z.literal('gate'), ...machine, state: gateState }).strict(),
      ]),
    ),
  })
  .strict();

/** The file's text for `state`: call it between two batches, so every machine is at the same point. */
export function encodeStateFile(state: ScorerState, savedAt: number): string {
  const machines = [
    ...state.robustT2.map((e) => ({ kind: 'robust-t2', ...e, state: e.state.online === undefined ? e.state : { ...e.state, online: packOnlineThreshold(e.state.online) } })),
    ...state.adaptiveZ.map((e) => ({ kind: 'adaptive-z', ...e })),
    ...state.gates.map((e) => ({ kind: 'gate', ...e })),
  ];
  return JSON.stringify({ format: STATE_FILE_FORMAT, savedAt, machines }, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
  );
}

/** The online threshold with its score arrays packed: the only arrays of a state that grow to thousands of numbers. */
function packOnlineThreshold(online: OnlineThresholdState): object {
  const { calibration, spot, recent } = online;
  return {
    ...online,
    calibration: packNumbers(calibration),
    spot: spot === null ? null : { ...spot, peaks: packNumbers(spot.peaks), ceilings: packNumbers(spot.ceilings) },
    recent: packNumbers(recent),
  };
}

/** base64 of the numbers' IEEE 754 doubles. */
function packNumbers(values: readonly number[]): string {
  return Buffer.from(new Float64Array(values).buffer).toString('base64');
}

function unpackNumbers(bytes: Buffer): number[] {
  // Copied into an aligned buffer of its own: a decoded Buffer may start at any offset of a shared pool.
  const doubles = new Float64Array(Uint8Array.from(bytes).buffer);
  // A loop, not Array.from: its iterator took 6x as long.
  const values = new Array<number>(doubles.length);
  for (let i = 0; i < doubles.length; i++) values[i] = doubles[i]!;
  return values;
}

/** The states in a state file's text; throws (naming what is wrong) when it is not one. */
export function decodeStateFile(text: string): ScorerState {
  const parsed = stateFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`not a scorer state file of format ${STATE_FILE_FORMAT}: ${z.prettifyError(parsed.error)}`);
  const state: ScorerState = { robustT2: [], adaptiveZ: [], gates: [] };
  for (const m of parsed.data.machines) {
    const machine = { model: m.model, version: m.version, trainedAt: m.trainedAt, siteId: m.siteId, machineId: m.machineId };
    if (m.kind === 'robust-t2') state.robustT2.push({ ...machine, state: m.state });
    else if (m.kind === 'adaptive-z') state.adaptiveZ.push({ ...machine, state: m.state });
    else state.gates.push({ ...machine, state: m.state });
  }
  return state;
}

/** The states saved in `file`; none when there is no file yet. Throws when the file cannot be read or decoded. */
export async function readStateFile(file: string): Promise<ScorerState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { robustT2: [], adaptiveZ: [], gates: [] };
    throw err;
  }
  return decodeStateFile(text);
}

/** Replaces `file` by `text` atomically (its folder is created if missing). */
export async function writeStateFile(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, text, { flush: true });
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Moves an unreadable state file aside, where the next save does not overwrite it; returns its new name. */
export async function setAside(file: string, now: number): Promise<string> {
  const aside = `${file}.unreadable-${now}`;
  await rename(file, aside);
  return aside;
}
