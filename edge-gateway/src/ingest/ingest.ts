// Turns one MQTT message into validated readings for the window engine. Never throws: every refusal
// is counted by reason and reported in the outcome; valid readings go to the sink, and those it takes
// into a window are counted as accepted.
import type { Clock } from '@pdm/clock';
import type { AddResult, BlockResult, SensorHandle } from '../window/index.js';
import { decodeJsonPayload } from './json-payload.js';
import type { DecodedPayload } from './payload.js';
import { decodeProtobufPayload } from './protobuf-payload.js';
import { MachineOwners } from './machine-owners.js';
import { IngestRejection, type RejectReason } from './reasons.js';
import { type CachedSensorTopic, SensorTopicCache, checkIds } from './topic.js';

export interface IngestLimits {
  /** Largest payload accepted, in bytes. */
  maxPayloadBytes: number;
  /** How far ahead of the gateway clock a timestamp may be (device clock skew), ms. */
  maxFutureSkewMs: number;
  /** How far behind the gateway clock a timestamp may be, ms. */
  maxAgeMs: number;
  /** Highest sample rate a block may declare, Hz. */
  maxSampleRateHz: number;
  /** Most machines the sink may hold state for; a reading for another one is refused. */
  maxMachines: number;
  /** Most sensors per machine the sink may hold state for; a reading for another one is refused. */
  maxSensorsPerMachine: number;
  /** Most machines the readings of one publisher (user) may create state for; unset: no such cap. */
  maxMachinesPerUser?: number | undefined;
}

/**
 * Where valid readings go: the window engine, which says what became of each, and whose ids it holds.
 * `now`: the ingest clock's time the readings were validated at, when they arrived.
 */
export interface ReadingSink {
  add(machineId: string, sensorId: string, ts: number, value: number, now: number): AddResult;
  /** `add` for the sensor of a handle still held, without looking it up. */
  addTo(handle: SensorHandle, ts: number, value: number, now: number): AddResult;
  /** The handle of a sensor the sink holds, undefined when it holds none. */
  sensorHandle(machineId: string, sensorId: string): SensorHandle | undefined;
  addBlock(machineId: string, sensorId: string, startTs: number, hz: number, values: ArrayLike<number>, now: number): BlockResult;
  /** Machines holding state; they free their place when the sink forgets them. */
  machineCount(): number;
  /** The sensors of `machineId` holding state, absent when it holds none. */
  sensorsOf(machineId: string): Pick<ReadonlyMap<string, unknown>, 'has' | 'size'> | undefined;
}

export interface IngestCounters {
  /**
   * Readings the sink took into a window. Late and too-late ones are not counted here: the engine
   * counts them (pdm_gateway_late_readings_total). 'invalid' cannot come back for a reading ingest
   * validated (finite value, timestamp within the gateway clock's bounds).
   */
  accepted(readings: number): void;
  /** One per refused reading; a payload that cannot be decoded at all counts as one. */
  rejected(reason: RejectReason, readings: number): void;
}

/** The machine and sensor a message's readings belong to. */
export interface SensorIds {
  readonly machineId: string;
  readonly sensorId: string;
}

export interface IngestOutcome {
  /** Readings that passed validation and went to the sink (into a window, or counted late by it). */
  readonly accepted: number;
  readonly rejected: number;
  /** The first refusal, for logs and the debug topic. */
  readonly rejection?: IngestRejection;
}

// The outcome of nearly every message, shared so the hot path allocates nothing for it.
const ONE_ACCEPTED: IngestOutcome = Object.freeze({ accepted: 1, rejected: 0 });

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The largest reading magnitude taken. A window sums each reading's fourth power (of its distance from
 * the window's first reading): a reading near float64's end (1e300, a glitch or an error code) made
 * that Infinity and every statistic of the window NaN, and the processor could use none of the
 * machine's window. At 1e70 a term stays under 1e282: no physical quantity comes near either.
 */
export const MAX_READING_MAGNITUDE = 1e70;

/** The largest epoch milliseconds a Date holds (ECMAScript: ±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

/** A value a window can take: a finite number within ±MAX_READING_MAGNITUDE (the replay of a CSV checks it too). */
export const isReadingValue = (value: unknown): value is number => isFiniteNumber(value) && Math.abs(value) <= MAX_READING_MAGNITUDE;

const notFinite = (value: unknown) =>
  new IngestRejection('not_finite', `value ${JSON.stringify(value) ?? String(value)} is not a finite number within ±${MAX_READING_MAGNITUDE}`);

/** The publisher of readings that carry no user: anonymous MQTT clients, counted together (no username is empty). */
const ANONYMOUS = '';

export class Ingest {
  private readonly topics = new SensorTopicCache();
  private readonly owners = new MachineOwners((machineId) => this.sink.sensorsOf(machineId) !== undefined);

  constructor(
    private readonly limits: IngestLimits,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly sink: ReadingSink,
    private readonly counters: IngestCounters,
  ) {}

