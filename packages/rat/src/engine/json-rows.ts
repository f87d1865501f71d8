import { type DuckDBType, DuckDBTypeId, type Json } from '@duckdb/node-api';
import { quoteIdent } from './duckdb.js';

const WIDE_INTEGERS = new Set<DuckDBTypeId>([DuckDBTypeId.BIGINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);

type Normalize = (value: Json) => Json;

/**
 * DuckDB's JSON conversion renders 64-bit and wider integers as strings so that none loses precision;
 * the ones that fit a double become numbers again (COUNT(*) and BIGINT ids read as numbers in JSON
 * and tables), wherever they are: a top-level column, a list or array item, a struct field, a map key
 * or value, a union member. A string in a VARCHAR field stays a string: the walk follows the types.
 * Rows are changed in place and returned.
 */
export function rowNormalizer(columnTypes: readonly DuckDBType[]): (rows: Json[][]) => Json[][] {
  const columns = columnTypes.map((type, index) => ({ index, normalize: normalizerOf(type) })).filter((c) => c.normalize !== undefined);
  if (columns.length === 0) return (rows) => rows;
  return (rows) => {
    for (const row of rows) {
      for (const { index, normalize } of columns) row[index] = normalize!(row[index]!);
    }
    return rows;
  };
}

/** How values of one type are normalized; undefined when nothing in the type needs it. */
function normalizerOf(type: DuckDBType): Normalize | undefined {
  if (WIDE_INTEGERS.has(type.typeId)) return safeNumber;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const item = normalizerOf(type.valueType);
      return item && ((value) => (Array.isArray(value) ? value.map((v) => item(v)) : value));
    }
    case DuckDBTypeId.STRUCT: {
      const fields = type.entryNames.map((name, i) => ({ name, normalize: normalizerOf(type.entryTypes[i]!) })).filter((f) => f.normalize !== undefined);
      if (fields.length === 0) return undefined;
      return (value) => {
        if (!isObject(value)) return value;
        for (const { name, normalize } of fields) if (name in value) value[name] = normalize!(value[name]!);
        return value;
      };
    }
    case DuckDBTypeId.MAP: {
      const key = normalizerOf(type.keyType);
      const val = normalizerOf(type.valueType);
      if (!key && !val) return undefined;
      // A map is a list of {key, value} entries in DuckDB's JSON form.
      return (value) => {
        if (!Array.isArray(value)) return value;
        for (const entry of value) {
          if (!isObject(entry)) continue;
          if (key) entry.key = key(entry.key!);
          if (val) entry.value = val(entry.value!);
        }
        return value;
      };
    }
    case DuckDBTypeId.UNION: {
      const members = type.memberTypes.map((t) => normalizerOf(t));
      if (members.every((m) => m === undefined)) return undefined;
      // A union is {tag, value}: the tag names the member the value belongs to.
      return (value) => {
        if (!isObject(value) || typeof value.tag !== 'string') return value;
        const normalize = members[type.memberIndexForTag(value.tag)];
        if (normalize) value.value = normalize(value.value!);
        return value;
      };
    }
    default:
      return undefined;
  }
}

function safeNumber(value: Json): Json {
  if (typeof value !== 'string') return value;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value;
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Types whose values DuckDB's COPY (FORMAT json) writes as the rows' JSON gives them, inside lists and structs too. */
const COPIED_AS_ROWS = new Set<DuckDBTypeId>([
  DuckDBTypeId.SQLNULL,
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.BLOB,
  DuckDBTypeId.UUID,
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIME_TZ,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
  DuckDBTypeId.TIMESTAMP_TZ,
]);

function copiedAsRows(type: DuckDBType): boolean {
  if (type.alias === 'JSON') return false;
  if (type.typeId === DuckDBTypeId.LIST) return copiedAsRows(type.valueType);
  if (type.typeId === DuckDBTypeId.STRUCT) return type.entryTypes.every(copiedAsRows);
  return COPIED_AS_ROWS.has(type.typeId);
}

const MAX_SAFE_INTEGER = '9007199254740991';

/**
 * SQL for the query's rows in the JSON that the rows path writes (rowNormalizer, then the CLI's
 * JSON.stringify), for DuckDB's COPY (FORMAT json) to write; undefined when only the rows path can
 * write them. COPY writes a double's NaN and infinities bare (`NaN`, which is not JSON), an integer
 * beyond 2^53 as a number no JSON reader holds exactly, and a decimal as a double (`1.5` for
 * 1.50): at the top level those are written as the rows path writes them ("NaN", "Infinity",
 * "9007199254740993", "1.50"). Inside a list or struct they, and maps, intervals and JSON values
 * (which COPY writes otherwise too), leave the result to the rows path.
 */
export function jsonCopySelect(sql: string, { names, types }: { names: readonly string[]; types: readonly DuckDBType[] }): string | undefined {
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) return undefined;
  const replaced: string[] = [];
  for (const [i, name] of names.entries()) {
    const type = types[i]!;
    const ident = quoteIdent(name);
    if (type.typeId === DuckDBTypeId.DOUBLE || type.typeId === DuckDBTypeId.FLOAT) {
      const value = `CAST(${ident} AS DOUBLE)`;
      replaced.push(`CASE WHEN ${ident} IS NULL OR isfinite(${ident}) THEN to_json(${value}) WHEN isnan(${ident}) THEN to_json('NaN') WHEN ${ident} > 0 THEN to_json('Infinity') ELSE to_json('-Infinity') END AS ${ident}`);
    } else if (WIDE_INTEGERS.has(type.typeId)) {
      replaced.push(`CASE WHEN ${ident} BETWEEN -${MAX_SAFE_INTEGER} AND ${MAX_SAFE_INTEGER} THEN to_json(${ident}) ELSE to_json(CAST(${ident} AS VARCHAR)) END AS ${ident}`);
    } else if (type.typeId === DuckDBTypeId.DECIMAL) {
      replaced.push(`to_json(CAST(${ident} AS VARCHAR)) AS ${ident}`);
    } else if (!copiedAsRows(type)) {
      return undefined;
    }
  }
  return replaced.length === 0 ? sql : `SELECT * REPLACE (${replaced.join(', ')}) FROM (${sql})`;
}
