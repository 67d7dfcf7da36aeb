import { CloseReason, create, MachineWindowSchema } from '@pdm/proto';
import { describe, expect, it } from 'vitest';
import { CsvParser } from './csv-parser.js';
import { ReplayError } from './replay-error.js';
import { machineWindowToJson } from './window-json.js';

const CSV = 'time,"label, with comma",v\r\n1,"multi\nline ""quoted""",2.5\n\n2,,"3"\r\n3,x,4';

function parseInChunks(text: string, size: number) {
  const parser = new CsvParser(',');
  const records = [];
  for (let i = 0; i < text.length; i += size) records.push(...parser.push(text.slice(i, i + size)));
  records.push(...parser.end());
  return records;
}

describe('CsvParser', () => {
  it('parses quoted fields, doubled quotes, line breaks in quotes, CRLF and blank lines', () => {
    expect(parseInChunks(CSV, CSV.length)).toEqual([
      { fields: ['time', 'label, with comma', 'v'], line: 1 },
      { fields: ['1', 'multi\nline "quoted"', '2.5'], line: 2 },
      { fields: ['2', '', '3'], line: 5 },
      { fields: ['3', 'x', '4'], line: 6 },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const whole = parseInChunks(CSV, CSV.length);
    for (const size of [1, 2, 3, 7]) expect(parseInChunks(CSV, size)).toEqual(whole);
  });

  it('reports an unterminated quote with the line the record starts on', () => {
    const parser = new CsvParser(',');
    parser.push('a,b\n1,"open\n\n');
    let error: unknown;
    try {
      parser.end();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ReplayError);
    expect(error).toMatchObject({ code: 'unterminated_quote', line: 2 });
  });
});

describe('machineWindowToJson', () => {
  it('gives a plain object with numbers for epoch ms and the close reason by name', () => {
    const w = create(MachineWindowSchema, {
      gatewayId: 'gw', siteId: 'site', machineId: 'm1', windowStart: 1_700_000_000_000n, windowEnd: 1_700_000_010_000n,
      featureVersion: 1, revision: 2, closeReason: CloseReason.LATE_REVISION,
      sensors: [{ sensorId: 's', count: 3, expectedCount: 4, mean: 1.5, peakToPeak: 2, crestFactor: 1.2, lateCount: 1 }],
    });
    const json = machineWindowToJson(w);
    expect(json).toMatchObject({ window_start: 1_700_000_000_000, window_end: 1_700_000_010_000, close_reason: 'LATE_REVISION', revision: 2 });
    expect(json.sensors[0]).toMatchObject({ sensor_id: 's', expected_count: 4, peak_to_peak: 2, crest_factor: 1.2, late_count: 1 });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
