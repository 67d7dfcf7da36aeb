// A field added to features.proto or sensor.proto must be added to the hand-written codecs too, or they
// would silently drop it. The property tests build messages from hand-written generators, which a new
// field would not reach; this test fills every field the schema has, found by reflection, so it fails
// as soon as the schema and the codecs disagree.
import { ScalarType, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { FeatureBatchSchema, MachineWindowSchema } from '../gen/pdm/v1/features_pb.js';
import { SensorBatchSchema } from '../gen/pdm/v1/sensor_pb.js';
import { decodeFeatureBatch, encodeFeatureBatch } from './feature-batch-codec.js';
import { decodeMachineWindow, encodeMachineWindow } from './machine-window-codec.js';
import { decodeSensorBatch } from './sensor-batch-codec.js';

/** A value of the field's scalar type that is not its zero value, so it is always on the wire. */
function scalarSample(scalar: ScalarType): unknown {
  switch (scalar) {
    case ScalarType.STRING:
      return 'x';
    case ScalarType.BOOL:
      return true;
    case ScalarType.BYTES:
      return new Uint8Array([1]);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return 1.5;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 7n;
    default:
      return 7;
  }
}

function fieldSample(field: DescField, oneofChoice: Map<string, string>): unknown {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarSample(field.scalar);
    case 'enum':
      return field.enum.values[1]?.number ?? 1;
    case 'message':
      return filledInit(field.message, oneofChoice);
    case 'list':
      return field.listKind === 'message' ? [filledInit(field.message, oneofChoice), filledInit(field.message, oneofChoice)] : field.listKind === 'enum' ? [1, 2] : [scalarSample(field.scalar), scalarSample(field.scalar)];
    case 'map':
      throw new Error(`map field ${field.name}: teach this test maps before the codecs use one`);
  }
}

/** An init object with every field set; a oneof holds the member `oneofChoice` names (else its first). */
function filledInit(schema: DescMessage, oneofChoice: Map<string, string>): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (field.oneof) continue;
    init[field.localName] = fieldSample(field, oneofChoice);
  }
  for (const oneof of schema.oneofs) {
    const chosen = oneof.fields.find((f) => f.name === oneofChoice.get(oneof.name)) ?? oneof.fields[0]!;
    init[oneof.localName] = { case: chosen.localName, value: fieldSample(chosen, oneofChoice) };
  }
  return init;
}

/** One fully filled message per member of every oneof reachable from `schema` (one if there is none). */
function filledVariants(schema: DescMessage): Record<string, unknown>[] {
  const choices: Map<string, string>[] = [new Map<string, string>()];
  const seen = new Set<string>();
  const visit = (desc: DescMessage) => {
    if (seen.has(desc.typeName)) return;
    seen.add(desc.typeName);
    for (const oneof of desc.oneofs) for (const member of oneof.fields.slice(1)) choices.push(new Map<string, string>([[oneof.name, member.name]]));
    for (const field of desc.fields) if (field.message) visit(field.message);
  };
  visit(schema);
  return choices.map((choice) => filledInit(schema, choice));
}

describe('the hand-written codecs cover every field of the schema', () => {
  it('MachineWindow: encodes and decodes every field as protobuf-es does', () => {
    for (const init of filledVariants(MachineWindowSchema)) {
      const window = create(MachineWindowSchema, init);
      const bytes = toBinary(MachineWindowSchema, window);
      expect(encodeMachineWindow(window)).toStrictEqual(bytes);
      expect(decodeMachineWindow(bytes)).toStrictEqual(fromBinary(MachineWindowSchema, bytes, { readUnknownFields: false }));
    }
  });

  it('FeatureBatch: encodes and decodes every field as protobuf-es does', () => {
    for (const init of filledVariants(FeatureBatchSchema)) {
      const batch = create(FeatureBatchSchema, init);
      const bytes = toBinary(FeatureBatchSchema, batch);
      expect(encodeFeatureBatch(batch)).toStrictEqual(bytes);
      expect(decodeFeatureBatch(bytes)).toStrictEqual(fromBinary(FeatureBatchSchema, bytes, { readUnknownFields: false }));
    }
  });

  it('SensorBatch: decodes every field of every body as protobuf-es does', () => {
    const variants = filledVariants(SensorBatchSchema);
    expect(variants.length).toBeGreaterThanOrEqual(SensorBatchSchema.oneofs[0]!.fields.length);
    for (const init of variants) {
      const bytes = toBinary(SensorBatchSchema, create(SensorBatchSchema, init));
      expect(decodeSensorBatch(bytes)).toStrictEqual(fromBinary(SensorBatchSchema, bytes, { readUnknownFields: false }));
    }
  });
});
