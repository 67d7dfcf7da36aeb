import { describe, expect, it } from 'vitest';
import { gaussian } from '../test-support/synthetic-pump.js';
import { chiSquareUpperQuantile } from './chi-square.js';
import { covarianceOf, meanOf } from './linalg.js';
import { robustCovariance } from './robust-covariance.js';
import { expectedFeatures, initialBaseline, learnBaseline, t2Score, type RobustT2Model } from '../model/robust-t2.js';
import { fitRobustT2 } from './robust-t2.js';

/** A fitted file as the scorer holds it (the conversion of model/artifacts.ts, written out here). */
function toModel(file: ReturnType<typeof fitRobustT2>, names: readonly string[]): RobustT2Model {
  const op = file.operatingPoint;
  return {
    d: names.length,
    location: Float64Array.from(file.location),
    precision: Float64Array.from(file.precision.flat()),
    threshold: file.threshold,
    tauMs: file.tauMs,
    operatingPoint: op === undefined ? null : { ...op, feature: names.indexOf(op.feature), slope: Float64Array.from(op.slope), curve: Float64Array.from(op.curve) },
    machineOffsets: new Map(Object.entries(file.machineOffsets ?? {}).map(([m, o]) => [m, Float64Array.from(o)])),
  };
}

/** D² of a window of `machine` against the model at the window's operating point. */
function score(model: RobustT2Model, x: number[], machine = 'm'): number {
  const d = model.d;
  const start = initialBaseline(model, machine).baseline;
  return t2Score(model, x, expectedFeatures(model, x, start, new Float64Array(d)), new Float64Array(d), new Float64Array(d));
}

/** 300 windows of two correlated features around (10, 20), then 60 from a start-up far from them. */
function contaminated(seed: number): { rows: number[][]; clean: number[][] } {
  const rand = gaussian(seed);
  const clean = Array.from({ length: 300 }, () => {
    const u = rand();
    return [10 + u, 20 + 0.8 * u + 0.6 * rand()];
  });
  const startUp = Array.from({ length: 60 }, () => [4 + 0.5 * rand(), 30 + 0.5 * rand()]);
  return { rows: [...clean, ...startUp], clean };
}

describe('robust covariance', () => {
  it('describes the steady windows and leaves a start-up out, where the classical estimate covers it', () => {
    const { rows, clean } = contaminated(1);
    const ridge = [0, 0];
    const robust = robustCovariance(rows, 2, { keepFraction: 0.5, cSteps: 10, reweightQuantile: 0.975, ridge });
    const classical = robustCovariance(rows, 2, { keepFraction: 1, cSteps: 0, reweightQuantile: 0.975, ridge });
    const cleanMean = meanOf(clean, 2);
    const cleanCov = covarianceOf(clean, cleanMean, 2);
    expect(Math.abs(robust.location[0]! - 10)).toBeLessThan(0.2);
    expect(Math.abs(robust.location[1]! - 20)).toBeLessThan(0.2);
    expect(classical.location[0]!).toBeLessThan(9.3); // pulled towards the start-up at 4
    // Reweighting at χ²₂ 0.975 keeps ~97.5% of the steady windows and none of the start-up.
    expect(robust.inliers).toBeGreaterThan(280);
    expect(robust.inliers).toBeLessThanOrEqual(300);
    // Its covariance is the steady one (corrected for the trimming), not the inflated classical one.
    for (const k of [0, 3]) {
      expect(robust.covariance[k]!).toBeGreaterThan(0.8 * cleanCov[k]!);
      expect(robust.covariance[k]!).toBeLessThan(1.2 * cleanCov[k]!);
      expect(classical.covariance[k]!).toBeGreaterThan(3 * cleanCov[k]!);
    }
  });
});

