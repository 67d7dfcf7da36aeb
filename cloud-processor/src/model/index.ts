// What training and scoring share: the scoring contract, the model folder format and registry layout,
// the TF.js backend and the tuning defaults.
export { Scorer } from './api.js';
export type { HeldReason, LoadedModelInfo, MemberWindowScore, ModelContract, ModelRole, ScoreOutcome, WindowScore } from './api.js';
export { ensureBackend, activeBackend } from './backend.js';
export type { BackendName } from './backend.js';
export { ModelLoadError } from './artifacts.js';
export { MODEL_KINDS } from './artifact-schemas.js';
export type { CombineRule, ModelKind } from './artifact-schemas.js';
export { calibratedScore } from './calibrated-score.js';
export { COMBINED_KIND_SYNTAX, parseKind } from './combined.js';
export type { CombinedKind } from './combined.js';
export { MODEL_DEFAULTS } from './defaults.js';
export type { ModelLogger } from './logger.js';
export type { HoldReason, RegimeGate } from './regime.js';
export { listRegistry } from './registry.js';
