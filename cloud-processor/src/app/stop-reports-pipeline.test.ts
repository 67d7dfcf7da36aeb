// A processor's stop writes a last `pipeline` point, after its in-flight messages finished and before
// the final flush: what it did since the previous report (here: no report yet) is not lost.
import { describe, expect, it, vi } from 'vitest';
import { useProcessorTestbeds } from '../test-support/processor-testbed.js';
import { ScriptedScorer } from '../test-support/scripted-scorer.js';
import { makeWindow } from '../test-support/windows.js';

describe('processor stop', () => {
  const startTestbed = useProcessorTestbeds();

  it('writes a last pipeline report of what it did since the previous one', async () => {
    const t = await startTestbed();
    const processor = await t.start({ pipelineReportIntervalMs: 60_000 }, { scorer: new ScriptedScorer() });
    for (const index of [0, 1, 2]) await t.bed.publishWindow(makeWindow({ machine: 'pump-1', index }));
    await vi.waitFor(async () => expect(await processor.metrics.value('pdm_processor_messages_total')).toBe(3), { timeout: 10_000 });
    await processor.stop();
    expect((await t.rows(`SELECT messages, in_flight, throughput FROM pipeline`)).map((row) => row.slice(1))).toEqual([[3, 0, null]]);
  });
});
