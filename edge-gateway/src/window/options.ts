import { type Clock, systemClock } from '@pdm/clock';
import { z } from 'zod';
import type { StoredCheckpoint } from './checkpoint.js';

/** The engine only reads time (it sets no timer): what it needs of a clock. */
export type EngineClock = Pick<Clock, 'now'>;

/**
 * Every knob of the window engine, with its default. The schema is the documentation: read the
 * comments here before tuning a gateway.
 */
export const windowEngineOptionsSchema = z
  .object({
    /** Tumbling window size (or hopping window size when `hopMs` is set), epoch-aligned. */
    windowMs: z.number().int().positive().default(10_000),
    /**
     * A sensor's watermark trails its latest event time by this much; its readings for windows that
     * end before its watermark are late. A machine's windows close on its leading sensor's watermark.
     */
    allowedLatenessMs: z.number().int().nonnegative().default(2_000),
    /** A machine silent this long on the gateway clock has all its open windows closed (IDLE_TIMEOUT). */
    idleTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * 'count': a late reading is only counted. 'revise': it is added to the closed window, which is
     * re-emitted with revision + 1 (and close reason LATE_REVISION) on the next `tick()` or `flush()`.
     */
    lateMode: z.enum(['count', 'revise']).default('count'),
    /**
     * Event time behind the closed-window frontier during which a late reading still counts as 'late'
     * (and, in 'revise' mode, the closed windows' accumulators are kept to revise them). Older readings
     * are 'too_late'. Bounds the memory revise mode needs.
     */
    reviseHorizonMs: z.number().int().nonnegative().default(60_000),
    /**
     * Per-sensor event time. A machine window closes when its leading sensor's watermark passes its
     * end; a sensor whose own watermark has not passed it yet (its clock runs behind the leader's,
     * or it reports in batches) is not late: its readings still go into the closed window, which is
     * emitted again as revision + 1 (LATE_REVISION) once that sensor's watermark passed its end. This
     * holds for sensors trailing the leader by at most this much; a sensor further behind (a dead one,
     * or a clock far off) holds nothing back and its readings for closed windows are late. The default
     * matches validation.maxFutureSkewMs's: an on-time sensor keeps its readings however far ahead,
     * within the accepted skew, another sensor's clock runs. Bounds the closed windows kept for it.
     */
    maxSensorLagMs: z.number().int().nonnegative().default(60_000),
    /** A sensor unseen this long on the gateway clock is forgotten (bounded state for churning fleets). */
    evictAfterMs: z.number().int().positive().default(600_000),
    /**
     * Declared sample rates in Hz, keyed by `machineId/sensorId` or by `sensorId` alone (the more
     * specific key wins). Sensors without a declared rate learn one (see rate-estimator.ts).
     */
    sensorRates: z.record(z.string(), z.number().positive()).default({}),
    /** When set, hopping windows of `windowMs` every `hopMs`, merged from panes of `hopMs`. */
    hopMs: z.number().int().positive().optional(),
    gatewayId: z.string().min(1),
    siteId: z.string().min(1),
    /**
     * The gateway clock: idle timeouts, eviction and each window's `closedAt`. A replay passes a clock
     * that follows the data's own time.
     */
    clock: z.custom<EngineClock>((c) => typeof (c as Partial<EngineClock> | null)?.now === 'function').default(systemClock),
    /**
     * The last checkpoint of a machine the engine holds no state for (see checkpoint.ts), looked up
     * when one of its readings comes: a machine forgotten for bounded memory, or not restored at
     * start, carries on with its closed frontier and revision counters instead of reusing window keys.
     */
    recall: z.custom<(machineId: string) => StoredCheckpoint | undefined>((f) => typeof f === 'function').optional(),
    /**
     * Stamp each emitted window's `closedAt` with the clock's time, for the pipeline's latency figures.
     * A replay turns it off: its clock is the data's time, not a time the window closed (0 = unknown).
     */
    stampClosedAt: z.boolean().default(true),
  })
  .refine((o) => o.hopMs === undefined || (o.hopMs <= o.windowMs && o.windowMs % o.hopMs === 0), {
    message: 'windowMs must be a multiple of hopMs',
    path: ['hopMs'],
  })
  .refine((o) => o.evictAfterMs >= o.idleTimeoutMs, {
    // Evicting before the idle timeout would drop a silent sensor's open window instead of emitting it.
    message: 'evictAfterMs must be at least idleTimeoutMs',
    path: ['evictAfterMs'],
  });

export type WindowEngineOptionsInput = z.input<typeof windowEngineOptionsSchema>;
export type WindowEngineOptions = z.output<typeof windowEngineOptionsSchema>;
