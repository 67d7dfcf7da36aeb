// Pub/Sub delivers at least once: a message already acked may come again (a lost or late ack, a stream
// reconnect, and with ordering keys a nack that brings back the later messages of its key), after newer
// windows of its machines were handled. The emulator's redeliverAcked hook does that here. A duplicate of
// a window from inside an alert episode, delivered after the episode resolved, must change nothing: no
// alert opens again, nothing stored changes, the machine's next windows decide as without it, and it is
// acked (not dead-lettered, not holding its ordering key). The whole processor, over the emulator's gRPC
// API with the official client and a real influxd.
import { AlertSchema, AlertState, fromBinary, type MachineWindow } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import type { ProcessorTestbed } from '../test-support/processor-testbed.js';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, T0, WINDOW_MS } from '../test-support/windows.js';

/** K = N = M = 2: two anomalous windows open an alert, two normal ones resolve it. */
const ALERTS = { alerts: { openAfter: 2, within: 2, resolveAfter: 2 } };

/**
 * Which of a machine's windows 0-7 are anomalous: windows 1-3 an episode (opened at 2, resolved at 5),
 * 6-7 the next one (opened at 7: the episode before does not count towards it).
 */
const EPISODES = [false, true, true, true, false, false, true, true];
const windowEnd = (index: number) => T0 + (index + 1) * WINDOW_MS;

/** What the processor stored: every measurement a duplicate could touch, every value. */
const STORED = ['sensor_features', 'anomaly', 'alerts', 'alert_state', 'alert_deliveries'];

const snapshot = async (t: ProcessorTestbed) => Object.fromEntries(await Promise.all(STORED.map(async (m) => [m, await t.rows(`SELECT * FROM ${m} GROUP BY *`)] as const)));

/** The `alerts` transitions of a machine: [window end, state, alert id, message]. */
const alertsOf = (t: ProcessorTestbed, machine: string) => t.rows(`SELECT "state", alert_id, message FROM alerts WHERE machine = '${machine}'`);

/** The transitions the alerts topic was sent for a machine: `state:alertId`. */
const publishedAlerts = (t: ProcessorTestbed, machine: string) =>
  t.alerts.messages
    .map((m) => fromBinary(AlertSchema, m.data))
    .filter((a) => a.machineId === machine)
    .map((a) => `${a.state === AlertState.OPEN ? 'open' : 'resolved'}:${a.alertId}`);

interface Shape {
  /** Machines in each message, and whether each goes through the episodes (else always normal). */
  machines: Record<string, boolean>;
  publish: (t: ProcessorTestbed, windows: MachineWindow[]) => Promise<string>;
}

const SHAPES: Record<string, Shape> = {
  'a MachineWindow': { machines: { 'pump-1': true }, publish: (t, [window]) => t.bed.publishWindow(window!) },
  'a FeatureBatch of three machines': { machines: { 'pump-1': true, 'pump-2': false, 'pump-3': true }, publish: (t, windows) => t.bed.publishBatch(windows) },
};

describe('a duplicate of an acked message, delivered after newer windows were handled', () => {
  const startTestbed = useProcessorTestbeds();

  it.each(Object.keys(SHAPES))('of %s from inside an alert episode, after its resolve: changes nothing stored, opens no alert, and the next windows decide as without it', async (shape) => {
    const { machines, publish } = SHAPES[shape]!;
    const episodic = Object.keys(machines).filter((m) => machines[m]);
    const t = await startTestbed(ALERTS, { keepAcked: 100 });
    const scorer = new ScriptedScorer();
    const processor = await t.start({}, { scorer });
    const publishWindows = (index: number) => publish(t, Object.entries(machines).map(([machine, episodes]) => makeWindow({ machine, index, faulty: episodes && EPISODES[index] })));

    // The first episode, opened at window 2 and resolved at window 5.
    const ids: string[] = [];
    for (const index of [0, 1, 2, 3, 4, 5]) ids.push(await publishWindows(index));
    await until(() => t.bed.stats().acked === 6, 'windows 0-5 acked', 15_000);
    await t.alerts.waitFor(2 * episodic.length, 10_000);
    const before = await snapshot(t);
    const scoredBefore = scorer.calls;

    // Windows 2 (the open) and 3, delivered again.
    expect(t.bed.redeliverAcked({ messageIds: [ids[2]!, ids[3]!] })).toEqual([ids[2], ids[3]]);
    await until(() => t.bed.stats().acked === 8, 'the duplicates acked', 15_000);
    expect(t.bed.stats()).toMatchObject({ redelivered: 2, nacked: 0, backlog: 0, outstanding: 0 });
    expect(t.bed.deadLetters.messages).toHaveLength(0);
    // Handled again, not skipped: scored and written again, with the values written the first time.
    expect(scorer.calls - scoredBefore).toBe(2 * Object.keys(machines).length);
    expect(await snapshot(t)).toEqual(before);

    // The next episode opens at window 7, on two anomalous windows after the resolve: had a duplicate
    // counted, the alert would have opened again at it, or at window 6.
    for (const index of [6, 7]) await publishWindows(index);
    await until(() => t.bed.stats().acked === 10, 'windows 6-7 acked', 15_000);
    await t.alerts.waitFor(3 * episodic.length, 10_000);
    for (const machine of episodic) {
      const first = `${machine}-${windowEnd(2)}`;
      const next = `${machine}-${windowEnd(7)}`;
      const opened: unknown = expect.stringMatching(/^2 consecutive anomalous windows \(score /);
      expect(await alertsOf(t, machine)).toEqual([
        [windowEnd(2), 'open', first, opened],
        [windowEnd(5), 'resolved', first, '2 consecutive normal windows'],
        [windowEnd(7), 'open', next, opened],
      ]);
      expect(publishedAlerts(t, machine)).toEqual([`open:${first}`, `resolved:${first}`, `open:${next}`]);
    }
    expect(await t.rows(`SELECT * FROM alerts WHERE machine = 'pump-2'`)).toEqual([]);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked' })).toBe(10);
  });
});
