import { describe, expect, it } from 'vitest';
import { currentSchema, newTableMetadata } from './metadata.js';
import { applySchemaChange } from './schema-update.js';
import type { IcebergType, Schema } from './types.js';

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'long' },
    { id: 2, name: 's', required: false, type: { type: 'struct', fields: [{ id: 3, name: 'n', required: false, type: 'int' }, { id: 4, name: 'd', required: false, type: 'decimal(5, 2)' }] } },
  ],
};
const table = () => newTableMetadata({ location: 'file:///t', schema });
const nested = (n: IcebergType, d: IcebergType, more: { id: number; name: string; type: IcebergType }[] = []): IcebergType => ({
  type: 'struct',
  fields: [{ id: 3, name: 'n', required: false, type: n }, { id: 4, name: 'd', required: false, type: d }, ...more.map((f) => ({ ...f, required: false }))],
});

describe('alterNestedType', () => {
  it('widens fields inside a struct as Iceberg promotes them and numbers new ones, keeping every id', () => {
    const next = applySchemaChange(table(), 't', { kind: 'alterNestedType', name: 's', type: nested('long', 'decimal(9, 2)', [{ id: 0, name: 'x', type: 'string' }]) });
    expect(currentSchema(next).fields[1]!.type).toEqual(nested('long', 'decimal(9, 2)', [{ id: 5, name: 'x', type: 'string' }]));
    expect(next.lastColumnId).toBe(5);
  });

  it('refuses a field narrowed, changed to a type Iceberg does not promote to, or left out, naming the field', () => {
    const change = (type: IcebergType) => () => applySchemaChange(table(), 't', { kind: 'alterNestedType', name: 's', type });
    expect(change(nested('int', 'decimal(4, 2)'))).toThrow('cannot change t.s.d from decimal(5, 2) to decimal(4, 2)');
    expect(change(nested('string', 'decimal(5, 2)'))).toThrow('cannot change t.s.n from int to string');
    expect(change({ type: 'struct', fields: [{ id: 3, name: 'n', required: false, type: 'int' }] })).toThrow('cannot change t.s: it has no field d (id 4), which a change of its type cannot drop');
  });
});
