// The NestJS module of one processor: the Pub/Sub event controllers, the ops endpoints, and the parts
// they use as providers. The parts are built outside Nest by startProcessor (so tests and the CLI can
// inject them) and registered here under their classes, which are the injection tokens.
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Scorer } from '../model/api.js';
import type { Clock } from '@pdm/clock';
import type { AlertWorkflow } from '../alerts/alert-workflow.js';
import { AlertsApiModule } from '../ops/alerts-api.js';
import { ProcessorMetrics } from '../ops/metrics.js';
import { INFLUX_DATABASE, OpsController } from '../ops/ops.controller.js';
import { GatewayHealthController } from '../pipeline/gateway-health.controller.js';
import { WindowPipeline } from '../pipeline/window-pipeline.js';
import { WindowsController } from '../pipeline/windows.controller.js';
import { InfluxSink } from '../sink/influx-sink.js';
import { PubSubServer } from '../transport/pubsub-server.js';

export interface ProcessorParts {
  pipeline: WindowPipeline;
  sink: InfluxSink;
  /** The sink's database (config influx.database), which readiness queries. */
  influxDatabase: string;
  scorer: Scorer;
  server: PubSubServer;
  metrics: ProcessorMetrics;
  /** The alert workflow's HTTP API; unset (no http.apiToken), it is not served. */
  alertsApi?: { workflow: AlertWorkflow; token: string; clock: Clock };
}

@Module({})
export class ProcessorModule {
  static register(parts: ProcessorParts): DynamicModule {
    return {
      module: ProcessorModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(parts.alertsApi ? [AlertsApiModule.register(parts.alertsApi.workflow, parts.alertsApi.token, parts.alertsApi.clock)] : [])],
      controllers: [WindowsController, GatewayHealthController, OpsController],
      providers: [
        { provide: WindowPipeline, useValue: parts.pipeline },
        { provide: InfluxSink, useValue: parts.sink },
        { provide: INFLUX_DATABASE, useValue: parts.influxDatabase },
        { provide: Scorer, useValue: parts.scorer },
        { provide: PubSubServer, useValue: parts.server },
        { provide: ProcessorMetrics, useValue: parts.metrics },
      ],
    };
  }
}
