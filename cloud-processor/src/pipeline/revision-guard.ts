// Keeps an older revision of a window from overwriting a newer one that is already written, and one
// revision from standing for two contents. Pub/Sub delivers in order per machine (ordering key), but
// a redelivery of revision 0 can still arrive after revision 1 was written. An equal revision with the
// same content is admitted (a plain redelivery rewrites the same values); with other content it is
// refused: the gateway never sends one idempotency key with two contents, so the second is a fault,
// and the first, already written, stays (`closedAt`, the gateway's clock at the close, is no content).
//
// In memory and bounded: per machine its last `windowsPerMachine` distinct windows (a machine's window
// older than those is forgotten when a newer one takes its slot), for the `machines` machines seen most
// recently (the one seen least recently is forgotten whole). After a restart, or for a forgotten window,
// a stale revision can win; the next revision, if any, corrects it. Each machine's memory is one
// Float64Array taken at its first window (24 bytes a window), so the guard's memory follows the number
// of machines, not the time run: the former Map of one entry per window (~170 bytes each) kept growing
// for ~17 minutes at 1,000 machines until it held its 100,000 windows (issue #17's soak).
import { createHash } from 'node:crypto';
import { encodeMachineWindow, type MachineWindow } from '@pdm/proto';
import { machineKey } from '../shared/machine-key.js';

export type RevisionVerdict = 'admit' | 'stale' | 'conflict';

export interface RevisionMemory {
  /** Machines remembered; beyond, the one seen least recently is forgotten. */
  machines: number;
  /** Distinct windows remembered per machine; beyond, its oldest slot is reused. */
  windowsPerMachine: number;
}

/** 48 bits of a SHA-1 of the window's bytes without closedAt: equal for equal content (exact in a double). */
function contentDigest(window: MachineWindow): number {
  const bytes = encodeMachineWindow({ ...window, closedAt: 0n });
  return createHash('sha1').update(bytes).digest().readUIntBE(0, 6);
}

/** Per slot: window start (epoch ms; NaN while the slot is empty), newest revision, its content digest. */
const SLOT = 3;

interface MachineWindows {
  slots: Float64Array;
  /** The slot the next new window takes: the oldest once all are used. */
  next: number;
}

export class RevisionGuard {
  /** Per machine, in recency order (the least recently seen first). */
  private readonly machines = new Map<string, MachineWindows>();

  /** `onForget`: called for each machine forgotten to make room for another (counted in a metric). */
  constructor(
    private readonly memory: RevisionMemory,
    private readonly onForget: () => void = () => {},
  ) {}

  admit(window: MachineWindow): RevisionVerdict {
    const machine = this.machineOf(machineKey(window));
    const start = Number(window.windowStart);
    const { slots } = machine;
    let at = -1;
    for (let i = 0; i < slots.length; i += SLOT) {
      if (slots[i] === start) {
        at = i;
        break;
      }
    }
    if (at >= 0 && slots[at + 1]! > window.revision) return 'stale';
    const digest = contentDigest(window);
    if (at >= 0 && slots[at + 1] === window.revision && slots[at + 2] !== digest) return 'conflict';
    if (at < 0) {
      at = machine.next * SLOT;
      machine.next = (machine.next + 1) % this.memory.windowsPerMachine;
      slots[at] = start;
    }
    slots[at + 1] = window.revision;
    slots[at + 2] = digest;
    return 'admit';
  }

  /** The machine's windows, now the most recently seen; taken (and the least recent forgotten) if new. */
  private machineOf(key: string): MachineWindows {
    let machine = this.machines.get(key);
    if (machine !== undefined) this.machines.delete(key);
    else {
      machine = { slots: new Float64Array(this.memory.windowsPerMachine * SLOT).fill(Number.NaN), next: 0 };
      if (this.machines.size >= this.memory.machines) {
        const leastRecent = this.machines.keys().next().value;
        if (leastRecent !== undefined) {
          this.machines.delete(leastRecent);
          this.onForget();
        }
      }
    }
    this.machines.set(key, machine);
    return machine;
  }
}
