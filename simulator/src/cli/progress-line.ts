// One human line per progress report, and the totals at the end of a run.
import type { Progress, SimulationResult } from '../run/simulation.js';
import { formatInstant } from '../time/parse.js';

export function compact(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

const MAX_FAULTS_LISTED = 3;

export function progressLine(p: Progress): string {
  const faults = p.activeFaults
    .slice(0, MAX_FAULTS_LISTED)
    .map((f) => `${f.fault}@${f.machine} ${Math.round(100 * f.progress)}%`);
  if (p.activeFaults.length > MAX_FAULTS_LISTED) faults.push(`+${p.activeFaults.length - MAX_FAULTS_LISTED} more`);
  return [
    formatInstant(p.virtualTs),
    `${compact(p.readings)} readings (${compact(p.readingsPerSecond)}/s)`,
    `${compact(p.messages)} msgs (${compact(p.messagesPerSecond)}/s)`,
    // Only when it happened: a healthy run's line stays short, a lossy one says so while it runs.
    ...(p.republished > 0 ? [`republished ${compact(p.republished)}`] : []),
    ...(p.lost > 0 ? [`lost ${compact(p.lost)}`] : []),
    ...(p.lagMs > 1000 ? [`behind by ${(p.lagMs / 1000).toFixed(1)}s`] : []),
    `faults active: ${p.activeFaults.length}${faults.length ? ` (${faults.join(', ')})` : ''}`,
  ].join(' · ');
}

export function totalLines(r: SimulationResult): string[] {
  const lines = [
    `${r.stopped ? 'Stopped' : 'Done'}: ${(r.virtualMs / 1000).toFixed(0)} s simulated in ${(r.realMs / 1000).toFixed(1)} s`,
    `  readings  ${r.readings} (${compact(r.readingsPerSecond)}/s)`,
  ];
  if (r.mqtt) {
    lines.push(
      `  messages  ${r.mqtt.messages} (${compact(r.messagesPerSecond)}/s), ${compact(r.mqtt.bytes)}B, reconnects ${r.mqtt.reconnects}, errors ${r.mqtt.errors}, republished ${r.mqtt.republished}, lost ${r.mqtt.lost}`,
    );
    const c = r.chaos;
    const malformed = Object.entries(c.malformed).filter(([, n]) => n > 0);
    if (c.late + c.reordered + c.duplicated + c.drops + malformed.length > 0) {
      lines.push(
        `  chaos     late ${c.late}, reordered ${c.reordered} in ${c.reorderedBursts} bursts, duplicated ${c.duplicated}, drops ${c.drops}, malformed ${malformed.map(([k, n]) => `${k} ${n}`).join(' ') || '0'}`,
      );
    }
  }
  for (const file of r.files.filter((f) => f.endsWith('.json'))) lines.push(`  wrote     ${file}`);
  const csvFiles = r.files.filter((f) => f.endsWith('.csv')).length;
  if (csvFiles > 0) lines.push(`  wrote     ${csvFiles} machine CSV files`);
  return lines;
}
