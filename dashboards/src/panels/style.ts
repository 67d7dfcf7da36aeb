// Presentation choices shared by every dashboard: legends, tooltips, threshold colours. Kept in one
// place so "anomalous" is the same red, and "complete" the same green, on every panel.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

/** Legend as a table under the graph with the figures an operator compares across series. */
export function tableLegend(calcs: string[] = ['mean', 'max', 'lastNotNull']): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom).calcs(calcs);
}

export function listLegend(): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).calcs([]);
}

/** All series in the tooltip, largest first: the one that matters is on top. */
export function sharedTooltip(): common.VizTooltipOptionsBuilder {
  return new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);
}

function steps(base: string, ...rest: [number, string][]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...rest.map(([value, color]) => ({ value, color }))]);
}

/**
 * Score relative to the model's calibrated threshold (score ÷ threshold): models differ in scale, the
 * ratio does not. Amber from 80 % of the threshold (drifting), red at the threshold (anomalous).
 */
export const scoreRatioThresholds = () => steps('green', [0.8, 'orange'], [1, 'red']);

/** Completeness (readings received ÷ expected): below 90 % a window's statistics are unreliable. */
export const completenessThresholds = () => steps('red', [0.9, 'orange'], [0.99, 'green']);

/** Counts of bad things (dead letters, open alerts): any is worth a look. */
export const anyIsBadThresholds = () => steps('green', [1, 'red']);

/** End-to-end lag in ms: a window normally reaches InfluxDB within seconds of closing. */
export const lagThresholds = () => steps('green', [5_000, 'orange'], [30_000, 'red']);

/** Hours the gateway outbox can still absorb an outage; the gateway reports -1 for "unbounded". */
export const outageHoursThresholds = () => steps('green', [-0.5, 'red'], [6, 'orange'], [24, 'green']);

/** Series drawn as a dashed red reference line (a model's threshold). */
export const thresholdLineOverride = (name: string) => ({
  matcher: { id: 'byName', options: name },
  properties: [
    { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'custom.lineWidth', value: 2 },
  ],
});

/** Puts a query's series on the right axis (overlaying a score on a feature's own units). */
export const rightAxisOverride = (refId: string, unit: string) => ({
  matcher: { id: 'byFrameRefID', options: refId },
  properties: [
    { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
    { id: 'unit', value: unit },
    { id: 'custom.fillOpacity', value: 0 },
  ],
});
