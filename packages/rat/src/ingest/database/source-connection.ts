import type { ParsedRow } from '../ingest-options.js';
import type { ConvertedRow, RejectedRecord } from '../row-source.js';
import type { SourceCursor } from '../source-cursor.js';

/** A result column: its name, and its type as a DuckDB SQL type (undefined: left to inference). */
export interface SourceColumn {
  name: string;
  type?: string;
  /** Its values are numbers, decimals among them arriving as their exact text: a cursor on it is a number, not text. */
  numeric?: boolean;
  /** Its values are bytes, arriving as hex text: a cursor on it is bound as bytes, not as the text of the hex digits. */
  binary?: boolean;
  /**
   * Why a value of this column cannot be an incremental cursor, or undefined when it can: a value the
   * source sorts after every ordinary one (PostgreSQL's NaN and infinity, SQLite text in an INTEGER
   * column) would leave no later row greater than the stored cursor.
   */
  cursorProblem?: (value: unknown) => string | undefined;
  /**
   * Why the column cannot be an incremental cursor at all, or undefined when it can: the source sorts
   * it in one order and compares it with a value in another (a MySQL ENUM sorts by its position in
   * the list, and compares with text as text), so a read from the stored value would load rows twice and miss others.
   */
  notCursor?: string;
}

/** A running query: its columns (known before the first row is pulled) and its rows in chunks. */
export interface SourceResult {
  columns: SourceColumn[];
  /**
   * Rows as exact values (big integers as bigint, decimals and timestamps as text), one chunk at a
   * time; a row whose value the source knows does not fit its column comes as a RejectedRecord, and
   * one with a value converted from what the source compares (see ConvertedRow) as a ConvertedRow.
   */
  chunks: AsyncIterable<(ParsedRow | ConvertedRow | RejectedRecord)[]>;
}

/**
 * One open, read-only connection to a source database. Implementations keep memory bounded by
 * `chunkSize` rows whatever the result size (a server-side cursor, a streamed result set, a stepped
 * statement) and turn the driver's values into exact ones.
 */
export interface SourceConnection {
  /** Quotes one identifier part for this dialect. */
  quoteIdent(name: string): string;
  /**
   * What stands for a stored cursor value in `WHERE column > ...` (a read's only parameter): the SQL
   * (a bind parameter such as `?` or `$1`, or one cast to the type the comparison must be made in) and the value bound to it.
   */
  cursorValue(cursor: SourceCursor): { sql: string; param: unknown };
  /**
   * The select list for reading `from` (a table or a parenthesized query), when `*` would not give
   * every value exactly (MariaDB sends FLOAT as 6 digits of text); undefined: `*`.
   */
  selectList?(from: string): Promise<string | undefined>;
  /** Starts `sql`: resolves once the columns are known; errors of the statement itself (no such table) reject here. */
  open(sql: string, params: unknown[], chunkSize: number): Promise<SourceResult>;
  /**
   * The tables and views whose name is `parts` (`[schema, table]` or `[table]`) but for case, as
   * `schema.table`: for a read of a table that does not exist to suggest them (the dialects whose names are case-sensitive).
   */
  tablesLike?(parts: string[]): Promise<string[]>;
  /** Ends the query (if still running) and the connection; safe to call twice and after the connection dropped. */
  close(): Promise<void>;
}

/** The result column a reader describes (only the properties it has). */
export function sourceColumn(name: string, reader: Omit<SourceColumn, 'name'>): SourceColumn {
  return {
    name,
    ...(reader.type !== undefined ? { type: reader.type } : {}),
    ...(reader.numeric ? { numeric: true } : {}),
    ...(reader.binary ? { binary: true } : {}),
    ...(reader.cursorProblem ? { cursorProblem: reader.cursorProblem } : {}),
    ...(reader.notCursor !== undefined ? { notCursor: reader.notCursor } : {}),
  };
}

/** The value bound for a stored cursor: a binary column's hex text as the bytes it spells (compared byte by byte in the source). */
export function cursorParam(cursor: SourceCursor): unknown {
  return cursor.kind === 'bytes' && typeof cursor.value === 'string' ? Buffer.from(cursor.value, 'hex') : cursor.value;
}

/** Hex text of binary values (bytea, BLOB): lowercase, no prefix, so `unhex(col)` gives the bytes back in SQL. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** When TCP keepalive starts probing an idle source connection (both network drivers). */
export const KEEPALIVE_MS = 30_000;

/** Node's errors of a socket that the other end or the network broke. */
const SOCKET_LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/** Whether an error is the connection's socket breaking (reset, broken pipe, timeout), whatever the driver. */
export function isSocketLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && SOCKET_LOST.has(code);
}

/** A table name as `--table` takes it: a part holding a dot or a double quote in double quotes. */
export function tableArgument(schema: string, table: string): string {
  return [schema, table].map((part) => (/[."]/.test(part) ? `"${part.replaceAll('"', '""')}"` : part)).join('.');
}