describe('robust covariance on clean normal data', () => {
  it('matches the sample covariance: the trimming at the reweighting cut is corrected for', () => {
    // Trimming 2-D normal data at χ²₂ 0.975 keeps points whose covariance is P(χ²₄ ≤ 7.378)/0.975 = 0.905
    // of the true one; uncorrected, every variance below would be ~10 % short.
    const rand = gaussian(9);
    const rows = Array.from({ length: 20_000 }, () => {
      const u = rand();
      return [10 + u, 20 + 0.8 * u + 0.6 * rand()];
    });
    const sample = covarianceOf(rows, meanOf(rows, 2), 2);
    const robust = robustCovariance(rows, 2, { keepFraction: 0.5, cSteps: 10, reweightQuantile: 0.975, ridge: [0, 0] });
    for (const k of [0, 1, 3]) expect(robust.covariance[k]! / sample[k]!).toBeCloseTo(1, 1);
    for (const k of [0, 3]) expect(Math.abs(robust.covariance[k]! / sample[k]! - 1)).toBeLessThan(0.04);
  });

  it('counts only the features that vary: two spare channels at 0 leave the others\' fit as it is without them', () => {
    // The distances are χ²₂ with or without the constant columns (they add 0 to each); taken as χ²₄, the
    // cut and the trimming correction were those of four dimensions and the two real variances ~6 % short.
    const rand = gaussian(10);
    const rows = Array.from({ length: 20_000 }, () => {
      const u = rand();
      return [10 + u, 20 + 0.8 * u + 0.6 * rand()];
    });
    const options = { keepFraction: 0.5, cSteps: 10, reweightQuantile: 0.975 };
    const alone = robustCovariance(rows, 2, { ...options, ridge: [0, 0] });
    const withSpares = robustCovariance(rows.map((r) => [...r, 0, 0]), 4, { ...options, ridge: [0, 0, 1e-12, 1e-12] });
    expect(withSpares.inliers).toBe(alone.inliers);
    for (const [i, j] of [[0, 0], [0, 1], [1, 1]] as const) expect(withSpares.covariance[i * 4 + j]!).toBeCloseTo(alone.covariance[i * 2 + j]!, 10);
    const sample = covarianceOf(rows, meanOf(rows, 2), 2);
    for (const k of [0, 3]) expect(Math.abs(alone.covariance[k]! / sample[k]! - 1)).toBeLessThan(0.04);
  });
});

describe('fitRobustT2', () => {
  it('stores the χ²_d threshold at p, the level floor on the diagonal and the fit record', () => {
    const { clean } = contaminated(2);
    const noFloor = fitRobustT2(['x.mean', 'y.mean'], clean, 10_000, { rho: 0, operatingPoint: false });
    const floored = fitRobustT2(['x.mean', 'y.mean'], clean, 10_000, { rho: 0.1, operatingPoint: false });
    expect(noFloor.threshold).toBeCloseTo(chiSquareUpperQuantile(1e-3, 2), 12);
    expect(noFloor.threshold).toBeCloseTo(13.8155, 3);
    // 300 non-overlapping 10 s windows are a short training: a baseline of 2 spans, 2 × 300 × 10 s.
    expect(floored).toMatchObject({ p: 1e-3, rho: 0.1, tauMs: 6_000_000, featureNames: ['x.mean', 'y.mean'] });
    expect(floored.operatingPoint).toBeUndefined();
    // ρ·|level| = 1 and 2: variances grow by 1 and 4, so the precision of x shrinks markedly.
    expect(floored.precision[0]![0]!).toBeLessThan(0.6 * noFloor.precision[0]![0]!);
    expect(floored.fit.windows).toBe(300);
    expect(noFloor.fit.trainingAbove).toBeLessThanOrEqual(3);
    // 300 windows hold 6 above their 98 % quantile: too few for a tail, the χ² quantile alone.
    expect(noFloor.fit).toMatchObject({ chiSquare: noFloor.threshold, trainingTail: null });
    expect(noFloor.fit.zeroThroughout).toBeUndefined();
  });

  it('names the features that read 0 in every training window: any other value then scores far above the threshold', () => {
    const { clean } = contaminated(3);
    // A spare channel reading 0 throughout, and a flag that was 0 but for one window (it varied: not named).
    const rows = clean.map((r, i) => [...r, 0, 0, i === 7 ? 1 : 0]);
    const names = ['x.mean', 'y.mean', 'spare.mean', 'spare.rms', 'flag.mean'];
    const file = fitRobustT2(names, rows, 10_000, { operatingPoint: false });
    expect(file.fit.zeroThroughout).toEqual(['spare.mean', 'spare.rms']);
    const model = toModel(file, names);
    expect(score(model, [10, 20, 0, 0, 0])).toBeLessThan(file.threshold);
    expect(score(model, [10, 20, 1e-3, 1e-3, 0])).toBeGreaterThan(1e3 * file.threshold);
  });
});

