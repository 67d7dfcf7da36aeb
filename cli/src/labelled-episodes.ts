// What the maintenance team's labels (pdm alerts label) mean for `pdm train --from-influx`: windows
// inside an episode labelled `fault` or `maintenance` are not normal operation and are left out of
// training; `false_alarm` and unlabelled episodes are kept. An episode covers the windows the alert
// rule counted to open it (ALERT_DEFAULTS.within windows before it opened) until it resolved, or
// until now while it is open.
import { ALERT_DEFAULTS } from '@pdm/cloud-processor';
import { AlertWorkflow, INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor/alert-workflow';
import type { Clock } from '@pdm/clock';
import type { MachineWindow } from '@pdm/proto';

/** Labels whose windows are not normal operation. */
const ABNORMAL = new Set(['fault', 'maintenance']);

export interface LabelledFilter {
  kept: MachineWindow[];
  /** Windows left out, and the labelled episodes they were in. */
  left: number;
  episodes: number;
}

export async function withoutLabelledEpisodes(windows: MachineWindow[], influx: { url: string; database: string }, machineId: string, clock: Clock): Promise<LabelledFilter> {
  const workflow = new AlertWorkflow(new InfluxSink({ ...INFLUX_SINK_DEFAULTS, ...influx }), clock);
  const { episodes } = await workflow.list(0);
  // An episode of the same machine id at another site is another machine's (alert rows written before
  // they carried the site carry none: those count wherever the machine id is).
  const sites = new Set(windows.map((w) => w.siteId));
  const labelled = episodes.filter((e) => e.machineId === machineId && (e.siteId === '' || sites.has(e.siteId)) && ABNORMAL.has(e.label?.label ?? ''));
  const inside = (w: MachineWindow) =>
    labelled.some((e) => {
      const windowMs = Number(w.windowEnd - w.windowStart);
      return Number(w.windowEnd) > e.openedAt - ALERT_DEFAULTS.within * windowMs && Number(w.windowStart) < (e.resolvedAt ?? clock.now());
    });
  const kept = windows.filter((w) => !inside(w));
  return { kept, left: windows.length - kept.length, episodes: labelled.length };
}
