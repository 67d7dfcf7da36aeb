// Scoring: the registry-backed, micro-batching Scorer and offline scoring of recorded windows.
export { ModelScorer, openScorer } from './scorer.js';
export type { ScorerOptions, ScorerStats } from './scorer.js';
export { scoreWindows, evaluateDetection } from './score-windows.js';
export type { DetectionSummary } from './score-windows.js';
// The machines a contract's `machines` (ids or `*` patterns) names, for tools that select machines the same way.
export { machinesPattern } from './select-model.js';
