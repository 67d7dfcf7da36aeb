// Pub/Sub message attributes fixed by the feature-message contract (ARCHITECTURE.md): consumers route
// on `schema` without decoding the body; `gateway` and `site` let them filter cheaply.
import type { DescMessage } from '@bufbuild/protobuf';

export const PUBSUB_ATTRIBUTES = {
  schema: 'schema',
  gateway: 'gateway',
  site: 'site',
} as const;

/** The `schema` attribute value for messages of the given type, e.g. `pdm.v1.MachineWindow`. */
export function schemaAttribute(schema: DescMessage): string {
  return schema.typeName;
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
