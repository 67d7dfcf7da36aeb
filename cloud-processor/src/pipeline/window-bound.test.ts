// pubsub.maxWindowsInFlight: the windows of a FeatureBatch (and lone windows beside them) are scored
// and written at most that many at once, the rest wait their turn; and the window counters beside the
// per-message one.
import type { MachineWindow } from '@pdm/proto';
import { until } from '@pdm/pubsub-emulator/testing';
import { describe, expect, it } from 'vitest';
import { loadProcessorConfig } from '../config/index.js';
import type { ScoreOutcome } from '../model/api.js';
import { deferred, type Deferred } from '../test-support/deferred.js';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow } from '../test-support/windows.js';
import { WindowSlots } from './window-slots.js';

/** Lets every settled promise's reactions run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WindowSlots', () => {
  it('runs at most `max` at once and starts the waiting ones in the order they asked', async () => {
    const slots = new WindowSlots(2);
    const started: number[] = [];
    const held = Array.from({ length: 5 }, () => deferred());
    const runs = held.map((d, i) => slots.run(() => (started.push(i), d.promise)));
    await settle();
    expect({ started, inUse: slots.inUse, queued: slots.queued }).toEqual({ started: [0, 1], inUse: 2, queued: 3 });
    held[1]!.resolve();
    await settle();
    expect({ started, inUse: slots.inUse, queued: slots.queued }).toEqual({ started: [0, 1, 2], inUse: 2, queued: 2 });
    held[0]!.reject(new Error('failed')); // a failure frees its slot too, and is passed on
    await expect(runs[0]).rejects.toThrow('failed');
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const d of held.slice(2)) d.resolve();
    await Promise.all(runs.slice(1));
    expect({ started, inUse: slots.inUse, queued: slots.queued }).toEqual({ started: [0, 1, 2, 3, 4], inUse: 0, queued: 0 });
  });

  it('refuses a bound below one', () => {
    expect(() => new WindowSlots(0)).toThrow(/maxWindowsInFlight must be a positive integer, got 0/);
  });
});

it('pubsub.maxWindowsInFlight: a positive integer, 2,000 by default, a bad one refused naming the key', () => {
  expect(loadProcessorConfig({ env: {} }).pubsub.maxWindowsInFlight).toBe(2_000);
  expect(loadProcessorConfig({ env: { PDM_PROCESSOR_PUBSUB__MAX_WINDOWS_IN_FLIGHT: '4' } }).pubsub.maxWindowsInFlight).toBe(4);
  expect(() => loadProcessorConfig({ env: { PDM_PROCESSOR_PUBSUB__MAX_WINDOWS_IN_FLIGHT: '0' } })).toThrow(/pubsub\.maxWindowsInFlight \(from PDM_PROCESSOR_PUBSUB__MAX_WINDOWS_IN_FLIGHT\): Too small/);
});

/** A scorer that holds every window until the test lets it go, and tracks how many it holds at once. */
class HoldingScorer extends ScriptedScorer {
  readonly held: Array<{ machine: string; release: Deferred }> = [];
  mostAtOnce = 0;

  override async score(window: MachineWindow): Promise<ScoreOutcome> {
    const release = deferred();
    this.held.push({ machine: window.machineId, release });
    this.mostAtOnce = Math.max(this.mostAtOnce, this.held.length);
    await release.promise;
    this.held.splice(this.held.findIndex((h) => h.release === release), 1);
    return super.score(window);
  }
}

/** Polls a processor metric until it reads `expected` (the metrics are read asynchronously). */
async function untilMetric(processor: { metrics: { value(name: string): Promise<number> } }, name: string, expected: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await processor.metrics.value(name)) !== expected) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name} to read ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a processor with pubsub.maxWindowsInFlight', () => {
  const startTestbed = useProcessorTestbeds();

  it('scores a batch of 6 machines and a lone window 2 at a time, and counts 7 windows received and acked in 2 messages', async () => {
    const t = await startTestbed();
    const scorer = new HoldingScorer();
    const processor = await t.start({ pubsub: { maxWindowsInFlight: 2 } }, { scorer });
    const machines = ['pump-1', 'pump-2', 'pump-3', 'pump-4', 'pump-5', 'pump-6'];
    await t.bed.publishBatch(machines.map((machine) => makeWindow({ machine })));
    await t.bed.publishWindow(makeWindow({ machine: 'fan-1' }));
    // Both messages handed to the pipeline: the batch alone already makes two windows wait in the scorer.
    await untilMetric(processor, 'pdm_processor_windows_received_total', 7);
    // From the count to the scorer a window needs only promise reactions (no I/O, no timer), so once
    // they have run, an unbound pipeline would be scoring all 7 by now.
    await settle();
    expect(scorer.held.length).toBe(2);
    expect(await processor.metrics.value('pdm_processor_windows_in_flight')).toBe(2);
    for (let released = 0; released < 7; released++) {
      await until(() => scorer.held.length > 0, `window ${released + 1} being scored`);
      scorer.held[0]!.release.resolve();
      await settle();
    }
    await until(() => t.bed.stats().acked === 2, 'the batch and the lone window acked');
    expect(scorer.calls).toBe(7);
    expect(scorer.mostAtOnce).toBe(2);
    expect(await processor.metrics.value('pdm_processor_windows_acked_total')).toBe(7);
    expect(await processor.metrics.value('pdm_processor_messages_total', { outcome: 'acked' })).toBe(2);
    expect(await processor.metrics.value('pdm_processor_windows_in_flight')).toBe(0);
  });
});
