import { create, fromBinary, isMessage, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseReason, FeatureBatchSchema, MachineWindowSchema, SensorStatsSchema } from '../gen/pdm/v1/features_pb.js';
import type { FeatureBatch, MachineWindow } from '../gen/pdm/v1/features_pb.js';
import { TooManyWindowsError, decodeFeatureBatch, encodeFeatureBatch, encodeFeatureBatchOf, readFeatureBatchFrames } from './feature-batch-codec.js';
import { decodeMachineWindow, encodeMachineWindow } from './machine-window-codec.js';
import { featureBatch, machineWindow, mutated, uint32, wireMessage } from './test-support/arbitraries.js';
import { expectSameOutcome } from './test-support/equivalence.js';

const reference = (bytes: Uint8Array) => fromBinary(FeatureBatchSchema, bytes, { readUnknownFields: false });

function expectSameDecode(bytes: Uint8Array): void {
  expectSameOutcome(() => decodeFeatureBatch(bytes), () => reference(bytes));
}

function expectSameEncode(batch: FeatureBatch): void {
  expectSameOutcome(() => encodeFeatureBatch(batch), () => toBinary(FeatureBatchSchema, batch));
}

function wire(write: (writer: BinaryWriter) => void): Uint8Array {
  const writer = new BinaryWriter();
  write(writer);
  return writer.finish();
}

/** `n` nested unknown groups (field 25). */
const groups = (n: number) =>
  wire((w) => {
    for (let i = 0; i < n; i++) w.tag(25, WireType.StartGroup);
    for (let i = 0; i < n; i++) w.tag(25, WireType.EndGroup);
  });

/** A batch holding `window` as its one window. */
const inWindow = (window: Uint8Array) => wire((w) => w.tag(4, WireType.LengthDelimited).bytes(window));

const window = (machineId: string, sensors: number): MachineWindow =>
  create(MachineWindowSchema, {
    gatewayId: 'gw-1',
    siteId: 'plant-a',
    machineId,
    windowStart: 1_764_000_000_000n,
    windowEnd: 1_764_000_010_000n,
    featureVersion: 1,
    sensors: Array.from({ length: sensors }, (_, i) => ({ sensorId: `vib_${i}`, count: 1000, expectedCount: 1000, mean: 0.01 * i, max: 0.08, kurtosis: 3.2 })),
    closeReason: CloseReason.WATERMARK,
    closedAt: 1_764_000_010_250n,
  });

