// Every knob of the anomaly models, with its default and why. Training options and scorer options
// override these per call; nothing else in model/, training/ or scoring/ hard-codes a tuning constant.
import type { ModelKind } from './artifact-schemas.js';

export const MODEL_DEFAULTS = {
  /**
   * The detector family trainModel fits when none is asked for: robust T² around the operating point,
   * measured ahead of the autoencoder on the simulated fleet (4/4 faults against 3/4, no false alerts
   * either), on SKAB (F1 0.786 at FAR 12.6 % against 0.786 at 35.3 %) and on the demo fleet (no false alarm, the imbalance from
   * its onset), and trained in milliseconds. `pdm train` picks adaptive-z for one or two slow sensors.
   */
  kind: 'robust-t2' as ModelKind,
  /**
   * False exceedances per machine-day a threshold read off scores aims at: robust-t2's training tail and
   * each machine's online threshold (robust-t2, pca, autoencoder).
   */
  falseAlertsPerDay: 1,
  /** Statistics used for every sensor: level and fluctuation. rms (= hypot(mean, std)) and
   *  peak_to_peak/min/max add nothing mean/std do not already carry at 1 Hz and only add noise. */
  baseStatistics: ['mean', 'std'] as const,
  /** Shape statistics that reveal impulsive faults (bearing defects) in high-rate vibration. */
  shapeStatistics: ['kurtosis', 'crest_factor'] as const,
  /** A sensor gets the shape statistics only when its median readings per window reach this:
   *  with fewer samples kurtosis and crest factor are mostly sampling noise (10 samples at 1 Hz). */
  shapeMinSamples: 32,
  /** "Nearly all": a sensor joins the contract when present in at least this share of windows. */
  sensorPresence: 0.95,
  /** Below this many windows we refuse to train: a threshold calibrated on fewer is meaningless. */
  minTrainingWindows: 12,
  /** Complete (WATERMARK) windows are preferred; partial ones are used only when fewer than this. */
  minCompleteWindows: 20,
  /** A sensor reporting fewer than this share of its expected readings is refused, not scored. */
  minCompleteness: 0.5,
  /** Share of the windows held back (three contiguous blocks) to calibrate the threshold. */
  holdoutFraction: 0.25,
  epochs: 300,
  learningRate: 0.01,
  /** L2 on every kernel: with tens of windows the net must not memorise them. */
  l2: 1e-3,
  seed: 42,
  /** Dispersion and shape statistics: non-negative, they change by factors (a stop, a spin-down), so
   *  they are normalised on a log scale (see normalization.ts). */
  logStatistics: ['std', 'variance', 'rms', 'peak_to_peak', 'kurtosis', 'crest_factor'] as const,
  /** ln(x + s) with s this share of the feature's upper-quartile training value: finite at 0, and changes much
   *  smaller than the feature's typical size stay small. */
  logShiftFraction: 0.1,
  /** Normalised features are clipped here (winsorised), which bounds what one feature can add to a
   *  score: a feature 12 σ out is certainly abnormal, and beyond that a stop or a spin-down must not
   *  outweigh everything else by orders of magnitude. */
  zClip: 12,
  /** Robust scale floor relative to the feature's size (|median|, or 1 on a log scale): a feature
   *  constant in training (a set point) still gets a finite, non-zero scale: a 0.1% change of it then
   *  counts as one "standard deviation". */
  relativeScaleFloor: 1e-3,
  absoluteScaleFloor: 1e-6,
  /** Weight of the robust per-feature z-score term next to the autoencoder term (0 = pure AE). */
  zTermWeight: 0.5,
  /** Normal quantile of the per-window false-alarm rate aimed at: 3.09 ↔ 0.1% (one alarm in ~3 hours of
   *  10 s windows) if log-scores of normal windows are normally distributed. */
  tailQuantileZ: 3.09,
  /** Normal quantile of the confidence that the threshold really reaches that rate despite estimating it
   *  from a handful of held-back windows: 1.2816 ↔ 90%. Turns 3.09σ into a tolerance factor, ~4.3σ for
   *  12 held-back windows, 3.26σ for 357, tending to 3.09σ as the held-back set grows. */
  confidenceZ: 1.2816,
  /** Below this many held-back windows the robust tail fit alone is too uncertain (MAD of a few dozen
   *  scores), and the threshold is also never below the largest held-back score times `heldBackMargin`. */
  fitMinWindows: 100,
  heldBackMargin: 1.1,
  scorer: {
    maxBatch: 256,
    maxDelayMs: 10,
    pollMs: 2000,
    /** At most one warning per machine and mismatch code per this interval; all are counted. */
    mismatchLogIntervalMs: 60_000,
    /** How often the machines' states are saved to the state file: what a crash (not a stop) loses. */
    stateSaveMs: 60_000,
    /** Per-machine state of a machine that sent nothing for 30 days is dropped (machines replaced or retired). */
    forgetMachinesAfterMs: 30 * 86_400_000,
    /**
     * How many decided windows each stateful kind remembers per machine, so a window decided again — a
     * redelivery after a failed write, a late revision — gets the decision it had: minutes of 10 s
     * windows, beyond any redelivery.
     */
    recentDecisions: 64,
  },
  /** The robust Hotelling T² kind (measured on SKAB: notes of issue #15, REPORT §3a). */
  robustT2: {
    /** Level and level-plus-variability of every sensor (rms² = mean² + variance); means alone miss
     *  faults that only change the fluctuation. */
    statistics: ['mean', 'rms'] as const,
    /** MCD: each C-step keeps the tightest half of the training windows. */
    keepFraction: 0.5,
    cSteps: 10,
    /** Reweighting keeps the windows inside this χ²_d quantile of the (consistency-scaled) C-step fit. */
    reweightQuantile: 0.975,
    /** Level floor: (ρ·|mean|)² is added to each feature's variance, so a sensor moving by less than
     *  ~1% of its level counts as normal variability (400 s of training never sees a slow drift). */
    rho: 0.01,
    /** Per-window false-alarm probability of the threshold: the χ²_d upper quantile at p. */
    p: 1e-3,
    /**
     * The slow per-machine baseline (model/robust-t2.ts: it learns only from windows below the threshold)
     * exists only where training was short, fewer than `minTailWindows` non-overlapping windows: 400 s of
     * a healthy rig say nothing of its level an hour later (SKAB's anomaly-free run after 400 s of
     * training: 90 % of its windows alarmed without a baseline, 2.7 % with). Its time constant is this
     * many training spans (the training windows' non-overlapping duration, per machine): the trained level is
     * forgotten on twice the time it took to learn it. Measured on SKAB (0.5–8 spans): shorter follows
     * a fault's onset (1 span: F1 0.760); 2.5 or more (with the delay below) fall behind the healthy
     * run's wander once, freeze and stay in alarm (80–87 %) — the baseline is never taught by an alarm.
     * Long training (the simulator's 16 h) keeps a fixed location, so a slow fault — the pump's drifting
     * current — is not followed (missed with τ = 10 min, 6 h ahead without). Model files keep their τ.
     */
    baselineTrainingSpans: 2,
    /** A normal window teaches the baseline only after this many newer windows were normal too (a minute
     *  of 10 s windows, longer than the 5 windows an alert's K-of-N looks at): an exceedance discards the
     *  windows still waiting, so a fault's quiet onset is not learnt. SKAB: MAR 29.0 → 28.0 % (6–8 alike). */
    baselineDelayWindows: 6,
    /**
     * A gap (no window decided for a while: the machine stopped, its data did not come) leaves the
     * baseline less sure of the level, which may have wandered meanwhile: its uncertainty grows as a
     * random walk's, by this many times the training covariance per τ of gap (one training spread per
     * training span), windows are judged against the threshold times (1 + that), and normal windows
     * teach with the gain it calls for until it has shrunk back. Without it a healthy rig back after
     * half an hour at the level it drifted to meanwhile stayed in alarm for good (SKAB's anomaly-free
     * run trained on its first 400 s, 30–90 min cut out after 1,000 s: every window after the gap
     * anomalous, at 2.5–7 × the threshold, against 3 % without the cut; 3–4 % with this).
     */
    gapSpreadPerTau: 2,
    /** A feature follows the operating point only where the quadratic explains at least this share of its
     *  training variance (R²); a slower one (a temperature lagging the load by minutes) keeps a fixed
     *  location and its full spread — following it instantly made the simulated fan alarm 15 times a day. */
    operatingPoint: { minExplained: 0.8 },
    /** The threshold is raised to the training scores' tail quantile for MODEL_DEFAULTS.falseAlertsPerDay
     *  when that is above the χ² quantile (the simulated pump: 4.5 false alerts a day → 0), read from at
     *  least this many non-overlapping training windows (40 peaks above the 98 % level; 5½ h of 10 s
     *  windows). From 500 (10 peaks) the fitted threshold ranged 20–160 on χ²-like scores. */
    minTailWindows: 2_000,
    /** A machine's own level (its offset from the class, in a model trained on several machines) is
     *  learnt from at least this many of its non-overlapping windows (5½ h of 10 s windows); with fewer
     *  it is compared with the class location. Measured: the demo's four identical pumps, one hour each,
     *  learnt "levels" that were that hour's set-points and lagging temperatures — applied, 20 % of an
     *  unseen healthy hour alarmed (0 without). A level needs hours of the machine's regimes. */
    minMachineWindows: 2_000,
    /**
     * How the features vary together is learnt from at least this many non-overlapping windows per
     * feature; with fewer, each feature is judged by its own spread (a diagonal covariance, from every
     * window). n windows give a covariance of rank below n, far off until n is several times d, and the
     * robust fit's trimming of half of them leaves fewer still: 8 zero-mean sensors (16 features) trained
     * on 150 s (15 windows) had 347 of the next 360 healthy windows anomalous. SKAB (40 windows, 16
     * features) keeps the joint fit.
     */
    minJointWindowsPerFeature: 2,
  },
  /**
   * The PCA kind (issue #15: T² on the principal components and the residual Q). It reads robust-t2's
   * features, takes robust-t2's robust covariance (not its operating point or per-machine levels: one
   * machine a model) and false-alarm probability p (split between its two limits, training/pca.ts); only
   * the number of components is its own.
   */
  pca: {
    /** Keep the fewest components carrying this share of the standardised features' variance (at least 1, at
     *  most d − 1). 90 % is the usual cumulative-percent-variance cut (Jackson, A User's Guide to Principal
     *  Components, 1991; Valle, Li & Qin, Ind. Eng. Chem. Res. 38, 1999, compare it with the other criteria):
     *  the sensors' shared movement goes to T², the last tenth — noise and broken relations — to Q. */
    explainedVariance: 0.9,
  },
  /** The univariate adaptive baseline for one or two slow sensors (measured on NAB: REPORT §3b). */
  adaptiveZ: {
    /** One reading per window: its mean is the reading. */
    statistics: ['mean'] as const,
    /** The short mean spans an hour of 5-minute readings: a level shift shows before a single point would. */
    shortWindows: 12,
    /** Effective memory of the running statistics, in windows (22 days of 5-minute readings). */
    historyWindows: 6400,
    /** z above which a window is anomalous; the plateau on NAB is 7 (6: 59.8, 8: 55.6 with the rule below). */
    threshold: 7,
    /** Seasonal term: the training series' best autocorrelation at a lag of at least minPeriod windows must exceed this. */
    minPeriod: 12,
    minAutocorrelation: 0.5,
    /** At most this many training windows are kept as every machine's starting history (the newest). */
    maxHistory: 6400,
    /** An excursion of a slow series is one event: the alert opens on its first window and resolves
     *  after 50 quiet windows (~4 h at 5 minutes), so a series that stays restless is one alert, not one
     *  every few windows (NAB: 61.0; 40–75 quiet windows all give 60.5–61.3). */
    alertRule: { openAfter: 1, within: 1, resolveAfter: 50 },
  },
} as const;
