import { DuckDBListType, DuckDBMapType, DuckDBStructType, type DuckDBType, DuckDBTypeId, DuckDBVarCharType } from '@duckdb/node-api';
import type { IcebergType } from '../iceberg/types.js';
import { type DuckDb, quoteIdent, quoteString } from '../engine/duckdb.js';
import { readTypeSql } from './json-infer.js';

/**
 * The values inside a nested JSON column (an object read as a STRUCT, an array as a LIST, a wide
 * object as a MAP) get the checks a top-level column gets (json-columns.ts). Without them DuckDB's
 * reader changes them silently: `"at": "2024-01-02T03:04:05+02:00"` in an object read as TIMESTAMP
 * loses its offset (03:04:05, not the instant 01:04:05 UTC), `1e400` reads as infinity, an integer
 * of 2^53 or more among fractions is rounded (9007199254740993 as 9007199254740992), one beyond
 * BIGINT reads as a double (99999999999999999999 as 1e20), and an `infinity` date has no Iceberg value.
 */

/** One step from a nested value to a value inside it: a struct field by name, or each element of a list (each value of a map). */
export type Step = { field: string } | { each: 'list' | 'map' };

/** A value of a primitive type inside a nested column, and the steps to it. */
export interface Leaf {
  path: readonly Step[];
  type: DuckDBType;
}

/** A leaf's path as people read it: `c.at`, `c.tags[]`, `c.attrs{}`. */
export function pathName(key: string, path: readonly Step[]): string {
  return path.reduce((name, step) => ('field' in step ? `${name}.${step.field}` : `${name}${step.each === 'list' ? '[]' : '{}'}`), key);
}

export function isNested(type: DuckDBType): boolean {
  return type.alias !== 'JSON' && (type.typeId === DuckDBTypeId.STRUCT || type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.MAP);
}

/** The primitive leaves of a nested type that `wanted` picks. */
export function leavesOf(type: DuckDBType, wanted: (leaf: DuckDBType) => boolean, path: Step[] = []): Leaf[] {
  if (type.alias === 'JSON') return [];
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return struct.entryNames.flatMap((field, i) => leavesOf(struct.entryTypes[i]!, wanted, [...path, { field }]));
    }
    case DuckDBTypeId.LIST:
      return leavesOf((type as DuckDBListType).valueType, wanted, [...path, { each: 'list' }]);
    case DuckDBTypeId.MAP:
      return leavesOf((type as DuckDBMapType).valueType, wanted, [...path, { each: 'map' }]);
    default:
      return wanted(type) ? [{ path, type }] : [];
  }
}

/** SQL: a LIST of every value at `path` inside `value` (NULL when `value` is NULL). */
export function leafValuesSql(value: string, path: readonly Step[], depth = 0): string {
  const [step, ...rest] = path;
  if (step === undefined) return `[${value}]`;
  if ('field' in step) return leafValuesSql(`struct_extract(${value}, ${quoteString(step.field)})`, rest, depth);
  const element = `e${depth}`;
  const list = step.each === 'list' ? value : `map_values(${value})`;
  return `flatten(list_transform(${list}, lambda ${element}: ${leafValuesSql(element, rest, depth + 1)}))`;
}

/**
 * SQL: whether any value at `path` inside `value` satisfies `condition` (SQL over `v`). Struct
 * fields are followed without building lists, so a check of an object's fields costs little more
 * than the same check of a column.
 */
export function anyLeafSql(value: string, path: readonly Step[], condition: (v: string) => string, depth = 0): string {
  const [step, ...rest] = path;
  if (step === undefined) return `coalesce(${condition(value)}, false)`;
  if ('field' in step) return anyLeafSql(`struct_extract(${value}, ${quoteString(step.field)})`, rest, condition, depth);
  const element = `e${depth}`;
  const list = step.each === 'list' ? value : `map_values(${value})`;
  return `coalesce(list_bool_or(list_transform(${list}, lambda ${element}: ${anyLeafSql(element, rest, condition, depth + 1)})), false)`;
}

/** SQL: the first value at `path` inside `value` that satisfies `condition` (SQL over `v`). */
export function firstLeafSql(value: string, path: readonly Step[], condition: string): string {
  return `list_filter(${leafValuesSql(value, path)}, lambda v: ${condition})[1]`;
}

function samePath(a: readonly Step[], b: readonly Step[]): boolean {
  return a.length === b.length && a.every((step, i) => JSON.stringify(step) === JSON.stringify(b[i]));
}

/**
 * The type's SQL for read_json's `columns`, as readTypeSql gives it, with the leaves that `read`
 * names read as another type (a TIMESTAMP with offsets as TIMESTAMPTZ, a DOUBLE as VARCHAR).
 */
export function readTypeWith(type: DuckDBType, exact: boolean, read: ReadonlyArray<{ path: readonly Step[]; as: string }>, path: Step[] = []): string {
  if (read.length === 0) return readTypeSql(type, exact);
  if (type.alias !== 'JSON') {
    switch (type.typeId) {
      case DuckDBTypeId.STRUCT: {
        const struct = type as DuckDBStructType;
        return `STRUCT(${struct.entryNames.map((field, i) => `${quoteIdent(field)} ${readTypeWith(struct.entryTypes[i]!, exact, read, [...path, { field }])}`).join(', ')})`;
      }
      case DuckDBTypeId.LIST:
        return `${readTypeWith((type as DuckDBListType).valueType, exact, read, [...path, { each: 'list' }])}[]`;
      case DuckDBTypeId.MAP: {
        const map = type as DuckDBMapType;
        return `MAP(${readTypeSql(map.keyType, exact)}, ${readTypeWith(map.valueType, exact, read, [...path, { each: 'map' }])})`;
      }
    }
  }
  return read.find((r) => samePath(r.path, path))?.as ?? readTypeSql(type, exact);
}

