// Two things the dashboards must get right about machines and alerts, against a real influxd filled by
// the processor's real sink:
// - a machine id is unique only within its site: pump-1 at plant-a and pump-1 at plant-b are two
//   machines, never one series of both;
// - an alert is open at the end of the time range when its latest transition up to that end opened it,
//   however long before the range (here 45 days, in a processor keeping raw data 60 days), and a
//   transition after the range does not count for it.
import { DEFAULT_DATABASE as DATABASE, INFLUX_SINK_DEFAULTS, InfluxSink } from '@pdm/cloud-processor';
import { startTestInflux, type RunningInflux } from '@pdm/influx-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { influxVariables, panelQueries, type DashboardJson } from '../test-support/dashboard-queries.js';
import type { TemplateContext } from '../test-support/grafana-interpolation.js';
import { queryOf, resultRows, type Row } from '../test-support/panel-rows.js';
import { WINDOW_MS, WINDOWS, machineWindow, windowScore, type MachinePlan } from '../test-support/pipeline-run.js';
import { FLEET_OVERVIEW } from './fleet-overview.js';
import { MACHINE_DETAIL } from './machine-detail.js';

const DAY_MS = 24 * 3_600_000;
/** Older than the 30 days the open-alert panels used to look back, inside this processor's retention. */
const RAW_RETENTION = { name: 'raw', duration: '60d' };

/** Worn out all along (its alert opened 45 days ago), and without a current sensor. */
const PUMP_A: MachinePlan = { machine: 'pump-1', site: 'plant-a', gateway: 'gw-a', fault: () => 1 };
/** Healthy but for windows 30–59, where its alert opens and resolves. */
const PUMP_B: MachinePlan = { machine: 'pump-1', site: 'plant-b', gateway: 'gw-b', fault: (i) => (i >= 30 && i < 60 ? 0.8 : 0) };

const json = (build: () => unknown) => JSON.parse(JSON.stringify(build())) as DashboardJson;
const machineDetail = json(() => MACHINE_DETAIL.build());
const fleetOverview = json(() => FLEET_OVERVIEW.build());

