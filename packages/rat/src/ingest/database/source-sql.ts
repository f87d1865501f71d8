import { ValidationError } from '../../core/errors.js';
import type { SourceCursor } from '../source-cursor.js';
import type { SourceConnection } from './source-connection.js';

/** What to read: a table (`schema.table` or `table`) or a query, optionally after a cursor. */
export interface SourceSelection {
  table?: string;
  query?: string;
  cursor?: string;
}

/** `public.orders` -> its parts; a part may be double-quoted to hold dots (`"odd.name"`). */
export function tableParts(table: string): string[] {
  const parts: string[] = [];
  const pattern = /\s*(?:"((?:[^"]|"")*)"|([^."]+))\s*(?:\.|$)/y;
  let at = 0;
  while (at < table.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(table);
    if (!match || match[0] === '') break;
    parts.push(match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!.trim());
    at = pattern.lastIndex;
  }
  if (at < table.length || parts.length === 0 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new ValidationError('INVALID_ARGUMENT', `source table ${JSON.stringify(table)} is not a table name: use table, schema.table or "Quoted Name"`);
  }
  return parts;
}

/** Checks that exactly one of table and query is given and returns a trimmed query without a final semicolon. */
export function checkSelection(selection: SourceSelection): void {
  const hasTable = selection.table !== undefined && selection.table.trim() !== '';
  const hasQuery = selection.query !== undefined && selection.query.trim() !== '';
  if (hasTable === hasQuery) {
    throw new ValidationError('INVALID_ARGUMENT', `a database source needs exactly one of a table or a query (got ${hasTable ? 'both' : 'neither'}): e.g. --table public.orders or --query "SELECT * FROM orders WHERE region = 'EU'"`);
  }
  if (hasTable) tableParts(selection.table!);
  if (selection.cursor !== undefined && selection.cursor.trim() === '') throw new ValidationError('INVALID_ARGUMENT', 'the cursor column name is empty: e.g. --cursor updated_at');
}

const COMMENTS = /--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\//g;

/**
 * The query as it goes into the subquery: trimmed, without a final semicolon, also one that only
 * comments follow (`-- ...`, MySQL's `# ...`, `/* ... *\/`): inside the parentheses it would end the statement.
 */
export function userQuery(query: string): string {
  const text = query.trim();
  const end = text.lastIndexOf(';');
  return end >= 0 && text.slice(end + 1).replace(COMMENTS, '').trim() === '' ? text.slice(0, end).trim() : text;
}

/**
 * The statement that reads the selection: the table, or the query as a subquery; with a cursor, only
 * rows after the stored value, in cursor order (so a run that fails part way has read a prefix).
 * The columns are `*` unless the connection has its own list for them (see SourceConnection.selectList).
 */
export async function selectStatement(connection: SourceConnection, selection: SourceSelection, previous: SourceCursor | undefined): Promise<{ sql: string; params: unknown[] }> {
  const from = fromClause(connection, selection);
  let sql = `SELECT ${(await connection.selectList?.(from)) ?? '*'} FROM ${from}`;
  const params: unknown[] = [];
  if (selection.cursor) {
    const column = connection.quoteIdent(selection.cursor);
    if (previous) {
      const bound = connection.cursorValue(previous);
      // From the stored value itself when the rows committed there are known (SourceCursor.seen):
      // a row written since with that same value is read, the known ones are left out.
      sql += ` WHERE ${column} ${previous.seen !== undefined ? '>=' : '>'} ${bound.sql}`;
      params.push(bound.param);
    }
    sql += ` ORDER BY ${column}`;
  }
  return { sql, params };
}

/** The table, or the query as a subquery. */
function fromClause(connection: SourceConnection, selection: SourceSelection): string {
  // The newline ends a `-- comment` or `# comment` closing the query, which would else hide the parenthesis.
  return selection.table !== undefined && selection.table.trim() !== '' ? tableParts(selection.table).map((p) => connection.quoteIdent(p)).join('.') : `(${userQuery(selection.query!)}\n) AS rat_source`;
}

/** The statement counting the selection's rows whose cursor column is NULL (one row, one column `n`). */
export function nullCursorCount(connection: SourceConnection, selection: SourceSelection & { cursor: string }): string {
  return `SELECT count(*) AS n FROM ${fromClause(connection, selection)} WHERE ${connection.quoteIdent(selection.cursor)} IS NULL`;
}
