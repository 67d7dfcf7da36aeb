// Operations endpoints: /healthz (the process serves and still pulls from Pub/Sub), /readyz (its
// dependencies answer: Pub/Sub subscription, InfluxDB, a loaded model) and /metrics (Prometheus text
// format).
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { escape } from 'influx';
import { Registry } from 'prom-client';
import { Scorer } from '../model/api.js';
import { describeError } from '../shared/describe-error.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { PubSubServer } from '../transport/pubsub-server.js';
import { ProcessorMetrics } from './metrics.js';

export const READINESS_TIMEOUT_MS = 3_000;

/** Injection token of the InfluxDB database name (config influx.database) the readiness check queries. */
export const INFLUX_DATABASE = Symbol('INFLUX_DATABASE');

@Controller()
export class OpsController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(PubSubServer) private readonly server: PubSubServer,
    @Inject(InfluxSink) private readonly sink: InfluxSink,
    @Inject(INFLUX_DATABASE) private readonly influxDatabase: string,
    @Inject(Scorer) private readonly scorer: Scorer,
    @Inject(ProcessorMetrics) private readonly processorMetrics: ProcessorMetrics,
  ) {}

  /** Fails once the Pub/Sub client gave up pulling: it never starts again by itself, a restart does. */
  @Get('healthz')
  @HealthCheck()
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => {
        const pubsub = this.indicators.check('pubsub');
        const failure = this.server.failure;
        return failure ? pubsub.down({ message: failure.message }) : pubsub.up();
      },
    ]);
  }

  @Get('readyz')
  @HealthCheck()
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.check('pubsub').attempt(() => this.server.checkSubscription()).withTimeout(READINESS_TIMEOUT_MS),
      () => this.indicators.check('influxdb').attempt(() => this.checkInflux()).withTimeout(READINESS_TIMEOUT_MS),
      () => {
        const models = this.scorer.loaded();
        const model = this.indicators.check('model');
        return models.length > 0 ? model.up({ models }) : model.down({ message: 'no model loaded from the registry' });
      },
    ]);
  }

  /**
   * A cheap query rather than /ping, which InfluxDB answers without credentials or a database: with
   * rotated credentials or the database dropped, /ping answers while every write fails.
   */
  private async checkInflux(): Promise<void> {
    try {
      await this.sink.query(`SHOW RETENTION POLICIES ON ${escape.quoted(this.influxDatabase)}`);
    } catch (error) {
      throw new Error(`cannot query ${this.influxDatabase}: ${describeError(error)}`, { cause: error });
    }
  }

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.processorMetrics.registry.metrics();
  }
}
