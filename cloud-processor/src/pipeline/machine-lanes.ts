// One machine's windows are handled one after another, in the order they were handed in, whichever
// message brought them: the transport may start the next message of an ordering key as soon as the
// windows of the one before are queued here (PubSubContext.releaseOrderingKey), before they are stored,
// so this queue, not the transport, keeps a machine's scoring, writes and alerts in order.
// A window that failed (anything but a window that can never be used, which is skipped) stops its
// machine: the windows queued behind it, and those handed in before its message is settled (nacked),
// are refused unhandled with an EarlierWindowFailedError, so none is scored before the failed one is
// redelivered. Their messages are nacked too (a later message of the key behind a nack), or, when the
// failed message was dead-lettered instead, nacked for the refusal (never counted towards their own
// dead-lettering) and redelivered.
import { BehindFailureError } from '../transport/behind-failure.js';
import { PoisonMessageError } from '../transport/poison-message.js';

/** Not a failure of its window's own: the transport nacks its message without counting it towards dead-lettering. */
export class EarlierWindowFailedError extends BehindFailureError {
  constructor(machineId: string) {
    super(`an earlier window of machine "${machineId}" failed; this one waits for its redelivery`);
  }
}

interface Lane {
  /** Resolves once the last window handed in is done: true when the machine may go on. */
  tail: Promise<boolean>;
  /** Windows handed in and not done. */
  queued: number;
  /** Failed windows whose message is not settled yet: while any, the machine's windows are refused. */
  failures: number;
}

export class MachineLanes {
  private readonly lanes = new Map<string, Lane>();

  /**
   * Runs `work` for a window of `machineId` once the machine's windows handed in before are done;
   * `settled` resolves when the window's message is acked or nacked (how long a failure stops the machine).
   */
  run(machineId: string, work: () => Promise<void>, settled: Promise<unknown>): Promise<void> {
    const lane = this.lanes.get(machineId) ?? { tail: Promise.resolve(true), queued: 0, failures: 0 };
    this.lanes.set(machineId, lane);
    lane.queued++;
    const done = lane.tail.then((goOn) => {
      if (!goOn || lane.failures > 0) throw new EarlierWindowFailedError(machineId);
      return work();
    });
    lane.tail = done.then(
      () => true,
      (error: unknown) => {
        if (error instanceof PoisonMessageError) return true;
        if (!(error instanceof EarlierWindowFailedError)) this.stopUntil(machineId, lane, settled);
        return false;
      },
    );
    void lane.tail.then(() => {
      lane.queued--;
      this.forgetIfIdle(machineId, lane);
    });
    return done;
  }

  /** Machines with windows queued or a failure standing. */
  get activeMachines(): number {
    return this.lanes.size;
  }

  private stopUntil(machineId: string, lane: Lane, settled: Promise<unknown>): void {
    lane.failures++;
    const resume = () => {
      lane.failures--;
      this.forgetIfIdle(machineId, lane);
    };
    settled.then(resume, resume);
  }

  private forgetIfIdle(machineId: string, lane: Lane): void {
    if (lane.queued === 0 && lane.failures === 0 && this.lanes.get(machineId) === lane) this.lanes.delete(machineId);
  }
}
