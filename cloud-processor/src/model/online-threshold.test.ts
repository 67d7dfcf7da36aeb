import { describe, expect, it } from 'vitest';
import { currentThreshold, initialOnlineThreshold, learnOnlineThreshold, ONLINE_THRESHOLD, type OnlineThresholdSpec, type OnlineThresholdState } from './online-threshold.js';
import { gpdSampler } from '../test-support/seeded-samplers.js';
import { gaussian } from '../test-support/synthetic-pump.js';
import { initSpot, perWindowRisk, stepSpot } from './spot.js';

/** χ²₂ draws (a T² score of two features): Exponential with mean 2, P(X > z) = e^(−z/2). */
const chiSquare2 = (seed: number): (() => number) => gpdSampler(seed, 0, 2);

const WINDOW_MS = 10_000;
/** One false exceedance per machine-day of 10 s windows: q = 1/8640. */
const SPEC: OnlineThresholdSpec = { falseAlertsPerDay: 1, floor: 5 };
const TRAINED = 40;

/** Decides `scores` one after another as the scorer does; returns each window's threshold. */
function run(state: OnlineThresholdState, scores: readonly number[], spec = SPEC, trained = TRAINED): number[] {
  return scores.map((score) => {
    const threshold = currentThreshold(state, trained);
    learnOnlineThreshold(state, spec, WINDOW_MS, score, trained);
    return threshold;
  });
}

/** The first window at which 3 of the last 5 exceeded (the default alert rule), -1 when none. */
function alertOpens(scores: readonly number[], thresholds: readonly number[]): number {
  const exceeded = scores.map((score, i) => score > thresholds[i]!);
  return exceeded.findIndex((_, i) => i >= 4 && exceeded.slice(i - 4, i + 1).filter(Boolean).length >= 3);
}

