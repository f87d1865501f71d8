import { type DuckDBType, DuckDBTypeId, type Json } from '@duckdb/node-api';

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