describe('fitRobustT2: the threshold from the training scores\' tail', () => {
  // χ²₂ has the closed-form tail e^(−x/2): its quantile at risk q is −2 ln q.
  const chi2Quantile2 = (q: number): number => -2 * Math.log(q);
  const independent = (count: number, seed: number): number[][] => {
    const rand = gaussian(seed);
    return Array.from({ length: count }, () => [10 + rand(), 20 + rand()]);
  };

  it('raises the threshold to the scores\' quantile for one false exceedance per machine-day', () => {
    // Without a floor, the scores of Gaussian windows are χ²₂: at 10 s windows, q = 1/8640 and the
    // quantile is 18.1, above the χ² quantile at p = 1e-3 (13.8).
    // 50 000 windows: 1 000 peaks, the extrapolated quantile within a few per cent (20 000: up to 11 %).
    const fit = fitRobustT2(['x.mean', 'y.mean'], independent(50_000, 5), 10_000, { rho: 0, operatingPoint: false });
    expect(fit.fit.chiSquare).toBeCloseTo(chi2Quantile2(1e-3), 3);
    expect(Math.abs(fit.threshold / chi2Quantile2(1 / 8640) - 1)).toBeLessThan(0.05);
    expect(fit.fit.trainingTail).toBe(fit.threshold);
    // Half the false alerts a day: a rarer risk, a higher threshold (−2 ln(1/17280) = 19.5).
    const stricter = fitRobustT2(['x.mean', 'y.mean'], independent(50_000, 5), 10_000, { rho: 0, operatingPoint: false, falseAlertsPerDay: 0.5 });
    expect(stricter.threshold).toBeGreaterThan(fit.threshold);
  });

  it('keeps the χ² quantile when the scores\' tail lies below it (the level floor widens the covariance)', () => {
    // ρ·level = 0.5·10 and 0.5·20: the floor swamps the unit variances, scores shrink far below χ²₂.
    const fit = fitRobustT2(['x.mean', 'y.mean'], independent(2_000, 4), 10_000, { rho: 0.5, operatingPoint: false });
    expect(fit.fit.trainingTail).toBeLessThan(fit.threshold);
    expect(fit.threshold).toBeCloseTo(chi2Quantile2(1e-3), 3);
  });

  it('asks for an online threshold per machine at the same false alerts a day, floored at the trained threshold; onlineThreshold: false for a fixed one', () => {
    const rows = independent(2_000, 6);
    const fit = fitRobustT2(['x.mean', 'y.mean'], rows, 10_000, { operatingPoint: false, falseAlertsPerDay: 0.5 });
    expect(fit.onlineThreshold).toEqual({ falseAlertsPerDay: 0.5, floor: fit.threshold });
    const fixed = fitRobustT2(['x.mean', 'y.mean'], rows, 10_000, { operatingPoint: false, onlineThreshold: false });
    expect(fixed.onlineThreshold).toBeUndefined();
    expect(fixed.threshold).toBe(fitRobustT2(['x.mean', 'y.mean'], rows, 10_000, { operatingPoint: false }).threshold);
  });
});

