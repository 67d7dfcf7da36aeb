// Offline dataset output: one CSV per machine in the form `pdm train` / `pdm score` / replay read —
// header `time,<sensor>,...`, ISO-8601 UTC time with milliseconds, one row per tick (1 Hz by
// default). The vibration block of each tick becomes vibration_rms, vibration_peak and
// vibration_kurtosis, so a 1 Hz model sees the wear signatures without 2 kHz rows.
// A sensor that sent nothing that tick (drop-out) leaves its cell empty.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { MachineTick } from '../fleet/machine.js';
import { MACHINE_SPECS, type MachineType } from '../fleet/machine-types.js';
import { quantize } from '../fleet/quantize.js';
import type { MachineSpecEntry } from '../faults/schedule.js';
import { formatInstant } from '../time/parse.js';
import { summariseVibration } from './vibration-summary.js';

export const VIBRATION_COLUMNS = ['vibration_rms', 'vibration_peak', 'vibration_kurtosis'] as const;

export function csvColumns(type: MachineType): string[] {
  return ['time', ...MACHINE_SPECS[type].sensors, ...VIBRATION_COLUMNS];
}

export function csvFileName(machine: string): string {
  return `${machine}.csv`;
}

/** One CSV line (no newline) for a tick of a machine of `type`. */
export function csvRow(type: MachineType, tick: MachineTick): string {
  const cells: string[] = [formatInstant(tick.ts)];
  for (const sensor of MACHINE_SPECS[type].sensors) {
    const value = tick.values[sensor];
    cells.push(value === undefined ? '' : String(value));
  }
  const v = summariseVibration(tick.vibration);
  cells.push(String(quantize(v.rms, 1e-5)), String(quantize(v.peak, 1e-4)), String(quantize(v.kurtosis, 1e-3)));
  return cells.join(',');
}

/** Rows are buffered per machine and written in chunks; `settle()` applies the disks' backpressure. */
export class CsvSink {
  private readonly files = new Map<string, { type: MachineType; stream: WriteStream; buffer: string[] }>();
  private static readonly ROWS_PER_WRITE = 256;

  constructor(
    readonly dir: string,
    machines: readonly MachineSpecEntry[],
  ) {
    mkdirSync(dir, { recursive: true });
    for (const m of machines) {
      const stream = createWriteStream(join(dir, csvFileName(m.id)));
      stream.write(`${csvColumns(m.type).join(',')}\n`);
      this.files.set(m.id, { type: m.type, stream, buffer: [] });
    }
  }

  write(tick: MachineTick): void {
    const file = this.files.get(tick.machine);
    if (!file) throw new Error(`CSV sink has no file for machine ${tick.machine}`);
    file.buffer.push(csvRow(file.type, tick));
    if (file.buffer.length >= CsvSink.ROWS_PER_WRITE) this.flushBuffer(file);
  }

  async settle(): Promise<void> {
    for (const file of this.files.values()) {
      if (file.stream.writableNeedDrain) await once(file.stream, 'drain');
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.files.values()].map((file) => {
        this.flushBuffer(file);
        return new Promise<void>((resolve, reject) => {
          file.stream.once('error', reject);
          file.stream.end(resolve);
        });
      }),
    );
  }

  private flushBuffer(file: { stream: WriteStream; buffer: string[] }): void {
    if (file.buffer.length === 0) return;
    file.stream.write(`${file.buffer.join('\n')}\n`);
    file.buffer.length = 0;
  }
}
