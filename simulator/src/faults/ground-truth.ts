// The ground-truth file: a JSON list of the faults a run injected, with ISO-8601 UTC times.
// `recovered` (end of repair) is an addition to {machine, fault, onset, failure, sensors}: the
// evaluator does not count alerts raised while a machine is down for repair as false alerts.
import { z } from 'zod';
import { FAULT_KINDS, type FaultPlan } from './catalogue.js';
import { formatInstant } from '../time/parse.js';

export interface GroundTruthEntry {
  machine: string;
  fault: FaultPlan['fault'];
  onset: string;
  failure: string;
  recovered: string;
  sensors: string[];
}

export function toGroundTruth(plans: readonly FaultPlan[]): GroundTruthEntry[] {
  return plans.map((p) => ({
    machine: p.machine,
    fault: p.fault,
    onset: formatInstant(p.onset),
    failure: formatInstant(p.failure),
    recovered: formatInstant(p.recovered),
    sensors: [...p.sensors],
  }));
}

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

const entrySchema = z
  .object({
    machine: z.string().min(1),
    fault: z.enum(FAULT_KINDS),
    onset: isoTime,
    failure: isoTime,
    recovered: isoTime.optional(),
    sensors: z.array(z.string()).default([]),
  })
  .refine((e) => e.failure > e.onset, { message: 'failure must be after onset', path: ['failure'] });

export const groundTruthSchema = z.array(entrySchema);

/**
 * Parses a ground-truth document into plans; throws naming `source` (the file) and the index and key
 * of the first problem, e.g. `data/ground-truth.json[3].failure: failure must be after onset`.
 */
export function parseGroundTruth(json: unknown, source = 'ground truth'): FaultPlan[] {
  const result = groundTruthSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') : '';
    throw new Error(`${source}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data.map((e) => ({
    machine: e.machine,
    fault: e.fault,
    onset: e.onset,
    failure: e.failure,
    recovered: e.recovered ?? e.failure,
    sensors: e.sensors as FaultPlan['sensors'],
  }));
}
