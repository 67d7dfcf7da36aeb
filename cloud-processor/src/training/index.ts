// Training: windows of normal operation → a calibrated model folder in the registry.
export { trainModel } from './train.js';
export type { MemberReport, TrainOptions, TrainReport } from './train.js';
export { TrainingDataError } from './derive-contract.js';
