// Decodes the three JSON payload shapes of the ingest contract:
//   single  {"ts": <epoch ms | ISO-8601>?, "value": <number>}
//   block   {"ts": <first sample time>, "hz": <rate>, "values": [..]}
//   samples {"samples": [{"ts": .., "value": ..}, ..]}
import type { DecodedPayload } from './payload.js';
import { IngestRejection } from './reasons.js';
import { scanSingleReading } from './single-reading-scan.js';

/** Epoch ms from a JSON `ts`: a number of milliseconds or an ISO-8601 string; undefined if absent. */
export function parseTimestamp(ts: unknown): number | undefined {
  if (ts === undefined || ts === null) return undefined;
  if (typeof ts === 'number') {
    if (!Number.isFinite(ts)) throw new IngestRejection('bad_ts', `ts ${ts} is not a finite number`);
    return ts;
  }
  if (typeof ts === 'string') {
    const ms = Date.parse(ts);
    if (Number.isNaN(ms)) throw new IngestRejection('bad_ts', `ts "${ts.slice(0, 40)}" is not ISO-8601`);
    return ms;
  }
  throw new IngestRejection('bad_ts', `ts must be epoch milliseconds or an ISO-8601 string, got ${typeof ts}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeJsonPayload(payload: Buffer): DecodedPayload {
  return scanSingleReading(payload) ?? parseJsonPayload(payload);
}

/** The general decoder: JSON.parse, then the shape. Exported to prove the fast path agrees with it. */
export function parseJsonPayload(payload: Buffer): DecodedPayload {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    throw new IngestRejection('bad_json', `payload is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(body)) throw new IngestRejection('bad_payload', 'payload must be a JSON object');

  if ('value' in body) return { kind: 'single', ts: parseTimestamp(body.ts), value: body.value };
  if ('values' in body) {
    if (!Array.isArray(body.values)) throw new IngestRejection('bad_payload', '"values" must be an array');
    if (body.ts === undefined || body.ts === null) throw new IngestRejection('bad_payload', 'a "values" block needs "ts", the time of its first sample');
    return { kind: 'block', startTs: parseTimestamp(body.ts), hz: body.hz, values: body.values };
  }
  if ('samples' in body) {
    if (!Array.isArray(body.samples)) throw new IngestRejection('bad_payload', '"samples" must be an array');
    const ts: Array<number | undefined> = [];
    const values: unknown[] = [];
    for (const sample of body.samples) {
      if (!isRecord(sample)) throw new IngestRejection('bad_payload', 'every entry of "samples" must be an object {ts, value}');
      ts.push(parseTimestamp(sample.ts));
      values.push(sample.value);
    }
    return { kind: 'points', ts, values };
  }
  throw new IngestRejection('bad_payload', 'payload must have "value", "values" (with "ts" and "hz") or "samples"');
}
