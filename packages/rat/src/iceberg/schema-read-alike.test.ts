import { describe, expect, it } from 'vitest';
import { schemasReadAlike } from './schema-read-alike.js';
import type { Schema, StructField } from './types.js';

const schema = (schemaId: number, fields: StructField[]): Schema => ({ type: 'struct', schemaId, fields });
const id: StructField = { id: 1, name: 'id', required: true, type: 'long' };
const tags: StructField = { id: 2, name: 'tags', required: false, type: { type: 'list', elementId: 3, elementRequired: false, element: 'string' } };

describe('schemasReadAlike', () => {
  it('is true for the same columns under another schema id, docs and required flags aside', () => {
    expect(schemasReadAlike(schema(0, [id, tags]), schema(4, [{ ...id, required: false, doc: 'key' }, tags]))).toBe(true);
  });

  it('is false for a column added, dropped, renamed, re-created under its name, promoted or moved', () => {
    const written = schema(0, [id, tags]);
    expect(schemasReadAlike(written, schema(1, [id, tags, { id: 4, name: 'extra', required: false, type: 'string' }]))).toBe(false);
    expect(schemasReadAlike(written, schema(1, [id]))).toBe(false);
    expect(schemasReadAlike(written, schema(1, [{ ...id, name: 'key' }, tags]))).toBe(false);
    expect(schemasReadAlike(written, schema(1, [{ ...id, id: 5 }, tags]))).toBe(false);
    expect(schemasReadAlike(schema(0, [{ ...id, type: 'int' }]), schema(1, [id]))).toBe(false);
    expect(schemasReadAlike(written, schema(1, [tags, id]))).toBe(false);
  });

  it('compares nested fields by id, name and type', () => {
    const struct = (name: string): StructField => ({ id: 6, name: 's', required: false, type: { type: 'struct', fields: [{ id: 7, name, required: false, type: 'int' }] } });
    expect(schemasReadAlike(schema(0, [struct('a')]), schema(1, [struct('a')]))).toBe(true);
    expect(schemasReadAlike(schema(0, [struct('a')]), schema(1, [struct('b')]))).toBe(false);
    expect(schemasReadAlike(schema(0, [tags]), schema(1, [{ ...tags, type: { type: 'list', elementId: 8, elementRequired: false, element: 'string' } }]))).toBe(false);
  });
});
