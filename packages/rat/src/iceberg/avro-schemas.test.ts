import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  avroName,
  avroPrimitiveSchema,
  decimalFixedSize,
  manifestEntrySchema,
  manifestListSchema,
  partitionRecordSchema,
  type AvroSchema,
} from './avro-schemas.js';

const FIXTURES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/fixtures/', import.meta.url));

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${FIXTURES}${name}`, 'utf8')) as Record<string, unknown>;
}

/** A schema without `doc` and `default`: what must match field id by field id. */
function shape(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(shape);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'doc' || key === 'default') continue;
    out[key] = key === 'fields' ? (value as unknown[]).map(shape) : shape(value);
  }
  return out;
}

type Field = { name: string; type: unknown; 'field-id': number; default?: unknown };

function fieldsOf(record: unknown): Field[] {
  return (record as { fields: Field[] }).fields;
}

function byId(fields: Field[]): Map<number, Field> {
  return new Map(fields.map((field) => [field['field-id'], field]));
}

/** Every record field has a field-id, every array an element-id or a k/v record (Appendix A). */
function collectMissingIds(schema: unknown, path: string, missing: string[]): void {
  if (Array.isArray(schema)) {
    schema.forEach((branch) => collectMissingIds(branch, path, missing));
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  const node = schema as Record<string, unknown>;
  if (node.type === 'record') {
    for (const field of node.fields as Field[]) {
      if (typeof field['field-id'] !== 'number') missing.push(`${path}.${field.name}`);
      collectMissingIds(field.type, `${path}.${field.name}`, missing);
    }
  }
  if (node.type === 'array') {
    if (node.logicalType !== 'map' && typeof node['element-id'] !== 'number') missing.push(`${path}[]`);
    collectMissingIds(node.items, `${path}[]`, missing);
  }
}

describe('manifestListSchema', () => {
  const expected = fixture('avro_schema_manifest_file_v2.json');
  const actual = manifestListSchema();

  it('has the fixture fields in the same order with the same ids, names and types', () => {
    const expectedFields = fieldsOf(expected);
    const actualFields = fieldsOf(actual).filter((field) => field['field-id'] !== 519);
    expect(actualFields.map((field) => [field['field-id'], field.name])).toEqual(expectedFields.map((field) => [field['field-id'], field.name]));
    for (const expectedField of expectedFields) {
      const field = byId(actualFields).get(expectedField['field-id']);
      // Spec "Manifest Lists": sequence numbers are required in v2 (the Java writer declares them
      // as plain longs, see manifest-list-v2-1.avro); the fixture declares them optional.
      if (expectedField['field-id'] === 515 || expectedField['field-id'] === 516) {
        expect(field?.type, expectedField.name).toBe('long');
        continue;
      }
      expect(shape(field), expectedField.name).toEqual(shape(expectedField));
    }
    expect(actual.name).toBe('manifest_file');
  });

  it('adds key_metadata (519) as an optional field with a null default', () => {
    expect(byId(fieldsOf(actual)).get(519)).toEqual({
      name: 'key_metadata',
      type: ['null', 'bytes'],
      default: null,
      doc: 'Encryption key metadata blob',
      'field-id': 519,
    });
  });

  it('gives every optional field an Avro default of null (Appendix A)', () => {
    for (const field of fieldsOf(actual)) {
      if (Array.isArray(field.type)) expect(field.default, field.name).toBeNull();
      else expect('default' in field, field.name).toBe(false);
    }
  });

  it('has no record field or list without an id, and avsc accepts it', () => {
    const missing: string[] = [];
    collectMissingIds(actual, 'manifest_file', missing);
    expect(missing).toEqual([]);
    expect(() => avro.Type.forSchema(actual as avro.schema.AvroSchema)).not.toThrow();
  });
});

describe('manifestEntrySchema', () => {
  const expected = fixture('avro_schema_manifest_entry.json');
  const partitionType = {
    fields: [
      { fieldId: 1000, name: 'VendorID', type: 'int' as const },
      { fieldId: 1001, name: 'tpep_pickup_datetime', type: 'date' as const },
    ],
  };
  const actual = manifestEntrySchema(partitionType);
  const dataFileOf = (schema: unknown): Field[] => fieldsOf(byId(fieldsOf(schema)).get(2)?.type);

  it('matches the fixture manifest_entry fields, field id by field id', () => {
    // The fixture is a v1 entry: v2 adds 3, 4 (sequence numbers) and drops nothing at this level.
    const actualTop = byId(fieldsOf(actual));
    for (const expectedField of fieldsOf(expected)) {
      const field = actualTop.get(expectedField['field-id']);
      if (expectedField['field-id'] === 2) {
        expect(field?.name).toBe('data_file');
        continue;
      }
      expect(shape(field), expectedField.name).toEqual(shape(expectedField));
    }
    expect(fieldsOf(actual).map((field) => [field['field-id'], field.name])).toEqual([
      [0, 'status'],
      [1, 'snapshot_id'],
      [3, 'sequence_number'],
      [4, 'file_sequence_number'],
      [2, 'data_file'],
    ]);
    expect(shape(actualTop.get(3))).toEqual({ name: 'sequence_number', type: ['null', 'long'], 'field-id': 3 });
    expect(shape(actualTop.get(4))).toEqual({ name: 'file_sequence_number', type: ['null', 'long'], 'field-id': 4 });
  });

  it('matches the fixture data_file struct, with the v2 changes of Appendix E', () => {
    const expectedFields = dataFileOf(expected);
    const actualFields = byId(dataFileOf(actual));
    for (const expectedField of expectedFields) {
      const id = expectedField['field-id'];
      // Appendix E, v2: block_size_in_bytes was removed.
      if (id === 105) {
        expect(actualFields.has(105)).toBe(false);
        continue;
      }
      expect(shape(actualFields.get(id)), expectedField.name).toEqual(shape(expectedField));
    }
    const added = [...actualFields.keys()].filter((id) => !expectedFields.some((field) => field['field-id'] === id));
    expect(added.sort((a, b) => a - b)).toEqual([134, 135, 143]);
    expect(shape(actualFields.get(134))).toEqual({ name: 'content', type: 'int', 'field-id': 134 });
    expect(shape(actualFields.get(135))).toEqual({
      name: 'equality_ids',
      type: ['null', { type: 'array', items: 'int', 'element-id': 136 }],
      'field-id': 135,
    });
    expect(shape(actualFields.get(143))).toEqual({ name: 'referenced_data_file', type: ['null', 'string'], 'field-id': 143 });
  });

  it('writes the partition struct exactly as the fixture (r102, ids 1000+, optional, date logical type)', () => {
    const partition = byId(dataFileOf(actual)).get(102);
    const expectedPartition = byId(dataFileOf(expected)).get(102);
    expect(shape(partition?.type)).toEqual(shape(expectedPartition?.type));
  });

  it('has no record field or list without an id, and avsc accepts it', () => {
    const missing: string[] = [];
    collectMissingIds(actual, 'manifest_entry', missing);
    expect(missing).toEqual([]);
    expect(() => avro.Type.forSchema(actual as avro.schema.AvroSchema)).not.toThrow();
  });

  it('accepts an unpartitioned spec and two decimal fields of the same precision', () => {
    expect(partitionRecordSchema({ fields: [] })).toEqual({ type: 'record', name: 'r102', fields: [] });
    const schema = manifestEntrySchema({
      fields: [
        { fieldId: 1000, name: 'a', type: 'decimal(9, 2)' },
        { fieldId: 1001, name: 'b', type: 'decimal(9, 2)' },
      ],
    });
    expect(() => avro.Type.forSchema(schema as avro.schema.AvroSchema)).not.toThrow();
  });

  it('refuses partition names that collide once made valid Avro names', () => {
    expect(() =>
      partitionRecordSchema({
        fields: [
          { fieldId: 1000, name: 'a-b', type: 'int' },
          { fieldId: 1001, name: 'a_x2Db', type: 'int' },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
  });
});

describe('avroPrimitiveSchema (Appendix A type mapping)', () => {
  const cases: [Parameters<typeof avroPrimitiveSchema>[0], AvroSchema][] = [
    ['boolean', 'boolean'],
    ['int', 'int'],
    ['long', 'long'],
    ['float', 'float'],
    ['double', 'double'],
    ['string', 'string'],
    ['binary', 'bytes'],
    ['date', { type: 'int', logicalType: 'date' }],
    ['time', { type: 'long', logicalType: 'time-micros' }],
    ['timestamp', { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false }],
    ['timestamptz', { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true }],
    ['timestamp_ns', { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': false }],
    ['timestamptz_ns', { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': true }],
    ['uuid', { type: 'fixed', name: 'uuid_fixed_1000', size: 16, logicalType: 'uuid' }],
    ['fixed[7]', { type: 'fixed', name: 'fixed_1000', size: 7 }],
    ['decimal(8, 4)', { type: 'fixed', name: 'decimal_8_4_1000', size: 4, logicalType: 'decimal', precision: 8, scale: 4 }],
    ['decimal(38,10)', { type: 'fixed', name: 'decimal_38_10_1000', size: 16, logicalType: 'decimal', precision: 38, scale: 10 }],
  ];
  it.each(cases)('%s', (type, expected) => {
    expect(avroPrimitiveSchema(type, 1000)).toEqual(expected);
  });

  it('sizes decimals with the minimum number of bytes for the precision', () => {
    const sizes = Array.from({ length: 38 }, (_, index) => decimalFixedSize(index + 1));
    // The largest precision n bytes hold: floor(log10(2^(8n-1) - 1)), for n = 1..16.
    const maxPrecision = [2, 4, 6, 9, 11, 14, 16, 18, 21, 23, 26, 28, 31, 33, 35, 38];
    const expected = Array.from({ length: 38 }, (_, index) => maxPrecision.findIndex((max) => index + 1 <= max) + 1);
    expect(sizes).toEqual(expected);
  });
});

describe('avroName', () => {
  it.each([
    ['VendorID', 'VendorID'],
    ['ts_day', 'ts_day'],
    ['a-b', 'a_x2Db'],
    ['1st', '_1st'],
    ['a.b', 'a_x2Eb'],
    ['é', '_xE9'],
    ['', '_'],
  ])('%j -> %j', (name, expected) => {
    expect(avroName(name)).toBe(expected);
  });
});