describe('online threshold', () => {
  it('judges by the trained threshold while calibrating on the first normal windows, then by SPOT', () => {
    const state = initialOnlineThreshold();
    const next = chiSquare2(1);
    const thresholds = run(state, Array.from({ length: ONLINE_THRESHOLD.calibrationWindows }, next));
    expect(thresholds.every((t) => t === TRAINED)).toBe(true);
    expect(state.spot).not.toBeNull();
    expect(state.calibration).toEqual([]);
    expect(currentThreshold(state, TRAINED)).not.toBe(TRAINED);
  });

  it('converges on stationary χ²₂ scores to the true quantile −2 ln q = 18.13 (q = 1/8640)', () => {
    const truth = -2 * Math.log(perWindowRisk(1, WINDOW_MS));
    expect(truth).toBeCloseTo(18.128, 2); // ln(8640) = 9.0642

    const state = initialOnlineThreshold();
    const thresholds = run(state, Array.from({ length: 60_000 }, chiSquare2(2)));
    const last = thresholds.at(-1)!;
    expect(Math.abs(last - truth) / truth).toBeLessThan(0.1);
    expect(state.spot!.peaks.length).toBe(ONLINE_THRESHOLD.maxPeaks);
  });

  it('never goes below the floor', () => {
    const state = initialOnlineThreshold();
    const spec = { falseAlertsPerDay: 1, floor: 30 };
    const thresholds = run(state, Array.from({ length: 5_000 }, chiSquare2(3)), spec);
    expect(thresholds.at(-1)).toBe(30);
    expect(state.spot!.threshold).toBeLessThan(30);
    expect(state.threshold).toBe(30);
  });

  it('a feature drifting linearly (T² of two features, the drift 0 → 8 σ over 3½ days) alarms as with a fixed threshold; plain SPOT follows it', () => {
    const next = chiSquare2(4);
    const healthy = Array.from({ length: 20_000 }, next);
    // After 20 000 healthy windows the score grows by 30 over 30 000 windows (3½ days of 10 s windows).
    const g = gaussian(40);
    const ramp = Array.from({ length: 30_000 }, (_, i) => (g() + (8 * i) / 30_000) ** 2 + g() ** 2);
    const state = initialOnlineThreshold();
    run(state, healthy);
    const before = currentThreshold(state, TRAINED);
    const thresholds = run(state, ramp);
    const fixedOpens = alertOpens(ramp, ramp.map(() => before));
    const opens = alertOpens(ramp, thresholds);
    // The body stops the learning soon after the ramp starts: the bar stays within a few % of the healthy one…
    expect(Math.max(...thresholds) / before).toBeLessThan(1.05);
    // …so the alert (3 of 5 windows above) opens within 1,000 windows (~3 h) of a fixed threshold's, and the
    // end of the ramp (δ from 6 σ to 8 σ) is above the threshold nearly throughout.
    expect(fixedOpens).toBeGreaterThan(0);
    expect(opens).toBeGreaterThanOrEqual(fixedOpens);
    expect(opens - fixedOpens).toBeLessThan(1_000);
    const end = ramp.slice(22_500).filter((score, i) => score > thresholds[22_500 + i]!).length;
    expect(end / 7_500).toBeGreaterThan(0.95);

    // Contrast, SPOT learning every window below its threshold (no quiet, body or rise rule) follows the
    // drift: its bar is 1.3 times higher a third into the ramp and the alert opens over 5,000 windows later.
    // (250 peaks rather than 1,000: during the ramp nearly every window is a peak and a refit.)
    const plain = initSpot(healthy.slice(0, ONLINE_THRESHOLD.calibrationWindows), { q: perWindowRisk(1, WINDOW_MS), level: ONLINE_THRESHOLD.level, maxPeaks: 250 });
    for (const score of healthy.slice(ONLINE_THRESHOLD.calibrationWindows)) stepSpot(plain, score);
    // Only as far as its alert: from a third into the ramp nearly every window is one of its peaks, a refit.
    const plainThresholds = ramp.slice(0, 16_000).map((score) => stepSpot(plain, score).threshold);
    expect(plainThresholds[10_000]! / thresholds[10_000]!).toBeGreaterThan(1.3);
    expect(alertOpens(ramp, plainThresholds) - opens).toBeGreaterThan(5_000);
  }, 120_000);

  it('as pdm train writes it (floor = the trained threshold): a machine whose healthy scores widen by half over 6 days does not drift into alarm, where the fixed threshold does', () => {
    // χ²₂ scores, trained at their true quantile for q = 1/8640 (18.13), the floor where pdm train puts it.
    const trained = -2 * Math.log(perWindowRisk(1, WINDOW_MS));
    const spec = { falseAlertsPerDay: 1, floor: trained };
    const day = 8_640;
    const next = chiSquare2(6);
    // A day at the trained scale, the scale growing 1 → 1.5 over 6 days (7 % a day, under the 10 % rise),
    // then 3 days at 1.5: the median (1.39 · 1.5 = 2.08) stays below the upper quartile (2.77), so the
    // body rule lets it teach; it is a heavier healthy tail, not a fault moving the whole distribution.
    const scale = (i: number): number => (i < day ? 1 : i < 7 * day ? 1.5 ** ((i - day) / (6 * day)) : 1.5);
    const scores = Array.from({ length: 10 * day }, (_, i) => scale(i) * next());
    const thresholds = run(initialOnlineThreshold(), scores, spec, trained);
    // Windows above the threshold in the last 2 days.
    const lastTwoDays = (judge: (i: number) => number): number => scores.slice(8 * day).filter((score, i) => score > judge(8 * day + i)).length;
    // Fixed: 2 · 8,640 · e^(−18.13/3) = 41 (hand computation; 36–57 over seeds 6–13).
    expect(lastTwoDays(() => trained)).toBeGreaterThan(25);
    // Online: about the 2 it promises (2–7 over the same seeds), and never below the trained threshold.
    expect(lastTwoDays((i) => thresholds[i]!)).toBeLessThanOrEqual(10);
    expect(Math.min(...thresholds)).toBe(trained);
    // Its bar followed the tail: the true quantile at scale 1.5 is 1.5 · 18.13 = 27.2.
    expect(thresholds.at(-1)! / (1.5 * trained)).toBeGreaterThan(0.85);
  }, 60_000);

  it('a window above the threshold and the quiet windows after it teach nothing', () => {
    const state = initialOnlineThreshold();
    run(state, [1, 2, 50]);
    expect(state.calibration).toEqual([1, 2]);
    run(state, Array.from({ length: ONLINE_THRESHOLD.quietWindows }, () => 1));
    expect(state.calibration).toEqual([1, 2]);
    run(state, [3]);
    expect(state.calibration).toEqual([1, 2, 3]);
  });

  it('the state is plain JSON: a copy read back continues identically', () => {
    const next = chiSquare2(5);
    const first = Array.from({ length: 3_000 }, next);
    const second = Array.from({ length: 3_000 }, next);
    const state = initialOnlineThreshold();
    // While calibrating too (a robust-t2 machine's state is written to the state file from its first window).
    run(state, first.slice(0, 1_000));
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    run(state, first.slice(1_000));
    const copy = JSON.parse(JSON.stringify(state)) as OnlineThresholdState;
    expect(run(copy, second)).toEqual(run(state, second));
    expect(copy).toEqual(state);
  });
});
