// Writes this instance's health figures to the `pipeline` measurement every interval, for the
// Grafana pipeline dashboard: throughput (messages/s since the last report), dead letters, contract
// mismatches, in-flight messages, and the mean ack and end-to-end latency over the interval. A figure
// of the interval it has none of is left out rather than written as 0 (influx-series.ts ProcessorReport).
import type { Clock } from '@pdm/clock';
import type { Logger } from 'pino';
import type { InfluxSink } from '../sink/influx-sink.js';
import type { ProcessorReport } from '../sink/influx-series.js';
import { describeError } from '../shared/describe-error.js';
import type { ProcessorMetrics } from './metrics.js';
import { PeriodicReporter } from './periodic-reporter.js';

interface Totals {
  at: number;
  messages: number;
  ackSum: number;
  ackCount: number;
  e2eSum: number;
  e2eCount: number;
}

export class PipelineReporter extends PeriodicReporter {
  private last: Totals | undefined;

  constructor(
    private readonly sink: InfluxSink,
    private readonly metrics: ProcessorMetrics,
    private readonly instance: string,
    clock: Clock,
    private readonly log: Logger,
  ) {
    super(clock);
  }

  /** Writes one point now; resolves when it is stored (never rejects: a lost report is only logged). */
  async report(): Promise<void> {
    const totals = await this.totals();
    // The first report counts from the metrics' start (all zero), whose time is not known here: it has
    // no throughput (taken over no time at all, it read 1000 times the rate); its means cover what
    // settled since the start.
    const previous = this.last ?? { at: totals.at, messages: 0, ackSum: 0, ackCount: 0, e2eSum: 0, e2eCount: 0 };
    this.last = totals;
    const report: ProcessorReport = {
      messages: totals.messages,
      dead_letters: await this.metrics.value('pdm_processor_dead_letters_total'),
      contract_mismatches: await this.metrics.value('pdm_processor_score_outcomes_total', { outcome: 'contract_mismatch' }),
      in_flight: await this.metrics.value('pdm_processor_in_flight_messages'),
      open_alerts: await this.metrics.value('pdm_processor_open_alerts'),
    };
    const seconds = (totals.at - previous.at) / 1000;
    if (seconds > 0) report.throughput = (totals.messages - previous.messages) / seconds;
    const acks = totals.ackCount - previous.ackCount;
    if (acks > 0) report.ack_latency_ms = (1000 * (totals.ackSum - previous.ackSum)) / acks;
    const stored = totals.e2eCount - previous.e2eCount;
    if (stored > 0) report.lag_ms = (1000 * (totals.e2eSum - previous.e2eSum)) / stored;
    await this.sink.writeProcessorReport(this.instance, report, totals.at).catch((error: unknown) => {
      this.log.warn({ err: describeError(error) }, 'pipeline report not written');
    });
  }

  private async totals(): Promise<Totals> {
    const histogram = async (name: string) => {
      const { values } = await this.metrics.registry.getSingleMetric(name)!.get();
      const pick = (suffix: string) => values.find((v) => (v as { metricName?: string }).metricName === `${name}${suffix}`)?.value ?? 0;
      return { sum: pick('_sum'), count: pick('_count') };
    };
    const ack = await histogram('pdm_processor_ack_latency_seconds');
    const e2e = await histogram('pdm_processor_end_to_end_latency_seconds');
    return { at: this.clock.now(), messages: await this.metrics.value('pdm_processor_messages_total'), ackSum: ack.sum, ackCount: ack.count, e2eSum: e2e.sum, e2eCount: e2e.count };
  }
}
