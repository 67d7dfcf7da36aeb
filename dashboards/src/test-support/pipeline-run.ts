// A short run of realistic pipeline output, written through the processor's real InfluxSink exactly as
// the processor writes it: three machines on two sites over 30 minutes of 10 s windows. compressor-1
// develops a bearing fault (vibration kurtosis and level rise, score crosses the threshold, an alert
// opens and stays open); pump-2 has a short excursion (alert opens, then resolves); fan-3 is healthy but
// its gateway drops out for a minute (a gap) and delivers some incomplete and late windows, and three
// of its windows do not fit its model (a silent sensor: contract mismatches, not scored). mixer-4 is new
// at plant-2 and no model serves it yet: its windows are stored but never scored.
// Two processor instances report pipeline health every 10 s (the sink's writeProcessorReport, as their
// PipelineReporter writes it; and, through writeModelDrift as their DriftReporter writes it, their
// model's drift, proc-a's crossing the retrain threshold with compressor-1's fault), and so do the two gateways (pdm.v1.GatewayHealth through the sink's
// writeGatewayHealth, as the processor's handler writes them):
// gw-a's Pub/Sub link slows down for 100 s (publish errors, a backlog in its outbox, slow confirms);
// gw-b comes back from its outage as a restarted process, its running totals from zero.
import { create, CloseReason, GatewayHealthSchema, MachineWindowSchema, SensorStatsSchema, type GatewayHealth, type MachineWindow } from '@pdm/proto';
import type { InfluxSink, WindowScore } from '@pdm/cloud-processor';

export const WINDOW_MS = 10_000;
export const WINDOWS = 180;
const THRESHOLD = 1.8;

export interface MachinePlan {
  machine: string;
  site: string;
  gateway: string;
  /** How far the fault has progressed in window i (0 = healthy). */
  fault(i: number): number;
  /** Windows that never arrived (gateway outage). */
  missing?(i: number): boolean;
}

export const PLAN: MachinePlan[] = [
  { machine: 'compressor-1', site: 'plant-1', gateway: 'gw-a', fault: (i) => (i < 120 ? 0 : Math.min(1, (i - 120) / 30)) },
  { machine: 'pump-2', site: 'plant-1', gateway: 'gw-a', fault: (i) => (i >= 60 && i < 68 ? 0.8 : 0) },
  { machine: 'fan-3', site: 'plant-2', gateway: 'gw-b', fault: () => 0, missing: (i) => i >= 90 && i < 96 },
];

/** A machine no model serves: its features are written with an unscored point, never a score. */
const UNMODELLED: MachinePlan = { machine: 'mixer-4', site: 'plant-2', gateway: 'gw-b', fault: () => 0 };

/** fan-3's windows that do not fit its model's contract. */
const mismatched = (plan: MachinePlan, i: number) => plan.machine === 'fan-3' && i >= 100 && i < 103;

const SENSORS = [
  { id: 'vib', level: 2.0, spread: 0.3 },
  { id: 'temp', level: 61, spread: 0.8 },
  { id: 'current', level: 12, spread: 0.5 },
];

/** Deterministic small noise so series are not flat. */
const noise = (seed: number) => Math.sin(seed * 12.9898) * 0.5;

export function machineWindow(plan: MachinePlan, start: number, i: number): MachineWindow {
  const fault = plan.fault(i);
  // fan-3's gateway is on a flaky link: every 7th window is short of readings, some arrive late.
  const flaky = plan.machine === 'fan-3' && i % 7 === 0;
  return create(MachineWindowSchema, {
    gatewayId: plan.gateway,
    siteId: plan.site,
    machineId: plan.machine,
    windowStart: BigInt(start),
    windowEnd: BigInt(start + WINDOW_MS),
    featureVersion: 1,
    revision: 0,
    closeReason: flaky ? CloseReason.IDLE_TIMEOUT : CloseReason.WATERMARK,
    sensors: SENSORS.map((s, k) => {
      // The fault lifts vibration most (bearing wear), temperature and current a little.
      const lift = fault * (s.id === 'vib' ? 3 : 0.1) * s.level;
      const mean = s.level + lift + noise(i * 3 + k) * s.spread;
      const std = s.spread * (1 + fault * (s.id === 'vib' ? 4 : 0.5));
      const kurtosis = 3 + fault * (s.id === 'vib' ? 9 : 0.3) + noise(i + k) * 0.2;
      const rms = Math.sqrt(mean * mean + std * std);
      const expected = s.id === 'vib' ? 1000 : 10;
      return create(SensorStatsSchema, {
        sensorId: s.id,
        count: flaky ? Math.round(expected * 0.8) : expected,
        expectedCount: expected,
        mean,
        variance: std * std,
        std,
        min: mean - 3 * std,
        max: mean + 3 * std + fault * 4 * std,
        rms,
        peakToPeak: 6 * std,
        skewness: noise(i + 2 * k) * 0.1,
        kurtosis,
        crestFactor: (mean + 3 * std + fault * 4 * std) / rms,
        lateCount: flaky ? 2 : 0,
      });
    }),
  });
}

