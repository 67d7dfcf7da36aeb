// How outbox rows (one encoded pdm.v1.MachineWindow each) become Pub/Sub messages. Alone: one message
// per window, ordering key = machine id, as gateways always sent them and every processor reads. In
// batches: the rows of one shard of the machines (shard.ts) go together in pdm.v1.FeatureBatch
// messages, ordering key = "<gateway>:<shard>", split so that one is at most `maxBytes` long;
// a window is carried as the bytes the outbox holds, never decoded. Processors must accept batches
// before a gateway sends them (README: upgrade processors first).
import {
  FeatureBatchSchema,
  MachineWindowSchema,
  decodeFeatureBatch,
  decodeMachineWindow,
  encodeFeatureBatchOf,
  featureBatchHeaderSize,
  featureBatchOrderingKey,
  featureBatchWindowSize,
  pubsubAttributes,
  schemaAttribute,
  type MachineWindow,
  type MessageSource,
} from '@pdm/proto';
import type { OutboxEntry } from '../outbox/index.js';
import { shardOf } from './shard.js';

/** One Pub/Sub message and the outbox rows it carries (they leave the outbox when it is confirmed). */
export interface FeatureMessage {
  entries: OutboxEntry[];
  data: Uint8Array;
  attributes: Record<string, string>;
}

export interface FeatureMessageFormat {
  /** The ordering key of the message a row goes in. */
  keyOf(entry: OutboxEntry): string;
  /** The messages of rows of one ordering key, given and returned in outbox order. */
  messages(entries: readonly OutboxEntry[]): FeatureMessage[];
}

/** One MachineWindow per message, ordering key = machine id. */
export function singleWindowMessages(source: MessageSource): FeatureMessageFormat {
  const attributes = pubsubAttributes(MachineWindowSchema, source);
  return {
    keyOf: (entry) => entry.machineId,
    messages: (entries) => entries.map((entry) => ({ entries: [entry], data: entry.payload, attributes })),
  };
}

export interface FeatureBatchOptions {
  /** Shards the gateway's machines are spread over: one ordering key each. */
  shards: number;
  /** The bytes of one batch message at most, its framing included (a window too large for that goes alone in a batch). */
  maxBytes: number;
}

/** The bytes of a FeatureBatch before its windows, for the shard of `machineId`: where counting a batch's size starts. */
export function batchHeaderBytes(source: MessageSource, shards: number, machineId: string): number {
  return featureBatchHeaderSize({ gatewayId: source.gatewayId, siteId: source.siteId, shard: shardOf(machineId, shards) });
}

/** FeatureBatch messages per shard, ordering key = "<gateway>:<shard>". */
export function featureBatchMessages(source: MessageSource, options: FeatureBatchOptions): FeatureMessageFormat {
  const attributes = pubsubAttributes(FeatureBatchSchema, source);
  const batchOf = (entries: OutboxEntry[]): FeatureMessage => {
    const shard = shardOf((entries[0] as OutboxEntry).machineId, options.shards);
    const data = encodeFeatureBatchOf({ gatewayId: source.gatewayId, siteId: source.siteId, shard }, entries.map((entry) => entry.payload));
    return { entries, data, attributes };
  };
  return {
    keyOf: (entry) => featureBatchOrderingKey(source.gatewayId, shardOf(entry.machineId, options.shards)),
    messages: (entries) => {
      if (entries.length === 0) return [];
      const header = batchHeaderBytes(source, options.shards, entries[0]!.machineId);
      const batches: FeatureMessage[] = [];
      let current: OutboxEntry[] = [];
      let bytes = header;
      for (const entry of entries) {
        const size = featureBatchWindowSize(entry.payload.byteLength);
        if (current.length > 0 && bytes + size > options.maxBytes) {
          batches.push(batchOf(current));
          current = [];
          bytes = header;
        }
        current.push(entry);
        bytes += size;
      }
      batches.push(batchOf(current));
      return batches;
    },
  };
}

const WINDOW_SCHEMA = schemaAttribute(MachineWindowSchema);
const BATCH_SCHEMA = schemaAttribute(FeatureBatchSchema);

/**
 * The windows a message of the feature topic carries, by its `schema` attribute: one for a
 * pdm.v1.MachineWindow, all of a pdm.v1.FeatureBatch in batch order, none for anything else (the
 * gateway's health reports share the topic). For whoever reads what gateways publish, in either format.
 */
export function windowsOfMessage(message: { data: Uint8Array; attributes: Readonly<Record<string, string>> }): MachineWindow[] {
  const schema = message.attributes.schema;
  if (schema === WINDOW_SCHEMA) return [decodeMachineWindow(message.data)];
  if (schema === BATCH_SCHEMA) return decodeFeatureBatch(message.data).windows;
  return [];
}