  /** Ingests one message; `publisher` (the MQTT user) matters only to validation.maxMachinesPerUser. */
  handle(topic: string, payload: Buffer, publisher = ANONYMOUS): IngestOutcome {
    try {
      this.checkSize(payload);
      const sensor = this.topics.parse(topic);
      const decoded = sensor.format === 'json' ? decodeJsonPayload(payload) : decodeProtobufPayload(payload);
      return this.accept(sensor, decoded, publisher, sensor);
    } catch (error) {
      return this.refusal(error);
    }
  }

  /**
   * Ingests one message whose topic and payload another scheme maps (the bridge): `ids` come from its
   * topic, `decode` reads its payload (throwing an IngestRejection when it cannot). The same payload
   * limit, id checks, machine limits, validation and counters as a message to `handle`. `publisher`
   * as for `handle`; null for the readings of a whole plant broker (a bridge upstream), which no
   * per-publisher cap fits: they are bounded by validation.maxMachines only.
   */
  handleMapped(topic: string, payload: Buffer, ids: SensorIds, decode: (payload: Buffer) => DecodedPayload, publisher: string | null = ANONYMOUS): IngestOutcome {
    try {
      this.checkSize(payload);
      checkIds(ids.machineId, ids.sensorId, topic);
      return this.accept(ids, decode(payload), publisher, undefined);
    } catch (error) {
      return this.refusal(error);
    }
  }

  private checkSize(payload: Buffer): void {
    if (payload.length > this.limits.maxPayloadBytes) {
      throw new IngestRejection('too_large', `payload of ${payload.length} bytes exceeds the limit of ${this.limits.maxPayloadBytes}`);
    }
  }

  private refusal(error: unknown): IngestOutcome {
    const rejection = error instanceof IngestRejection ? error : new IngestRejection('bad_payload', String(error));
    this.counters.rejected(rejection.reason, 1);
    return { accepted: 0, rejected: 1, rejection };
  }

  /** Refuses a message before decoding it (e.g. an ACL violation), counting it like any other. */
  refuse(reason: RejectReason, detail: string): IngestOutcome {
    this.counters.rejected(reason, 1);
    return { accepted: 0, rejected: 1, rejection: new IngestRejection(reason, detail) };
  }

  /** `cached`: the topic cache's entry of these ids, which keeps the sink's handle of their sensor. */
  private accept(ids: SensorIds, decoded: DecodedPayload, publisher: string | null, cached: CachedSensorTopic | undefined): IngestOutcome {
    const readings = decoded.kind === 'single' ? 1 : decoded.values.length;
    if (readings === 0) throw new IngestRejection('bad_payload', 'payload carries no readings');
    // A sensor the sink holds already can go over no cap.
    if (cached?.handle?.held === true) return this.acceptReadings(ids, cached.handle, decoded);
    const { machineId, sensorId } = ids;
    const sensors = this.sink.sensorsOf(machineId);
    const overCap = sensors === undefined ? this.newMachineProblem(machineId, publisher) : this.newSensorProblem(machineId, sensorId, sensors);
    if (overCap) {
      this.counters.rejected(overCap.reason, readings);
      return { accepted: 0, rejected: readings, rejection: overCap };
    }
    const outcome = this.acceptReadings(ids, undefined, decoded);
    // The machine is the publisher's if these readings created its state.
    if (sensors === undefined && this.limits.maxMachinesPerUser !== undefined && publisher !== null && this.sink.sensorsOf(machineId) !== undefined) {
      this.owners.claim(machineId, publisher);
    }
    if (cached !== undefined) cached.handle = this.sink.sensorHandle(machineId, sensorId);
    return outcome;
  }

  /** `handle`: the sink's handle of the sensor, when it holds it; single readings are added through it. */
  private acceptReadings({ machineId, sensorId }: SensorIds, handle: SensorHandle | undefined, decoded: DecodedPayload): IngestOutcome {
    return decoded.kind === 'single'
      ? this.acceptSingle(machineId, sensorId, handle, decoded.ts, decoded.value)
      : decoded.kind === 'block'
        ? this.acceptBlock(machineId, sensorId, decoded.startTs, decoded.hz, decoded.values)
        : this.acceptPoints(machineId, sensorId, decoded.ts, decoded.values);
  }

  /**
   * Why readings for a machine the sink holds no state for must be refused to keep that state
   * bounded, if they must: the gateway holds maxMachines, or their publisher maxMachinesPerUser.
   */
  private newMachineProblem(machineId: string, publisher: string | null): IngestRejection | undefined {
    const machines = this.sink.machineCount();
    if (machines >= this.limits.maxMachines) {
      return new IngestRejection('too_many_machines', `machine ${machineId} is new and the gateway holds ${machines} machines already (validation.maxMachines)`);
    }
    const perUser = this.limits.maxMachinesPerUser;
    if (perUser !== undefined && publisher !== null && !this.owners.hasRoom(publisher, perUser)) {
      return new IngestRejection('too_many_machines', `machine ${machineId} is new and ${publisher === ANONYMOUS ? 'anonymous clients' : `user ${publisher}`} created ${perUser} machines already (validation.maxMachinesPerUser)`);
    }
    return undefined;
  }

