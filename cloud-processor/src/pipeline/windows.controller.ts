// The Pub/Sub event handler: one pdm.v1.MachineWindow per message (routed by the `schema` attribute).
// Resolving acks the message; throwing nacks it (see transport/pubsub-server.ts).
import { Controller, Inject, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { MachineWindowSchema, schemaAttribute, type MachineWindow } from '@pdm/proto';
import { PROCESSOR_RUNTIME, type ProcessorRuntime } from '../app/runtime.js';
import { PassThroughRpcFilter } from './pass-through.filter.js';

@Controller()
@UseFilters(PassThroughRpcFilter)
export class WindowsController {
  constructor(@Inject(PROCESSOR_RUNTIME) private readonly runtime: ProcessorRuntime) {}

  @EventPattern<string>(schemaAttribute(MachineWindowSchema))
  async onWindow(@Payload() window: MachineWindow): Promise<void> {
    await this.runtime.pipeline.handle(window);
  }
}
