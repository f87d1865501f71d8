import { ValidationError } from '../core/errors.js';
import { mappedFieldById, type MappedField, type NameMapping } from '../iceberg/name-mapping.js';
import type { IcebergType, PrimitiveType, Schema } from '../iceberg/types.js';
import { quoteIdent, quoteString } from './duckdb.js';
import { fileColumnRead, fileColumnTypeOf } from './file-column-read.js';
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
 * A primitive reads only as Iceberg would read it (see fileColumnRead); any other pairing, and a file
 * whose column names differ only by case (DuckDB binds names case-insensitively, so it cannot tell
 * them apart), fail naming the columns. `where` names the table and file in errors.
 */
export function nameMappedProjection(schema: Schema, mapping: NameMapping, footer: ParquetFooter, where: string): NameMappedProjection {
  const columns = footer.columns;
  refuseNamesDifferingByCase(columns, '', where);
  const fieldIds = new Set<number>();
  let lambdas = 0;

  function value(type: IcebergType, fieldId: number, mapped: MappedField | undefined, column: FooterColumn, input: string, what: string, filePath: string): string {
    fieldIds.add(fieldId);
    if (typeof type === 'string') {
      if (column.kind !== 'primitive') throw mismatch(what, column, type, filePath);
      return primitive(type, column, input, what, filePath);
    }
    switch (type.type) {
      case 'struct': {
        if (column.kind !== 'struct') throw mismatch(what, column, 'struct', filePath);
        const children = type.fields.map((f) => {
          const child = childFor(mapped?.fields, f.id, column.children);
          const expr = child
            ? value(f.type, f.id, child.mapped, child.column, `struct_extract(${input}, ${quoteString(child.column.name)})`, `${what}.${f.name}`, `${filePath}.${child.column.name}`)
            : nullOf(f.type);
          return `${quoteString(f.name)}: ${expr}`;
        });
        return `CASE WHEN ${input} IS NULL THEN NULL ELSE {${children.join(', ')}} END`;
      }
      case 'list': {
        if (column.kind !== 'list') throw mismatch(what, column, 'list', filePath);
        const element = column.children[0]!;
        const x = `__e${++lambdas}`;
        const expr = value(type.element, type.elementId, mappedFieldById(mapped?.fields, type.elementId), element, x, `${what}.element`, `${filePath}.element`);
        return castsWhole(type.element, element) ? `CAST(${input} AS ${duckDbTypeOf(type)})` : `list_transform(${input}, lambda ${x}: ${expr})`;
      }
      case 'map': {
        if (column.kind !== 'map') throw mismatch(what, column, 'map', filePath);
        const [keyColumn, valueColumn] = column.children as [FooterColumn, FooterColumn];
        const e = `__e${++lambdas}`;
        const key = value(type.key, type.keyId, mappedFieldById(mapped?.fields, type.keyId), keyColumn, `struct_extract(${e}, 'key')`, `${what}.key`, `${filePath}.key`);
        const val = value(type.value, type.valueId, mappedFieldById(mapped?.fields, type.valueId), valueColumn, `struct_extract(${e}, 'value')`, `${what}.value`, `${filePath}.value`);
        if (castsWhole(type.key, keyColumn) && castsWhole(type.value, valueColumn)) return `CAST(${input} AS ${duckDbTypeOf(type)})`;
        return `map_from_entries(list_transform(map_entries(${input}), lambda ${e}: {'key': ${key}, 'value': ${val}}))`;
      }
    }
  }

  function primitive(type: PrimitiveType, column: FooterColumn, input: string, what: string, filePath: string): string {
    const read = fileColumnRead(column, type);
    if (read === undefined) {
      throw new ValidationError(
        'INVALID_NAME_MAPPING',
        `${where}: file column ${quoteIdent(filePath)} of type ${fileColumnTypeOf(column)} cannot be read as table column ${what} of type ${type}; ` +
          `a file column reads only as its own type or a promotion Iceberg allows (int to long, float to double, decimal(P,S) to decimal(P',S) with P' >= P, a timestamp in another unit)`,
      );
    }
    if (read === 'cast') return `CAST(${input} AS ${duckDbTypeOf(type)})`;
    // decode() fails with DuckDB's generic conversion error; this names the table, file and column instead.
    const invalid = `${where}: file column ${quoteIdent(filePath)} (Parquet BYTE_ARRAY without a string annotation, read as the string column ${what}) holds a value that is not valid UTF-8`;
    return `CASE WHEN ${input} IS NOT NULL AND try(decode(${input})) IS NULL THEN error(${quoteString(invalid)}) ELSE decode(${input}) END`;
  }

  function mismatch(what: string, column: FooterColumn, expected: string, filePath: string): ValidationError {
    return new ValidationError(
      'INVALID_NAME_MAPPING',
      `${where}: column ${quoteIdent(filePath)} is a ${column.kind} in the file, but the name mapping gives it to ${what}, a ${expected} in the table schema`,
    );
  }

  const projected = schema.fields.map((f) => {
    const match = childFor(mapping, f.id, columns);
    const expr = match ? value(f.type, f.id, match.mapped, match.column, quoteIdent(match.column.name), f.name, match.column.name) : nullOf(f.type);
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

/** Whether a list's element (or a map's key or value) is a primitive one CAST of the whole list or map converts as the element's read would. */
function castsWhole(type: IcebergType, column: FooterColumn): boolean {
  return typeof type === 'string' && fileColumnRead(column, type) === 'cast';
}

/**
 * Refuses a file with two columns of one level whose names differ only by case: DuckDB renames the
 * second on read and binds names case-insensitively, so the mapping would read the wrong one.
 */
function refuseNamesDifferingByCase(columns: FooterColumn[], parent: string, where: string): void {
  const seen = new Map<string, string>();
  for (const column of columns) {
    const folded = column.name.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw new ValidationError(
        'UNSUPPORTED',
        `${where}: the file has columns ${quoteIdent(parent + other)} and ${quoteIdent(parent + column.name)}, whose names differ only by case; DuckDB binds column names case-insensitively and cannot read them apart`,
      );
    }
    seen.set(folded, column.name);
    refuseNamesDifferingByCase(column.children, `${parent}${column.name}.`, where);
  }
}

function nullOf(type: IcebergType): string {
  return `CAST(NULL AS ${duckDbTypeOf(type)})`;
}