  /** Why a reading for a sensor its machine does not hold must be refused: the machine holds maxSensorsPerMachine. */
  private newSensorProblem(machineId: string, sensorId: string, sensors: Pick<ReadonlyMap<string, unknown>, 'has' | 'size'>): IngestRejection | undefined {
    // Room first: below the cap (nearly always) the sensor's own lookup is not needed.
    if (sensors.size < this.limits.maxSensorsPerMachine || sensors.has(sensorId)) return undefined;
    return new IngestRejection('too_many_sensors', `sensor ${sensorId} is new and machine ${machineId} has ${sensors.size} sensors already (validation.maxSensorsPerMachine)`);
  }

  /** Why a reading at `ts` (gateway time `now`) must be refused, if it must. */
  private problemOf(ts: number, value: unknown, now: number): IngestRejection | undefined {
    return isReadingValue(value) ? this.timeProblem(ts, now) : notFinite(value);
  }

  private acceptSingle(machineId: string, sensorId: string, handle: SensorHandle | undefined, ts: number | undefined, value: unknown): IngestOutcome {
    const now = this.clock.now();
    const at = ts ?? now;
    const problem = this.problemOf(at, value, now);
    if (problem) {
      this.counters.rejected(problem.reason, 1);
      return { accepted: 0, rejected: 1, rejection: problem };
    }
    const result = handle === undefined ? this.sink.add(machineId, sensorId, at, value as number, now) : this.sink.addTo(handle, at, value as number, now);
    if (result === 'accepted') this.counters.accepted(1);
    return ONE_ACCEPTED;
  }

  /**
   * Why a reading at `ts` must be refused, if it must. `computed`: a sampled block's last sample time,
   * worked out from its rate — no one sent it, so no hint about the units of a sent timestamp.
   */
  private timeProblem(ts: number, now: number, computed = false): IngestRejection | undefined {
    const what = computed ? "the block's last sample at" : 'ts';
    if (ts > now + this.limits.maxFutureSkewMs) {
      // Past Date's range (±8.64e15 ms) toISOString throws: an epoch-nanosecond ts would have been told as bad_payload.
      const when = Math.abs(ts) <= MAX_DATE_MS ? new Date(ts).toISOString() : String(ts);
      const hint = ts > 1e14 && !computed ? ' (it looks like epoch microseconds or nanoseconds; send milliseconds)' : '';
      return new IngestRejection('future_ts', `${what} ${when} is more than ${this.limits.maxFutureSkewMs} ms ahead of the gateway clock${hint}`);
    }
    if (ts < now - this.limits.maxAgeMs) {
      const hint = ts > 0 && ts < 1e11 && !computed ? ' (it looks like epoch seconds; send milliseconds)' : '';
      return new IngestRejection('too_old', `${what} ${ts} is more than ${this.limits.maxAgeMs} ms behind the gateway clock${hint}`);
    }
    return undefined;
  }

  private acceptPoints(machineId: string, sensorId: string, timestamps: Array<number | undefined>, values: unknown[]): IngestOutcome {
    const now = this.clock.now();
    const outcome: { accepted: number; rejected: number; rejection?: IngestRejection } = { accepted: 0, rejected: 0 };
    let windowed = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const ts = timestamps[i] ?? now;
      const problem = this.problemOf(ts, value, now);
      if (problem) {
        this.counters.rejected(problem.reason, 1);
        outcome.rejected++;
        outcome.rejection ??= problem;
        continue;
      }
      if (this.sink.add(machineId, sensorId, ts, value as number, now) === 'accepted') windowed++;
      outcome.accepted++;
    }
    if (windowed > 0) this.counters.accepted(windowed);
    return outcome;
  }

  private acceptBlock(machineId: string, sensorId: string, startTs: number | undefined, hz: unknown, values: unknown[]): IngestOutcome {
    if (!isFiniteNumber(hz) || hz <= 0 || hz > this.limits.maxSampleRateHz) {
      throw new IngestRejection('bad_rate', `hz must be a number in (0, ${this.limits.maxSampleRateHz}], got ${JSON.stringify(hz)}`);
    }
    const now = this.clock.now();
    const start = startTs ?? now;
    const end = start + ((values.length - 1) * 1000) / hz;
    const problem = this.timeProblem(start, now) ?? this.timeProblem(end, now, true);
    if (problem) {
      this.counters.rejected(problem.reason, values.length);
      return { accepted: 0, rejected: values.length, rejection: problem };
    }
    if (values.every(isReadingValue)) {
      const { accepted } = this.sink.addBlock(machineId, sensorId, start, hz, values, now);
      if (accepted > 0) this.counters.accepted(accepted);
      return { accepted: values.length, rejected: 0 };
    }
    // Rare path: drop the bad samples but keep every good one at its own sample time.
    const timestamps = values.map((_, i) => start + (i * 1000) / hz);
    return this.acceptPoints(machineId, sensorId, timestamps, values);
  }
}