const batch = create(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-a', shard: 3, windows: [window('pump-1', 8), window('pump-2', 2), window('fan-9', 0)] });

describe('encodeFeatureBatch', () => {
  it('writes toBinary’s bytes for any batch', () => {
    fc.assert(
      fc.property(featureBatch, (b) => {
        expect(encodeFeatureBatch(b)).toStrictEqual(toBinary(FeatureBatchSchema, b));
      }),
      { numRuns: 300 },
    );
  });

  it('carries each window as the bytes of that window sent alone', () => {
    // gateway_id (field 1), site_id (2), shard (3), then each window as field 4: tag 0x22, length, bytes.
    const small = create(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-a', shard: 3, windows: [window('pump-1', 1), window('pump-2', 1), window('fan-9', 0)] });
    const expected = [0x0a, 4, ...Buffer.from('gw-1'), 0x12, 7, ...Buffer.from('plant-a'), 0x18, 3];
    for (const w of small.windows) {
      const alone = encodeMachineWindow(w);
      expect(alone.length).toBeLessThan(0x80); // a one-byte length
      expected.push(0x22, alone.length, ...alone);
    }
    expect(encodeFeatureBatch(small)).toStrictEqual(Uint8Array.from(expected));
  });

  it('writes the edge values as toBinary does', () => {
    const cases: Array<[string, FeatureBatch, number[]]> = [
      ['an empty batch: nothing', create(FeatureBatchSchema), []],
      ['an empty window is still written', create(FeatureBatchSchema, { windows: [{}] }), [0x22, 0]],
      ['shard max', create(FeatureBatchSchema, { shard: 0xffff_ffff }), [0x18, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      ['a window holding an empty SensorStats', create(FeatureBatchSchema, { windows: [{ sensors: [{}] }] }), [0x22, 2, 0x3a, 0]],
    ];
    for (const [name, b, expected] of cases) {
      expect(encodeFeatureBatch(b), name).toStrictEqual(Uint8Array.from(expected));
      expect(toBinary(FeatureBatchSchema, b), name).toStrictEqual(Uint8Array.from(expected));
    }
  });

  it('writes a batch larger than the shared slabs (100 windows of 8 sensors) as toBinary does', () => {
    const large = create(FeatureBatchSchema, { gatewayId: 'gw-1', siteId: 'plant-a', windows: Array.from({ length: 100 }, (_, i) => window(`machine-${i}`, 8)) });
    const bytes = encodeFeatureBatch(large);
    expect(bytes.length).toBeGreaterThan(30_000);
    expect(bytes).toStrictEqual(toBinary(FeatureBatchSchema, large));
  });

  it('throws where toBinary throws: integers out of range, messages of another type', () => {
    const notUint32 = fc.oneof(uint32, fc.constantFrom(-1, 0x1_0000_0000, 1.5, NaN), fc.double());
    fc.assert(
      fc.property(featureBatch, notUint32, machineWindow, notUint32, (b, shard, w, revision) => {
        expectSameEncode({ ...b, shard });
        expectSameEncode({ ...b, windows: [...b.windows, { ...w, revision }] });
      }),
      { numRuns: 300 },
    );
    expect(() => encodeFeatureBatch({ ...batch, shard: -1 })).toThrow('cannot encode field pdm.v1.FeatureBatch.shard to binary: invalid uint32: -1');
    const stranger = create(MachineWindowSchema) as unknown as FeatureBatch;
    expectSameEncode(stranger);
    expect(() => encodeFeatureBatch(stranger)).toThrow(/message pdm\.v1\.FeatureBatch/);
    const badWindow = { ...batch, windows: [create(SensorStatsSchema)] } as unknown as FeatureBatch;
    expectSameEncode(badWindow);
    expect(() => encodeFeatureBatch(badWindow)).toThrow(/message pdm\.v1\.MachineWindow/);
  });

  it('writes unknown fields back after the known ones, at both levels, as toBinary does', () => {
    fc.assert(
      fc.property(featureBatch, wireMessage, (b, extra) => {
        let withUnknown: FeatureBatch;
        try {
          withUnknown = fromBinary(FeatureBatchSchema, new Uint8Array([...toBinary(FeatureBatchSchema, b), ...extra]));
        } catch {
          fc.pre(false);
          return;
        }
        expect(encodeFeatureBatch(withUnknown)).toStrictEqual(toBinary(FeatureBatchSchema, withUnknown));
      }),
      { numRuns: 200 },
    );
    // A window with unknown field 20, in a batch with unknown field 21.
    const bytes = wire((w) => w.tag(4, WireType.LengthDelimited).bytes(Uint8Array.from([0xa5, 0x01, 7, 0, 0, 0])).tag(21, WireType.Varint).uint32(5));
    const withUnknown = fromBinary(FeatureBatchSchema, bytes);
    expect(withUnknown.$unknown).toHaveLength(1);
    expect(withUnknown.windows[0]?.$unknown).toHaveLength(1);
    expect(encodeFeatureBatch(withUnknown)).toStrictEqual(bytes);
  });
});

describe('encodeFeatureBatchOf', () => {
  it('writes the batch of windows already encoded as encodeFeatureBatch writes the windows themselves', () => {
    fc.assert(
      fc.property(featureBatch, (b) => {
        const header = { gatewayId: b.gatewayId, siteId: b.siteId, shard: b.shard };
        expect(encodeFeatureBatchOf(header, b.windows.map(encodeMachineWindow))).toStrictEqual(encodeFeatureBatch(b));
      }),
      { numRuns: 300 },
    );
    const header = { gatewayId: batch.gatewayId, siteId: batch.siteId, shard: batch.shard };
    expect(decodeFeatureBatch(encodeFeatureBatchOf(header, batch.windows.map((w) => toBinary(MachineWindowSchema, w))))).toStrictEqual(batch);
    expect(encodeFeatureBatchOf({ gatewayId: '', siteId: '', shard: 0 }, [])).toStrictEqual(new Uint8Array());
  });
});

describe('decodeFeatureBatch', () => {
  it('gives fromBinary’s message for any encoded batch: a real protobuf-es message', () => {
    fc.assert(
      fc.property(featureBatch, (b) => {
        const bytes = toBinary(FeatureBatchSchema, b);
        const decoded = decodeFeatureBatch(bytes);
        expect(decoded).toStrictEqual(reference(bytes));
        expect(isMessage(decoded, FeatureBatchSchema)).toBe(true);
        expect(decoded.windows.every((w) => isMessage(w, MachineWindowSchema))).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(decodeFeatureBatch(encodeFeatureBatch(batch))).toStrictEqual(batch);
    expect(decodeFeatureBatch(new Uint8Array())).toStrictEqual(create(FeatureBatchSchema));
  });

  it('keeps the windows in the order they were written, the same machine twice included', () => {
    const twice = create(FeatureBatchSchema, { windows: [window('pump-1', 1), window('pump-2', 1), { ...window('pump-1', 1), revision: 1 }] });
    const decoded = decodeFeatureBatch(encodeFeatureBatch(twice));
    expect(decoded.windows.map((w) => [w.machineId, w.revision])).toStrictEqual([
      ['pump-1', 0],
      ['pump-2', 0],
      ['pump-1', 1],
    ]);
  });

  it('matches fromBinary on damaged encodings, arbitrary wire data and random bytes', () => {
    fc.assert(fc.property(mutated(featureBatch.map((b) => toBinary(FeatureBatchSchema, b))), expectSameDecode), { numRuns: 2000 });
    fc.assert(fc.property(wireMessage, expectSameDecode), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), expectSameDecode), { numRuns: 2000 });
  });

  it('matches fromBinary on every prefix of a valid encoding (truncation)', () => {
    const bytes = toBinary(FeatureBatchSchema, batch);
    for (let end = 0; end <= bytes.length; end++) expectSameDecode(bytes.subarray(0, end));
    expect(() => decodeFeatureBatch(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
  });

  it('spends the recursion budget on unknown groups as fromBinary does, at each depth', () => {
    // n nested unknown groups in the batch, in a window, or in a window's SensorStats: the deeper the
    // message, the fewer groups fit in fromBinary's budget of 100.
    const inStats = (inner: Uint8Array) => inWindow(wire((w) => w.tag(7, WireType.LengthDelimited).bytes(inner)));
    for (const [depth, place] of [[1, (g: Uint8Array) => g], [2, inWindow], [3, inStats]] as const) {
      const fits = 100 - depth;
      for (const n of [fits - 1, fits, fits + 1, fits + 2]) expectSameDecode(place(groups(n)));
      expect(() => decodeFeatureBatch(place(groups(fits))), `depth ${depth}`).not.toThrow();
      expect(() => decodeFeatureBatch(place(groups(fits + 1))), `depth ${depth}`).toThrow('maximum recursion depth reached');
    }
  });

  it('decodes from a view into a larger buffer (e.g. a pooled Buffer)', () => {
    const bytes = toBinary(FeatureBatchSchema, batch);
    const padded = new Uint8Array(bytes.length + 16).fill(0xff);
    padded.set(bytes, 5);
    expect(decodeFeatureBatch(padded.subarray(5, 5 + bytes.length))).toStrictEqual(batch);
    expect(decodeFeatureBatch(Buffer.from(bytes))).toStrictEqual(batch);
  });
});

describe('readFeatureBatchFrames', () => {
  /** The batch the frames make with each window decoded alone. */
  const decodedAlone = (bytes: Uint8Array): FeatureBatch => {
    const { gatewayId, siteId, shard, windows } = readFeatureBatchFrames(bytes, Infinity);
    return { $typeName: 'pdm.v1.FeatureBatch', gatewayId, siteId, shard, windows: windows.map(decodeMachineWindow) };
  };

  it('frames each window of any batch as the bytes of that window sent alone, views into the input', () => {
    fc.assert(
      fc.property(featureBatch, (b) => {
        const bytes = toBinary(FeatureBatchSchema, b);
        const frames = readFeatureBatchFrames(bytes, Infinity);
        const { gatewayId, siteId, shard } = reference(bytes);
        expect(frames).toStrictEqual({ gatewayId, siteId, shard, windows: b.windows.map((w) => toBinary(MachineWindowSchema, w)) });
        expect(frames.windows.every((w) => w.buffer === bytes.buffer)).toBe(true);
        expect(decodedAlone(bytes)).toStrictEqual(reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('gives fromBinary’s batch wherever it reads one whose windows all decode alone, else throws an Error', () => {
    let read = 0;
    const expectSound = (bytes: Uint8Array) => {
      let batch: FeatureBatch;
      try {
        batch = decodedAlone(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        return;
      }
      expect(batch).toStrictEqual(reference(bytes));
      read++;
    };
    fc.assert(fc.property(mutated(featureBatch.map((b) => toBinary(FeatureBatchSchema, b))), expectSound), { numRuns: 2000 });
    fc.assert(fc.property(wireMessage, expectSound), { numRuns: 2000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), expectSound), { numRuns: 2000 });
    expect(read).toBeGreaterThan(500); // ~1,200 of the 6,000 inputs read: the property is not vacuous
    // Where the batch's own framing or fields are broken, it throws as decodeFeatureBatch does.
    const bytes = toBinary(FeatureBatchSchema, batch);
    const broken: Array<[Uint8Array, string]> = [
      [bytes.subarray(0, bytes.length - 1), 'premature EOF'],
      [Uint8Array.from([0x0a, 0x02, 0xc3, 0x28, ...bytes]), 'The encoded data was not valid for encoding utf-8'],
    ];
    for (const [input, error] of broken) {
      expect(() => decodeFeatureBatch(input)).toThrow(error);
      expect(() => readFeatureBatchFrames(input, Infinity)).toThrow(error);
    }
  });

  it('throws TooManyWindowsError on meeting window maxWindows + 1, before reading further', () => {
    const emptyWindows = (n: number) => Array.from({ length: n }, () => [0x22, 0]).flat();
    const header = [0x0a, 4, ...Buffer.from('gw-1'), 0x18, 3];
    expect(readFeatureBatchFrames(Uint8Array.from([...emptyWindows(2), ...header, ...emptyWindows(1)]), 3).windows).toHaveLength(3);
    const strayEndGroup = 0x5c;
    expect(() => readFeatureBatchFrames(Uint8Array.from([...emptyWindows(3), strayEndGroup]), 3)).toThrow(/^illegal tag|^cannot skip/);
    const over = Uint8Array.from([...emptyWindows(4), strayEndGroup]);
    expect(() => readFeatureBatchFrames(over, 3)).toThrow(TooManyWindowsError);
    expect(() => readFeatureBatchFrames(over, 3)).toThrow('a FeatureBatch of more than 3 windows');
    expect(readFeatureBatchFrames(new Uint8Array(), 0)).toStrictEqual({ gatewayId: '', siteId: '', shard: 0, windows: [] });
  });

  it('frames a window by its length: one whose last field runs past it fails alone, where decodeFeatureBatch reads on', () => {
    // Window 1 is [machine_id (field 3), length 2] and says it is 2 bytes long: its string's 2 bytes
    // (0x18 0x05) lie past its end. fromBinary reads them as its machine_id; the frames read them as the
    // batch's shard (field 3 = 5), and the window alone fails.
    const second = encodeMachineWindow(window('pump-2', 1));
    const bytes = Uint8Array.from([0x22, 2, 0x1a, 2, 0x18, 5, 0x22, second.length, ...second]);
    expectSameDecode(bytes);
    expect(decodeFeatureBatch(bytes)).toMatchObject({ shard: 0, windows: [{ machineId: '\x18\x05' }, { machineId: 'pump-2' }] });
    const frames = readFeatureBatchFrames(bytes, Infinity);
    expect(frames).toMatchObject({ shard: 5, windows: [Uint8Array.from([0x1a, 2]), second] });
    expect(() => decodeMachineWindow(frames.windows[0]!)).toThrow('premature EOF');
    // A window alone is one level less deep than in a batch: one more level of unknown groups fits.
    const deepest = inWindow(groups(99));
    expect(() => decodeFeatureBatch(deepest)).toThrow('maximum recursion depth reached');
    expect(decodeMachineWindow(readFeatureBatchFrames(deepest, Infinity).windows[0]!)).toStrictEqual(create(MachineWindowSchema));
  });
});
