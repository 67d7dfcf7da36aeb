import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { dominantPeriod, FLAT_MOVED, initialFeatureState, skipWindows, stepFeature, warmState, type AdaptiveZModel } from './adaptive-z.js';

const M = 12;

/** z of y[t] against the population mean and sd of `history` (0 with fewer than 2 values): the definition, two-pass. */
function zAgainst(history: number[], value: number): number {
  const finite = history.filter(Number.isFinite);
  if (finite.length < 2 || !Number.isFinite(value)) return 0;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const sd = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / finite.length);
  return Math.abs(value - mean) / sd;
}

const mean = (values: number[]): number => {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? 0 : finite.reduce((a, b) => a + b, 0) / finite.length;
};

/**
 * The three z-scores written out from their definitions over whole arrays (no running statistics): the
 * reference for stepFeature while the history is shorter than L (where exponential weighting is a plain
 * mean). A window above the threshold leaves the season's prediction, not itself, as the reference a
 * period later.
 */
function reference(series: number[], period: number): number[] {
  // The short mean of the last M slots: of the values present if they are at least half (a hole is NaN)…
  const short = series.map((_, t) => {
    const present = t >= M - 1 ? series.slice(t - M + 1, t + 1).filter(Number.isFinite) : [];
    return present.length >= M / 2 ? mean(present) : Number.NaN;
  });
  // …and only of all M for the seasonal term, whose reference is a full mean a period earlier.
  const full = short.map((v, t) => (t >= M - 1 && series.slice(t - M + 1, t + 1).every(Number.isFinite) ? v : Number.NaN));
  const seasonal: number[] = [];
  const references: number[] = [];
  return series.map((x, t) => {
    const z1 = zAgainst(series.slice(0, t), x);
    const z2 = zAgainst(short.slice(0, Math.max(0, t - M)), short[t]!);
    if (period === 0) return Math.max(z1, z2);
    const back = t >= period ? references[t - period]! : Number.NaN;
    seasonal.push(full[t]! - back);
    const z3 = zAgainst(seasonal.slice(0, Math.max(0, t - M)), seasonal[t]!);
    const score = Math.max(z1, z2, z3);
    references.push(score > 7 && Number.isFinite(back) ? back + mean(seasonal.slice(0, Math.max(0, t - M))) : full[t]!);
    return score;
  });
}

/** n windows of a ±10 cycle plus unit noise, from window `from` of the cycle on. */
function daily(seed: number, n: number, period: number, from = 0): number[] {
  const rand = gaussian(seed);
  return Array.from({ length: n }, (_, t) => 50 + 10 * Math.sin((2 * Math.PI * (from + t)) / period) + rand());
}

const model = (period: number, history: number[] = []): AdaptiveZModel => ({ features: [{ period, history }], shortWindows: M, historyWindows: 6400, threshold: 7 });

