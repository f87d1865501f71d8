import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ExternalError, NotFoundError, RatError, ValidationError } from '../core/errors.js';

/**
 * One DuckDB instance per process, in memory. Extensions cannot be downloaded on this platform's
 * machines, so autoloading is off: only the built-in parquet, json and icu are used.
 */
export interface DuckDb {
  readonly connection: DuckDBConnection;
  /** Runs statements and returns all rows as plain JS objects (JSON-compatible values). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs statements for their effect. */
  run(sql: string): Promise<void>;
  /** Another connection to the same database, for statements that run alongside this one's; the caller closes it. */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

export async function openDuckDb(options: { threads?: number; memoryLimit?: string; tempDirectory?: string } = {}): Promise<DuckDb> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.threads) config.threads = String(options.threads);
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  if (options.tempDirectory) config.temp_directory = options.tempDirectory;
  const instance = await DuckDBInstance.create(':memory:', config);
  const connection = await instance.connect();
  // Naive timestamps and partition transforms of timestamptz are computed in UTC, as Iceberg defines them.
  await connection.run(`SET TimeZone = 'UTC'`);
  return {
    connection,
    async rows<T>(sql: string): Promise<T[]> {
      try {
        const reader = await connection.runAndReadAll(sql);
        return reader.getRowObjectsJS() as T[];
      } catch (error) {
        throw wrapDuckDbError(error);
      }
    },
    async run(sql: string): Promise<void> {
      try {
        await connection.run(sql);
      } catch (error) {
        throw wrapDuckDbError(error);
      }
    },
    async connect() {
      const other = await instance.connect();
      await other.run(`SET TimeZone = 'UTC'`);
      return other;
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** DuckDB errors become SQL_ERROR validation errors (the statement is wrong) unless they are I/O. */
export function wrapDuckDbError(error: unknown, context?: string): RatError {
  if (error instanceof RatError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? message;
  const text = context ? `${context}: ${firstLine}` : firstLine;
  if (/^IO Error/.test(firstLine)) return new ExternalError('STORAGE_ERROR', text, { cause: error });
  const schema = /^Catalog Error: Table with name "?([^"\s]+)"? does not exist because schema "([^"]+)" does not exist/.exec(firstLine);
  if (schema) {
    return new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `${context ? `${context}: ` : ''}namespace "${schema[2]}" does not exist (table ${schema[1]}); list them with: rat namespaces`, { cause: error });
  }
  if (/^Catalog Error: Table with name/.test(firstLine)) return new NotFoundError('CATALOG_TABLE_NOT_FOUND', text, { cause: error });
  if (/^Binder Error: (Referenced column|Values list .* does not have a column)/.test(firstLine)) return new NotFoundError('COLUMN_NOT_FOUND', text, { cause: error });
  if (/^Conversion Error|^Invalid Input Error.*cast|Could not convert/i.test(firstLine)) {
    return new ValidationError('TYPE_MISMATCH', text, { cause: error });
  }
  return new ValidationError('SQL_ERROR', text, { cause: error });
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A local file's path as a string literal for DuckDB's readers (read_csv, read_json, read_parquet)
 * that names exactly that file. The readers expand `*`, `?` and `[...]` in every path they are
 * given and have no escape character, so `a[1].csv` would read `a1.csv` and `a?.csv` every
 * `a<x>.csv`; each such character goes in a one-character class (`[[]`, `[?]`, `[*]`), which
 * matches only itself. Braces are not glob characters to DuckDB 1.5's local file system.
 */
export function quoteFilePath(path: string): string {
  return quoteString(path.replace(/[[?*]/g, '[$&]'));
}
