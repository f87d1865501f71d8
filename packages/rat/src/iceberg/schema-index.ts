/**
 * Lookups of schema fields by id. Every nested id is indexed: struct fields, list elements
 * (named `element`) and map keys and values (named `key`, `value`), as in the name mapping of spec
 * "Column Projection", so bounds and partition sources keyed by any field id resolve.
 */
import { ValidationError } from '../core/errors.js';
import type { IcebergType, StructField, StructType } from './types.js';

export interface IndexedField {
  field: StructField;
  /** Names from the top-level column down, e.g. ['scores', 'element']. */
  path: string[];
  /** Ids of the enclosing fields, outermost first (empty for a top-level column). */
  parentIds: number[];
}

function childFields(type: IcebergType): StructField[] {
  if (typeof type === 'string') return [];
  switch (type.type) {
    case 'struct':
      return type.fields;
    case 'list':
      return [{ id: type.elementId, name: 'element', required: type.elementRequired, type: type.element }];
    case 'map':
      return [
        { id: type.keyId, name: 'key', required: true, type: type.key },
        { id: type.valueId, name: 'value', required: type.valueRequired, type: type.value },
      ];
  }
}

/** Every field id of a schema (or any struct), with its path. Throws INVALID_ARGUMENT on a duplicate id. */
export function indexById(schema: StructType): Map<number, IndexedField> {
  const index = new Map<number, IndexedField>();
  const visit = (type: IcebergType, path: string[], parentIds: number[]): void => {
    for (const field of childFields(type)) {
      const fieldPath = [...path, field.name];
      const existing = index.get(field.id);
      if (existing) {
        throw new ValidationError(
          'INVALID_ARGUMENT',
          `duplicate field id ${field.id} in schema: "${existing.path.join('.')}" and "${fieldPath.join('.')}"`,
        );
      }
      index.set(field.id, { field, path: fieldPath, parentIds });
      visit(field.type, fieldPath, [...parentIds, field.id]);
    }
  };
  visit(schema, [], []);
  return index;
}

/** The field with `id` anywhere in the schema (list elements and map keys/values included). */
export function findField(schema: StructType, id: number): StructField | undefined {
  return indexById(schema).get(id)?.field;
}

/** The highest field id used in a type, 0 when it has none (the table's last-column-id for a new schema). */
export function highestFieldId(type: IcebergType): number {
  let highest = 0;
  for (const field of childFields(type)) highest = Math.max(highest, field.id, highestFieldId(field.type));
  return highest;
}
