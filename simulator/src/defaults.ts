// Every knob of the simulator with its default, in one place. The zod config schema
// (config/schema.ts) documents the user-facing form of each; physics constants live here too so a
// reader sees the whole model's assumptions at once.

export const SIMULATOR_DEFAULTS = {
  seed: 1,
  /** Fleet size when neither --machines nor a machine list is given. */
  machines: 500,
  duration: '10m',
  /** One low-rate sample per sensor per tick; also the CSV row interval. 1 s matches `pdm train`. */
  tick: '1s',
  /** Vibration sample rate; blocks of tick × hz samples go out as one batch message. */
  vibrationHz: 2000,
  /** Wall-clock pacing: virtual seconds per real second (`max` = as fast as the sinks take it). */
  speed: '60',
  /** Cap on readings published per wall-clock time (`max` = only --speed paces). */
  rate: 'max',

  regime: {
    /** Mean virtual time between load set-point changes (Poisson). */
    meanLoadChangeS: 1200,
    /** Mean running time between stops, and mean stop length (minimum 2 min). */
    meanRunBetweenStopsS: 8 * 3600,
    meanStopS: 900,
    minStopS: 120,
    /** Time constants: load follows its set-point; shaft spins up/down. */
    loadTauS: 30,
    spinTauS: 4,
    /** Production follows the day: set-points scale by 1 ± this, peaking mid-afternoon. */
    dailyLoadSwing: 0.12,
    /** Plant ambient temperature and its daily swing (°C). */
    ambientC: 22,
    ambientSwingC: 4,
    /** Slip of grid-fed induction motors at rated load (fraction of synchronous speed). */
    ratedSlip: 0.02,
  },

  faults: {
    /** Each machine develops one random fault during the run with this probability. */
    probability: 0.1,
    /** Random faults start after this share of the run, so a healthy prefix exists to train on. */
    healthyFraction: 0.3,
    /** After a machine fault reaches failure the machine is down for this long, then healthy again. */
    repair: '2h',
  },

  chaos: {
    lateProbability: 0,
    /** Delay of late readings: exponential with this mean, in virtual time. */
    lateMeanDelay: '30s',
    outOfOrderProbability: 0,
    /** Messages in one shuffled burst. */
    outOfOrderBurst: 8,
    duplicateProbability: 0,
    /** Per-machine clock offset σ (normal, ms); 0 = clocks agree. */
    clockSkewSigmaMs: 0,
    malformedProbability: 0,
    /** Forced connection drops per virtual hour (Poisson); mqtt.js reconnects. */
    dropsPerHour: 0,
  },

  mqtt: {
    qos: 0 as 0 | 1,
    format: 'batch' as 'json' | 'batch' | 'protobuf',
    clientIdPrefix: 'pdm-sim',
    /** mqtt.js reconnect delay after a drop (ms). */
    reconnectPeriodMs: 250,
    /** Publishes not yet written to the socket (QoS 0) or not yet acked (QoS 1) before generation
     *  waits: bounds memory when the broker is slower than the fleet. */
    maxPendingMessages: 512,
  },

  /** How often the progress callback fires, on the real clock. */
  progressIntervalMs: 1000,
} as const;