describe('fitRobustT2: a feature that wanders slowly through a long training', () => {
  // 3,000 windows: x white around 10 (sd 1); y steady at 20 (sd 0.3) for the first 1,800 (the night), then
  // rising slowly by 6 (a temperature following the ambient's day). The robust fit describes the tightest
  // half: the night.
  const names = ['x.mean', 'y.mean'];
  const rows = ((): number[][] => {
    const rand = gaussian(12);
    return Array.from({ length: 3_000 }, (_, t) => [10 + rand(), 20 + 6 * Math.max(0, (t - 1_800) / 1_200) + 0.3 * rand()]);
  })();

  it("takes the rise's spread from all of training: the threshold stays near the χ² quantile and a 6 σ step in the other feature alarms", () => {
    const fit = fitRobustT2(names, rows, 10_000, { rho: 0, operatingPoint: false });
    // Judged against the night alone, the day's rise made the training scores' tail — the threshold of x
    // too — far above χ²₂'s 13.8; now the threshold is χ²'s, or the tail of χ²₂-like scores just above it.
    expect(fit.threshold).toBeLessThan(1.5 * chiSquareUpperQuantile(1e-3, 2));
    const model = toModel(fit, names);
    // Every training window, the end of the rise included, stays normal.
    expect(Math.max(...rows.map((x) => score(model, x)))).toBeLessThan(fit.threshold);
    // x 6 sd off (D² ≈ 36) with y at its median: a fault the raised threshold hid.
    expect(score(model, [16, 20])).toBeGreaterThan(fit.threshold);
  });

  it('says which features it widened and by what factor: y, by its rise, not x', () => {
    const fit = fitRobustT2(names, rows, 10_000, { rho: 0, operatingPoint: false });
    // y's spread over training: the 99th percentile of |y − median| is ~5.9 (the top of the rise), a σ of
    // ~2.3 against the night's 0.3 — its variance ~60 × larger.
    expect(Object.keys(fit.fit.widened ?? {})).toEqual(['y.mean']);
    expect(fit.fit.widened!['y.mean']).toBeGreaterThan(30);
    expect(fit.fit.widened!['y.mean']).toBeLessThan(120);
  });

  it('reads no glitch as the tail: three windows 1,000 σ off in 3,000 leave the threshold near χ²', () => {
    const rand = gaussian(14);
    const glitched = Array.from({ length: 3_000 }, (_, t) => [10 + rand() + (t % 1_000 === 500 ? 1_000 : 0), 20 + 0.3 * rand()]);
    const fit = fitRobustT2(names, glitched, 10_000, { rho: 0, operatingPoint: false });
    // Fitted with the glitches, the tail put the threshold at 8,264: no window but another glitch alarmed.
    expect(fit.threshold).toBeLessThan(1.5 * chiSquareUpperQuantile(1e-3, 2));
    expect(score(toModel(fit, names), [16, 20])).toBeGreaterThan(fit.threshold);
  });

  it('is not widened by a glitch: the same three in x beside the rise of y widen y alone', () => {
    const glitched = rows.map(([x, y], t) => [x! + (t % 1_000 === 500 ? 1_000 : 0), y!]);
    const fit = fitRobustT2(names, glitched, 10_000, { rho: 0, operatingPoint: false });
    // y's rise makes the tail heavier than χ², so the spreads are widened; the 99th percentile does not
    // see x's three glitches: x keeps its spread within sampling error (a mean square took it ×330).
    expect(fit.fit.widened!['y.mean']).toBeGreaterThan(30);
    expect(fit.fit.widened!['x.mean'] ?? 1).toBeLessThan(1.2);
  });

  it('keeps the robust spread where the tail is as χ² says (white noise), and after a short training', () => {
    const rand = gaussian(13);
    const white = Array.from({ length: 3_000 }, () => [10 + rand(), 20 + 0.3 * rand()]);
    const fit = fitRobustT2(names, white, 10_000, { rho: 0, operatingPoint: false });
    const unwidened = fitRobustT2(names, white, 10_000, { rho: 0, operatingPoint: false, independentWindows: 1_999 });
    // Its scores' tail is no heavier than χ²₂ says at the same risk: nothing is widened.
    expect(fit.precision).toEqual(unwidened.precision);
    // Fewer than minTailWindows apart: the robust fit as it is, and the rise exceeds (the slow baseline's case).
    const short = fitRobustT2(names, rows, 10_000, { rho: 0, operatingPoint: false, independentWindows: 1_999 });
    const model = toModel(short, names);
    expect(rows.filter((x) => score(model, x) > short.threshold).length).toBeGreaterThan(300);
  });
});

