// Keeps an older revision of a window from overwriting a newer one that is already written, and one
// revision from standing for two contents. Pub/Sub delivers in order per machine (ordering key), but
// a redelivery of revision 0 can still arrive after revision 1 was written. An equal revision with the
// same content is admitted (a plain redelivery rewrites the same values); with other content it is
// refused: the gateway never sends one idempotency key with two contents, so the second is a fault,
// and the first, already written, stays (`closedAt`, the gateway's clock at the close, is no content).
// In memory and bounded (oldest windows forgotten first): after a restart, or for windows older than
// the last `capacity` ones, a stale revision can win; the next revision, if any, corrects it.
import { createHash } from 'node:crypto';
import { encodeMachineWindow, type MachineWindow } from '@pdm/proto';

export type RevisionVerdict = 'admit' | 'stale' | 'conflict';

/** 48 bits of a SHA-1 of the window's bytes without closedAt: equal for equal content. */
function contentDigest(window: MachineWindow): number {
  const bytes = encodeMachineWindow({ ...window, closedAt: 0n });
  return createHash('sha1').update(bytes).digest().readUIntBE(0, 6);
}

export class RevisionGuard {
  /** Newest revision seen per window, with the digest of its content. */
  private readonly newest = new Map<string, { revision: number; digest: number }>();

  constructor(private readonly capacity: number) {}

  admit(window: MachineWindow): RevisionVerdict {
    const key = `${window.machineId}\u0000${window.windowStart}`;
    const seen = this.newest.get(key);
    if (seen !== undefined && seen.revision > window.revision) return 'stale';
    const digest = contentDigest(window);
    if (seen !== undefined && seen.revision === window.revision && seen.digest !== digest) return 'conflict';
    this.newest.delete(key);
    this.newest.set(key, { revision: window.revision, digest });
    if (this.newest.size > this.capacity) {
      const oldest = this.newest.keys().next().value;
      if (oldest !== undefined) this.newest.delete(oldest);
    }
    return 'admit';
  }
}
