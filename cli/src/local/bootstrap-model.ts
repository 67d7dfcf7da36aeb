// First start of the local stack: no model yet, so train one on simulated healthy operation of the
// demo fleet, a sample of every hour of a simulated day (demo-windows.ts says why).
import { listRegistry, trainModel, type TrainReport } from '@pdm/cloud-processor';
import { demoTrainingWindows } from './demo-windows.js';

/**
 * Whether the registry holds a published model version, as the processor lists them (a version folder
 * with its contract.json). A training that died half-way leaves only its hidden staging folder
 * (`<name>/.<version>.partial-<random>`): that is no model, and the next start trains again instead of
 * scoring nothing.
 */
export async function hasPublishedModel(registryDir: string): Promise<boolean> {
  return (await listRegistry(registryDir)).size > 0;
}

export async function trainDemoModel(registryDir: string, progress: (line: string) => void, nowMs = Date.now()): Promise<TrainReport> {
  let lastLine = 0;
  const windows = demoTrainingWindows(nowMs, (hour, count) => {
    if (Date.now() - lastLine < 1000) return;
    lastLine = Date.now();
    progress(`  simulating healthy operation across a day: ${Math.round((100 * (hour + 1)) / 24)}% (${count} windows)`);
  });
  progress(`  training on ${windows.length} windows of simulated healthy operation…`);
  return trainModel(windows, { outDir: registryDir, name: 'pump' });
}
