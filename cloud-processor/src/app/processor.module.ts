// The NestJS module of one processor: the Pub/Sub event controllers, the ops endpoints, and the
// runtime (built outside Nest by startProcessor, so tests and the CLI can inject parts) as a value.
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { OpsController } from '../ops/ops.controller.js';
import { GatewayHealthController } from '../pipeline/gateway-health.controller.js';
import { WindowsController } from '../pipeline/windows.controller.js';
import { PROCESSOR_RUNTIME, type ProcessorRuntime } from './runtime.js';

@Module({})
export class ProcessorModule {
  static register(runtime: ProcessorRuntime): DynamicModule {
    return {
      module: ProcessorModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [WindowsController, GatewayHealthController, OpsController],
      providers: [{ provide: PROCESSOR_RUNTIME, useValue: runtime }],
    };
  }
}
