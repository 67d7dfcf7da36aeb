// The Pub/Sub event handler for gateways' health reports (pdm.v1.GatewayHealth, routed by the `schema`
// attribute): one `pipeline` point each. Resolving acks the message, only after the point is written;
// a write failure nacks it. A report that names no gateway or no time decodes but can never be written
// usefully, so it goes to the dead-letter topic (reason `unusable`) instead of poisoning the InfluxDB
// batch it would join.
import { Controller, Inject, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { GatewayHealthSchema, schemaAttribute, type GatewayHealth } from '@pdm/proto';
import { InfluxSink } from '../sink/influx-sink.js';
import { UnusableMessageError } from '../transport/poison-message.js';
import { PassThroughRpcFilter } from './pass-through.filter.js';

@Controller()
@UseFilters(PassThroughRpcFilter)
export class GatewayHealthController {
  constructor(@Inject(InfluxSink) private readonly sink: InfluxSink) {}

  @EventPattern<string>(schemaAttribute(GatewayHealthSchema))
  async onHealth(@Payload() health: GatewayHealth): Promise<void> {
    if (!health.gatewayId || health.reportedAt <= 0n) {
      throw new UnusableMessageError(`GatewayHealth needs gateway_id and reported_at (got "${health.gatewayId}", ${health.reportedAt})`);
    }
    await this.sink.writeGatewayHealth(health);
  }
}
