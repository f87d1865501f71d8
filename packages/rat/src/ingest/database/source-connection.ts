import type { ParsedRow } from '../ingest-options.js';
import type { SourceCursor } from '../source-cursor.js';

/** A result column: its name, and its type as a DuckDB SQL type (undefined: left to inference). */
export interface SourceColumn {
  name: string;
  type?: string;
  /** Its values are numbers, decimals among them arriving as their exact text: a cursor on it is a number, not text. */
  numeric?: boolean;
}

/** A running query: its columns (known before the first row is pulled) and its rows in chunks. */
export interface SourceResult {
  columns: SourceColumn[];
  /** Rows as exact values (big integers as bigint, decimals and timestamps as text), one chunk at a time. */
  chunks: AsyncIterable<ParsedRow[]>;
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
  /** Starts `sql`: resolves once the columns are known; errors of the statement itself (no such table) reject here. */
  open(sql: string, params: unknown[], chunkSize: number): Promise<SourceResult>;
  /** Ends the query (if still running) and the connection; safe to call twice and after the connection dropped. */
  close(): Promise<void>;
}

/** Hex text of binary values (bytea, BLOB): lowercase, no prefix, so `unhex(col)` gives the bytes back in SQL. */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Node's errors of a socket that the other end or the network broke. */
const SOCKET_LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/** Whether an error is the connection's socket breaking (reset, broken pipe, timeout), whatever the driver. */
export function isSocketLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && SOCKET_LOST.has(code);
}