/**
 * The type with each struct, list or map inside it that `table` (the table's type of the column)
 * holds as a string replaced by JSON, which read_json reads as its text (readTypeSql). Struct
 * fields are matched by name ignoring case, as the cast to the table's type matches them; a struct
 * where the table has a map (a wide object) is matched field by field against the map's values.
 */
export function textFieldsAsJson(type: DuckDBType, table: IcebergType): DuckDBType {
  if (typeof table === 'string') return table === 'string' && isNested(type) ? DuckDBVarCharType.create('JSON') : type;
  if (type.alias === 'JSON') return type;
  if (type.typeId === DuckDBTypeId.STRUCT && (table.type === 'struct' || table.type === 'map')) {
    const struct = type as DuckDBStructType;
    const fieldType = (name: string) => (table.type === 'map' ? table.value : table.fields.find((f) => f.name.toLowerCase() === name.toLowerCase())?.type);
    return new DuckDBStructType(
      struct.entryNames,
      struct.entryNames.map((name, i) => {
        const inTable = fieldType(name);
        return inTable === undefined ? struct.entryTypes[i]! : textFieldsAsJson(struct.entryTypes[i]!, inTable);
      }),
    );
  }
  if (type.typeId === DuckDBTypeId.LIST && table.type === 'list') return new DuckDBListType(textFieldsAsJson((type as DuckDBListType).valueType, table.element));
  if (type.typeId === DuckDBTypeId.MAP && table.type === 'map') return new DuckDBMapType((type as DuckDBMapType).keyType, textFieldsAsJson((type as DuckDBMapType).valueType, table.value));
  return type;
}

/** The type with the leaves that `retype` names given another type (a string field found to hold timestamps as TIMESTAMP). */
export function withLeafTypes(type: DuckDBType, retype: ReadonlyArray<{ path: readonly Step[]; type: DuckDBType }>, path: Step[] = []): DuckDBType {
  const exactly = retype.find((r) => samePath(r.path, path));
  if (exactly) return exactly.type;
  if (type.alias === 'JSON' || !retype.some((r) => r.path.length > path.length && samePath(r.path.slice(0, path.length), path))) return type;
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return new DuckDBStructType(struct.entryNames, struct.entryNames.map((field, i) => withLeafTypes(struct.entryTypes[i]!, retype, [...path, { field }])));
    }
    case DuckDBTypeId.LIST:
      return new DuckDBListType(withLeafTypes((type as DuckDBListType).valueType, retype, [...path, { each: 'list' }]));
    case DuckDBTypeId.MAP:
      return new DuckDBMapType((type as DuckDBMapType).keyType, withLeafTypes((type as DuckDBMapType).valueType, retype, [...path, { each: 'map' }]));
    default:
      return type;
  }
}

/**
 * SQL for `value` rebuilt with the leaves that `convert` names converted (SQL over the leaf's value);
 * `value` itself when none is. A NULL struct stays NULL, not a struct of NULLs.
 */
export function rebuildSql(value: string, type: DuckDBType, convert: ReadonlyArray<{ path: readonly Step[]; sql: (leaf: string) => string }>, path: Step[] = [], depth = 0): string {
  const here = convert.filter((c) => c.path.length >= path.length && samePath(c.path.slice(0, path.length), path));
  if (here.length === 0) return value;
  const exactly = here.find((c) => c.path.length === path.length);
  if (exactly) return exactly.sql(value);
  const element = `e${depth}`;
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const fields = struct.entryNames.map(
        (field, i) => `${quoteString(field)}: ${rebuildSql(`struct_extract(${value}, ${quoteString(field)})`, struct.entryTypes[i]!, convert, [...path, { field }], depth)}`,
      );
      return `CASE WHEN ${value} IS NULL THEN NULL ELSE {${fields.join(', ')}} END`;
    }
    case DuckDBTypeId.LIST:
      return `list_transform(${value}, lambda ${element}: ${rebuildSql(element, (type as DuckDBListType).valueType, convert, [...path, { each: 'list' }], depth + 1)})`;
    case DuckDBTypeId.MAP: {
      const inner = rebuildSql(`${element}.value`, (type as DuckDBMapType).valueType, convert, [...path, { each: 'map' }], depth + 1);
      return `map_from_entries(list_transform(map_entries(${value}), lambda ${element}: {'key': ${element}.key, 'value': ${inner}}))`;
    }
    default:
      return value;
  }
}

/** The reading of `path`'s first non-NULL value inside column `column` of `reader` (a read with those leaves as text), or undefined if it has none. */
export async function firstLeafText(duck: DuckDb, reader: string, column: string, path: readonly Step[]): Promise<string | undefined> {
  const [row] = await duck.rows<{ v: string }>(`SELECT v FROM (SELECT unnest(${leafValuesSql(quoteIdent(column), path)}) AS v FROM ${reader}) WHERE v IS NOT NULL LIMIT 1`);
  return row?.v;
}
