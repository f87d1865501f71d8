import { ValidationError } from '../core/errors.js';
import { mappedFieldById, type MappedField, type NameMapping } from '../iceberg/name-mapping.js';
import type { IcebergType, Schema } from '../iceberg/types.js';
import { quoteIdent, quoteString } from './duckdb.js';
import type { FooterColumn, ParquetFooter } from './parquet-footer.js';
import { duckDbTypeOf } from './type-mapping.js';

export interface NameMappedProjection {
  /** One `expression AS "current name"` per schema field, over the file's own column names. */
  columns: string[];
  /** Field ids the file holds through the mapping (top level and nested). */
  fieldIds: Set<number>;
  /** Files with the same key can be read by one read_parquet under this projection. */
  key: string;
}

/**
 * How a data file without field ids reads under `schema` (spec "Column Projection", rule 2): each
 * file column takes the field id its name has in the table's name mapping, and the fields are
 * projected by that id under their current names and types. A field whose id no file column maps to
 * reads as NULL; so do file columns the mapping gives no id. Structs, and structs inside lists and
 * maps, are rebuilt field by field; list elements and map keys and values are matched by position.
 * `where` names the table and file in errors.
 */
export function nameMappedProjection(schema: Schema, mapping: NameMapping, footer: ParquetFooter, where: string): NameMappedProjection {
  const columns = footer.columns;
  const fieldIds = new Set<number>();
  let lambdas = 0;

  function value(type: IcebergType, fieldId: number, mapped: MappedField | undefined, column: FooterColumn, input: string, what: string): string {
    fieldIds.add(fieldId);
    if (typeof type === 'string') {
      if (column.kind !== 'primitive') throw mismatch(what, column, type);
      return `CAST(${input} AS ${duckDbTypeOf(type)})`;
    }
    switch (type.type) {
      case 'struct': {
        if (column.kind !== 'struct') throw mismatch(what, column, 'struct');
        const children = type.fields.map((f) => {
          const child = childFor(mapped?.fields, f.id, column.children);
          const expr = child ? value(f.type, f.id, child.mapped, child.column, `struct_extract(${input}, ${quoteString(child.column.name)})`, `${what}.${f.name}`) : nullOf(f.type);
          return `${quoteString(f.name)}: ${expr}`;
        });
        return `CASE WHEN ${input} IS NULL THEN NULL ELSE {${children.join(', ')}} END`;
      }
      case 'list': {
        if (column.kind !== 'list') throw mismatch(what, column, 'list');
        const element = column.children[0]!;
        const x = `__e${++lambdas}`;
        const expr = value(type.element, type.elementId, mappedFieldById(mapped?.fields, type.elementId), element, x, `${what}.element`);
        return typeof type.element === 'string' ? `CAST(${input} AS ${duckDbTypeOf(type)})` : `list_transform(${input}, lambda ${x}: ${expr})`;
      }
      case 'map': {
        if (column.kind !== 'map') throw mismatch(what, column, 'map');
        const [keyColumn, valueColumn] = column.children as [FooterColumn, FooterColumn];
        const e = `__e${++lambdas}`;
        const key = value(type.key, type.keyId, mappedFieldById(mapped?.fields, type.keyId), keyColumn, `struct_extract(${e}, 'key')`, `${what}.key`);
        const val = value(type.value, type.valueId, mappedFieldById(mapped?.fields, type.valueId), valueColumn, `struct_extract(${e}, 'value')`, `${what}.value`);
        if (typeof type.key === 'string' && typeof type.value === 'string') return `CAST(${input} AS ${duckDbTypeOf(type)})`;
        return `map_from_entries(list_transform(map_entries(${input}), lambda ${e}: {'key': ${key}, 'value': ${val}}))`;
      }
    }
  }

  function mismatch(what: string, column: FooterColumn, expected: string): ValidationError {
    return new ValidationError(
      'INVALID_NAME_MAPPING',
      `${where}: column ${quoteIdent(column.name)} is a ${column.kind} in the file, but the name mapping gives it to ${what}, a ${expected} in the table schema`,
    );
  }

  const projected = schema.fields.map((f) => {
    const match = childFor(mapping, f.id, columns);
    const expr = match ? value(f.type, f.id, match.mapped, match.column, quoteIdent(match.column.name), f.name) : nullOf(f.type);
    return `${expr} AS ${quoteIdent(f.name)}`;
  });
  return { columns: projected, fieldIds, key: `${footer.shape} ${projected.join(', ')}` };
}

/** The first file column (in file order) whose name the mapping gives `fieldId`. */
function childFor(mapping: MappedField[] | undefined, fieldId: number, columns: FooterColumn[]): { mapped: MappedField; column: FooterColumn } | undefined {
  const mapped = mappedFieldById(mapping, fieldId);
  if (!mapped) return undefined;
  const column = columns.find((c) => mapped.names.includes(c.name));
  return column ? { mapped, column } : undefined;
}

function nullOf(type: IcebergType): string {
  return `CAST(NULL AS ${duckDbTypeOf(type)})`;
}