describe('adaptive-z scores', () => {
  /** Steps `series` through a fresh state without and with a period of 48 and compares each z with the written-out definitions. */
  function expectDefinitions(series: number[]): void {
    for (const period of [0, 48]) {
      const m = model(period);
      const state = initialFeatureState();
      const got = series.map((x) => stepFeature(m, m.features[0]!, state, x));
      const want = reference(series, period);
      got.forEach((z, t) => expect(z, `t = ${t}, period ${period}`).toBeCloseTo(want[t]!, 6));
    }
  }

  it('are the point, short-mean and seasonal z-scores of their definitions', () => {
    expectDefinitions(daily(1, 300, 48));
  });

  it('take a window slot with no window as a hole: the definitions with that value left out, every lag still in slots', () => {
    expectDefinitions(daily(7, 300, 48).map((x, t) => (t % 37 === 5 || (t >= 150 && t < 170) ? Number.NaN : x)));
  });

  it('skip a long outage in a bounded number of steps: the short term forgotten, the season kept at its phase', () => {
    const m = model(48, daily(8, 400, 48));
    const stepped = (holes: number) => {
      const [state] = warmState(m);
      for (let i = 0; i < holes; i++) stepFeature(m, m.features[0]!, state!, Number.NaN);
      return state!;
    };
    const skipped = (holes: number) => {
      const states = warmState(m);
      skipWindows(m, states, holes);
      return states[0]!;
    };
    expect(skipped(30)).toEqual(stepped(30)); // shorter than a period: holes, one by one
    // A period or more: everything but the seasonal references as the holes leave it, the references
    // those of the last period before the outage, turned to the phase the next slot is at.
    const [warm] = warmState(m);
    const before = warm!.seasonalReferences;
    for (const holes of [48, 200, 10_000]) {
      const shift = holes % 48;
      expect({ ...skipped(holes), seasonalReferences: [] }, `${holes} holes`).toEqual({ ...stepped(holes), seasonalReferences: [] });
      expect(skipped(holes).seasonalReferences, `${holes} holes`).toEqual([...before.slice(shift), ...before.slice(0, shift)]);
    }
    expect(before.every(Number.isFinite)).toBe(true);
  });

  it('warm up over a gap of several periods in the training series as scoring steps over an outage', () => {
    const before = daily(9, 300, 48);
    const after = daily(10, 60, 48, 300 + 3 * 48 + 5);
    const [trained] = warmState(model(48, [...before, ...new Array<number>(3 * 48 + 5).fill(Number.NaN), ...after]));
    const m = model(48, before);
    const states = warmState(m);
    skipWindows(m, states, 3 * 48 + 5);
    for (const x of after) stepFeature(m, m.features[0]!, states[0]!, x);
    expect(trained).toEqual(states[0]);
  });

  it('warm up over one sensor NaN for several periods (the other present) as over an outage: that sensor keeps its season', () => {
    const gap = 3 * 48 + 5;
    const before = daily(11, 300, 48);
    const after = daily(12, 60, 48, 300 + gap);
    const other = daily(13, 300 + gap + 60, 48);
    const two = (first: number[], second: number[]): AdaptiveZModel => ({ ...model(48), features: [{ period: 48, history: first }, { period: 48, history: second }] });
    const [trained] = warmState(two([...before, ...new Array<number>(gap).fill(Number.NaN), ...after], other));
    const m = model(48, before);
    const states = warmState(m);
    skipWindows(m, states, gap);
    for (const x of after) stepFeature(m, m.features[0]!, states[0]!, x);
    expect(trained).toEqual(states[0]);
    expect(trained!.seasonalReferences.every(Number.isFinite)).toBe(true);
  });

  it('compare the first windows after an outage of several periods with the same time of the season', () => {
    // Trained on 600 windows; first used 3 periods and 10 windows later. A level shift of half the cycle's
    // amplitude during the first day lies inside the season's range: only the seasonal term sees it.
    const period = 48;
    const m = model(period, daily(3, 600, period));
    const gap = 3 * period + 10;
    const states = warmState(m);
    skipWindows(m, states, gap);
    const live = daily(4, 2 * period, period, 600 + gap).map((x, t) => x + (t >= 12 && t < 42 ? 5 : 0));
    const scores = live.map((x) => stepFeature(m, m.features[0]!, states[0]!, x));
    const above = scores.flatMap((z, t) => (z > 7 ? [t] : []));
    expect(above.some((t) => t >= 12 && t < 42)).toBe(true);
    expect(above.filter((t) => t < 12 || t >= 42 + M)).toEqual([]);
  });

  it('continue from the training series exactly as if the machine had been scored all along', () => {
    const series = daily(2, 400, 48);
    const whole = model(48);
    const state = initialFeatureState();
    const all = series.map((x) => stepFeature(whole, whole.features[0]!, state, x));
    const trained = model(48, series.slice(0, 250));
    const [warm] = warmState(trained);
    const rest = series.slice(250).map((x) => stepFeature(trained, trained.features[0]!, warm!, x));
    expect(rest).toEqual(all.slice(250));
  });

  it('stay below the threshold on a noisy daily cycle and flag a spike and a level shift smaller than the cycle', () => {
    const period = 48;
    const m = model(period, daily(3, 600, period));
    const [state] = warmState(m);
    const live = daily(4, 1000, period, 600).map((x, t) => x + (t === 500 ? 60 : 0) + (t >= 800 && t < 840 ? 5 : 0));
    const scores = live.map((x) => stepFeature(m, m.features[0]!, state!, x));
    const above = scores.flatMap((z, t) => (z > 7 ? [t] : []));
    expect(above).toContain(500); // far outside anything seen: the point term
    // 5 σ of noise for 40 windows, half the cycle's amplitude: only the seasonal difference of short means sees it.
    expect(above.some((t) => t >= 800 && t < 840)).toBe(true);
    // Nothing else: an excursion shows while it is in the short mean, and not again a period later (the
    // seasonal difference takes what the season predicted for those windows, not the excursion).
    const during = (from: number, to: number, t: number) => t >= from && t < to + M;
    expect(above.filter((t) => !during(500, 501, t) && !during(800, 840, t))).toEqual([]);
  });

  it('give FLAT_MOVED when a series that never varied moves, and 0 while it stays', () => {
    const m = model(0, Array.from({ length: 50 }, () => 20));
    const [state] = warmState(m);
    expect(stepFeature(m, m.features[0]!, state!, 20)).toBe(0);
    expect(stepFeature(m, m.features[0]!, state!, 20.5)).toBe(FLAT_MOVED);
  });
});

describe('dominantPeriod', () => {
  it('finds a daily cycle (or a multiple of it: they correlate as well) and nothing in white noise', () => {
    const found = dominantPeriod(daily(5, 600, 48), { minPeriod: 12, maxPeriod: 6400, minAutocorrelation: 0.5 });
    expect(found).toBeGreaterThan(0);
    expect(found % 48).toBe(0);
    expect(dominantPeriod(daily(5, 600, 48), { minPeriod: 12, maxPeriod: 60, minAutocorrelation: 0.5 })).toBe(48);
    const rand = gaussian(6);
    const noise = Array.from({ length: 600 }, () => rand());
    expect(dominantPeriod(noise, { minPeriod: 12, maxPeriod: 6400, minAutocorrelation: 0.5 })).toBe(0);
    expect(dominantPeriod(Array.from({ length: 100 }, () => 3), { minPeriod: 12, maxPeriod: 6400, minAutocorrelation: 0.5 })).toBe(0);
    // Holes (NaN) leave their pairs out: the cycle is still found at its lag.
    const holed = daily(5, 600, 48).map((x, t) => (t % 10 === 3 || (t >= 200 && t < 230) ? Number.NaN : x));
    expect(dominantPeriod(holed, { minPeriod: 12, maxPeriod: 60, minAutocorrelation: 0.5 })).toBe(48);
    // Sparse data: 70 values, 30 of them repeated 300 slots later, then nothing for a long time. Lag 300
    // correlates perfectly, but over 30 pairs of 100 values: chance, not a period.
    const sparse = new Array<number>(701).fill(Number.NaN);
    noise.slice(0, 70).forEach((v, i) => (sparse[i] = v));
    noise.slice(0, 30).forEach((v, i) => (sparse[300 + i] = v));
    sparse[700] = 0;
    expect(dominantPeriod(sparse, { minPeriod: 12, maxPeriod: 6400, minAutocorrelation: 0.5 })).toBe(0);
  });
});
