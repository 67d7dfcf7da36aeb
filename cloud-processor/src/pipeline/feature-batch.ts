// What the processor does with one pdm.v1.FeatureBatch: each of its windows goes through the path of a
// window that came alone (WindowPipeline.handle: revision guard, scoring, InfluxDB, alert state), with
// the batch's settlement rules:
// - One machine's windows are handled one after another in batch order (the gateway's closing order),
//   different machines side by side, as messages of different ordering keys are; the pipeline keeps a
//   machine's windows in order across the batches of one ordering key (machine-lanes.ts).
// - It resolves once every window is stored, so the transport acks the batch once, after all of them.
// - A window that can never be used (a PoisonMessageError: the pipeline counts and logs it) is skipped,
//   and the rest of the batch goes on; a lone window would be dead-lettered instead.
// - Any other failure stops its machine's later windows (they must not overtake it) and, once every
//   other machine's windows are done, rejects (→ nack): the redelivered batch stores again what was
//   stored (idempotent: same points, an equal revision with the same content is admitted) and retries
//   the rest. A transient failure (InfluxDB unreachable) is the one reported when there is one, so the
//   batch is held back and nacked like a lone window in an outage, never counted towards dead-lettering;
//   else a failure of a window's own, so a failing batch is dead-lettered in the end; a refusal behind an
//   earlier batch's failure (EarlierWindowFailedError: nacked, not counted) only when there is nothing else.
import type { MachineWindow } from '@pdm/proto';
import { TransientError } from '../shared/transient-error.js';
import { BehindFailureError } from '../transport/behind-failure.js';
import { PoisonMessageError } from '../transport/poison-message.js';

/** Handles one window as if it had come alone; resolves once it is stored. */
export type WindowHandler = (window: MachineWindow) => Promise<void>;

export async function handleBatchWindows(windows: readonly MachineWindow[], handle: WindowHandler): Promise<void> {
  const byMachine = new Map<string, MachineWindow[]>();
  for (const window of windows) {
    const machineWindows = byMachine.get(window.machineId);
    if (machineWindows) machineWindows.push(window);
    else byMachine.set(window.machineId, [window]);
  }
  const results = await Promise.allSettled([...byMachine.values()].map((machineWindows) => handleInOrder(machineWindows, handle)));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) {
    throw failures.find((error) => error instanceof TransientError) ?? failures.find((error) => !(error instanceof BehindFailureError)) ?? failures[0];
  }
}

async function handleInOrder(windows: readonly MachineWindow[], handle: WindowHandler): Promise<void> {
  for (const window of windows) {
    try {
      await handle(window);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
    }
  }
}
