// FeatureBatch messages end to end: the official client over real gRPC, the emulator, the whole
// processor, InfluxDB. Each window of a batch takes the path of a lone window; the batch is acked once,
// after every window is stored; a window that can never be used is skipped, a batch that does not decode
// is dead-lettered whole; a machine's windows keep their order inside a batch and across the batches of
// one ordering key. Old-style single MachineWindow messages are still processed beside batches.
import type { MachineWindow } from '@pdm/proto';
import { AlertSchema, AlertState, FeatureBatchSchema, create, encodeFeatureBatchOf, encodeMachineWindow, fromBinary, pubsubAttributes, schemaAttribute, toBinary } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import type { ScoreOutcome } from '../model/api.js';
import { deferred } from '../test-support/deferred.js';
import { useProcessorTestbeds, type ProcessorTestbed } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, SENSORS, T0, WINDOW_MS } from '../test-support/windows.js';
import { DEAD_LETTER_REASON_ATTRIBUTES } from '../transport/dead-letter.js';
import { MAX_WINDOWS_PER_BATCH } from '../transport/protobuf-deserializer.js';

const BATCH_SCHEMA = schemaAttribute(FeatureBatchSchema);

/** ScriptedScorer that first waits for `hold(window)` when it returns a promise, and fails or mismatches as `outcome` says. */
class ControlledScorer extends ScriptedScorer {
  constructor(
    private readonly hold: (window: MachineWindow) => Promise<void> | undefined = () => undefined,
    private readonly outcome: (window: MachineWindow) => 'contract_mismatch' | 'throw' | undefined = () => undefined,
  ) {
    super();
  }

  override async score(window: MachineWindow): Promise<ScoreOutcome> {
    await this.hold(window);
    const outcome = this.outcome(window);
    if (outcome === 'throw') throw new Error(`scorer failed on ${window.machineId}`);
    if (outcome === 'contract_mismatch') return { kind: 'contract_mismatch', reason: 'sensor \'oil\' has no readings in this window (silent sensor?)' };
    return super.score(window);
  }
}

/** Resolves once a message of the subscription was acked, or after 500 ms. */
const laterMessageAckedOrHalfASecond = (t: ProcessorTestbed) => until(() => t.bed.stats().acked >= 1, 'a later message acked', 500).catch(() => undefined);

const featureCount = (t: ProcessorTestbed, machine: string) => t.count(`SELECT COUNT(mean) FROM sensor_features WHERE machine = '${machine}'`);