describe('a machine id at two sites, and alerts open at the end of the range (real influxd)', () => {
  let influx: RunningInflux;
  let t0: number;
  let to: number;
  const alerts = { aOpened: 0, aResolved: 0, bOpened: 0, bResolved: 0 };

  beforeAll(async () => {
    influx = await startTestInflux();
    const sink = new InfluxSink({ ...INFLUX_SINK_DEFAULTS, url: influx.url, database: DATABASE, rawRetention: RAW_RETENTION, batchMaxDelayMs: 5 });
    await sink.start();
    t0 = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - 2 * 3_600_000;
    to = t0 + WINDOWS * WINDOW_MS;
    Object.assign(alerts, { aOpened: t0 - 45 * DAY_MS, aResolved: to + 10 * 60_000, bOpened: t0 + 31 * WINDOW_MS, bResolved: t0 + 61 * WINDOW_MS });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < WINDOWS; i++) {
      for (const plan of [PUMP_A, PUMP_B]) writes.push(sink.writeScoredWindow(windowOf(plan, i), windowScore(plan, t0 + i * WINDOW_MS, i)));
    }
    const alert = (plan: MachinePlan, alertId: string, state: string, windowEnd: number) =>
      sink.writeAlert({ machineId: plan.machine, siteId: plan.site, alertId, state, score: 3, message: `${plan.machine} at ${plan.site}: ${state}`, windowEnd });
    writes.push(
      alert(PUMP_A, 'a-1', 'open', alerts.aOpened),
      alert(PUMP_A, 'a-1', 'resolved', alerts.aResolved),
      alert(PUMP_B, 'b-1', 'open', alerts.bOpened),
      alert(PUMP_B, 'b-1', 'resolved', alerts.bResolved),
      sink.writeAlertAction({ siteId: PUMP_B.site, machineId: PUMP_B.machine, who: 'ana', time: alerts.bOpened + 1, action: 'ack', alertId: 'b-1', note: 'on my way' }),
    );
    await Promise.all(writes);
    await sink.flush();
  });
  afterAll(async () => {
    await influx?.stop();
  });

  /** Window i of the plan; plant-a's pump-1 has no current sensor. */
  function windowOf(plan: MachinePlan, i: number) {
    const window = machineWindow(plan, t0 + i * WINDOW_MS, i);
    if (plan === PUMP_A) window.sensors = window.sensors.filter((s) => s.sensorId !== 'current');
    return window;
  }

  /** The dashboard with `chosen` values of its variables (multi as the dashboard declares them) over [t0, end]. */
  function context(dashboard: DashboardJson, chosen: Record<string, string[]>, end = to): TemplateContext {
    const multi = new Map(influxVariables(dashboard).map((v) => [v.name, v.multi]));
    return {
      from: t0,
      to: end,
      intervalMs: WINDOW_MS,
      variables: new Map(Object.entries(chosen).map(([name, values]) => [name, { values, multi: multi.get(name)! }])),
    };
  }

  const rows = (dashboard: DashboardJson, title: string, ctx: TemplateContext, refId?: string) => resultRows(influx, queryOf(dashboard, title, refId), ctx);
  const pick = (list: Row[], ...columns: string[]) => list.map((row) => Object.fromEntries(columns.map((c) => [c, row[c]])));

  describe('pdm-machine-detail', () => {
    const at = (plan: MachinePlan, sensor?: string) => context(machineDetail, { site: [plan.site], machine: [plan.machine], ...(sensor && { sensor: [sensor] }) });

    it('names one machine: one site and one machine id, neither several nor All', () => {
      const multi = Object.fromEntries(influxVariables(machineDetail).map((v) => [v.name, v.multi]));
      expect(multi).toMatchObject({ site: false, machine: false });
    });

    it("offers the sensors of the selected site's machine only", async () => {
      const sensor = influxVariables(machineDetail).find((v) => v.name === 'sensor')!;
      const values = async (plan: MachinePlan) => (await resultRows(influx, { text: sensor.query, where: 'variable $sensor' }, at(plan))).map((r) => r.value).sort();
      expect(await values(PUMP_A)).toEqual(['temp', 'vib']);
      expect(await values(PUMP_B)).toEqual(['current', 'temp', 'vib']);
    });

    it("draws the selected site's pump-1 only, window by window", async () => {
      for (const plan of [PUMP_A, PUMP_B]) {
        // The range's last bucket, at its end, holds no window.
        const drawn = (await rows(machineDetail, '$sensor: level (mean ± std, rms)', at(plan, 'vib'), 'A')).filter((row) => row.mean !== null);
        const expected = [...Array(WINDOWS).keys()].map((i) => ({ time: t0 + i * WINDOW_MS, mean: windowOf(plan, i).sensors.find((s) => s.sensorId === 'vib')!.mean }));
        expect(drawn.length, plan.site).toBe(WINDOWS);
        for (const [k, row] of drawn.entries()) {
          expect(row.time, plan.site).toBe(expected[k]!.time);
          expect(row.mean, `${plan.site} window ${k}`).toBeCloseTo(expected[k]!.mean, 9);
        }
      }
    });

    it("shows the selected site's alert transitions and actions only", async () => {
      expect(await rows(machineDetail, 'Alerts', at(PUMP_A))).toEqual([]);
      expect(await rows(machineDetail, 'Alert actions', at(PUMP_A))).toEqual([]);
      expect(pick(await rows(machineDetail, 'Alerts', at(PUMP_B)), 'time', 'state')).toEqual([
        { time: alerts.bOpened, state: 'open' },
        { time: alerts.bResolved, state: 'resolved' },
      ]);
      expect(pick(await rows(machineDetail, 'Alert actions', at(PUMP_B)), 'action', 'who')).toEqual([{ action: 'ack', who: 'ana' }]);
    });

    it('states the alert as at the end of the range: open since 45 days before it, resolved after it', async () => {
      expect(pick(await rows(machineDetail, 'Alert', at(PUMP_A)), 'time', 'state')).toEqual([{ time: alerts.aOpened, state: 'open' }]);
      expect(pick(await rows(machineDetail, 'Alert', at(PUMP_B)), 'state')).toEqual([{ state: 'resolved' }]);
      const afterItResolved = context(machineDetail, { site: [PUMP_A.site], machine: [PUMP_A.machine] }, alerts.aResolved);
      expect(pick(await rows(machineDetail, 'Alert', afterItResolved), 'state')).toEqual([{ state: 'resolved' }]);
    });
  });

  describe('pdm-fleet-overview', () => {
    /** The "Open alerts" panels: the count and the table. */
    async function openAlerts(ctx: TemplateContext) {
      const [count, table] = panelQueries(fleetOverview).filter((q) => q.where.includes('panel "Open alerts" › '));
      return { count: pick(await resultRows(influx, count!, ctx), 'open_alerts'), table: pick(await resultRows(influx, table!, ctx), 'machine', 'site', 'time') };
    }

    it('lists an alert that opened 45 days before the range as open at its end, and not after it resolved', async () => {
      const plantA = { site: [PUMP_A.site], machine: [PUMP_A.machine] };
      expect(await openAlerts(context(fleetOverview, plantA))).toEqual({
        count: [{ open_alerts: 1 }],
        table: [{ machine: 'pump-1', site: 'plant-a', time: alerts.aOpened }],
      });
      expect(await openAlerts(context(fleetOverview, plantA, alerts.aResolved))).toEqual({ count: [], table: [] });
    });

    it('draws pump-1 of each selected site as a series of its own', async () => {
      const both = context(fleetOverview, { site: [PUMP_A.site, PUMP_B.site], machine: ['pump-1'] });
      for (const title of ['Anomaly score vs threshold', 'Anomalous windows over time']) {
        const series = new Set((await rows(fleetOverview, title, both)).map((row) => `${String(row.machine)}@${String(row.site)}`));
        expect([...series].sort(), title).toEqual(['pump-1@plant-a', 'pump-1@plant-b']);
      }
    });
  });
});
