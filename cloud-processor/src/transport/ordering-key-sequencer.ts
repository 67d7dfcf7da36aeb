// Runs the messages of one ordering key one after another, in the order they arrived, while messages
// of different keys (and messages without a key) run side by side. Pub/Sub delivers a key's messages in
// order, but Google's service may hand a client several of them at once (one StreamingPull response),
// and the Node client emits each at once, ignoring the promise a listener returns
// (googleapis/nodejs-pubsub#1609, #1796: "order is only for delivery"). Without this, a machine's
// windows would be handled concurrently: revision 0 written after revision 1, alerts fed out of order.
export class OrderingKeySequencer<Outcome> {
  /** The last task queued for each key that has one running or waiting. */
  private readonly tails = new Map<string, Promise<Outcome>>();

  /**
   * Runs task once every task queued before it for the same key has settled, and hands it the outcome
   * of the one just before (undefined when the key was idle). A message without a key ('') runs at
   * once. Tasks must not reject: a rejection would skip every task behind it.
   */
  run(key: string, task: (previous: Outcome | undefined) => Promise<Outcome>): Promise<Outcome> {
    if (key === '') return task(undefined);
    const previous = this.tails.get(key);
    const current = previous ? previous.then(task) : task(undefined);
    this.tails.set(key, current);
    const forget = () => {
      if (this.tails.get(key) === current) this.tails.delete(key);
    };
    current.then(forget, forget);
    return current;
  }

  /** Ordering keys with a task running or waiting. */
  activeKeys(): number {
    return this.tails.size;
  }
}
