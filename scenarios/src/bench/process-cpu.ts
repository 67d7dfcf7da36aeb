// CPU time and memory of the benchmark's processes, read from /proc (Linux): where the box's two cores
// go when the load is more than it can take. The whole box's busy time (/proc/stat) beside them shows
// what the listed processes leave out (other work on the box), and the time their threads were ready
// to run but waiting for a core, how starved they were. The load average is no CPU figure: it counts
// threads running, waiting for a core or waiting for the disk, averaged over minutes.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux: `getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds in the text of a /proc/<pid>/stat (every thread of the process). */
export function cpuSecondsOfStat(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces and ')': count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14 and 15)
}

/**
 * CPU seconds every core of the box spent busy, from the text of /proc/stat: its first line's user,
 * nice, system, irq, softirq and steal (guest time is already in user); idle and iowait are not busy.
 */
export function busySecondsOfProcStat(procStat: string): number {
  const match = /^cpu\s+(.*)$/m.exec(procStat);
  if (!match) throw new Error('/proc/stat: no "cpu" line');
  const [user, nice, system, , , irq, softirq, steal] = (match[1] ?? '').trim().split(/\s+/).map(Number);
  return [user, nice, system, irq, softirq, steal].reduce<number>((sum, ticks) => sum + (ticks ?? 0), 0) / TICKS_PER_SECOND;
}

/** Nanoseconds a thread spent ready to run, waiting for a core: the second field of a /proc/<pid>/task/<tid>/schedstat. */
export function runQueueWaitNsOfSchedstat(schedstat: string): number {
  const [, waitNs] = schedstat.trim().split(/\s+/);
  return Number(waitNs);
}

/** User + system CPU seconds the process used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    return cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * Seconds the process's threads spent ready to run but waiting for a core, so far; 0 once it is gone.
 * A thread that ended takes its time with it (Node's and influxd's threads live as long as the process).
 */
export function runQueueWaitSeconds(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += runQueueWaitNsOfSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
  } catch {
    // The process or one of its threads ended while being read: what was read so far.
  }
  return ns / 1e9;
}

/** CPU seconds the whole box (every process, every core) spent busy since it booted. */
export function boxBusySeconds(): number {
  return busySecondsOfProcStat(readFileSync('/proc/stat', 'utf8'));
}

/** Resident memory in MB; 0 once the process is gone. */
export function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
