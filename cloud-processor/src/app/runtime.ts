// The parts of one running processor that NestJS controllers need, provided under one token.
import type { Scorer } from '../model/api.js';
import type { ProcessorMetrics } from '../ops/metrics.js';
import type { WindowPipeline } from '../pipeline/window-pipeline.js';
import type { InfluxSink } from '../sink/influx-sink.js';
import type { PubSubServer } from '../transport/pubsub-server.js';

export const PROCESSOR_RUNTIME = Symbol('PROCESSOR_RUNTIME');

export interface ProcessorRuntime {
  pipeline: WindowPipeline;
  sink: InfluxSink;
  scorer: Scorer;
  server: PubSubServer;
  metrics: ProcessorMetrics;
}
