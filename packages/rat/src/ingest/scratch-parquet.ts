import { type DuckDBListType, type DuckDBMapType, type DuckDBStructType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { type DuckDb, quoteFilePath, quoteIdent } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { countRows } from './staged-file.js';

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

/**
 * Files at least this large stage their rows (when a plan needs them staged: a merge, values to
 * convert or quarantine) in a scratch Parquet file rather than a temp table. Smaller ones keep the
 * temp table: in memory they take little, and a scratch file per file would cost a batch of small
 * files a write and a read each.
 */
export const STAGE_ON_DISK_BYTES = 32 * 1024 * 1024;

/**
 * Stages the rows of `select` for a plan that reads them more than once: written once into the
 * scratch Parquet file `parquet` and read through the view `view` when `onDisk` and every column is
 * of a type Parquet gives back exactly (parquetKeeps), so that they take disk, not memory, whatever
 * their count; otherwise in the temp table `table`. `run` runs the writing statement (a read of the
 * source file, whose errors the caller names) and gives the rows it wrote. Returns the relation
 * holding the rows and their count.
 *
 * With `ordinal`, the relation is the view `view` in either case, and a column of that name numbers
 * the rows from 0 in the order `select` gave them (the file's row number, or the temp table's rowid).
 */
export async function stageSelect(
  duck: DuckDb,
  target: { select: string; table: string; view: string; parquet: string; onDisk: boolean; ordinal?: string },
  run: (sql: string) => Promise<number>,
): Promise<{ relation: string; rows: number }> {
  const { select, table, view, parquet, onDisk, ordinal } = target;
  // A declared type DuckDB does not know fails the describe: the temp table's statement then fails, naming it.
  const described = onDisk ? await describeQuery(duck, select).catch(() => undefined) : undefined;
  // read_parquet's row number is a column named file_row_number: a column of the rows with that name keeps them in a temp table.
  if (described?.types.every(parquetKeeps) && !(ordinal !== undefined && described.names.includes(FILE_ROW_NUMBER))) {
    const rows = await run(`COPY (${select}) TO ${quoteFilePath(parquet)} (${SCRATCH_PARQUET_OPTIONS})`);
    const read = ordinal === undefined ? `SELECT * FROM read_parquet(${quoteFilePath(parquet)})` : `SELECT * EXCLUDE (${FILE_ROW_NUMBER}), ${FILE_ROW_NUMBER} AS ${quoteIdent(ordinal)} FROM read_parquet(${quoteFilePath(parquet)}, file_row_number = true)`;
    await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS ${read}`);
    return { relation: view, rows };
  }
  await run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(table)} AS ${select}`);
  if (ordinal === undefined) return { relation: table, rows: await countRows(duck, table) };
  await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT *, rowid AS ${quoteIdent(ordinal)} FROM ${quoteIdent(table)}`);
  return { relation: view, rows: await countRows(duck, table) };
}

const FILE_ROW_NUMBER = 'file_row_number';