/** Resolves once every sensor of `machine`'s window is in InfluxDB; fails after 5 s. */
async function untilStored(t: ProcessorTestbed, machine: string): Promise<void> {
  for (let waited = 0; (await featureCount(t, machine)) < SENSORS.length; waited += 20) {
    if (waited > 5_000) throw new Error(`${machine} not stored within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('feature batches: every window stored, one ack per batch', () => {
  const startTestbed = useProcessorTestbeds();

  it('stores every window of a batch and acks it once; a lone MachineWindow of an older gateway is still processed', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    const processor = await t.start({}, { scorer });
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1', index: 0 }), makeWindow({ machine: 'pump-2', index: 0 }), makeWindow({ machine: 'pump-1', index: 1, faulty: true })], 4);
    await t.bed.publishWindow(makeWindow({ machine: 'pump-3', index: 0 }));
    await until(() => t.bed.stats().acked === 2, 'the batch and the lone window acked');
    expect(scorer.calls).toBe(4);
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(4 * SENSORS.length);
    // One series per machine, in machine order: pump-1's two windows, pump-2's, pump-3's.
    expect(await t.rows('SELECT is_anomaly FROM anomaly GROUP BY machine')).toEqual([
      [T0, false],
      [T0 + WINDOW_MS, true],
      [T0, false],
      [T0, false],
    ]);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked', schema: BATCH_SCHEMA })).toBe(1);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked', schema: 'pdm.v1.MachineWindow' })).toBe(1);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'scored' })).toBe(4);
    expect(t.bed.stats()).toMatchObject({ nacked: 0, redelivered: 0 });
  });

  it('acks a batch only once its last window is stored', async () => {
    const t = await startTestbed();
    const release = deferred();
    await t.start({}, { scorer: new ControlledScorer((w) => (w.machineId === 'pump-2' ? release.promise : undefined)) });
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1' }), makeWindow({ machine: 'pump-2' })]);
    await untilStored(t, 'pump-1');
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for an early ack to reach the emulator
    expect(t.bed.stats().acked).toBe(0);
    expect(await featureCount(t, 'pump-2')).toBe(0);
    release.resolve();
    await until(() => t.bed.stats().acked === 1, 'ack once pump-2 is stored');
    expect(await featureCount(t, 'pump-2')).toBe(SENSORS.length);
  });

  it('skips a window that can never be used, counts it and a contract mismatch, and stores the rest; a lone unusable window is dead-lettered', async () => {
    const t = await startTestbed();
    const processor = await t.start({}, { scorer: new ControlledScorer(undefined, (w) => (w.machineId === 'pump-9' ? 'contract_mismatch' : undefined)) });
    const noMachine = { ...makeWindow({ machine: 'pump-5' }), machineId: '' };
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1' }), noMachine, makeWindow({ machine: 'pump-9' }), makeWindow({ machine: 'pump-2' })]);
    await until(() => t.bed.stats().acked === 1, 'batch acked');
    for (const machine of ['pump-1', 'pump-9', 'pump-2']) expect(await featureCount(t, machine), machine).toBe(SENSORS.length);
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(3 * SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(2);
    expect(await t.rows('SELECT machine, reason, windows FROM unscored')).toEqual([[T0, 'pump-9', 'contract_mismatch', 1]]);
    expect(await processor.metrics.value('pdm_processor_unusable_windows_total')).toBe(1);
    expect(await processor.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'contract_mismatch' })).toBe(1);
    expect(t.bed.deadLetters.messages).toHaveLength(0);

    await t.bed.publishWindow(noMachine);
    const [dead] = await t.bed.deadLetters.waitFor(1);
    expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.reason]).toBe('unusable');
    expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]).toBe('unusable MachineWindow: no machine_id');
    expect(await processor.metrics.value('pdm_processor_unusable_windows_total')).toBe(2);
  });

  it('dead-letters a batch that does not decode, whole, with the reason', async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    const processor = await t.start({}, { scorer });
    const windows = [makeWindow({ machine: 'pump-1' }), makeWindow({ machine: 'pump-2' })];
    const whole = toBinary(FeatureBatchSchema, create(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-1', shard: 2, windows }));
    const cut = whole.subarray(0, whole.length - 1);
    await t.bed.publishRaw(cut, pubsubAttributes(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-1' }));
    const [dead] = await t.bed.deadLetters.waitFor(1);
    expect(dead!.attributes).toMatchObject({ [DEAD_LETTER_REASON_ATTRIBUTES.reason]: 'undecodable', schema: BATCH_SCHEMA, gateway: 'gw-1' });
    expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]).toMatch(/^body is not a valid pdm\.v1\.FeatureBatch: /);
    expect(dead!.data).toEqual(Buffer.from(cut));
    await until(() => t.bed.stats().acked === 1, 'original acked');
    expect(scorer.calls).toBe(0);
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(0);
    expect(await processor.metrics.value('pdm_processor_dead_letters_total', { reason: 'undecodable' })).toBe(1);
  });

  describe('a batch with a window that does not decode', () => {
    const source = { gatewayId: 'gw-1', siteId: 'plant-1' };
    const undecodable = Uint8Array.from([0x1a, 2, 0xc3, 0x28]); // machine_id: invalid UTF-8
    const body = encodeFeatureBatchOf({ ...source, shard: 0 }, [encodeMachineWindow(makeWindow({ machine: 'pump-1' })), undecodable, encodeMachineWindow(makeWindow({ machine: 'pump-3' }))]);
    const publish = (t: ProcessorTestbed) => t.bed.publishRaw(body, pubsubAttributes(FeatureBatchSchema, source));

    it('stores the other windows, then dead-letters the batch whole, naming the window, and acks it', async () => {
      const t = await startTestbed();
      const release = deferred();
      const processor = await t.start({}, { scorer: new ControlledScorer((w) => (w.machineId === 'pump-3' ? release.promise : undefined)) });
      await publish(t);
      await untilStored(t, 'pump-1');
      await new Promise((resolve) => setTimeout(resolve, 300)); // time for an early dead letter to arrive
      expect(t.bed.deadLetters.messages).toHaveLength(0);
      release.resolve();
      const [dead] = await t.bed.deadLetters.waitFor(1);
      expect(await featureCount(t, 'pump-3')).toBe(SENSORS.length);
      expect(dead!.attributes).toMatchObject({ [DEAD_LETTER_REASON_ATTRIBUTES.reason]: 'undecodable', schema: BATCH_SCHEMA, gateway: 'gw-1' });
      const named = /^1 of 3 windows are not a valid pdm\.v1\.MachineWindow .*: windows\[1\] at body bytes \[(\d+), (\d+)\): /.exec(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail] ?? '');
      expect(named, dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.detail]).not.toBeNull();
      expect(dead!.data).toEqual(Buffer.from(body));
      expect(dead!.data.subarray(Number(named![1]), Number(named![2]))).toEqual(Buffer.from(undecodable));
      await until(() => t.bed.stats().acked === 1, 'batch acked after its dead letter');
      expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(2 * SENSORS.length);
      expect(await processor.metrics.value('pdm_processor_dead_letters_total', { reason: 'undecodable' })).toBe(1);
      expect(t.bed.stats()).toMatchObject({ nacked: 0 });
    });

    it('nacks it while another window fails, and dead-letters it once that window is stored on redelivery', async () => {
      const t = await startTestbed();
      let failures = 0;
      await t.start({}, { scorer: new ControlledScorer(undefined, (w) => (w.machineId === 'pump-3' && failures++ === 0 ? 'throw' : undefined)) });
      await publish(t);
      const [dead] = await t.bed.deadLetters.waitFor(1);
      expect(dead!.attributes[DEAD_LETTER_REASON_ATTRIBUTES.reason]).toBe('undecodable');
      expect(t.bed.stats()).toMatchObject({ nacked: 1, redelivered: 1 });
      expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(2);
    });
  });

  it(`dead-letters a batch of more than ${MAX_WINDOWS_PER_BATCH} windows undecoded, with the reason`, async () => {
    const t = await startTestbed();
    const scorer = new ScriptedScorer();
    const processor = await t.start({}, { scorer });
    const body = new Uint8Array(2 * (MAX_WINDOWS_PER_BATCH + 1)); // empty windows: tag, length 0
    for (let i = 0; i < body.length; i += 2) body[i] = 0x22;
    await t.bed.publishRaw(body, pubsubAttributes(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-1' }));
    const [dead] = await t.bed.deadLetters.waitFor(1);
    expect(dead!.attributes).toMatchObject({
      [DEAD_LETTER_REASON_ATTRIBUTES.reason]: 'undecodable',
      [DEAD_LETTER_REASON_ATTRIBUTES.detail]: `a FeatureBatch of more than ${MAX_WINDOWS_PER_BATCH} windows: refused undecoded (no gateway sends more than ${MAX_WINDOWS_PER_BATCH} in one)`,
    });
    await until(() => t.bed.stats().acked === 1, 'original acked');
    expect(scorer.calls).toBe(0);
    expect(await processor.metrics.value('pdm_processor_windows_received_total')).toBe(0);
  });

  it('nacks the whole batch when one window fails, and stores every window once it is redelivered', async () => {
    const t = await startTestbed();
    let failures = 0;
    await t.start({}, { scorer: new ControlledScorer(undefined, (w) => (w.machineId === 'pump-2' && failures++ === 0 ? 'throw' : undefined)) });
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1' }), makeWindow({ machine: 'pump-2' }), makeWindow({ machine: 'pump-3' })]);
    await until(() => t.bed.stats().acked === 1, 'acked after the redelivery');
    expect(t.bed.stats()).toMatchObject({ nacked: 1, redelivered: 1 });
    expect(await t.count('SELECT COUNT(mean) FROM sensor_features')).toBe(3 * SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(3);
    expect(t.bed.deadLetters.messages).toHaveLength(0);
  });
});

describe('feature batches: a machine’s windows in order, inside a batch and across the batches of one key', () => {
  const startTestbed = useProcessorTestbeds();

  it('stores revision 1 when revisions 0 and 1 of a window are in one batch and revision 0 is slow', async () => {
    const t = await startTestbed();
    const revision1 = makeWindow({ index: 3, revision: 1, faulty: true });
    let released = false;
    const slowRevision0 = () => new Promise<void>((resolve) => setTimeout(() => ((released = true), resolve()), 300));
    const processor = await t.start({}, { scorer: new ControlledScorer((w) => (w.revision === 0 ? slowRevision0() : undefined)) });
    await t.bed.publishBatch([makeWindow({ index: 3 }), makeWindow({ machine: 'pump-2', index: 3 }), revision1]);
    await until(() => t.bed.stats().acked === 1, 'batch acked', 10_000);
    expect(released).toBe(true);
    const windowStart = T0 + 3 * WINDOW_MS;
    expect(await t.rows(`SELECT revision, mean FROM sensor_features WHERE sensor = 'temp' AND machine = 'pump-1'`)).toEqual([[windowStart, 1, revision1.sensors[0]!.mean]]);
    expect(await processor.metrics.value('pdm_processor_stale_revisions_total')).toBe(0);
  });

  it('feeds the alert rule a machine’s windows in batch order', async () => {
    // Four anomalous windows and a rule that opens on four in a row: a window observed out of order
    // (older than one already counted) is ignored by the rule, and then no alert opens.
    const t = await startTestbed({ alerts: { openAfter: 4, within: 4, resolveAfter: 2 } });
    const slowFirst = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
    await t.start({}, { scorer: new ControlledScorer((w) => (Number(w.windowStart) === T0 ? slowFirst() : undefined)) });
    await t.bed.publishBatch([0, 1, 2, 3].map((index) => makeWindow({ machine: 'pump-1', index, faulty: true })));
    await until(() => t.bed.stats().acked === 1, 'batch acked', 10_000);
    const [open] = await t.alerts.waitFor(1, 10_000);
    expect(fromBinary(AlertSchema, open!.data)).toMatchObject({ machineId: 'pump-1', state: AlertState.OPEN, windowEnd: BigInt(T0 + 4 * WINDOW_MS) });
  });

  it('handles the batches of one ordering key one after another when they arrive together', async () => {
    const t = await startTestbed({}, { orderingKeyBatch: 10 });
    const revision1 = makeWindow({ index: 3, revision: 1, faulty: true });
    // Published before the processor subscribes, so the emulator hands both batches out in one response.
    await t.bed.publishBatch([makeWindow({ index: 3 })], 1);
    await t.bed.publishBatch([revision1], 1);
    const processor = await t.start({}, { scorer: new ControlledScorer((w) => (w.revision === 0 ? laterMessageAckedOrHalfASecond(t) : undefined)) });
    await until(() => t.bed.stats().acked === 2, 'both batches acked', 10_000);
    expect(await t.rows(`SELECT revision, mean FROM sensor_features WHERE sensor = 'temp'`)).toEqual([[T0 + 3 * WINDOW_MS, 1, revision1.sensors[0]!.mean]]);
    expect(t.bed.stats()).toMatchObject({ redelivered: 0, nacked: 0 });
    expect(await processor.metrics.value('pdm_processor_stale_revisions_total')).toBe(0);
  });
});
