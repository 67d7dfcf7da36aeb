// Which shard of a gateway's machines a machine belongs to, for the ordering key of its FeatureBatch
// messages. A machine must stay in its shard for its windows to stay in order, so this is a stable
// hash: 32-bit FNV-1a over the id's UTF-8 bytes (machine ids are ASCII, [A-Za-z0-9_.-]), the same in
// every version and process. Changing the number of shards moves machines between ordering keys: do it
// with the outbox drained, or a machine's windows still queued under its old key may arrive after
// newer ones under its new key (the processor then skips the older revision or window).
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();
const fnvStep = (hash: number, byte: number) => Math.imul(hash ^ byte, FNV_PRIME) >>> 0;

export function shardOf(machineId: string, shards: number): number {
  // An ASCII id is its own UTF-8 bytes: hashed from its char codes, without encoding it (a buffer per
  // call, for every window published); any other through the encoder.
  let hash = FNV_OFFSET;
  for (let i = 0; i < machineId.length; i++) {
    const code = machineId.charCodeAt(i);
    if (code >= 0x80) return utf8ShardOf(machineId, shards);
    hash = fnvStep(hash, code);
  }
  return hash % shards;
}

function utf8ShardOf(machineId: string, shards: number): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(machineId)) hash = fnvStep(hash, byte);
  return hash % shards;
}
