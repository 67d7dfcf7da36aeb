// The demo that `pdm start` runs, exported for the cross-package scenarios (@pdm/scenarios): the
// end-to-end test and the pipeline benchmark drive exactly this fleet and model, not a lookalike.
// A separate entry point, because `main.ts` must stay light (`pdm --help` never loads TensorFlow).
export { trainDemoModel } from './local/bootstrap-model.js';
export { demoFleetWindows, demoTrainingWindows, type DemoFleetRun } from './local/demo-windows.js';
export { DEMO_MACHINES, DEMO_SEED, DEMO_TICK_MS, DEMO_VIBRATION_HZ, demoFault } from './local/demo-fleet.js';
