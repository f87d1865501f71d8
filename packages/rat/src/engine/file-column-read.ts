import type { PrimitiveType } from '../iceberg/types.js';
import type { FooterColumn } from './parquet-footer.js';

/**
 * How a primitive Parquet column of a file without field ids reads as the table's `type`: `cast` (the
 * same type, or a widening DuckDB does exactly), `decode` (a BYTE_ARRAY without a string annotation,
 * as Hive and Impala wrote strings: DuckDB reads it as BLOB, so its bytes are decoded as UTF-8), or
 * undefined when Iceberg would not read the one as the other. Only the type promotions of spec "Schema
 * Evolution" are allowed (int to long, float to double, decimal(P,S) to decimal(P',S) with P' >= P),
 * plus the timestamp units a Parquet file may store (ms, us, ns; INT96) into any timestamp column, a
 * UTC-adjusted one only into timestamptz. Anything else (DOUBLE into int, a narrower decimal scale,
 * a timestamp into date, text into boolean) would be a silent conversion, not a read.
 */
export function fileColumnRead(column: FooterColumn, type: PrimitiveType): 'cast' | 'decode' | undefined {
  const file = column.type?.toUpperCase();
  if (file === undefined) return undefined;
  const allowed = (...types: string[]): 'cast' | undefined => (types.includes(file) ? 'cast' : undefined);
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) {
    const stored = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(file);
    return stored && Number(stored[2]) === Number(decimal[2]) && Number(stored[1]) <= Number(decimal[1]) ? 'cast' : undefined;
  }
  const fixed = /^fixed\[(\d+)\]$/.exec(type);
  if (fixed) return file === 'BLOB' && column.physicalType === 'FIXED_LEN_BYTE_ARRAY' && column.typeLength === Number(fixed[1]) ? 'cast' : undefined;
  switch (type) {
    case 'boolean':
      return allowed('BOOLEAN');
    case 'int':
      // Parquet INT(8|16, signed or not) annotates an INT32; Iceberg reads them all as int.
      return allowed('TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT');
    case 'long':
      return allowed('TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'BIGINT');
    case 'float':
      return allowed('FLOAT');
    case 'double':
      return allowed('FLOAT', 'DOUBLE');
    case 'date':
      return allowed('DATE');
    case 'time':
      return allowed('TIME', 'TIME_NS');
    case 'timestamp':
    case 'timestamp_ns':
      return allowed(...LOCAL_TIMESTAMPS);
    case 'timestamptz':
    case 'timestamptz_ns':
      return allowed(...LOCAL_TIMESTAMPS, 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMPTZ');
    case 'string':
      if (file === 'BLOB' && column.physicalType === 'BYTE_ARRAY') return 'decode';
      return allowed('VARCHAR', 'JSON');
    case 'uuid':
      return allowed('UUID');
    case 'binary':
      return file === 'BLOB' && column.physicalType !== 'FIXED_LEN_BYTE_ARRAY' ? 'cast' : undefined;
  }
  return undefined;
}

/** DuckDB's types for a Parquet timestamp not adjusted to UTC, in any unit (INT96 reads as one of these too). */
const LOCAL_TIMESTAMPS = ['TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS'];

/** The file column's type as an error names it: DuckDB's type, and the Parquet physical type where DuckDB's hides it. */
export function fileColumnTypeOf(column: FooterColumn): string {
  const physical = column.physicalType === 'FIXED_LEN_BYTE_ARRAY' ? `FIXED_LEN_BYTE_ARRAY(${column.typeLength ?? '?'})` : column.physicalType;
  if (column.type === undefined) return physical ?? 'an unknown type';
  return column.type === 'BLOB' && physical ? `${column.type} (Parquet ${physical} without a string annotation)` : column.type;
}
