// Runs the messages of one ordering key in the order they arrived, while messages of different keys
// (and messages without a key) run side by side. Pub/Sub delivers a key's messages in order, but
// Google's service may hand a client several of them at once (one StreamingPull response), and the
// Node client emits each at once, ignoring the promise a listener returns (googleapis/nodejs-pubsub#1609,
// #1796: "order is only for delivery"). Without this, a machine's windows would be handled concurrently:
// revision 0 written after revision 1, alerts fed out of order.
// A task starts once the one before it is released: when that one settles, or earlier when it says so
// (turn.release(): its work is handed on in order, e.g. its windows queued per machine, and only its
// InfluxDB writes remain). A task released early still settles after the one before it (its
// turn.previousSettled), so acks and nacks of a key keep their order.

/** What a task of a key is given besides the outcome before it. */
export interface Turn<Outcome> {
  /** Lets the key's next task start now instead of once this one settles. Idempotent. */
  readonly release: () => void;
  /** How the task before it ended (undefined: the key was idle). A task must settle only after it. */
  previousSettled: Promise<Outcome | undefined>;
}

interface Tail<Outcome> {
  released: Promise<void>;
  settled: Promise<Outcome>;
}

export class OrderingKeySequencer<Outcome> {
  /** The last task queued for each key that has one running or waiting. */
  private readonly tails = new Map<string, Tail<Outcome>>();

  /**
   * Runs task once the task queued before it for the same key is released, and hands it the outcome
   * of that one when it had already settled (undefined when the key was idle, or when it was released
   * early and is still running: then wait for turn.previousSettled). A message without a key ('') runs
   * at once. Tasks must not reject: a rejection would skip every task behind it.
   */
  run(key: string, task: (previous: Outcome | undefined, turn: Turn<Outcome>) => Promise<Outcome>): Promise<Outcome> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const before = key === '' ? undefined : this.tails.get(key);
    const turn: Turn<Outcome> = { release, previousSettled: before ? before.settled : Promise.resolve(undefined) };
    if (!before) {
      const settled = task(undefined, turn);
      return key === '' ? settled : this.remember(key, { released, settled }, release);
    }
    let outcomeBefore: Outcome | undefined;
    void before.settled.then((outcome) => (outcomeBefore = outcome));
    // before.released resolves at its settlement at the latest, after outcomeBefore is set (same promise, earlier callback).
    const settled = before.released.then(() => task(outcomeBefore, turn));
    return this.remember(key, { released, settled }, release);
  }

  /** Ordering keys with a task running or waiting. */
  activeKeys(): number {
    return this.tails.size;
  }

  private remember(key: string, tail: Tail<Outcome>, release: () => void): Promise<Outcome> {
    this.tails.set(key, tail);
    const settle = () => {
      release(); // released at settlement at the latest
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    tail.settled.then(settle, settle);
    return tail.settled;
  }
}
