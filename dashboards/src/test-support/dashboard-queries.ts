// Every query a generated dashboard JSON holds: panel targets (rows' nested panels included),
// annotation targets and template variable queries, each named for failure messages.
import { INFLUX_DATASOURCE_UID } from '../datasource.js';

export interface FoundQuery {
  /** e.g. `pdm-fleet-overview › panel "Open alerts" › A`. */
  where: string;
  datasourceUid: string | undefined;
  /** The InfluxQL, with Grafana's macros and variables still in it. */
  text: string;
}

export interface FoundVariable {
  name: string;
  query: string;
  multi: boolean;
}

interface JsonTarget {
  refId?: string;
  query?: string;
  datasource?: { uid?: string };
}
interface JsonPanel {
  type: string;
  id?: number;
  title?: string;
  datasource?: { uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: JsonTarget[];
  panels?: JsonPanel[];
}
export interface DashboardJson {
  uid: string;
  schemaVersion: number;
  panels?: JsonPanel[];
  annotations?: { list?: { name?: string; datasource?: { uid?: string }; target?: JsonTarget }[] };
  templating?: { list?: { type: string; name: string; query?: unknown; multi?: boolean; includeAll?: boolean; datasource?: { uid?: string } }[] };
}

/** Panels in layout order, the panels of collapsed rows included. */
export function allPanels(dashboard: DashboardJson): JsonPanel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export function panelQueries(dashboard: DashboardJson): FoundQuery[] {
  const panels = allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `${dashboard.uid} › panel "${panel.title}" › ${target.refId}`,
      datasourceUid: target.datasource?.uid ?? panel.datasource?.uid,
      text: target.query ?? '',
    })),
  );
  const annotations = (dashboard.annotations?.list ?? [])
    .filter((a) => a.target)
    .map((a) => ({ where: `${dashboard.uid} › annotation "${a.name}"`, datasourceUid: a.target?.datasource?.uid ?? a.datasource?.uid, text: a.target?.query ?? '' }));
  return [...panels, ...annotations];
}

/** Template variables backed by an InfluxDB query, in dashboard order (later ones use earlier ones). */
export function influxVariables(dashboard: DashboardJson): FoundVariable[] {
  return (dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query' && v.datasource?.uid === INFLUX_DATASOURCE_UID)
    .map((v) => ({ name: v.name, query: String(v.query), multi: Boolean(v.multi || v.includeAll) }));
}
