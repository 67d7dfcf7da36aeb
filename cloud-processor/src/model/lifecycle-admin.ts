// What `pdm models` needs from the processor (entry `@pdm/cloud-processor/model-lifecycle`), without
// loading TensorFlow: the registry layout, contracts, lifecycle files and history, and the InfluxDB sink
// that records each change in `model_changes`.
export { compareVersions, listRegistry, type VersionEntry } from './registry.js';
export { contractFileSchema, MODEL_FILES, type ContractFile } from './artifact-schemas.js';
export {
  appendHistory,
  HISTORY_FILE,
  LIFECYCLE_FILE,
  LifecycleError,
  MODEL_CHANGE_ACTIONS,
  readHistory,
  readLifecycle,
  withLifecycleLock,
  writeLifecycle,
  type Lifecycle,
  type ModelChange,
  type ModelChangeAction,
} from './lifecycle.js';
export { applyChange, LifecycleChangeError, outsideScope, type ChangeRequest } from './lifecycle-changes.js';
export { InfluxSink } from '../sink/influx-sink.js';
export { INFLUX_SINK_DEFAULTS } from '../sink/options.js';
