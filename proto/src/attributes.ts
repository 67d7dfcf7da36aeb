// Pub/Sub message attributes fixed by the feature-message contract (ARCHITECTURE.md): consumers route
// on `schema` without decoding the body; `gateway` and `site` let them filter cheaply.
import type { DescMessage } from '@bufbuild/protobuf';

export const PUBSUB_ATTRIBUTES = {
  schema: 'schema',
  gateway: 'gateway',
  site: 'site',
} as const;

/**
 * The `schema` attribute value for messages of the given type: its full name. On the feature topic a
 * processor tells the kinds apart by it alone: `pdm.v1.FeatureBatch` (a gateway's windows of one tick
 * and shard), `pdm.v1.MachineWindow` (one window, from gateways that predate batches) and
 * `pdm.v1.GatewayHealth`.
 */
export function schemaAttribute(schema: DescMessage): string {
  return schema.typeName;
}

/**
 * The ordering key of a gateway's FeatureBatch messages for one shard of its machines: a machine's
 * windows stay in order because the gateway always puts it in the same shard.
 */
export function featureBatchOrderingKey(gatewayId: string, shard: number): string {
  return `${gatewayId}:${shard}`;
}

/** Where a message comes from: the gateway and site it names in its attributes. */
export interface MessageSource {
  gatewayId: string;
  siteId: string;
}

/**
 * Every attribute the contract puts on a message of type `schema` from `source`: the one builder of
 * them for everything that publishes on the feature topic (gateways, replays, test beds).
 */
export function pubsubAttributes(schema: DescMessage, source: MessageSource): Record<string, string> {
  return {
    [PUBSUB_ATTRIBUTES.schema]: schemaAttribute(schema),
    [PUBSUB_ATTRIBUTES.gateway]: source.gatewayId,
    [PUBSUB_ATTRIBUTES.site]: source.siteId,
  };
}
