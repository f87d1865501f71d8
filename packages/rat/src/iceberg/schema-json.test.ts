import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseJsonBigint } from '../core/json.js';
import { findField, highestFieldId, indexById } from './schema-index.js';
import { schemaFromJson, schemaToJson, typeFromJson, typeToJson } from './schema-json.js';

const TABLES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/', import.meta.url));
const COLUMN_MAPPING = join(TABLES, 'column_mapping/warehouse/default.db/my_table/metadata/00001-75643dae-a7a7-46ae-ab30-ea80d3793f3f.metadata.json');

function columnMappingSchemaJson(): unknown {
  const meta = parseJsonBigint(readFileSync(COLUMN_MAPPING, 'utf8')) as { schemas: unknown[] };
  return meta.schemas[0];
}

describe('schemaFromJson / schemaToJson', () => {
  it('reads nested struct, list and map columns written by PyIceberg', () => {
    const schema = schemaFromJson(columnMappingSchemaJson());
    expect(schema.schemaId).toBe(0);
    expect(schema.identifierFieldIds).toEqual([]);
    expect(schema.fields.map((f) => f.name)).toEqual(['id', 'name', 'age', 'attributes', 'scores', 'profile']);
    expect(schema.fields[3]?.type).toEqual({ type: 'map', keyId: 7, key: 'string', valueId: 8, valueRequired: false, value: 'string' });
    expect(schema.fields[4]?.type).toEqual({ type: 'list', elementId: 9, elementRequired: false, element: 'long' });
    expect(schema.fields[5]?.type).toEqual({
      type: 'struct',
      fields: [
        { id: 10, name: 'email', required: false, type: 'string' },
        { id: 11, name: 'verified', required: false, type: 'boolean' },
      ],
    });
  });

  it('round-trips with spec wire names', () => {
    const schema = schemaFromJson(columnMappingSchemaJson());
    const json = schemaToJson(schema);
    expect(json).toMatchObject({ type: 'struct', 'schema-id': 0, 'identifier-field-ids': [] });
    expect(JSON.stringify(json)).toContain('"element-id":9');
    expect(JSON.stringify(json)).toContain('"element-required":false');
    expect(JSON.stringify(json)).toContain('"key-id":7');
    expect(JSON.stringify(json)).toContain('"value-id":8');
    expect(JSON.stringify(json)).toContain('"value-required":false');
    expect(schemaFromJson(json)).toEqual(schema);
  });

  it('decodes and re-encodes defaults with the JSON single-value form', () => {
    const json = {
      type: 'struct',
      'schema-id': 3,
      fields: [
        { id: 1, name: 'id', required: true, type: 'uuid', 'initial-default': '0db3e2a8-9d1d-42b9-aa7b-74ebe558dceb', 'write-default': 'ec5911be-b0a7-458c-8438-c9a3e53cffae' },
        { id: 2, name: 'n', required: false, type: 'long', 'initial-default': 34, 'write-default': null },
        { id: 3, name: 'd', required: false, type: 'date', 'initial-default': '2017-11-16' },
        { id: 4, name: 'p', required: false, type: 'decimal(9,2)', 'write-default': '14.20' },
        { id: 5, name: 'point', required: false, type: { type: 'struct', fields: [{ id: 6, name: 'x', required: true, type: 'int', 'initial-default': 0 }] }, 'initial-default': {} },
      ],
    };
    const schema = schemaFromJson(json);
    expect(schema.fields[0]?.initialDefault).toBe('0db3e2a8-9d1d-42b9-aa7b-74ebe558dceb');
    expect(schema.fields[1]?.initialDefault).toBe(34n);
    expect(schema.fields[1]?.writeDefault).toBeNull();
    expect(schema.fields[2]?.initialDefault).toBe(17486);
    expect(schema.fields[3]?.type).toBe('decimal(9, 2)');
    expect(schema.fields[3]?.writeDefault).toBe(1420n);
    expect(schema.fields[4]?.initialDefault).toEqual({});
    const back = schemaToJson(schema);
    expect(back.fields).toEqual([
      json.fields[0],
      json.fields[1],
      json.fields[2],
      { ...json.fields[3], type: 'decimal(9, 2)' },
      json.fields[4],
    ]);
  });

  it('defaults schema-id to 0 (optional in v1)', () => {
    expect(schemaFromJson({ type: 'struct', fields: [] }).schemaId).toBe(0);
  });

  it('names the field path of what is wrong', () => {
    const bad = (fields: unknown[], extra: object = {}) => () => schemaFromJson({ type: 'struct', 'schema-id': 0, fields, ...extra });
    expect(bad([{ id: 1, name: 'a', required: true, type: 'varchar' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_TYPE', message: 'field "schema.fields[0].type": unknown Iceberg type "varchar"' }),
    );
    expect(bad([{ id: 'x', name: 'a', required: true, type: 'int' }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'field "schema.fields[0].id" must be an integer, got "x"' }));
    expect(bad([{ id: 1, name: 'a', type: 'int' }])).toThrow(expect.objectContaining({ message: 'missing required field "schema.fields[0].required"' }));
    expect(bad([{ id: 1, name: 'a', required: true, type: { type: 'list', 'element-id': 2, element: 'int' } }])).toThrow(
      expect.objectContaining({ message: 'missing required field "schema.fields[0].type.element-required"' }),
    );
    expect(bad([{ id: 1, name: 'a', required: true, type: { type: 'set' } }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(
      bad([
        { id: 1, name: 'a', required: true, type: 'int' },
        { id: 1, name: 'b', required: true, type: 'int' },
      ]),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining('duplicate field id 1') }));
    expect(
      bad([
        { id: 1, name: 'a', required: true, type: 'int' },
        { id: 2, name: 'a', required: true, type: 'int' },
      ]),
    ).toThrow(expect.objectContaining({ message: expect.stringContaining('schema.fields[1]') }));
    expect(bad([{ id: 1, name: 'a', required: true, type: 'long', 'initial-default': 'abc' }])).toThrow(
      expect.objectContaining({ message: expect.stringContaining('schema.fields[0].initial-default') }),
    );
  });

  it('checks identifier fields (spec "Identifier Field IDs")', () => {
    const schema = (field: object, ids: number[]) => () => schemaFromJson({ type: 'struct', fields: [field], 'identifier-field-ids': ids });
    expect(schema({ id: 1, name: 'a', required: true, type: 'long' }, [1])).not.toThrow();
    expect(schema({ id: 1, name: 'a', required: true, type: 'long' }, [2])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(schema({ id: 1, name: 'a', required: false, type: 'long' }, [1])).toThrow(expect.objectContaining({ message: expect.stringContaining('"a" must be a required primitive') }));
    expect(schema({ id: 1, name: 'a', required: true, type: 'double' }, [1])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const nested = { id: 1, name: 's', required: false, type: { type: 'struct', fields: [{ id: 2, name: 'k', required: true, type: 'int' }] } };
    expect(schema(nested, [2])).toThrow(expect.objectContaining({ message: expect.stringContaining('"s.k" must not be nested') }));
    expect(schema({ ...nested, required: true }, [2])).not.toThrow();
  });
});

describe('typeFromJson / typeToJson', () => {
  it('round-trips nested types', () => {
    const json = {
      type: 'map',
      'key-id': 4,
      key: 'string',
      'value-id': 5,
      'value-required': true,
      value: { type: 'list', 'element-id': 6, 'element-required': false, element: 'fixed[16]' },
    };
    expect(typeToJson(typeFromJson(json))).toEqual(json);
    expect(typeFromJson('decimal(9,2)')).toBe('decimal(9, 2)');
  });
});

describe('schema index', () => {
  it('indexes every id with its path, list elements and map keys/values included', () => {
    const schema = schemaFromJson(columnMappingSchemaJson());
    const index = indexById(schema);
    expect([...index.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(index.get(9)).toMatchObject({ path: ['scores', 'element'], parentIds: [5], field: { id: 9, name: 'element', required: false, type: 'long' } });
    expect(index.get(7)).toMatchObject({ path: ['attributes', 'key'], field: { required: true, type: 'string' } });
    expect(index.get(11)).toMatchObject({ path: ['profile', 'verified'], parentIds: [6] });
    expect(findField(schema, 10)?.name).toBe('email');
    expect(findField(schema, 99)).toBeUndefined();
    expect(highestFieldId(schema)).toBe(11);
  });
});
