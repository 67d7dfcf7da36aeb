// Chaos knobs in resolved form (ms, probabilities). Everything is off unless configured.
import { SIMULATOR_DEFAULTS } from '../defaults.js';
import { parseDuration } from '../time/parse.js';

export const DELAY_DISTRIBUTIONS = ['fixed', 'uniform', 'exponential'] as const;
export type DelayDistribution = (typeof DELAY_DISTRIBUTIONS)[number];

export interface DelaySpec {
  distribution: DelayDistribution;
  /** fixed: the delay; uniform: [min, max]; exponential: min + Exp(mean − min). */
  minMs: number;
  maxMs: number;
  meanMs: number;
}

export interface ChaosOptions {
  /** Per message: held back and sent after `delay` of virtual time, so it reaches the gateway late. */
  lateProbability: number;
  lateDelay: DelaySpec;
  /** Per machine-tick: the machine's messages of the next `outOfOrderBurst` ticks go out shuffled. */
  outOfOrderProbability: number;
  outOfOrderBurst: number;
  duplicateProbability: number;
  /** σ of each machine's fixed clock offset (normal), applied to the ts it reports. */
  clockSkewSigmaMs: number;
  /**
   * Fixed clock offsets (ms) of single sensors, machine → sensor → offset, added to the ts each
   * reports on top of its machine's: one device of a machine whose clock is off. Unset: none.
   */
  sensorClockSkewMs?: Record<string, Record<string, number>>;
  /** Per message: replaced by a malformed one (bad JSON, NaN, wrong types, bad topic). */
  malformedProbability: number;
  /** Poisson rate of forced connection drops per virtual hour. */
  dropsPerHour: number;
}

export function noChaos(): ChaosOptions {
  const d = SIMULATOR_DEFAULTS.chaos;
  const meanMs = parseDuration(d.lateMeanDelay);
  return {
    lateProbability: d.lateProbability,
    lateDelay: { distribution: 'exponential', minMs: 0, maxMs: 2 * meanMs, meanMs },
    outOfOrderProbability: d.outOfOrderProbability,
    outOfOrderBurst: d.outOfOrderBurst,
    duplicateProbability: d.duplicateProbability,
    clockSkewSigmaMs: d.clockSkewSigmaMs,
    malformedProbability: d.malformedProbability,
    dropsPerHour: d.dropsPerHour,
  };
}

export function isChaosOn(o: ChaosOptions): boolean {
  return (
    o.lateProbability > 0 ||
    o.outOfOrderProbability > 0 ||
    o.duplicateProbability > 0 ||
    o.clockSkewSigmaMs > 0 ||
    Object.keys(o.sensorClockSkewMs ?? {}).length > 0 ||
    o.malformedProbability > 0 ||
    o.dropsPerHour > 0
  );
}
