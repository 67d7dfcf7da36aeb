// The Pub/Sub event handler: one pdm.v1.MachineWindow per message (routed by the `schema` attribute).
// Resolving acks the message; throwing nacks it (see transport/pubsub-server.ts).
import { Controller, Inject, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { MachineWindowSchema, schemaAttribute, type MachineWindow } from '@pdm/proto';
import type { PubSubContext } from '../transport/pubsub-context.js';
import { PassThroughRpcFilter } from './pass-through.filter.js';
import { WindowPipeline } from './window-pipeline.js';

@Controller()
@UseFilters(PassThroughRpcFilter)
export class WindowsController {
  constructor(@Inject(WindowPipeline) private readonly pipeline: WindowPipeline) {}

  @EventPattern<string>(schemaAttribute(MachineWindowSchema))
  async onWindow(@Payload() window: MachineWindow, @Ctx() context: PubSubContext): Promise<void> {
    const message = context.getMessage();
    await this.pipeline.handle(window, { publishedAt: message.publishTime.getTime(), receivedAt: message.received });
  }
}