export function windowScore(plan: MachinePlan, start: number, i: number): WindowScore {
  const fault = plan.fault(i);
  const score = 0.6 + 0.15 * noise(i * 5) + fault * 2.5;
  const vibShare = 0.3 + 0.6 * fault;
  return {
    siteId: plan.site,
    machineId: plan.machine,
    windowStart: start,
    windowEnd: start + WINDOW_MS,
    model: 'autoencoder',
    modelVersion: '3',
    score,
    threshold: THRESHOLD,
    isAnomaly: score > THRESHOLD,
    contributions: { vib: vibShare, temp: (1 - vibShare) * 0.6, current: (1 - vibShare) * 0.4 },
  };
}

/** One gateway's running totals since its process started, as its health reports carry them. */
class GatewayTotals {
  readings = 0;
  late = 0;
  emitted = 0;
  published = 0;
  publishErrors = 0;
  rejected: Record<string, number> = {};

  constructor(
    readonly gateway: string,
    readonly site: string,
    public startedAt: number,
  ) {}

  /** A new process: every total from zero. */
  restart(at: number): void {
    Object.assign(this, new GatewayTotals(this.gateway, this.site, at));
  }

  reject(reason: string, count: number): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + count;
  }
}

const GATEWAYS = [...new Map(PLAN.map((p) => [p.gateway, p.site]))];
/** gw-a's link to Pub/Sub is slow for these windows: publishes fail or take seconds, its outbox backs up. */
const slowLink = (gateway: string, i: number) => gateway === 'gw-a' && i >= 130 && i < 140;

/** Advances a gateway's totals by window i and returns its health report, or undefined while it is down. */
function gatewayHealth(totals: GatewayTotals, start: number, i: number): GatewayHealth | undefined {
  const plans = PLAN.filter((p) => p.gateway === totals.gateway);
  const reportedAt = start + WINDOW_MS + (totals.gateway === 'gw-a' ? 3_000 : 7_000);
  if (plans.some((p) => p.missing?.(i))) {
    totals.restart(reportedAt + WINDOW_MS); // down; it comes back as a new process
    return undefined;
  }
  for (const plan of plans) {
    const window = machineWindow(plan, start, i);
    totals.readings += window.sensors.reduce((sum, s) => sum + s.count, 0);
    totals.late += window.sensors.reduce((sum, s) => sum + s.lateCount, 0);
    totals.emitted++;
  }
  // Bad devices: an occasional clock far ahead at plant-1, a PLC sending broken JSON at plant-2.
  if (totals.gateway === 'gw-a' && i % 25 === 0) totals.reject('future_ts', 1);
  if (totals.gateway === 'gw-b' && i % 4 === 0) totals.reject('bad_json', 2);
  if (totals.gateway === 'gw-b' && i % 30 === 0) totals.reject('bad_topic', 1);
  const slow = slowLink(totals.gateway, i);
  // While the link is slow one window in four is confirmed and the rest fail; then the backlog drains.
  const confirmedNow = slow ? (i % 4 === 0 ? 1 : 0) : Math.min(totals.emitted - totals.published, 2 * plans.length);
  if (slow) totals.publishErrors += 3;
  totals.published += confirmedNow;
  const depth = totals.emitted - totals.published;
  const wobble = (k: number) => noise(i + k + (totals.gateway === 'gw-a' ? 0 : 17));
  return create(GatewayHealthSchema, {
    gatewayId: totals.gateway,
    siteId: totals.site,
    reportedAt: BigInt(reportedAt),
    startedAt: BigInt(totals.startedAt),
    readingsAccepted: BigInt(totals.readings),
    rejectedByReason: Object.fromEntries(Object.entries(totals.rejected).map(([reason, n]) => [reason, BigInt(n)])),
    lateReadings: BigInt(totals.late),
    windowsEmitted: BigInt(totals.emitted),
    windowsPublished: BigInt(totals.published),
    publishErrors: BigInt(totals.publishErrors),
    windowsDropped: 0n,
    openWindows: plans.length,
    outboxDepth: BigInt(depth),
    outboxBytes: BigInt(depth * 620),
    outboxOldestAgeMs: BigInt(Math.round((depth / plans.length) * WINDOW_MS)),
    // Plant-1's vibration data would fill its 1 GiB outbox in about two days; plant-2's in a week.
    outboxHoursOfOutageLeft: (totals.gateway === 'gw-a' ? 46 : 160) - depth * 0.05 + wobble(0) * 0.5,
    publishInFlight: Math.min(depth, 2),
    publishLatency:
      confirmedNow > 0
        ? { confirmed: BigInt(confirmedNow), meanMs: slow ? 2_400 : 14 + 3 * wobble(0), p50Ms: slow ? 2_100 : 9 + 2 * wobble(1), p99Ms: slow ? 4_800 : 45 + 10 * wobble(2) }
        : undefined,
  });
}

