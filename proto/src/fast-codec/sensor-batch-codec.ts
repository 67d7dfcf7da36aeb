// Hand-written binary decoder for pdm.v1.SensorBatch, which the edge gateway decodes for every MQTT
// message: @bufbuild/protobuf's reflection-based fromBinary reads a 100-double block value by value
// through its generic list machinery. The contract (proven by sensor-batch-codec.test.ts): the result is
// fromBinary's with readUnknownFields: false, or it throws where fromBinary throws.
//
// As in fromBinary, a known field number is read as its declared type whatever wire type its tag says
// (except `values`, packed when length-delimited and one double otherwise), the last of the `body` fields
// wins, and an occurrence of the field already set merges into it (lists append; the scalars it carries
// replace the earlier ones).
// The case labels are the field numbers of sensor.proto.
import type { Reading, Readings, SampledBlock, SensorBatch } from '../gen/pdm/v1/sensor_pb.js';
import { WireType } from '@bufbuild/protobuf/wire';
import { WireReader, wireTypeOf } from './wire-reader.js';

// How deep each message nests, for the recursion budget of skipping unknown groups (as fromBinary counts).
const BATCH_DEPTH = 1;
const BODY_DEPTH = 2;
const READING_DEPTH = 3;

/** fromBinary(SensorBatchSchema, bytes, { readUnknownFields: false }); throws where it throws. */
export function decodeSensorBatch(bytes: Uint8Array): SensorBatch {
  const reader = new WireReader(bytes);
  const batch: SensorBatch = { $typeName: 'pdm.v1.SensorBatch', body: { case: undefined } };
  while (reader.pos < reader.length) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1: {
        const readings = batch.body.case === 'readings' ? batch.body.value : newReadings();
        readReadings(reader, reader.delimitedEnd(), readings);
        batch.body = { case: 'readings', value: readings };
        break;
      }
      case 2: {
        const block = batch.body.case === 'block' ? batch.body.value : newSampledBlock();
        readSampledBlock(reader, reader.delimitedEnd(), block);
        batch.body = { case: 'block', value: block };
        break;
      }
      default:
        reader.skip(tag, BATCH_DEPTH);
    }
  }
  return batch;
}

function newReadings(): Readings {
  return { $typeName: 'pdm.v1.Readings', readings: [] };
}

function newSampledBlock(): SampledBlock {
  return { $typeName: 'pdm.v1.SampledBlock', startTs: 0n, hz: 0, values: [] };
}

function readReadings(reader: WireReader, end: number, readings: Readings): void {
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag >>> 3 === 1) readings.readings.push(readReading(reader, reader.delimitedEnd()));
    else reader.skip(tag, BODY_DEPTH);
  }
}

function readReading(reader: WireReader, end: number): Reading {
  const reading: Reading = { $typeName: 'pdm.v1.Reading', ts: 0n, value: 0 };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        reading.ts = reader.int64();
        break;
      case 2:
        reading.value = reader.double();
        break;
      default:
        reader.skip(tag, READING_DEPTH);
    }
  }
  return reading;
}

function readSampledBlock(reader: WireReader, end: number, block: SampledBlock): void {
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag >>> 3) {
      case 1:
        block.startTs = reader.int64();
        break;
      case 2:
        block.hz = reader.double();
        break;
      case 3:
        if (wireTypeOf(tag) === WireType.LengthDelimited) {
          const valuesEnd = reader.delimitedEnd();
          while (reader.pos < valuesEnd) block.values.push(reader.double());
        } else {
          block.values.push(reader.double());
        }
        break;
      default:
        reader.skip(tag, BODY_DEPTH);
    }
  }
}
