// What the processor does with one pdm.v1.FeatureBatch: each of its windows goes through the path of a
// window that came alone (WindowPipeline.handle: revision guard, scoring, InfluxDB, alert state), with
// the batch's settlement rules:
// - Every window is handed on at once, in batch order (the gateway's closing order): the pipeline's queue
//   per machine (machine-lanes.ts) handles one machine's windows one after another, across the batches of
//   one ordering key, different machines side by side, so the key's next batch may start at once.
// - It resolves once every window is stored, so the transport acks the batch once, after all of them.
// - A window that can never be used (a PoisonMessageError: the pipeline counts and logs it) is skipped,
//   and the rest of the batch goes on; a lone window would be dead-lettered instead.
// - A window that did not decode is not among `windows` (transport/protobuf-deserializer.ts says why:
//   `undecodable`): once every other window is stored, it rejects with that UndecodableMessageError, so the transport
//   dead-letters the batch whole (its bytes kept for inspection, the window named) and acks it only once
//   the dead letter is confirmed, else nacks it: the redelivered batch stores its windows again. Any
//   failure below is reported first: the dead letter waits until every usable window is stored.
// - Any other failure stops its machine's later windows (the queue refuses them: they must not overtake
//   it) and, once every other window is done, rejects (→ nack): the redelivered batch stores again what was
//   stored (idempotent: same points, an equal revision with the same content is admitted) and retries
//   the rest. A transient failure (InfluxDB unreachable) is the one reported when there is one, so the
//   batch is held back and nacked like a lone window in an outage, never counted towards dead-lettering;
//   else a failure of a window's own, so a failing batch is dead-lettered in the end; a refusal behind an
//   earlier batch's failure (EarlierWindowFailedError: nacked, not counted) only when there is nothing else.
import type { MachineWindow } from '@pdm/proto';
import { TransientError } from '../shared/transient-error.js';
import { BehindFailureError } from '../transport/behind-failure.js';
import { PoisonMessageError } from '../transport/poison-message.js';
import type { UndecodableMessageError } from '../transport/poison-message.js';

/** Handles one window as if it had come alone, after its machine's windows handed on before it (WindowPipeline.handle); resolves once it is stored. */
export type WindowHandler = (window: MachineWindow) => Promise<void>;

export async function handleBatchWindows(windows: readonly MachineWindow[], handle: WindowHandler, undecodable?: UndecodableMessageError): Promise<void> {
  const results = await Promise.allSettled(windows.map((window) => handle(window)));
  const failures = results.flatMap((result) => (result.status === 'rejected' && !(result.reason instanceof PoisonMessageError) ? [result.reason as unknown] : []));
  if (failures.length > 0) {
    throw failures.find((error) => error instanceof TransientError) ?? failures.find((error) => !(error instanceof BehindFailureError)) ?? failures[0];
  }
  if (undecodable) throw undecodable;
}
