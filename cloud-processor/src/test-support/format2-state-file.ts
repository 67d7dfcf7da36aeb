// The text of a scorer state file of format 2 (the whole-file JSON a processor wrote before format 3),
// as that processor wrote it: for the tests of its migration and decoding, and the state-save bench.
// NaN and ±Infinity as strings; an online threshold's score arrays as base64 of their doubles.
import type { OnlineThresholdState } from '../model/online-threshold.js';
import type { ScorerState } from '../scoring/state-codec.js';

export function encodeFormat2StateFile(state: ScorerState, savedAt: number): string {
  if (state.pcaThresholds.length + state.autoencoderThresholds.length > 0) throw new Error('format 2 held no pca or autoencoder thresholds');
  const machines = [
    ...state.robustT2.map((e) => ({ kind: 'robust-t2', ...e, state: e.state.online === undefined ? e.state : { ...e.state, online: packOnlineThreshold(e.state.online) } })),
    ...state.adaptiveZ.map((e) => ({ kind: 'adaptive-z', ...e })),
    ...state.gates.map((e) => ({ kind: 'gate', ...e })),
  ];
  return JSON.stringify({ format: 2, savedAt, machines }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value));
}

function packOnlineThreshold(online: OnlineThresholdState): object {
  const { calibration, spot, recent } = online;
  return {
    ...online,
    calibration: packNumbers(calibration),
    spot: spot === null ? null : { ...spot, peaks: packNumbers(spot.peaks), ceilings: packNumbers(spot.ceilings) },
    recent: packNumbers(recent),
  };
}

/** base64 of the numbers' IEEE 754 doubles in the machine's byte order (little-endian on x64 and arm64). */
function packNumbers(values: readonly number[]): string {
  return Buffer.from(new Float64Array(values).buffer).toString('base64');
}
