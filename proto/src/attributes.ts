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
