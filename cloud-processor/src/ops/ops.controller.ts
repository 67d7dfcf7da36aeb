// Operations endpoints: /healthz (the process serves), /readyz (its dependencies answer: Pub/Sub
// subscription, InfluxDB, a loaded model) and /metrics (Prometheus text format).
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { Scorer } from '../model/api.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { PubSubServer } from '../transport/pubsub-server.js';
import { ProcessorMetrics } from './metrics.js';

export const READINESS_TIMEOUT_MS = 3_000;

@Controller()
export class OpsController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(PubSubServer) private readonly server: PubSubServer,
    @Inject(InfluxSink) private readonly sink: InfluxSink,
    @Inject(Scorer) private readonly scorer: Scorer,
    @Inject(ProcessorMetrics) private readonly processorMetrics: ProcessorMetrics,
  ) {}

  @Get('healthz')
  @HealthCheck()
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('readyz')
  @HealthCheck()
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.check('pubsub').attempt(() => this.server.checkSubscription()).withTimeout(READINESS_TIMEOUT_MS),
      () => this.indicators.check('influxdb').attempt(() => this.sink.ping(READINESS_TIMEOUT_MS)).withTimeout(READINESS_TIMEOUT_MS),
      () => {
        const models = this.scorer.loaded();
        const model = this.indicators.check('model');
        return models.length > 0 ? model.up({ models }) : model.down({ message: 'no model loaded from the registry' });
      },
    ]);
  }

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.processorMetrics.registry.metrics();
  }
}
