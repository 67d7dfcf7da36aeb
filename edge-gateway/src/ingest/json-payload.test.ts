import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonPayload } from './json-payload.js';
import type { DecodedPayload } from './payload.js';
import { scanSingleReading } from './single-reading-scan.js';

/** What the general decoder makes of the bytes: the decoded payload or the rejection's reason. */
function general(bytes: Buffer): DecodedPayload | string {
  try {
    return parseJsonPayload(bytes);
  } catch (error) {
    return (error as { reason?: string }).reason ?? String(error);
  }
}

const whitespace = fc.array(fc.constantFrom(' ', '\t', '\n', '\r'), { maxLength: 3 }).map((s) => s.join(''));
// Numbers as devices write them, and the malformed ones the grammar must refuse.
const numberText = fc.oneof(
  fc.double().map((d) => JSON.stringify(d)),
  fc.integer().map(String),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map(String),
  fc.tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.integer({ min: 0, max: 6 })).map(([m, k]) => (m / 10 ** k).toString()),
  fc.stringMatching(/^-?(0|[1-9]\d{0,20})(\.\d{1,20})?([eE][+-]?\d{1,3})?$/),
  fc.constantFrom('-0', '0.0', '-0.0', '1e400', '-1e400', '5e-324', '9007199254740993', '0.1', '01', '1.', '.5', '-', '+1', '1e', '1e+', 'NaN', 'Infinity', '0x10'),
);
const member = fc.tuple(
  fc.constantFrom('"ts"', '"value"', '"value"', '"ts"', '"tS"', '"val\\u0075e"', '"values"', '"hz"', '"x"', 'ts'),
  fc.oneof(numberText, numberText, fc.constantFrom('null', '"12"', 'true', '[1]', '{}', '"2026-11-30T12:00:00Z"')),
  whitespace,
  whitespace,
).map(([key, value, before, after]) => `${before}${key}${after}:${before}${value}${after}`);
const objectText = fc
  .tuple(fc.array(member, { minLength: 0, maxLength: 3 }), whitespace, whitespace, fc.constantFrom('', '', '', ',', ' x', '}'))
  .map(([members, before, after, trailer]) => `${before}{${members.join(',')}}${after}${trailer}`);

describe('the single-reading fast path', () => {
  it('decodes the common shapes, in either key order and with whitespace', () => {
    expect(scanSingleReading(Buffer.from('{"ts":1764504000000,"value":61.5}'))).toEqual({ kind: 'single', ts: 1764504000000, value: 61.5 });
    expect(scanSingleReading(Buffer.from(' { "value" : -0.25e-3 ,\n"ts" : 5 } '))).toEqual({ kind: 'single', ts: 5, value: -0.25e-3 });
    expect(scanSingleReading(Buffer.from('{"value":20.841470984807897}'))).toEqual({ kind: 'single', ts: undefined, value: 20.841470984807897 });
  });

  it('reads values at the edges of its exact arithmetic as JSON.parse does (16 and 17 digits, 2^53, 22 decimals)', () => {
    const edges = ['20.84147098480789', '20.841470984807897', '9007199254740991', '9007199254740992', '9007199254740993', '-900719925474099.3', '0.1234567890123456789012', '0.00000000000000000000012', '1.7976931348623157', '123456789012345678901'];
    for (const text of edges) {
      const scanned = scanSingleReading(Buffer.from(`{"value":${text}}`));
      expect(scanned, text).toEqual({ kind: 'single', ts: undefined, value: JSON.parse(text) as number });
    }
  });

  it('leaves every other shape to the general decoder', () => {
    for (const text of ['{"ts":"2026-11-30T12:00:00Z","value":1}', '{"value":1,"value":2}', '{"value":1,"unit":"C"}', '{"value":01}', '{"value":1}x', '{"ts":1e400,"value":1}', '{}']) {
      expect(scanSingleReading(Buffer.from(text)), text).toBeUndefined();
    }
  });

  it('agrees with JSON.parse on every payload it accepts, bit for bit', () => {
    fc.assert(
      fc.property(fc.oneof(objectText, fc.string({ maxLength: 40 })), (text) => {
        const bytes = Buffer.from(text);
        const fast = scanSingleReading(bytes);
        if (fast === undefined) return;
        const slow = general(bytes);
        expect(slow).toEqual(fast); // toEqual tells -0 from 0 and NaN from numbers
      }),
      { numRuns: 20_000, seed: 20261130 },
    );
  });

  it('takes the fast path for most well-formed readings, so the property above is not vacuous', () => {
    let fast = 0;
    fc.assert(
      fc.property(fc.tuple(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), fc.double({ noNaN: true, noDefaultInfinity: true })), ([ts, value]) => {
        if (scanSingleReading(Buffer.from(JSON.stringify({ ts, value }))) !== undefined) fast++;
      }),
      { numRuns: 1_000, seed: 7 },
    );
    expect(fast).toBe(1_000);
  });
});