describe('fitRobustT2: the operating point', () => {
  // A machine run at set-points s (speed): y follows s as 5 + 0.001 (s − 800)² plus small noise — a
  // relation s explains and y cannot (the same y comes at two speeds); w is noise that ignores s.
  const setPoints = [600, 700, 800, 900, 1000, 1100];
  const relation = (s: number): number => 5 + 0.001 * (s - 800) ** 2;
  function running(seed: number): number[][] {
    const rand = gaussian(seed);
    return Array.from({ length: 2_400 }, (_, i) => {
      const s = setPoints[i % setPoints.length]! + 2 * rand();
      return [s, relation(s) + 0.5 * rand(), 50 + rand()];
    });
  }
  const names = ['speed.mean', 'y.mean', 'w.mean'];

  it('regresses what the set-point explains on it, with the coefficients of the exact relation', () => {
    const rows = running(5);
    const op = fitRobustT2(names, rows, 10_000).operatingPoint!;
    expect(op.feature).toBe('speed.mean');
    // Population mean and sd of s, computed here; in u = (s − c)/σ the relation's slope is
    // 0.002σ(c − 800) and its curve 0.001σ² (the noise moves them by well under 1 %).
    const s = rows.map((r) => r[0]!);
    const c = s.reduce((a, b) => a + b, 0) / s.length;
    const sigma = Math.sqrt(s.reduce((a, b) => a + (b - c) ** 2, 0) / s.length);
    expect(op.center).toBeCloseTo(c, 9);
    expect(op.scale).toBeCloseTo(sigma, 9);
    expect(Math.abs(op.slope[1]! / (0.002 * sigma * (c - 800)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(op.curve[1]! / (0.001 * sigma * sigma) - 1)).toBeLessThan(0.01);
    // w does not follow s: a fixed location, its own spread.
    expect([op.slope[2], op.curve[2]]).toEqual([0, 0]);
    // speed itself is the point: explained exactly.
    expect(op.slope[0]).toBeCloseTo(sigma, 9);
    expect(op.curve[0]).toBe(0);
  });

  it('lets a machine run at a new set-point on the learnt relation, and flags a broken one', () => {
    const following = toModel(fitRobustT2(names, running(6), 10_000), names);
    // 850 and 1050 were never run in training; on the relation they are normal.
    for (const s of [850, 1050]) expect(score(following, [s, relation(s), 50])).toBeLessThan(following.threshold);
    // y 5 above what the set-point gives (ten times its noise): anomalous.
    expect(score(following, [850, relation(850) + 5, 50])).toBeGreaterThan(following.threshold);
    // Against a fixed location the broken window hides in y's wide spread over all set-points.
    const fixed = toModel(fitRobustT2(names, running(6), 10_000, { operatingPoint: false }), names);
    expect(fixed.operatingPoint).toBeNull();
    expect(score(fixed, [850, relation(850) + 5, 50])).toBeLessThan(score(following, [850, relation(850) + 5, 50]));
  });

  it('finds no operating point when no sensor explains another, and then checks every sensor', () => {
    const rand = gaussian(7);
    const rows = Array.from({ length: 2_000 }, () => [100 + rand(), 50 + rand(), 20 + rand()]);
    const file = fitRobustT2(['p.mean', 'q.mean', 'r.mean'], rows, 10_000);
    expect(file.operatingPoint).toBeUndefined();
    const model = toModel(file, ['p.mean', 'q.mean', 'r.mean']);
    // p 10 σ (and well over its 1 % level floor) off: an alarm.
    expect(score(model, [112, 50, 20])).toBeGreaterThan(model.threshold);
  });

  it("finds the operating point's trained range over a long training (400,000 windows: far more than one call takes as arguments)", () => {
    const rand = gaussian(9);
    const rows = Array.from({ length: 400_000 }, (_, i) => {
      const speed = 1000 + 100 * Math.sin(i / 500);
      return [speed, 0.04 * speed + 0.1 * rand()];
    });
    const file = fitRobustT2(['speed.mean', 'current.mean'], rows, 10_000);
    expect(file.operatingPoint?.feature).toBe('speed.mean');
    const { center, scale, min, max } = file.operatingPoint!;
    expect(center + scale * min).toBeCloseTo(900, 0);
    expect(center + scale * max).toBeCloseTo(1100, 0);
  });

  it('fits a line when the machine ran at two set-points only (the curve cannot be told)', () => {
    const rand = gaussian(8);
    const rows = Array.from({ length: 2_000 }, (_, i) => {
      const s = (i % 2 === 0 ? 600 : 1000) + 0.5 * rand();
      return [s, 3 + 0.05 * s + 0.2 * rand(), 50 + rand()];
    });
    const file = fitRobustT2(names, rows, 10_000);
    // speed and y explain each other equally (a line): either may be the point; neither gets a curve.
    expect(['speed.mean', 'y.mean']).toContain(file.operatingPoint!.feature);
    expect(file.operatingPoint!.curve).toEqual([0, 0, 0]);
    const model = toModel(file, names);
    // Between the two set-points, on the line: normal; y 2 above it (ten times its noise): anomalous.
    expect(score(model, [800, 3 + 0.05 * 800, 50])).toBeLessThan(model.threshold);
    expect(score(model, [800, 3 + 0.05 * 800 + 2, 50])).toBeGreaterThan(model.threshold);
  });

  it('carries the relation on along its tangent beyond the trained range', () => {
    const model = toModel(fitRobustT2(names, running(6), 10_000), names);
    // 1120, a little beyond the fastest set-point trained (1100): the tangent there (0.6 per rpm from
    // 95) says 107, the relation 107.4 — normal. At 1300 the curve has left its tangent by 40: an alarm,
    // where a quadratic carried on would have followed it and a held value (95) been 160 off.
    expect(score(model, [1120, relation(1120), 50])).toBeLessThan(model.threshold);
    expect(score(model, [1300, relation(1300), 50])).toBeGreaterThan(model.threshold);
    expect(score(model, [1300, 95 + 0.6 * 200, 50])).toBeLessThan(model.threshold);
  });
});

describe('fitRobustT2: the tail needs independent windows', () => {
  it('keeps the χ² quantile when the rows are fewer than minTailWindows apart (hopping windows)', () => {
    const rand = gaussian(10);
    const rows = Array.from({ length: 5_000 }, () => [10 + rand(), 20 + rand()]);
    const independent = fitRobustT2(['x.mean', 'y.mean'], rows, 10_000, { rho: 0, operatingPoint: false });
    const hopping = fitRobustT2(['x.mean', 'y.mean'], rows, 10_000, { rho: 0, operatingPoint: false, independentWindows: 500 });
    expect(independent.fit.trainingTail).not.toBeNull();
    expect(independent.threshold).toBeGreaterThan(chiSquareUpperQuantile(1e-3, 2));
    expect(hopping.fit.trainingTail).toBeNull();
    expect(hopping.threshold).toBeCloseTo(chiSquareUpperQuantile(1e-3, 2), 9);
  });
});


describe('fitRobustT2: a model of a class of machines', () => {
  // Three machines of one kind, each at its own level (x, y independent, σ = 1), 2,000 windows each
  // (minMachineWindows): a at (10, 20), b 4 higher in x, c 6 higher in y; d sent 1,000 windows only.
  const names = ['x.mean', 'y.mean'];
  const levels: Record<string, [number, number]> = { a: [10, 20], b: [14, 20], c: [10, 26], d: [12, 23] };
  const rand = gaussian(11);
  const rows: number[][] = [];
  const machineOf: string[] = [];
  for (const [machine, [x, y]] of Object.entries(levels)) {
    for (let i = 0; i < (machine === 'd' ? 1_000 : 2_000); i++) {
      rows.push([x + rand(), y + rand()]);
      machineOf.push(machine);
    }
  }
  const options = { rho: 0, operatingPoint: false };

  it("learns each machine's offset from the class and how one machine varies around its own level", () => {
    const file = fitRobustT2(names, rows, 10_000, { ...options, machineOf });
    const offsets = file.machineOffsets!;
    // Medians of 2,000 N(0, 1) draws lie within 0.1 of the level (3 standard errors of 0.028).
    const between = (m: string, n: string): number[] => offsets[m]!.map((o, j) => o - offsets[n]![j]!);
    between('b', 'a').forEach((v, j) => expect(v).toBeCloseTo([4, 0][j]!, 0));
    between('c', 'a').forEach((v, j) => expect(v).toBeCloseTo([0, 6][j]!, 0));
    // d's 1,000 windows are too few for a level of its own.
    expect(Object.keys(offsets).sort()).toEqual(['a', 'b', 'c']);
    // Within a machine x and y vary by 1; the machines' spread (var 3.6 in x, 8 in y) is not in it.
    const model = toModel(file, names);
    expect(model.precision[0]!).toBeGreaterThan(0.7);
    expect(model.precision[3]!).toBeGreaterThan(0.7);
  });

  it('flags a machine 5.5 σ off its own level, which the pooled model of the class lets pass; each normal machine stays normal', () => {
    const perMachine = toModel(fitRobustT2(names, rows, 10_000, { ...options, machineOf }), names);
    const pooled = toModel(fitRobustT2(names, rows, 10_000, options), names);
    expect(pooled.machineOffsets!.size).toBe(0);
    // Machine a, x 5.5 above its level: D² ≈ 30 against a; the threshold is the tail quantile for one
    // false exceedance a day (χ²₂: −2 ln(1/8640) = 18.1).
    const fault = [15.5, 20];
    expect(score(perMachine, fault, 'a')).toBeGreaterThan(perMachine.threshold);
    expect(score(pooled, fault, 'a')).toBeLessThan(pooled.threshold);
    // b's normal level is a's fault: normal for b.
    expect(score(perMachine, fault, 'b')).toBeLessThan(perMachine.threshold);
    for (const [machine, [x, y]] of Object.entries(levels)) {
      if (machine !== 'd') expect(score(perMachine, [x, y], machine), machine).toBeLessThan(1);
    }
  });

  it('compares a machine it has no level for with the class location', () => {
    const file = fitRobustT2(names, rows, 10_000, { ...options, machineOf });
    const model = toModel(file, names);
    expect(initialBaseline(model, 'never-seen').baseline).toEqual(file.location);
    expect(initialBaseline(model, 'b').baseline).toEqual(file.location.map((m, j) => m + file.machineOffsets!.b![j]!));
  });

  it('learns no offsets from one machine, nor from windows that overlap into fewer than 2,000 apart', () => {
    expect(fitRobustT2(names, rows.slice(0, 2_000), 10_000, { ...options, machineOf: machineOf.slice(0, 2_000) }).machineOffsets).toBeUndefined();
    // Hopping windows at half the window length: a, b and c hold 1,000 windows' worth of time each.
    const hopping = fitRobustT2(names, rows, 10_000, { ...options, machineOf, independentWindows: rows.length / 2 });
    expect(hopping.machineOffsets).toBeUndefined();
  });
});

describe('fitRobustT2: a slow baseline only where training was short', () => {
  const names = ['x.mean', 'y.mean'];
  /** `count` training windows around (100, 50), sd 1 each. */
  const healthy = (count: number, seed: number): number[][] => {
    const rand = gaussian(seed);
    return Array.from({ length: count }, () => [100 + rand(), 50 + rand()]);
  };
  /** Decides `live` in order as the scorer does (model/robust-t2.ts) from `state`; the windows' decisions. */
  const decide = (model: RobustT2Model, live: readonly number[][], state = initialBaseline(model, 'm')): boolean[] => {
    const expected = new Float64Array(model.d);
    return live.map((x, t) => {
      expectedFeatures(model, x, state.baseline, expected);
      const exceeded = t2Score(model, x, expected, new Float64Array(model.d), new Float64Array(model.d)) > model.threshold;
      learnBaseline(model, state, x, expected, 10_000, (t + 1) * 10_000, exceeded);
      return exceeded;
    });
  };
  /** x rises by 30 (≈ 20 of its floored sd) over 3,000 windows, y stays: a machine's slow healthy wander. */
  const wander = Array.from({ length: 3_000 }, (_, t) => [100 + 0.01 * t, 50]);

  it('sets τ to 2 training spans of non-overlapping windows, and none from minTailWindows on', () => {
    expect(fitRobustT2(names, healthy(400, 1), 10_000, { operatingPoint: false }).tauMs).toBe(2 * 400 * 10_000);
    // Hopping windows every 1 s over 400 s: 40 windows' worth of time, τ = 2 × 400 s.
    expect(fitRobustT2(names, healthy(400, 1), 10_000, { operatingPoint: false, independentWindows: 40 }).tauMs).toBe(800_000);
    expect(fitRobustT2(names, healthy(2_000, 2), 10_000, { operatingPoint: false }).tauMs).toBeNull();
    expect(fitRobustT2(names, healthy(400, 1), 10_000, { operatingPoint: false, tauMs: null }).tauMs).toBeNull();
    // Four machines of 100 windows each: 1,000 s of operation, τ = 2 × 1,000 s (not 2 × 4,000 s).
    const machineOf = Array.from({ length: 400 }, (_, i) => `pump-${i % 4}`);
    expect(fitRobustT2(names, healthy(400, 1), 10_000, { operatingPoint: false, machineOf }).tauMs).toBe(2 * 100 * 10_000);
  });

  it('follows a slow healthy wander after a short training; the same wander alarms a fixed location', () => {
    const short = toModel(fitRobustT2(names, healthy(400, 3), 10_000, { operatingPoint: false, independentWindows: 40 }), names);
    expect(short.threshold).toBeCloseTo(chiSquareUpperQuantile(1e-3, 2), 9); // 13.8: too few windows for a tail
    // λ = 10 s / 800 s: an EWMA fed 6 windows late trails a ramp of 0.01 per window by 0.01·((1 − λ)/λ + 6)
    // = 0.85 in steady state, D² ≈ 0.85² / (1 + 1²) ≈ 0.4 with x's variance 1 plus its floor (0.01·100)².
    expect(decide(short, wander).filter(Boolean)).toHaveLength(0);
    // Without a baseline x ends 30 above: D² ≈ 30² / 2 = 450.
    const fixed = decide({ ...short, tauMs: null }, wander);
    expect(fixed.slice(0, 50).filter(Boolean)).toHaveLength(0);
    expect(fixed.slice(-1_000).every(Boolean)).toBe(true);
  });

  it('keeps a step in alarm for as long as it lasts, and is back to normal when it ends', () => {
    const short = toModel(fitRobustT2(names, healthy(400, 4), 10_000, { operatingPoint: false, independentWindows: 40 }), names);
    // x 15 higher (D² ≈ 15² / 2 ≈ 112) for 1,000 windows, 12.5 τ: an exceeding window never teaches the baseline.
    const live = [...Array.from({ length: 100 }, () => [100, 50]), ...Array.from({ length: 1_000 }, () => [115, 50]), ...Array.from({ length: 100 }, () => [100, 50])];
    const decided = decide(short, live);
    expect(decided.slice(0, 100).filter(Boolean)).toHaveLength(0);
    expect(decided.slice(100, 1_100).every(Boolean)).toBe(true);
    expect(decided.slice(1_100).filter(Boolean)).toHaveLength(0);
  });

  it("learns a normal window only after 6 more normal ones: a fault's quiet onset is never learnt", () => {
    const short = toModel(fitRobustT2(names, healthy(400, 6), 10_000, { operatingPoint: false, independentWindows: 40 }), names);
    const start = initialBaseline(short, 'm').baseline;
    // 5 windows 2 above (D² ≈ 2, normal) and then one 15 above: the 5 are discarded unlearnt.
    const onset = initialBaseline(short, 'm');
    expect(decide(short, [...Array.from({ length: 5 }, () => [start[0]! + 2, start[1]!]), [start[0]! + 15, start[1]!]], onset)).toEqual([false, false, false, false, false, true]);
    expect(onset.baseline).toEqual(start);
    // 7 such normal windows: the 7th confirms the 1st, and the baseline moves by λ·2 = 2/80 in x only.
    const quiet = initialBaseline(short, 'm');
    decide(short, Array.from({ length: 7 }, () => [start[0]! + 2, start[1]!]), quiet);
    expect(quiet.baseline[0]!).toBeCloseTo(start[0]! + 2 / 80, 12);
    expect(quiet.baseline[1]!).toBeCloseTo(start[1]!, 12);
  });

  it('keeps a fixed location after a long training, so the slow wander alarms', () => {
    const long = toModel(fitRobustT2(names, healthy(2_000, 5), 10_000, { operatingPoint: false }), names);
    expect(long.tauMs).toBeNull();
    expect(decide(long, wander).slice(-1_000).every(Boolean)).toBe(true);
  });
});
