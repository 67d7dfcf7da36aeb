// The processor's V8 old generation grows by a fixed factor between major GCs instead of V8's dynamic one.
// Why: every 10 s window boundary brings the whole fleet's windows at once, and they stay referenced
// until InfluxDB has stored them and they are acked (~1 s), long enough to survive two scavenges: about
// 15 MB of them a boundary is promoted to the old generation and dies there. How far V8 lets the old
// generation grow before the next mark-compact is live size × a factor it derives from the GC and
// allocation speeds it last saw, between 1.1 and 4: after a GC that met a boundary burst (or a busy
// CPU) the factor jumps, and the process's RSS with it. Soak at 1,000 machines (pipeline bench,
// --soak-minutes 30, quiet box): processor RSS median 289 MB, 234–411 MB, 42 % from the median. Its
// /metrics in a 10-minute soak: RSS followed the V8 heap's committed size (old space 60–160 MB
// committed, 58–145 MB used: +15–19 MB a boundary) while external memory stayed at 19–37 MB. A fixed
// factor of 1.3 over a live heap of ~95 MB gives a major GC every ~30 s at 1,000 machines, as in the
// calm stretches of those soaks, and keeps the limit proportional to what is live: a larger fleet
// still gets the room it needs, unlike with a fixed --max-old-space-size.
// With it, the same 30-minute soak gave 225–313 MB, 22.5 % from the median: narrower, still over
// the ±15 % target (a slow climb to each major GC).
// The flag cannot be given in NODE_OPTIONS (Node refuses it there), and V8 reads it each time it
// computes the limit, so setting it once at start applies from the first major GC on.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;
const FLAG = '--heap-growing-percent';

/** What fixHeapGrowth decided. */
export interface HeapGrowth {
  /** Whether it set the factor: false when the operator started node with a growing percent of their own. */
  readonly set: boolean;
  /** The growing percent that applies: HEAP_GROWING_PERCENT, or the operator's (NaN when theirs is not a number). */
  readonly percent: number;
}

/**
 * Fixes V8's old-generation growing factor at 1 + HEAP_GROWING_PERCENT / 100, unless the process was
 * started with its own `node --heap-growing-percent=…` (an operator's choice wins).
 */
export function fixHeapGrowth(execArgv: readonly string[] = process.execArgv): HeapGrowth {
  const operators = operatorsPercent(execArgv);
  if (operators !== undefined) return { set: false, percent: operators };
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return { set: true, percent: HEAP_GROWING_PERCENT };
}

/**
 * The last growing percent on node's command line, as V8 reads it: `_` or `-` in the name, the value
 * after `=` or in the next argument.
 */
function operatorsPercent(execArgv: readonly string[]): number | undefined {
  let percent: number | undefined;
  for (const [i, arg] of execArgv.entries()) {
    const equals = arg.indexOf('=');
    const name = equals < 0 ? arg : arg.slice(0, equals);
    if (name.replaceAll('_', '-') !== FLAG) continue;
    const value = equals < 0 ? execArgv[i + 1] : arg.slice(equals + 1);
    percent = value !== undefined && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  }
  return percent;
}
