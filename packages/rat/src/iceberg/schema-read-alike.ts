/**
 * Whether a data file written under one schema can be read under another by column name, with no
 * field-id mapping (spec "Column Projection": columns are resolved by field id; reading by name is
 * only a shortcut, sound when every name stands for the same id and type in both schemas).
 */
import type { IcebergType, StructField, StructType } from './types.js';

/**
 * True when `written` and `read` have the same columns in the same order: the same ids, names and
 * types, nested fields included (docs, required flags and defaults aside, which reading ignores).
 * A column added, dropped, renamed or promoted since the file was written makes it false. Schema ids
 * are not compared: a schema from a file's footer may come from another table's numbering.
 */
export function schemasReadAlike(written: StructType, read: StructType): boolean {
  return fieldsAlike(written.fields, read.fields);
}

function fieldsAlike(a: StructField[], b: StructField[]): boolean {
  return a.length === b.length && a.every((field, i) => field.id === b[i]!.id && field.name === b[i]!.name && typesAlike(field.type, b[i]!.type));
}

function typesAlike(a: IcebergType, b: IcebergType): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  switch (a.type) {
    case 'struct':
      return b.type === 'struct' && fieldsAlike(a.fields, b.fields);
    case 'list':
      return b.type === 'list' && a.elementId === b.elementId && typesAlike(a.element, b.element);
    case 'map':
      return b.type === 'map' && a.keyId === b.keyId && a.valueId === b.valueId && typesAlike(a.key, b.key) && typesAlike(a.value, b.value);
  }
}
