import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fixHeapGrowth } from './heap-growth.js';

// The flag is recorded, not set: a V8 flag is the whole test process's. What it does to the heap is
// measured by the pipeline bench's soak (the processor's RSS at 1,000 machines), not here: a heap size
// in a test depends on V8's GC heuristics and on the box's load. Here: when the flag is set, and that
// V8 applies the flag it is given while running.
vi.mock('node:v8', () => ({ setFlagsFromString: vi.fn() }));
const setFlags = vi.mocked(setFlagsFromString);
beforeEach(() => {
  setFlags.mockClear();
});

describe('fixHeapGrowth', () => {
  it.each([
    ['--heap-growing-percent=300', 300],
    ['--heap_growing_percent=300', 300],
    ['--heap-growing-percent 300', 300],
    ['--heap_growing-percent=0', 0],
    ['--heap-growing-percent=many', Number.NaN],
    ['--heap-growing-percent', Number.NaN],
  ])('leaves the factor to an operator who started node with %s', (args, percent) => {
    expect(fixHeapGrowth(['--enable-source-maps', ...args.split(' ')])).toEqual({ set: false, percent });
    expect(setFlags).not.toHaveBeenCalled();
  });

  it('takes the last of an operator\'s growing percents, as V8 does', () => {
    expect(fixHeapGrowth(['--heap-growing-percent=300', '--heap_growing_percent', '50'])).toEqual({ set: false, percent: 50 });
  });

  it.each([[[]], [['--enable-source-maps', '--max-old-space-size=512', '--heap-growing']]])('fixes the factor at 1.3 otherwise (node started with %j), with a flag V8 applies while running', (execArgv) => {
    expect(fixHeapGrowth(execArgv)).toEqual({ set: true, percent: 30 });
    expect(setFlags.mock.calls).toEqual([['--heap-growing-percent=30']]);
    // A node that sets that flag after starting, as the processor does, then collects: V8's trace of
    // the old generation's next limit after the major GC, with the growing factor it applied.
    const [[flag]] = setFlags.mock.calls as [[string]];
    const child = spawnSync(process.execPath, ['--expose-gc', '--trace-gc-verbose', '-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)}); gc();`], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/\[HeapController\] Limit: .* \(1\.3\)\n/);
  });
});
