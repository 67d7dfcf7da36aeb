// CPU time and memory of the benchmark's processes, read from /proc (Linux): where the box's two cores
// go when the load is more than it can take.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** Resident memory in MB; 0 once the process is gone. */
export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
