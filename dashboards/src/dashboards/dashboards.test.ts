// The generated JSON as Grafana loads it: the schema version the SDK targets, unique panel ids, a
// position for every panel, every query on the fixed InfluxDB uid, bounded by the time range, and
// never taking a machine id without its site.
import { defaultDashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { describe, expect, it } from 'vitest';
import { INFLUX_DATASOURCE_UID } from '../datasource.js';
import { TIME_FILTER, UNTIL_RANGE_END, measurement } from '../influxql.js';
import { allPanels, influxVariables, panelQueries, type DashboardJson } from '../test-support/dashboard-queries.js';
import { DASHBOARDS } from './index.js';

const json = (build: () => unknown) => JSON.parse(JSON.stringify(build())) as DashboardJson;

describe('generated dashboards', () => {
  it('have distinct uids', () => {
    expect(new Set(DASHBOARDS.map((d) => d.uid)).size).toBe(DASHBOARDS.length);
  });

  for (const spec of DASHBOARDS) {
    describe(spec.uid, () => {
      const dashboard = json(() => spec.build());
      const panels = allPanels(dashboard);

      it('declares the schema version of the SDK that built it, and its uid', () => {
        expect(dashboard.schemaVersion).toBe(defaultDashboard().schemaVersion);
        expect(dashboard.uid).toBe(spec.uid);
      });

      it('gives every panel a unique id and a position inside the 24-column grid', () => {
        const ids = panels.map((p) => p.id);
        expect(ids.every((id) => typeof id === 'number')).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        for (const panel of panels) {
          const pos = panel.gridPos;
          expect(pos, `panel "${panel.title}" has no gridPos`).toBeDefined();
          expect(pos!.w).toBeGreaterThan(0);
          expect(pos!.h).toBeGreaterThan(0);
          expect(pos!.x + pos!.w, `panel "${panel.title}" overflows the grid`).toBeLessThanOrEqual(24);
        }
      });

      it('points every data panel, query and variable at the fixed InfluxDB uid', () => {
        const dataPanels = panels.filter((p) => p.type !== 'row');
        expect(dataPanels.length).toBeGreaterThan(0);
        for (const panel of dataPanels) {
          expect(panel.datasource?.uid, `panel "${panel.title}"`).toBe(INFLUX_DATASOURCE_UID);
          expect(panel.targets?.length, `panel "${panel.title}" has no query`).toBeGreaterThan(0);
          for (const target of panel.targets ?? []) expect(target.datasource?.uid, `panel "${panel.title}"`).toBe(INFLUX_DATASOURCE_UID);
        }
        for (const q of panelQueries(dashboard)) expect(q.datasourceUid, q.where).toBe(INFLUX_DATASOURCE_UID);
        // Nothing left to choose: no datasource variable (a Prometheus one used to feed a gateway row).
        for (const variable of dashboard.templating?.list ?? []) {
          expect(variable.type, `variable $${variable.name}`).toBe('query');
          expect(variable.datasource?.uid, `variable $${variable.name}`).toBe(INFLUX_DATASOURCE_UID);
        }
      });

      it('bounds every InfluxQL panel query by the time range (or its end) and groups time series by $__interval', () => {
        for (const q of panelQueries(dashboard).filter((q) => q.datasourceUid === INFLUX_DATASOURCE_UID)) {
          // Never a look back of its own (now() - 30d): a past range would show today's state.
          expect([TIME_FILTER, UNTIL_RANGE_END].some((bound) => q.text.includes(bound)), `${q.where} is not bounded by the time range: ${q.text}`).toBe(true);
          if (/GROUP BY time\(/.test(q.text)) expect(q.text, q.where).toMatch(/GROUP BY time\(\$__interval\).* fill\((null|0)\)/);
        }
      });

      it('selects and groups a machine only with its site: pump-1 at two plants is two machines', () => {
        const variables = influxVariables(dashboard).map((v) => ({ where: `${dashboard.uid} › variable $${v.name}`, text: v.query }));
        for (const q of [...panelQueries(dashboard), ...variables]) {
          if (q.text.includes('"machine" =~')) expect(q.text, q.where).toContain('"site" =~ /^$site$/');
          // `alerts` carries the site as a field, which InfluxQL cannot group by (alert-queries.ts).
          if (q.text.includes(`FROM ${measurement('alerts').from}`)) continue;
          for (const [, keys] of q.text.matchAll(/GROUP BY ((?:time\([^)]*\)|"[^"]+")(?:, (?:time\([^)]*\)|"[^"]+"))*)/g)) {
            if (keys!.includes('"machine"')) expect(keys, q.where).toContain('"site"');
          }
        }
      });
    });
  }
});
