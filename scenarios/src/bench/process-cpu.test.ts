import { describe, expect, it } from 'vitest';
import { busySecondsOfProcStat, cpuSecondsOfStat, runQueueWaitNsOfSchedstat } from './process-cpu.js';

describe('CPU seconds read from /proc', () => {
  it("takes a process's utime and stime (fields 14 and 15), whatever its command name holds", () => {
    // A gateway's line as read on this box, its name changed to one with spaces and a ')':
    // utime 3373 + stime 450 ticks; cutime, cstime (0 0) and the rest are not its own time.
    const stat = '22849 (pdm (gw) x) R 22808 22791 22186 0 -1 4194304 64383 0 1 0 3373 450 0 0 20 0 11 0 6074584 1173360640 48199';
    expect(cpuSecondsOfStat(stat)).toBe(38.23);
  });

  it("sums the box's busy time over every core, idle and iowait left out", () => {
    // cpu: user 5428996, nice 23375, system 1249573, idle 5431120, iowait 22912, irq 0, softirq 34227, steal 7,
    // guest 0, guest_nice 0 → busy 5428996 + 23375 + 1249573 + 0 + 34227 + 7 = 6736178 ticks.
    const procStat = [
      'cpu  5428996 23375 1249573 5431120 22912 0 34227 7 0 0',
      'cpu0 2628709 13096 609470 2824953 4663 0 14369 3 0 0',
      'cpu1 2800287 10278 640102 2606166 18249 0 19858 4 0 0',
      'intr 1 2 3',
    ].join('\n');
    expect(busySecondsOfProcStat(procStat)).toBe(67361.78);
  });

  it("takes a thread's time waiting for a core from its schedstat (running ns, waiting ns, time slices)", () => {
    expect(runQueueWaitNsOfSchedstat('42348378339 28338224375 93983\n')).toBe(28338224375);
  });

  it('refuses a /proc/stat without its cpu line', () => {
    expect(() => busySecondsOfProcStat('intr 1 2 3\n')).toThrow('/proc/stat: no "cpu" line');
  });
});
