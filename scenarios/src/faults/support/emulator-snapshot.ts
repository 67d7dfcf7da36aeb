// The messages an emulator process still held for a subscription when it stopped, read from the
// snapshot it writes at a clean stop (pubsub-emulator/src/persistence.ts: pubsub-state.json in its
// data folder, every unacked message with the deliveries it had): Pub/Sub's own record of what its
// next life delivers again. Read after the stop, before the next start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HeldMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
  /** Deliveries so far: a message delivered and not acked is delivered again. */
  attempts: number;
}

interface Snapshot {
  subscriptions: Array<{ config: { name: string }; messages: Array<{ data: string; attributes: Record<string, string>; attempts: number }> }>;
}

export function heldAtStop(dataDir: string, subscription: string): HeldMessage[] {
  const file = join(dataDir, 'pubsub-state.json');
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const held = snapshot.subscriptions.find((s) => s.config.name === subscription);
  if (!held) throw new Error(`${file}: no subscription ${subscription}`);
  return held.messages.map((m) => ({ data: Buffer.from(m.data, 'base64'), attributes: m.attributes, attempts: m.attempts }));
}
