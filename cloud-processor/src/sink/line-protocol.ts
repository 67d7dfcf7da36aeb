// Points as InfluxDB 1.x line protocol, built here because the `influx` client spends most of a write's
// CPU building it (issue #17: ~18 µs per point). Its exported escaper alone takes 3.65 × the time of
// escapeTag on our tag values (a regex per string; the processor benchmark) and rewrites `\'`. Written
// exactly as that client wrote our points, so stored data and every query on it stay the same:
// - numbers as floats, never with the `i` suffix: the client had no schema, so every numeric field
//   of every existing database is a float, and an integer write would be refused as a type conflict;
// - booleans as true/false, strings double-quoted;
// - timestamps as given, in the precision the write names (the sink writes epoch ms).
// Escaping follows the line protocol reference ("Special characters"): measurement: comma, space; tag
// keys, tag values, field keys: comma, equals sign, space; string field values: double quote,
// backslash (newlines stay literal inside the quotes). Unlike the client, a `\'` in a value is written
// as it is (the client doubled its backslash, storing `\\'`).
// InfluxDB 1.x cannot store a tag key or value with a newline or ending in a backslash at all; such a
// line makes InfluxDB refuse the batch, as it did with the client.
import type { IPoint } from 'influx';

const COMMA = 44;
const EQUALS = 61;
const SPACE = 32;
const QUOTE = 34;
const BACKSLASH = 92;

// Almost no name or value needs escaping: a scan of its characters is cheaper than a regex per string.
function contains(text: string, a: number, b: number, c: number): boolean {
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === a || char === b || char === c) return true;
  }
  return false;
}

const escapeMeasurement = (text: string) => (contains(text, COMMA, SPACE, SPACE) ? text.replace(/[, ]/g, '\\$&') : text);
export const escapeTag = (text: string) => (contains(text, COMMA, EQUALS, SPACE) ? text.replace(/[,= ]/g, '\\$&') : text);
export const escapeString = (text: string) => (contains(text, QUOTE, BACKSLASH, BACKSLASH) ? text.replace(/["\\]/g, '\\$&') : text);

function fieldValue(name: string, value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return String(value);
    case 'string':
      return `"${escapeString(value)}"`;
    default:
      throw new TypeError(`field ${name}: line protocol takes numbers, booleans and strings, not ${typeof value}`);
  }
}

function timestampText(timestamp: NonNullable<IPoint['timestamp']>): string {
  if (timestamp instanceof Date) return String(timestamp.getTime());
  return String(timestamp);
}

/**
 * One line of line protocol (no newline). Tags in the point's order, as the client wrote them:
 * InfluxDB sorts them itself, and sorting here cost more than all the escaping.
 */
export function pointLine(point: IPoint): string {
  let line = escapeMeasurement(point.measurement ?? '');
  const tags = point.tags ?? {};
  for (const key in tags) line += `,${escapeTag(key)}=${escapeTag(tags[key]!)}`;
  const fields = point.fields ?? {};
  let separator = ' ';
  for (const name in fields) {
    line += `${separator}${escapeTag(name)}=${fieldValue(name, fields[name])}`;
    separator = ',';
  }
  return point.timestamp === undefined ? line : `${line} ${timestampText(point.timestamp)}`;
}

/**
 * One line as the bytes of a request body, its newline included (InfluxDB takes a body ending in one).
 * The sink keeps a batch's lines in this form until the batch goes out: strings kept that long (a
 * write in progress, the next batch filling) are copied by young-generation GCs and promoted, and
 * joining them flattens each one, which cost the processor ~70 % more CPU per point than bytes made at
 * once (9.6–13.5 against 5.6–7.9 µs: the bytes ~40 % less; issue #17); a Buffer's bytes live off the
 * JS heap.
 */
export const lineBytes = (line: string): Buffer => Buffer.from(`${line}\n`);

/** The body of one /write request: one line per point. */
export function toLineProtocol(points: readonly IPoint[]): string {
  let body = '';
  for (const point of points) body += body.length === 0 ? pointLine(point) : `\n${pointLine(point)}`;
  return body;
}
