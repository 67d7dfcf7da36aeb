// Reads a CSV into MachineWindows through the gateway's replay (the same window engine as live
// traffic), with a progress line on long files and bad rows refused with their line number.
import { ReplayError, replayCsv, type ReplayOptionsInput } from '@pdm/edge-gateway';
import type { MachineWindow } from '@pdm/proto';
import { UsageError } from './command.js';
import type { WindowRange } from './csv-flags.js';
import { progressReporter } from './progress.js';

export async function windowsFromCsv(input: string, options: ReplayOptionsInput, range: WindowRange, err: (line: string) => void, label: string): Promise<MachineWindow[]> {
  const windows: MachineWindow[] = [];
  const report = progressReporter(label, err);
  try {
    const summary = await replayCsv(input, options, {
      onWindow: (w) => {
        if (Number(w.windowStart) >= range.from && Number(w.windowEnd) <= range.until) windows.push(w);
      },
      onProgress: (p) => report(p, windows.length),
    });
    err(`${label}: ${summary.rows} rows of ${summary.sensors.length} sensors (${summary.sensors.join(', ')}) → ${windows.length} windows`);
  } catch (error) {
    if (error instanceof ReplayError) throw new UsageError(`${input}: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--input: ${input} does not exist`);
    throw error;
  }
  return windows;
}
