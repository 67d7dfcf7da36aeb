// Per-key order end to end: the official client over real gRPC, the emulator handing out several
// messages of a machine (ordering key) at once as Google's service may, the whole processor, InfluxDB.
// The first window's scoring is held back (until a later window of its machine is acked, or half a
// second): a processor that handled the machine's windows side by side would store and observe the
// later ones first; one that keeps per-key order cannot start them before the first is settled.
import type { MachineWindow } from '@pdm/proto';
import { AlertSchema, AlertState, fromBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import type { ScoreOutcome } from '../model/api.js';
import { useProcessorTestbeds, type ProcessorTestbed } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, T0, WINDOW_MS } from '../test-support/windows.js';

/** ScriptedScorer that first waits for `hold(window)`, when it returns a promise. */
class HoldingScorer extends ScriptedScorer {
  constructor(private readonly hold: (window: MachineWindow) => Promise<void> | undefined) {
    super();
  }

  override async score(window: MachineWindow): Promise<ScoreOutcome> {
    await this.hold(window);
    return super.score(window);
  }
}

/** Resolves once a message of the subscription was acked, or after 500 ms. */
const laterWindowAckedOrHalfASecond = (t: ProcessorTestbed) => until(() => t.bed.stats().acked >= 1, 'a later window acked', 500).catch(() => undefined);

describe('per-key order: a machine’s windows delivered together are handled one after another', () => {
  const startTestbed = useProcessorTestbeds();

  it('stores revision 1 when revisions 0 and 1 of a window arrive together and revision 0 is slow', async () => {
    const t = await startTestbed({}, { orderingKeyBatch: 10 });
    const revision0 = makeWindow({ index: 3 });
    const revision1 = makeWindow({ index: 3, revision: 1, faulty: true }); // other content: every statistic differs
    // Published before the processor subscribes, so the emulator hands both out in one response.
    await t.bed.publishWindow(revision0);
    await t.bed.publishWindow(revision1);
    const processor = await t.start({}, { scorer: new HoldingScorer((w) => (w.revision === 0 ? laterWindowAckedOrHalfASecond(t) : undefined)) });
    await until(() => t.bed.stats().acked === 2, 'both revisions acked', 10_000);
    const windowStart = T0 + 3 * WINDOW_MS;
    expect(await t.rows(`SELECT revision, mean, std FROM sensor_features WHERE sensor = 'temp'`)).toEqual([[windowStart, 1, revision1.sensors[0]!.mean, revision1.sensors[0]!.std]]);
    expect(await t.rows('SELECT score FROM anomaly')).toEqual([[windowStart, revision1.sensors[0]!.std]]);
    expect(t.bed.stats()).toMatchObject({ redelivered: 0, nacked: 0 });
    expect(await processor.metrics.value('pdm_processor_stale_revisions_total')).toBe(0);
  });

  it('feeds the alert rule a machine’s windows in order when they arrive together', async () => {
    // Four anomalous windows and a rule that opens on four in a row: a window observed out of order
    // (older than one already counted) is ignored by the rule, and then no alert opens.
    const t = await startTestbed({ alerts: { openAfter: 4, within: 4, resolveAfter: 2 } }, { orderingKeyBatch: 10 });
    for (const index of [0, 1, 2, 3]) await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index, faulty: true }));
    await t.start({}, { scorer: new HoldingScorer((w) => (Number(w.windowStart) === T0 ? laterWindowAckedOrHalfASecond(t) : undefined)) });
    await until(() => t.bed.stats().acked === 4, 'four windows acked', 10_000);
    const [open] = await t.alerts.waitFor(1, 10_000);
    // Opened by the fourth window (index 3), the K-th anomalous one in order.
    expect(fromBinary(AlertSchema, open!.data)).toMatchObject({ machineId: 'pump-1', state: AlertState.OPEN, windowEnd: BigInt(T0 + 4 * WINDOW_MS) });
  });
});
