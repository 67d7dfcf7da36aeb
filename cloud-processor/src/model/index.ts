// Public API of the anomaly models: training, the registry-backed micro-batching Scorer, offline scoring.
export type { LoadedModelInfo, ModelContract, ScoreOutcome, Scorer, WindowScore } from './api.js';
export { trainModel } from './train.js';
export type { TrainOptions, TrainReport } from './train.js';
export { TrainingDataError } from './derive-contract.js';
export { openScorer } from './scorer.js';
export type { ModelScorer, ScorerOptions, ScorerStats } from './scorer.js';
export { scoreWindows, evaluateDetection } from './score-windows.js';
export type { DetectionSummary } from './score-windows.js';
export { ensureBackend, activeBackend } from './backend.js';
export type { BackendName } from './backend.js';
export { systemClock } from './clock.js';
export type { SchedulerClock } from './clock.js';
export { ModelLoadError } from './artifacts.js';
export { MODEL_DEFAULTS } from './defaults.js';
export type { ModelLogger } from './logger.js';
