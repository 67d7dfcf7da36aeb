// Every write the processor made beyond one per window, explained window by window. The processor
// counts every window of every delivery it gets (pdm_processor_windows_received_total) and every
// window of every message it acks (pdm_processor_windows_acked_total). Past one write per window,
// each of its writes is one of
//   revised:     a later revision of a window (its own idempotency key; its point overwrites the last),
//   republished: a window the gateway published again under the same idempotency key,
//   redelivered: a window of a message Pub/Sub delivered again.
// The first two are read off a tap (a subscription that receives every message published, each
// counted once), the last from Pub/Sub's record of the messages it delivered again, decoded window by
// window: both independent of the processor, whose two counts must then match them exactly.
import type { MachineWindow } from '@pdm/proto';
import { expect } from 'vitest';
import { type WindowKey, windowKey } from './windows.js';

export interface PublishedWindows {
  /** The windows published, each (machine, window_start) once. */
  keys: Set<WindowKey>;
  /** Windows in every message published, each message once. */
  published: number;
  /** Later revisions of a window (a new idempotency key). */
  revised: number;
  /** Windows published again under an idempotency key already published. */
  republished: number;
}

/** What the windows of every message published (windowsOfMessages of a tap) consist of. */
export function publishedWindows(windows: readonly MachineWindow[]): PublishedWindows {
  const keys = new Set<WindowKey>();
  const idempotencyKeys = new Set<string>();
  for (const w of windows) {
    keys.add(windowKey(w.machineId, Number(w.windowStart)));
    idempotencyKeys.add(`${w.machineId}@${w.windowStart}/v${w.featureVersion}/r${w.revision}`);
  }
  return { keys, published: windows.length, revised: idempotencyKeys.size - keys.size, republished: windows.length - idempotencyKeys.size };
}

export interface WriteAccounting extends Omit<PublishedWindows, 'keys'> {
  /** The windows InfluxDB holds, each once. */
  windows: number;
  /** Windows of the messages Pub/Sub delivered again, by its record. */
  redeliveredWindows: number;
  /** The processor's counts. */
  received: number;
  acked: number;
}

/**
 * The processor received exactly the windows Pub/Sub delivered (every window published, and those of
 * every message delivered again) and acked every one of them; so its writes beyond one per window are
 * exactly the revisions, the windows published again and the windows delivered again.
 */
export function expectEveryWriteExplained(a: WriteAccounting): void {
  expect(a.published).toBe(a.windows + a.revised + a.republished);
  expect({ received: a.received, acked: a.acked }).toEqual({
    received: a.published + a.redeliveredWindows,
    acked: a.windows + a.revised + a.republished + a.redeliveredWindows,
  });
}
