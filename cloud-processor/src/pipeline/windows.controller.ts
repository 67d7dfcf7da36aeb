// The Pub/Sub event handlers of feature messages (routed by the `schema` attribute): a pdm.v1.FeatureBatch
// (a gateway's windows of one tick and shard) or a single pdm.v1.MachineWindow (gateways that predate
// batches). Every window takes the same path (WindowPipeline.handle). Throwing nacks the message;
// resolving acks it, unless a message of its ordering key published before it was nacked (then it is nacked too:
// see transport/pubsub-server.ts), so windows are counted as acked once the message is. Once a message's
// windows are queued per machine, the next message of its ordering key may start: it is scored while
// this one's points are written.
import { Controller, Inject, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { FeatureBatchSchema, MachineWindowSchema, schemaAttribute, type FeatureBatch, type MachineWindow } from '@pdm/proto';
import { ProcessorMetrics } from '../ops/metrics.js';
import type { PubSubContext } from '../transport/pubsub-context.js';
import { undecodableWindowsOf } from '../transport/protobuf-deserializer.js';
import { handleBatchWindows } from './feature-batch.js';
import { PassThroughRpcFilter } from './pass-through.filter.js';
import { WindowPipeline, type DeliveryTimes } from './window-pipeline.js';

const deliveryTimes = (context: PubSubContext): DeliveryTimes => {
  const message = context.getMessage();
  return { publishedAt: message.publishTime.getTime(), receivedAt: message.received };
};

@Controller()
@UseFilters(PassThroughRpcFilter)
export class WindowsController {
  constructor(
    @Inject(WindowPipeline) private readonly pipeline: WindowPipeline,
    @Inject(ProcessorMetrics) private readonly metrics: ProcessorMetrics,
  ) {}

  @EventPattern<string>(schemaAttribute(FeatureBatchSchema))
  async onBatch(@Payload() batch: FeatureBatch, @Ctx() context: PubSubContext): Promise<void> {
    const delivery = deliveryTimes(context);
    const settled = context.settled();
    this.metrics.windowsReceived.inc(batch.windows.length);
    this.countAcked(settled, batch.windows.length);
    let handedOn = 0;
    await handleBatchWindows(
      batch.windows,
      (window) => {
        const stored = this.pipeline.handle(window, delivery, settled);
        // Every window is queued behind its machine's earlier ones: the key's next batch cannot overtake them.
        if (++handedOn === batch.windows.length) context.releaseOrderingKey();
        return stored;
      },
      undecodableWindowsOf(batch),
    );
  }

  @EventPattern<string>(schemaAttribute(MachineWindowSchema))
  async onWindow(@Payload() window: MachineWindow, @Ctx() context: PubSubContext): Promise<void> {
    this.metrics.windowsReceived.inc();
    const settled = context.settled();
    this.countAcked(settled, 1);
    const stored = this.pipeline.handle(window, deliveryTimes(context), settled);
    context.releaseOrderingKey(); // queued behind its machine's earlier windows
    await stored;
  }

  private countAcked(settled: Promise<unknown>, windows: number): void {
    void settled.then((outcome) => {
      if (outcome === 'acked') this.metrics.windowsAcked.inc(windows);
    });
  }
}
