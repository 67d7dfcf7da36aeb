// Sits between the fleet and the MQTT sink and misbehaves on purpose, like a real plant network and
// real devices do: late deliveries, shuffled bursts, duplicates, skewed device clocks, malformed
// payloads and connection drops. It draws from its own random streams, so the readings themselves
// are identical with chaos on or off; only their delivery changes. Every act is counted.
import { Rng } from '../random/prng.js';
import type { PayloadFormat, SensorMessage } from '../output/messages.js';
import { type WireMessage, encodeMessage } from '../output/payloads.js';
import { MALFORMED_KINDS, type MalformedKind, malformedMessage } from './malformed.js';
import type { ChaosOptions, DelaySpec } from './options.js';

export interface ChaosCounters {
  late: number;
  /** Late messages still held when the run ended, sent at the end instead of at their due time. */
  lateFlushedAtEnd: number;
  reorderedBursts: number;
  reordered: number;
  duplicated: number;
  malformed: Record<MalformedKind, number>;
  drops: number;
  /** Each machine's fixed clock offset (ms), for machines whose clock is off. */
  clockSkewMs: Record<string, number>;
}

interface Held {
  due: number;
  message: SensorMessage;
}

export class ChaosStage {
  readonly counters: ChaosCounters = {
    late: 0,
    lateFlushedAtEnd: 0,
    reorderedBursts: 0,
    reordered: 0,
    duplicated: 0,
    malformed: { bad_json: 0, nan: 0, wrong_type: 0, bad_topic: 0 },
    drops: 0,
    clockSkewMs: {},
  };
  private readonly rng: Rng;
  private readonly burstRng: Rng;
  private readonly skew = new Map<string, number>();
  /** Late messages, kept sorted by due time (ascending). */
  private held: Held[] = [];
  /** Per machine: messages of an ongoing out-of-order burst and ticks left in it. */
  private readonly bursts = new Map<string, { ticksLeft: number; messages: SensorMessage[] }>();

  constructor(
    private readonly options: ChaosOptions,
    seed: number,
    machines: readonly string[],
    private readonly format: PayloadFormat,
    private readonly emit: (wire: WireMessage) => void,
  ) {
    this.rng = new Rng(seed, 'chaos');
    this.burstRng = new Rng(seed, 'chaos', 'bursts');
    for (const machine of machines) {
      const offset = Math.round(options.clockSkewSigmaMs * new Rng(seed, machine, 'clock-skew').normal());
      this.skew.set(machine, offset);
      if (offset !== 0) this.counters.clockSkewMs[machine] = offset;
    }
  }

  /** The fixed clock offset (ms) the device of `sensor` on `machine` adds to every ts it reports. */
  skewOf(machine: string, sensor: string): number {
    return (this.skew.get(machine) ?? 0) + (this.options.sensorClockSkewMs?.[machine]?.[sensor] ?? 0);
  }

  /** Start of a tick at virtual time `now`: releases late messages that are due, advances bursts. */
  beginTick(now: number): void {
    while (this.held.length > 0 && (this.held[0]?.due ?? Infinity) <= now) {
      const next = this.held.shift();
      if (next) this.send(next.message);
    }
  }

  /** End of a tick: bursts that have collected their ticks go out shuffled. */
  endTick(): void {
    for (const [machine, burst] of this.bursts) {
      if (--burst.ticksLeft > 0) continue;
      this.bursts.delete(machine);
      this.shuffle(burst.messages);
      for (const m of burst.messages) this.send(m);
    }
  }

  /** One machine's messages for one tick. */
  pushTick(machine: string, messages: readonly SensorMessage[]): void {
    const o = this.options;
    let burst = this.bursts.get(machine);
    if (!burst && o.outOfOrderProbability > 0 && this.burstRng.chance(o.outOfOrderProbability)) {
      burst = { ticksLeft: Math.max(2, o.outOfOrderBurst), messages: [] };
      this.bursts.set(machine, burst);
      this.counters.reorderedBursts++;
    }
    for (const message of messages) {
      if (o.malformedProbability > 0 && this.rng.chance(o.malformedProbability)) {
        const kind = this.rng.pick(MALFORMED_KINDS);
        this.counters.malformed[kind]++;
        this.emit(malformedMessage(kind, message, this.format, this.rng));
        continue;
      }
      if (o.lateProbability > 0 && this.rng.chance(o.lateProbability)) {
        this.counters.late++;
        this.hold({ due: message.ts + this.delay(o.lateDelay), message });
        continue;
      }
      const copies = o.duplicateProbability > 0 && this.rng.chance(o.duplicateProbability) ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      for (let c = 0; c < copies; c++) {
        if (burst) {
          burst.messages.push(message);
          this.counters.reordered++;
        } else this.send(message);
      }
    }
  }

  /**
   * Whether a connection drop falls in the next `tickMs` of virtual time (at most one per tick),
   * and which of `connections` it hits.
   */
  dropInTick(tickMs: number, connections: number): number | undefined {
    const rate = this.options.dropsPerHour;
    if (rate <= 0 || !this.rng.chance(1 - Math.exp((-rate * tickMs) / 3_600_000))) return undefined;
    return this.rng.int(connections);
  }

  /** A drop that actually cut a live connection. */
  countDrop(): void {
    this.counters.drops++;
  }

  /** End of run: open bursts and every held message go out now. */
  flush(): void {
    for (const burst of this.bursts.values()) burst.ticksLeft = 1;
    this.endTick();
    this.counters.lateFlushedAtEnd += this.held.length;
    for (const h of this.held) this.send(h.message);
    this.held = [];
  }

  private send(message: SensorMessage): void {
    this.emit(encodeMessage(message, this.format, this.skewOf(message.machine, message.sensor)));
  }

  private hold(item: Held): void {
    // Binary search keeps `held` sorted; equal due times keep arrival order.
    let lo = 0;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.held[mid]?.due ?? 0) <= item.due) lo = mid + 1;
      else hi = mid;
    }
    this.held.splice(lo, 0, item);
  }

  private delay(spec: DelaySpec): number {
    switch (spec.distribution) {
      case 'fixed':
        return spec.meanMs;
      case 'uniform':
        return this.rng.uniform(spec.minMs, spec.maxMs);
      case 'exponential':
        return spec.minMs + this.rng.exponential(Math.max(0, spec.meanMs - spec.minMs));
    }
  }

  private shuffle(items: SensorMessage[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.burstRng.int(i + 1);
      const a = items[i];
      const b = items[j];
      if (a !== undefined && b !== undefined) {
        items[i] = b;
        items[j] = a;
      }
    }
  }
}
