import { type DuckDBListType, type DuckDBMapType, type DuckDBStructType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';

/**
 * Rows staged in a scratch Parquet file rather than a temp table: DuckDB's COPY writes it a row
 * group at a time and a view reads it back as often as the plan needs, so the staged rows take disk,
 * not memory, whatever their count. Snappy, DuckDB's default: the file is written once and read a
 * few times on the same machine, where a cheap codec beats a small file; LZ4 and no compression
 * measured the same (BENCHMARKS.md), zstd (the table files' codec) costs more to write.
 */
export const SCRATCH_PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION snappy';

/** Types whose every value DuckDB's Parquet writer and reader give back exactly, as the same type. */
const KEPT = new Set<DuckDBTypeId>([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.DATE,
  DuckDBTypeId.TIME,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.VARCHAR,
  DuckDBTypeId.BLOB,
  DuckDBTypeId.UUID,
]);

/**
 * Whether a column of `type` survives a scratch Parquet file unchanged. Not every type does: HUGEINT
 * comes back a DOUBLE, a UNION a STRUCT, a fixed-size ARRAY a LIST, TIMESTAMP_S a TIMESTAMP, and an
 * INTERVAL loses its microseconds (Parquet's interval counts milliseconds). Only the types checked
 * value by value (staged-rows.test.ts) are listed; rows with any other stay in a temp table.
 */
export function parquetKeeps(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      return parquetKeeps((type as DuckDBListType).valueType);
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      return struct.entryTypes.length > 0 && struct.entryTypes.every(parquetKeeps);
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      return parquetKeeps(map.keyType) && parquetKeeps(map.valueType);
    }
    default:
      return KEPT.has(type.typeId);
  }
}
