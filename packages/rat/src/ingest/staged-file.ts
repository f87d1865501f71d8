import type { DuckDBType } from '@duckdb/node-api';
import { type DuckDb, quoteIdent } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import type { Schema } from '../iceberg/types.js';
import type { ColumnMapping } from './column-names.js';
import type { StoredCompression } from './decompressed.js';
import type { LocatedRecord, RecordCheck } from './csv-records.js';
import type { ResolvedIngestOptions, SourceFormat, TextEncoding } from './ingest-options.js';

/** Staged rows carry their line (CSV is not among them: DuckDB reports lines only for rejected rows) or record number here. */
export const LINE_COLUMN = '__rat_line';

/** Rows staged from several files at once carry their file's name (as the registry names it) here. */
export const SOURCE_COLUMN = '__rat_source';

/**
 * A CSV file's rows carry their position among the rows DuckDB read (0-based; NULL until the rows
 * are in a temp table) here, so that a row the plan quarantines can be found in the file (`locate`).
 */
export const ORDINAL_COLUMN = '__rat_ord';

export interface StagedColumn extends ColumnMapping {
  type: DuckDBType;
}

/** How a file was parsed: stored with each quarantined row so a replay parses its raw text the same way. */
export interface ParseOptions {
  format: SourceFormat;
  delimiter?: string;
  quote?: string;
  escape?: string;
  header?: boolean;
  /** Source column names in file order (CSV). */
  columns?: string[];
  encoding?: TextEncoding;
  dateFormat?: string;
  timestampFormat?: string;
  decimalSeparator?: '.' | ',';
}

/**
 * One source file parsed into DuckDB temp tables: `relation` holds the good rows under their table
 * column names (a temp table, or a view: over the file itself while it is read lazily, or over a
 * scratch Parquet file of the rows, staged-rows.ts), `rejects` (line BIGINT, reason VARCHAR, raw
 * VARCHAR) the rows that could not be parsed.
 */
export interface StagedFile {
  relation: string;
  columns: StagedColumn[];
  /** Whether `relation` has LINE_COLUMN. */
  hasLine: boolean;
  /** Whether `relation` has SOURCE_COLUMN (rows of several files: their lineage comes from it). */
  hasSource?: boolean;
  /** Whether `relation` has ORDINAL_COLUMN (a CSV file without LINE_COLUMN). */
  hasOrdinal?: boolean;
  /**
   * Once the rows are in a temp table (CSV): finds rows in the file by their ORDINAL_COLUMN, each
   * checked against values it must hold (csv-records.ts). Undefined when the file cannot be walked
   * or a check fails.
   */
  locate?(checks: readonly RecordCheck[]): Promise<Map<number, LocatedRecord> | undefined>;
  /**
   * Set when LINE_COLUMN and the rejects' `line` number the records, not the file's lines (NDJSON as
   * read_json reads it, blank lines skipped): makes a temp table of line shifts (json-lines.ts) for
   * them. Called only when there are rejects, so a clean file is not scanned for its lines.
   */
  lineShifts?(): Promise<string>;
  /**
   * Set when the file holds one record per line and LINE_COLUMN (after lineShifts) names its line
   * (NDJSON): the quarantine then keeps a bad row's record as that line, as the source wrote it.
   */
  recordLines?: { path: string; compression: StoredCompression };
  rows: number;
  rejects: string;
  rejected: number;
  parse: ParseOptions;
  /** Column mapping for the report: source name -> table name. */
  mapping: ColumnMapping[];
  /** Excel: the sheet read, for the report. */
  sheet?: string;
  /** CSV: what the report says of how the file was read (a date format not applied, and why). */
  notes?: string[];
  /**
   * Set while the rows are not read yet (CSV): `relation` is a view over the file, which must be
   * read exactly once more, and `rows`, `rejected` and the `rejects` table are filled in after it.
   * (After `materialize()`, `relation` stays the view's name; the view then reads the temp table.)
   */
  lazy?: LazyRows;
  /**
   * Set when writing the rows straight from the file found a date or timestamp of `infinity`
   * (VALUE_NOT_STORABLE): the rows are then staged, and the plan quarantines such values in every
   * date and timestamp column, which it does not look for otherwise (it would cost every file a check).
   */
  infiniteTemporal?: boolean;
}

