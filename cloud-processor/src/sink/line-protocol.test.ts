import { describe, expect, it } from 'vitest';
import { lineBytes, pointLine, toLineProtocol } from './line-protocol.js';

// Expected lines written by hand from the line protocol reference ("Special characters").
describe('line protocol', () => {
  it('writes measurement, tags in the point order, fields and the timestamp as given', () => {
    const line = pointLine({ measurement: 'sensor_features', tags: { site: 's1', machine: 'm-1' }, fields: { mean: 1.5, revision: 2, ok: true, model: 'v1' }, timestamp: 1_733_000_000_123 });
    expect(line).toBe('sensor_features,site=s1,machine=m-1 mean=1.5,revision=2,ok=true,model="v1" 1733000000123');
  });

  it('writes numbers as floats (no i suffix), as the influx client did, in JavaScript notation', () => {
    expect(pointLine({ measurement: 'm', fields: { a: 3, b: -0.25, c: 1e21, d: 1e-7, e: 1_733_000_000_000 } })).toBe('m a=3,b=-0.25,c=1e+21,d=1e-7,e=1733000000000');
  });

  it('escapes commas and spaces in measurements; commas, equals signs and spaces in tag keys, tag values and field keys', () => {
    const line = pointLine({ measurement: 'my m,x', tags: { 'k y': 'a,b=c d', plain: 'x' }, fields: { 'f,k=1 2': 1 }, timestamp: 5 });
    expect(line).toBe('my\\ m\\,x,k\\ y=a\\,b\\=c\\ d,plain=x f\\,k\\=1\\ 2=1 5');
  });

  it('leaves quotes, backslashes and unicode in tags as they are (InfluxDB 1.x unescapes only comma, equals, space there)', () => {
    expect(pointLine({ measurement: 'm', tags: { t: `say "hi" it's a\\b ü€🙂` }, fields: { v: 1 } })).toBe(`m,t=say\\ "hi"\\ it's\\ a\\b\\ ü€🙂 v=1`);
  });

  it('quotes string fields, escaping double quotes and backslashes; newlines and unicode stay literal', () => {
    const line = pointLine({ measurement: 'm', fields: { s: 'say "hi"\nC:\\dir\\ ü€🙂', q: "it\\'s" } });
    expect(line).toBe('m s="say \\"hi\\"\nC:\\\\dir\\\\ ü€🙂",q="it\\\\\'s"');
  });

  it('writes a Date timestamp as epoch ms', () => {
    expect(pointLine({ measurement: 'm', fields: { v: 1 }, timestamp: new Date(1_733_000_000_123) })).toBe('m v=1 1733000000123');
  });

  it('refuses a field value line protocol cannot carry, naming the field', () => {
    expect(() => pointLine({ measurement: 'm', fields: { bad: undefined } })).toThrow(/field bad/);
  });

  it('joins points with newlines, no trailing newline', () => {
    expect(toLineProtocol([{ measurement: 'a', fields: { v: 1 }, timestamp: 1 }, { measurement: 'b', fields: { v: 2 }, timestamp: 2 }])).toBe('a v=1 1\nb v=2 2');
    expect(toLineProtocol([])).toBe('');
  });

  it('gives a line as the UTF-8 bytes of a request body, newline included', () => {
    expect(lineBytes('m,t=ü€🙂 v=1 5')).toEqual(Buffer.from([...Buffer.from('m,t='), 0xc3, 0xbc, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x99, 0x82, ...Buffer.from(' v=1 5\n')]));
  });
});
