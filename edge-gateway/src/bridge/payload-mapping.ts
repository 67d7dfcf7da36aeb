// Reads one reading out of a plant broker's payload: a plain number (`23.5`: the value, at gateway
// time), or a JSON object with the value and, optionally, the timestamp at configured paths
// (`value`, `data.temp`, `readings.0.v`: dots separate keys, a number indexes an array). A numeric
// timestamp is epoch milliseconds or seconds, as configured; a string one is ISO 8601. A sensor's
// value is then scaled (raw counts to units): value × scale + offset. What cannot be read is refused
// with the ingest reason codes (bad_json, bad_payload, bad_ts); a value that is not a finite number
// is left to ingest, which refuses it as not_finite like any other.
import { type DecodedPayload, IngestRejection, parseTimestamp } from '../ingest/index.js';

export interface SensorScale {
  readonly scale: number;
  readonly offset: number;
}

export interface PayloadMappingOptions {
  /** Path of the value in a JSON object payload. */
  readonly valuePath: string;
  /** Path of the timestamp; a payload without one is read at gateway time. */
  readonly timestampPath: string;
  /** What a numeric timestamp counts. */
  readonly epochUnit: 'ms' | 's';
  /** Scale and offset by sensor id (after topic mapping); others are taken as they are. */
  readonly sensors: Readonly<Record<string, SensorScale>>;
}

/** One reading, as ingest takes it. */
export type MappedReading = Extract<DecodedPayload, { kind: 'single' }>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function at(body: unknown, path: readonly string[]): unknown {
  let node = body;
  for (const key of path) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

export class PayloadMapping {
  private readonly valuePath: readonly string[];
  private readonly timestampPath: readonly string[];
  // A map, so that a sensor named like an Object property (constructor) finds no scale.
  private readonly scales: ReadonlyMap<string, SensorScale>;

  constructor(private readonly options: PayloadMappingOptions) {
    this.valuePath = options.valuePath.split('.');
    this.timestampPath = options.timestampPath.split('.');
    this.scales = new Map(Object.entries(options.sensors));
  }

  /** The reading in `payload` for `sensorId`; throws an IngestRejection when there is none. */
  read(sensorId: string, payload: Buffer): MappedReading {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (error) {
      throw new IngestRejection('bad_json', `payload is neither a number nor JSON: ${(error as Error).message}`);
    }
    if (typeof body === 'number') return { kind: 'single', ts: undefined, value: this.scaled(sensorId, body) };
    if (!isRecord(body) || Array.isArray(body)) throw new IngestRejection('bad_payload', 'payload must be a number or a JSON object');
    const value = at(body, this.valuePath);
    if (value === undefined) throw new IngestRejection('bad_payload', `payload has no value at "${this.options.valuePath}"`);
    return { kind: 'single', ts: this.timestamp(at(body, this.timestampPath)), value: typeof value === 'number' ? this.scaled(sensorId, value) : value };
  }

  private timestamp(ts: unknown): number | undefined {
    if (typeof ts === 'number' && this.options.epochUnit === 's' && Number.isFinite(ts)) return Math.round(ts * 1000);
    return parseTimestamp(ts);
  }

  private scaled(sensorId: string, value: number): number {
    const sensor = this.scales.get(sensorId);
    return sensor === undefined ? value : value * sensor.scale + sensor.offset;
  }
}