/** The two ways a lazily staged file gets read; either one clears `StagedFile.lazy`. */
export interface LazyRows {
  /** Call right before the one read of the view: forgets rejects of earlier reads (a plan may have looked at the rows). */
  beforeRead(): Promise<void>;
  /**
   * After the one read of the view (the write of the rows): fills in `rows` (as the caller counted
   * them, e.g. from the written files' footers), `rejected` and the `rejects` table. Undefined when
   * the rows read cannot be kept (a line was longer than the read allowed; a value needs a read of
   * its column as text): the caller discards them and calls `materialize()`, which reads them so.
   */
  collectRejects(rows: number): Promise<number | undefined>;
  /** Reads the rows into a temp table under the same name (as other formats are staged), with the rejects. */
  materialize(): Promise<StagedFile>;
  /** A DuckDB error of the read, as an error about the file (naming line or byte when DuckDB does). */
  fileError(error: unknown): Error;
  /**
   * Whether an error of the read is the read stopping at a value that needs the quarantine (a CSV
   * integer or date the reader would round, csv-guard.ts): the caller then calls `materialize()`,
   * which quarantines such values with their lines.
   */
  stoppedAtValue?(error: unknown): boolean;
}

export interface StageContext {
  duck: DuckDb;
  /** Unique suffix for this file's temp tables. */
  id: string;
  reserved: ReadonlySet<string>;
  options: ResolvedIngestOptions;
  /** The target table's current schema, when it exists (CSV columns are read straight as their table types). */
  targetSchema?: Schema;
  /** Where the staging reader may write scratch files (a fresh directory, removed by the caller). */
  scratchDir: string;
  onReadProgress<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Wraps a type inference whose progress DuckDB does not report: a whole-file pass (JSON), or with
   * `sampled` a read of the sample rows only (a CSV's sniff, long for a file of thousands of columns).
   */
  onInferProgress<T>(work: () => Promise<T>, how?: { sampled: true }): Promise<T>;
  /** How far a reader that parses the file itself (an Excel sheet) has read it, in bytes of the file. */
  onBytesRead?(bytesDone: number): void;
  /** How many rows a custom parser has produced so far; `done` once it has produced all. */
  onRowsProduced?(rowsDone: number, done?: boolean): void;
}

/** Temp relations of one staged file: the rows, the rejects, and the view a lazily read file is planned through. */
export function stageNames(id: string): { relation: string; rejects: string; view: string } {
  return { relation: `__rat_ingest_${id}`, rejects: `__rat_ingest_${id}_rejects`, view: `__rat_ingest_${id}_view` };
}

export async function createRejectsTable(duck: DuckDb, name: string): Promise<void> {
  await duck.run(rejectsTableSql(name));
}

export function rejectsTableSql(name: string): string {
  return `CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (line BIGINT, reason VARCHAR, raw VARCHAR)`;
}

export async function countRows(duck: DuckDb, relation: string): Promise<number> {
  const [row] = await duck.rows<{ n: bigint | number }>(`SELECT count(*) AS n FROM ${quoteIdent(relation)}`);
  return Number(row!.n);
}

/** Columns of the staged relation (without LINE_COLUMN, SOURCE_COLUMN and ORDINAL_COLUMN), with their mapping. */
export async function stagedColumns(duck: DuckDb, relation: string, mapping: ColumnMapping[]): Promise<StagedColumn[]> {
  const described = await describeQuery(duck, `SELECT * FROM ${quoteIdent(relation)}`);
  const columns: StagedColumn[] = [];
  described.names.forEach((name, index) => {
    if (name === LINE_COLUMN || name === SOURCE_COLUMN || name === ORDINAL_COLUMN) return;
    const map = mapping.find((m) => m.name === name) ?? { source: name, name, position: index + 1 };
    columns.push({ ...map, type: described.types[index]! });
  });
  return columns;
}

export async function dropStaged(duck: DuckDb, id: string): Promise<void> {
  const { relation, rejects, view } = stageNames(id);
  await duck.run(`DROP VIEW IF EXISTS ${quoteIdent(view)}; DROP TABLE IF EXISTS ${quoteIdent(relation)}; DROP TABLE IF EXISTS ${quoteIdent(rejects)};
    DROP TABLE IF EXISTS ${quoteIdent(`${rejects}_duck`)}; DROP TABLE IF EXISTS ${quoteIdent(`${rejects}_scan`)}; DROP TABLE IF EXISTS ${quoteIdent(`${rejects}_plan`)};
    DROP TABLE IF EXISTS ${quoteIdent(`${rejects}_shifts`)}; DROP TABLE IF EXISTS ${quoteIdent(`${rejects}_texts`)}`);
}
