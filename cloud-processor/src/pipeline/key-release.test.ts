// The batches of one ordering key overlap: the official client over real gRPC, the emulator handing out
// a key's batches together, the whole processor, InfluxDB. A batch's windows are queued per machine
// before it is stored, so the key's next batch is scored and written meanwhile; it is still acked only
// after the one before, and nacked with it when that one fails.
import type { MachineWindow } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import type { ScoreOutcome } from '../model/api.js';
import { deferred } from '../test-support/deferred.js';
import { useProcessorTestbeds, type ProcessorTestbed } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow, SENSORS } from '../test-support/windows.js';

/** ScriptedScorer that lists the machines it scored, in order, and first runs `before(window, call)`. */
class WatchedScorer extends ScriptedScorer {
  scored: string[] = [];

  constructor(private readonly before: (window: MachineWindow) => Promise<void> | undefined) {
    super();
  }

  override async score(window: MachineWindow): Promise<ScoreOutcome> {
    await this.before(window);
    this.scored.push(window.machineId);
    return super.score(window);
  }
}

const featureCount = (t: ProcessorTestbed, machine: string) => t.count(`SELECT COUNT(mean) FROM sensor_features WHERE machine = '${machine}'`);

/** Resolves true once every sensor of `machine`'s window is in InfluxDB; false after 5 s. */
async function stored(t: ProcessorTestbed, machine: string): Promise<boolean> {
  for (let waited = 0; (await featureCount(t, machine)) < SENSORS.length; waited += 20) {
    if (waited > 5_000) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe('the batches of one ordering key: the next is handled while the one before is being stored', () => {
  const startTestbed = useProcessorTestbeds();

  it('scores and stores the second batch while the first is held, and acks it only after the first', async () => {
    const t = await startTestbed({}, { orderingKeyBatch: 10 });
    const first = deferred();
    const scorer = new WatchedScorer((w) => (w.machineId === 'pump-1' ? first.promise : undefined));
    // Published before the processor subscribes, so the emulator hands both batches (one key) out together.
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1', index: 0 })], 1);
    await t.bed.publishBatch([makeWindow({ machine: 'pump-2', index: 0 })], 1);
    await t.start({}, { scorer });
    expect(await stored(t, 'pump-2')).toBe(true);
    expect(scorer.scored).toEqual(['pump-2']);
    // A batch of another key, published now: once it is acked, the second batch of the first key is still not.
    await t.bed.publishBatch([makeWindow({ machine: 'pump-3', index: 0 })], 2);
    await until(() => t.bed.stats().acked === 1, 'the other key’s batch acked', 10_000);
    expect(t.bed.stats()).toMatchObject({ acked: 1, outstanding: 2 });
    first.resolve();
    await until(() => t.bed.stats().acked === 3, 'all acked', 10_000);
    expect(t.bed.stats()).toMatchObject({ nacked: 0, redelivered: 0 });
    expect(await featureCount(t, 'pump-1')).toBe(SENSORS.length);
  });

  it('nacks the second batch with the first when the first fails after the second was stored; both come back and are stored once', async () => {
    const t = await startTestbed({}, { orderingKeyBatch: 10 });
    let pump1Calls = 0;
    let secondStoredFirst = false;
    const scorer = new WatchedScorer(async (w) => {
      if (w.machineId !== 'pump-1' || pump1Calls++ > 0) return;
      secondStoredFirst = await stored(t, 'pump-2');
      throw new Error('model exploded');
    });
    await t.bed.publishBatch([makeWindow({ machine: 'pump-1', index: 0 })], 1);
    await t.bed.publishBatch([makeWindow({ machine: 'pump-2', index: 0 })], 1);
    const processor = await t.start({}, { scorer });
    await until(() => t.bed.stats().acked === 2, 'both acked after the redelivery', 10_000);
    expect(secondStoredFirst).toBe(true);
    // The emulator counts pump-1's nack; pump-2's came after that nack had ended its lease (as the
    // service redelivers a nacked message with every later one of its key) and is ignored, as there.
    expect(t.bed.stats()).toMatchObject({ nacked: 1, redelivered: 2 });
    // pump-2 handled twice (early, then redelivered behind pump-1's redelivery), its points written over themselves.
    expect(scorer.scored).toEqual(['pump-2', 'pump-1', 'pump-2']);
    expect(await featureCount(t, 'pump-1')).toBe(SENSORS.length);
    expect(await featureCount(t, 'pump-2')).toBe(SENSORS.length);
    expect(await t.count('SELECT COUNT(score) FROM anomaly')).toBe(2);
    expect(t.bed.deadLetters.messages).toHaveLength(0);
    // pump-2's early run, nacked behind pump-1, is not counted as acked: one window per acked batch.
    expect(await processor.metrics.value('pdm_processor_windows_acked_total')).toBe(2);
  });
});