/** Writes the run starting at t0 (epoch ms, window-aligned) and returns its time span. */
export async function writePipelineRun(sink: InfluxSink, t0: number): Promise<{ from: number; to: number }> {
  const writes: Promise<void>[] = [];
  const open = new Map<string, string>();
  const gateways = GATEWAYS.map(([gateway, site]) => new GatewayTotals(gateway, site, t0 - 3_600_000));
  for (let i = 0; i < WINDOWS; i++) {
    const start = t0 + i * WINDOW_MS;
    writes.push(sink.writeUnscoredWindow(machineWindow(UNMODELLED, start, i), { kind: 'no_model' }));
    for (const plan of PLAN) {
      if (plan.missing?.(i)) continue;
      if (mismatched(plan, i)) {
        const window = machineWindow(plan, start, i);
        window.sensors = window.sensors.filter((s) => s.sensorId !== 'current');
        const reason = "model fleet@3: missing sensor 'current': no readings in this window (silent sensor?)";
        writes.push(sink.writeUnscoredWindow(window, { kind: 'contract_mismatch', reason }));
        continue;
      }
      const score = windowScore(plan, start, i);
      writes.push(sink.writeScoredWindow(machineWindow(plan, start, i), score));
      // Alert transitions, as the processor's AlertTracker reports them.
      const alertId = open.get(plan.machine);
      if (score.isAnomaly && !alertId) {
        const id = `${plan.machine}-${i}`;
        open.set(plan.machine, id);
        writes.push(sink.writeAlert({ machineId: plan.machine, siteId: plan.site, alertId: id, state: 'open', score: score.score, message: `${plan.machine}: score ${score.score.toFixed(2)} above ${THRESHOLD}`, windowEnd: score.windowEnd }));
        // What the maintenance team did about it (pdm alerts): acknowledged as it opened...
        writes.push(sink.writeAlertAction({ siteId: plan.site, machineId: plan.machine, who: 'ana', time: score.windowEnd + 1, action: 'ack', alertId: id, note: 'on my way' }));
      } else if (!score.isAnomaly && alertId) {
        open.delete(plan.machine);
        writes.push(sink.writeAlert({ machineId: plan.machine, siteId: plan.site, alertId, state: 'resolved', score: score.score, message: `${plan.machine}: back below threshold`, windowEnd: score.windowEnd }));
        // ...labelled once it resolved, then a planned stop (a mute).
        const machine = { siteId: plan.site, machineId: plan.machine, who: 'ana' };
        writes.push(sink.writeAlertAction({ ...machine, time: score.windowEnd + 1, action: 'label', alertId, label: 'false_alarm', cause: 'sensor knocked' }));
        writes.push(sink.writeAlertAction({ ...machine, time: score.windowEnd + 2, action: 'mute', muteUntil: score.windowEnd + WINDOW_MS, note: 'belt change' }));
      }
    }
    for (const totals of gateways) {
      const health = gatewayHealth(totals, start, i);
      if (health) writes.push(sink.writeGatewayHealth(health));
    }
    for (const [n, instance] of ['proc-a', 'proc-b'].entries()) {
      // The model's drift, once each instance counted enough windows: proc-a, whose machines include
      // compressor-1, sees vibration drift past the retrain threshold as its fault develops.
      if (i >= 20) {
        const vib = 0.03 + 0.01 * noise(i + n) + (n === 0 ? 0.5 * PLAN[0]!.fault(i) : 0);
        const features = { 'vib.rms': vib, 'temp.mean': 0.02 + 0.005 * noise(i * 3 + n), 'current.mean': 0.01 };
        writes.push(sink.writeModelDrift([{ model: 'autoencoder', version: '3', windows: Math.min(1_000, i * 2), psi: vib, feature: 'vib.rms', features }], instance, 0.25, start + WINDOW_MS));
      }
      writes.push(
        sink.writeProcessorReport(
          instance,
          {
            throughput: 0.15 + 0.01 * n + 0.02 * noise(i + n),
            messages: Math.floor((i * PLAN.length) / 2) + n,
            ack_latency_ms: 40 + 10 * noise(i * 2 + n),
            lag_ms: 1200 + 300 * noise(i + 7 * n),
            // A poison message at window 100, a contract mismatch at 140 (cumulative counters).
            dead_letters: i >= 100 && n === 0 ? 1 : 0,
            contract_mismatches: i >= 140 && n === 1 ? 1 : 0,
            in_flight: (i + n) % 3,
            open_alerts: open.size,
          },
          start + WINDOW_MS,
        ),
      );
    }
  }
  await Promise.all(writes);
  await sink.flush();
  return { from: t0, to: t0 + WINDOWS * WINDOW_MS };
}
