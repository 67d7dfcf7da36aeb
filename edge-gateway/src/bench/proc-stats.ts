// What a benchmark reads about another process from /proc (Linux).
import { readFileSync } from 'node:fs';

/** User + system CPU time a process has used, from /proc (clock ticks of 10 ms). */
export function cpuSecondsOf(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
