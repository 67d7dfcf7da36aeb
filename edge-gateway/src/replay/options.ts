import { z } from 'zod';
import type { WindowEngineOptionsInput } from '../window/index.js';

/** Engine options a replay may set; the replay supplies the clock (the data's own time) and leaves closedAt unset. */
export type ReplayEngineOptions = Partial<Omit<WindowEngineOptionsInput, 'clock' | 'stampClosedAt'>>;

/** Every knob of a CSV replay, with its default. */
export const replayOptionsSchema = z.object({
  /** The machine every reading of the file belongs to (same id rules as the MQTT topic). */
  machineId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'machine id must match [A-Za-z0-9_.-]{1,64}'),
  /** Name of the time column; when absent, the first column named time/timestamp/ts/date/datetime. */
  timeColumn: z.string().min(1).optional(),
  /** One character between fields. */
  delimiter: z.string().length(1).default(','),
  /** 'fail': stop at the first bad row with its ReplayError. 'skip': drop the row, count it, carry on. */
  onBadRow: z.enum(['fail', 'skip']).default('fail'),
  /**
   * A row out of time order whose window had already closed (more than the engine's allowed lateness
   * before an earlier row), so the engine drops its readings (lateMode 'count', the default): 'fail'
   * stops with its ReplayError; 'skip' counts the row and carries on, as the live gateway would.
   */
  onOutOfOrderRow: z.enum(['fail', 'skip']).default('skip'),
  /** Window engine options (windowMs, allowedLatenessMs, lateMode, sensorRates, hopMs…). */
  engine: z.custom<ReplayEngineOptions>((v) => typeof v === 'object' && v !== null).default({}),
});

export type ReplayOptionsInput = z.input<typeof replayOptionsSchema>;
export type ReplayOptions = z.output<typeof replayOptionsSchema>;

/** How many bad rows a summary keeps as examples; the rest are only counted. */
export const BAD_ROW_EXAMPLES = 10;
