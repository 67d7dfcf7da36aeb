// When each edge node may next be asked for a Rebirth (NCMD Node Control/Rebirth): at most once per
// sparkplug.rebirthIntervalMs. A node whose birth the gateway refused (beyond validation.maxMachines
// nodes, beyond as many devices of its node, or a machine another edge node feeds) goes on
// publishing data the gateway has no birth for, and each Rebirth it is asked for is refused again
// until another node or device dies and makes room. Asking every interval would make it republish
// all its births every 10 s forever; never asking again would leave it out until someone restarts
// it. So while the births a node sent after a request are refused, the wait before its next request
// is twice the last one, up to 32 intervals (5 min 20 s at the default 10 s): a refused node is asked
// rarely, and still takes the room within that bound once it is free. Once its births pass, its
// requests are one interval apart again; a node that does not answer at all is asked every interval.

const MAX_BACKOFF = 32;

interface NodeSchedule {
  /** When a Rebirth was last requested from the node; undefined before the first. */
  at: number | undefined;
  /** The wait after `at` in intervals if a birth of the node was refused since: doubles at each request then. */
  backoff: number;
  /** Whether a birth of the node was refused since `at`. */
  refused: boolean;
}

export class RebirthSchedule {
  /** By node ("group/node"), least recently requested first, at most maxNodes of them. */
  private readonly nodes = new Map<string, NodeSchedule>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxNodes: number,
  ) {}

  /** Whether a Rebirth may be requested from the node at `now`; if so, it counts as requested then. */
  due(node: string, now: number): boolean {
    const last = this.nodes.get(node);
    if (last?.at !== undefined && now - last.at < (last.refused ? last.backoff : 1) * this.intervalMs) return false;
    this.nodes.delete(node);
    this.remember(node, { at: now, backoff: last?.refused ? Math.min(2 * last.backoff, MAX_BACKOFF) : 1, refused: false });
    return true;
  }

  /** A birth of the node (its NBIRTH or a DBIRTH) was refused. */
  refused(node: string): void {
    const last = this.nodes.get(node);
    if (last === undefined) this.remember(node, { at: undefined, backoff: 1, refused: true });
    else last.refused = true;
  }

  private remember(node: string, schedule: NodeSchedule): void {
    this.nodes.set(node, schedule);
    if (this.nodes.size > this.maxNodes) this.nodes.delete(this.nodes.keys().next().value!);
  }
}
