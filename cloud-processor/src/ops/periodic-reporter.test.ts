// PeriodicReporter on a manual clock, with reports that finish when the test says: close() takes a last
// report beside the reports the timer started, and resolves once all are done.
import { ManualClock } from '@pdm/clock';
import { describe, expect, it } from 'vitest';
import { PeriodicReporter } from './periodic-reporter.js';

/** Records when each report was asked for; each finishes when its `done` is called. */
class HeldReporter extends PeriodicReporter {
  readonly reports: { at: number; done: () => void }[] = [];

  constructor(clock: ManualClock) {
    super(clock);
  }

  report(): Promise<void> {
    return new Promise((done) => this.reports.push({ at: this.clock.now(), done }));
  }
}

const turn = () => new Promise(setImmediate);

describe('PeriodicReporter', () => {
  it('reports once more at close, beside the report under way, resolving once both are done; then never again', async () => {
    const clock = new ManualClock(0);
    const reporter = new HeldReporter(clock);
    reporter.start(10_000);
    clock.advance(14_000); // the report at 10 s is under way
    let closed = false;
    const closing = reporter.close().then(() => (closed = true));
    await turn();
    expect(reporter.reports.map((r) => r.at)).toEqual([10_000, 14_000]);
    reporter.reports[1]!.done();
    await turn();
    expect(closed).toBe(false); // the one under way is not done yet
    reporter.reports[0]!.done();
    await closing;
    clock.advance(30_000);
    expect(reporter.reports).toHaveLength(2);
  });

  it('takes no report at close when reporting is off', async () => {
    const clock = new ManualClock(0);
    const reporter = new HeldReporter(clock);
    reporter.start(0);
    clock.advance(30_000);
    await reporter.close();
    expect(reporter.reports).toEqual([]);
  });
});
