// Publishes the drift of the model versions this instance serves (scoring/drift.ts) every interval, with
// the pipeline report: the worst feature PSI per version as the gauge pdm_processor_model_drift_psi, and
// a `model_drift` point per version in InfluxDB for the fleet dashboard and `pdm models list`.
import type { Clock } from '@pdm/clock';
import type { Logger } from 'pino';
import type { Scorer } from '../model/api.js';
import type { DriftMonitor } from '../scoring/drift.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import { describeError } from '../shared/describe-error.js';
import type { ProcessorMetrics } from './metrics.js';
import { PeriodicReporter } from './periodic-reporter.js';

export interface DriftReporterOptions {
  /** This processor's instance id (the points' `instance` tag). */
  instance: string;
  /** The PSI above which a version should be retrained (model.driftRetrainPsi), written with each point. */
  retrainPsi: number;
}

export class DriftReporter extends PeriodicReporter {
  constructor(
    private readonly monitor: DriftMonitor,
    private readonly scorer: Scorer,
    private readonly sink: InfluxSink,
    private readonly metrics: ProcessorMetrics,
    private readonly options: DriftReporterOptions,
    clock: Clock,
    private readonly log: Logger,
  ) {
    super(clock);
  }

  /** Updates the gauge and writes the points now; never rejects (a lost report is only logged). */
  async report(): Promise<void> {
    // Versions no longer served drop out of the gauge instead of showing their last PSI forever.
    this.monitor.retainOnly(this.scorer.loaded());
    const drifts = this.monitor.report();
    const gauge = this.metrics.modelDriftPsi;
    gauge.reset();
    for (const drift of drifts) gauge.set({ model: drift.model, version: drift.version }, drift.psi);
    if (drifts.length === 0) return;
    await this.sink.writeModelDrift(drifts, this.options.instance, this.options.retrainPsi, this.clock.now()).catch((error: unknown) => {
      this.log.warn({ err: describeError(error) }, 'model drift not written');
    });
  }
}
