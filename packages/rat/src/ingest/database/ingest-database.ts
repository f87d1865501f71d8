import { createHash } from 'node:crypto';
import type { TableIdent } from '../../catalog/identifiers.js';
import { describeError, ExternalError, isRatError, NotFoundError, ValidationError } from '../../core/errors.js';
import { INGEST_OPTION_KEYS, type IngestOptions, type ParsedRow } from '../ingest-options.js';
import { refuseUnknownKeys } from '../option-keys.js';
import type { Ingestion } from '../ingestion.js';
import { ConvertedRow, RejectedRecord, rowJson, type SourceReport } from '../row-source.js';
import { type DatabaseLocation, parseDatabaseUrl } from './database-url.js';
import { connectMysql, isMissingMysqlTable, isMysqlConnectionLost } from './mysql-connection.js';
import { connectPostgres, isMissingPostgresTable, isPostgresConnectionLost } from './postgres-connection.js';
import type { SourceColumn, SourceConnection } from './source-connection.js';
import { checkSelection, nullCursorCount, selectStatement, tableParts, userQuery } from './source-sql.js';
import { connectSqlite, isMissingSqliteTable, isSqliteBusy } from './sqlite-connection.js';

export const DEFAULT_CHUNK_SIZE = 10_000;
/** How long a read waits for the server's next chunk before it fails (10 minutes). */
export const DEFAULT_READ_TIMEOUT_MS = 600_000;

/** Rows read from the source so far (called after each chunk; the next chunk waits for a returned promise). */
export interface DatabaseReadProgress {
  source: string;
  rows: number;
  chunks: number;
  /** The cursor column's value in the last row read, with `cursor`. */
  cursor?: unknown;
}

export interface DatabaseSourceOptions extends IngestOptions {
  /** `postgres://user@host:5432/db`, `mysql://user@host:3306/db` (or `mariadb://`), `sqlite:path/to/file.db`. */
  url: string;
  /** `schema.table` or `table` (exactly one of table and query). */
  table?: string;
  /** A SELECT; with a cursor it is wrapped as a subquery. */
  query?: string;
  /** The bronze table to load into (`bronze.orders`). */
  target: string | TableIdent;
  /** Incremental: only rows whose column value is greater than the one stored by the last successful run. */
  cursor?: string;
  /** Rows fetched per round trip, and the most held in memory at once (default 10,000). */
  chunkSize?: number;
  /**
   * How long to wait for the server's next chunk (the first one included: the server's work before
   * its first row counts) before the run fails; default 10 minutes, 0 for no limit. A server that
   * stops answering without closing the connection (frozen, or a network that drops packets
   * silently) would else hold the run forever.
   */
  readTimeoutMs?: number;
  /** The source's name in the registry, lineage and cursor (default: the URL without password, `#` the table or a hash of the query). */
  name?: string;
  onRowsRead?: (progress: DatabaseReadProgress) => void | Promise<void>;
  /** Where RAT_SOURCE_PASSWORD / PGPASSWORD / MYSQL_PWD are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface DatabaseReport extends SourceReport {
  /** Rows read from the source (also when the run failed part way). */
  rowsRead: number;
  /**
   * With a cursor, after the first run: rows of the source whose cursor column is NULL and that no
   * run loaded (more than the first run found). An incremental read cannot reach them.
   */
  rowsWithoutCursor?: number;
  /** What the user should know about a run that succeeded (rows it cannot load). */
  warnings?: string[];
}

/**
 * Loads a table or query of a PostgreSQL, MySQL/MariaDB or SQLite database into a bronze table:
 * streamed in chunks (bounded memory), typed from the source's column types, with the registry,
 * lineage and quarantine of a file ingest. With `cursor`, a run reads only rows after the value the
 * previous successful run stored with the table, and stores the new one in the same commit.
 * A connection that drops mid-stream fails the run: nothing is committed, the registry records the
 * failure with the rows read so far, and the next run starts from the same cursor.
 */
/** The keys of DatabaseSourceOptions besides the ingest options (the compiler checks the list is whole). */
const DATABASE_OPTION_KEYS = Object.keys({
  url: true,
  table: true,
  query: true,
  target: true,
  cursor: true,
  chunkSize: true,
  readTimeoutMs: true,
  name: true,
  onRowsRead: true,
  env: true,
} satisfies Record<Exclude<keyof DatabaseSourceOptions, keyof IngestOptions>, true>);

export async function ingestDatabase(ingestion: Ingestion, options: DatabaseSourceOptions): Promise<DatabaseReport> {
  const started = Date.now();
  refuseUnknownKeys('ingestDatabase', options, [...DATABASE_OPTION_KEYS, ...INGEST_OPTION_KEYS]);
  const { url, table, query, target, cursor, chunkSize = DEFAULT_CHUNK_SIZE, readTimeoutMs = DEFAULT_READ_TIMEOUT_MS, name, onRowsRead, env, ...ingestOptions } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new ValidationError('INVALID_ARGUMENT', `chunk size must be a positive number of rows, got ${chunkSize}`);
  if (!Number.isFinite(readTimeoutMs) || readTimeoutMs < 0) throw new ValidationError('INVALID_ARGUMENT', `read timeout must be 0 (none) or a positive number of milliseconds, got ${readTimeoutMs}`);
  checkSelection({ table, query, cursor });
  const location = parseDatabaseUrl(url, env);
  let source = name ?? sourceName(location, table, query);
  // A query's cursor stored when its name hashed the text as typed (layout included) goes on under that name.
  if (cursor !== undefined && name === undefined && table === undefined) {
    const former = formerQueryName(location, query!);
    if (former !== source && !(await ingestion.sourceCursor(target, source)) && (await ingestion.sourceCursor(target, former))) source = former;
  }
  const previous = cursor ? await ingestion.sourceCursor(target, source) : undefined;
  if (previous && previous.field !== cursor) {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `${source}: the stored cursor is on column ${previous.field} (= ${previous.value}), not ${cursor}: use --cursor ${previous.field}, or a new source name (--name) to start over`,
    );
  }
  if (cursor !== undefined && ingestOptions.mode === 'overwrite') {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `${source}: --mode overwrite with --cursor ${cursor} would replace the table with only the rows after the stored cursor: use --mode append or --mode merge --key <column> with a cursor, or overwrite without --cursor to reload the whole ${table !== undefined ? 'table' : 'query'}`,
    );
  }
  /** A run that fails before its first row: the registry records it as failed (best effort: the error itself matters more), then the error is thrown. */
  const fail = async (error: Error): Promise<never> => {
    await ingestion.ingestRows({ name: source, rows: stoppedBeforeFirstRow(error), ...(cursor !== undefined ? { cursorField: cursor } : {}) }, target, ingestOptions).catch(() => undefined);
    throw error;
  };
  const connection = await connect(location).catch(fail);
  let rowsRead = 0;
  /** Rows read whose cursor is NULL (a first run loads them); after the first run, how many the source holds now. */
  let nullRows = 0;
  let nullsNow: number | undefined;
  try {
    let result;
    try {
      if (cursor !== undefined && previous) nullsNow = await countNullCursors(connection, { table, query, cursor });
      const statement = await selectStatement(connection, { table, query, cursor }, previous);
      result = await connection.open(statement.sql, statement.params, chunkSize);
    } catch (error) {
      if (!isConnectionLost(location, error)) return await fail(statementError(location, source, table, cursor, error, await likeNamed(connection, location, table, error)));
      // Dropped while the server was still working on the query: a failed run like one cut off mid-stream.
      const report = await ingestion.ingestRows({ name: source, rows: stoppedBeforeFirstRow(readingStopped(source, 0, cursor, undefined, error)), ...(cursor !== undefined ? { cursorField: cursor } : {}) }, target, ingestOptions);
      return { ...report, rowsRead: 0, durationMs: Date.now() - started };
    }
    const names = result.columns.map((c) => c.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) await fail(new ValidationError('INVALID_ARGUMENT', `${source}: the result has two columns named ${JSON.stringify(duplicate)}; give them distinct names (AS ...) in the query`));
    if (cursor !== undefined && !names.includes(cursor)) {
      await fail(new ValidationError('INVALID_ARGUMENT', `${source}: cursor column ${JSON.stringify(cursor)} is not in the result (columns: ${names.join(', ')})`));
    }
    const cursorColumn = result.columns.find((c) => c.name === cursor);
    if (previous?.kind === 'number' && cursorColumn?.type === 'VARCHAR' && !cursorColumn.numeric && !cursorColumn.binary) {
      // The column's type changed since the cursor was stored: compared and sorted as text, "10" comes before "3".
      await fail(
        new ValidationError(
          'INVALID_ARGUMENT',
          `${source}: the stored cursor is the number ${previous.value}, but cursor column ${JSON.stringify(cursor)} now holds text: compared as text, "10" sorts before "3" and rows would be loaded twice or missed; nothing was loaded. Read a query that selects it as a number (CAST(${cursor} AS BIGINT) AS ${cursor}) under the same source name (--name ${JSON.stringify(source)}), or start over under a new one`,
        ),
      );
    }
    if (cursorColumn?.notCursor !== undefined) {
      await fail(new ValidationError('INVALID_ARGUMENT', `${source}: cursor column ${JSON.stringify(cursor)} ${cursorColumn.notCursor}; nothing was loaded: cursor on another column, or read a query that selects it as ${cursorColumn.binary ? 'a number' : 'text'} (CAST(${cursor} AS ${cursorColumn.binary ? 'UNSIGNED' : 'CHAR'}) AS ${cursor})`));
    }
    const chunks = result.chunks;
    const cursorProblem = cursorColumn?.cursorProblem;
    let last: unknown;
    async function* rows(): AsyncGenerator<ParsedRow | ConvertedRow | RejectedRecord> {
      let chunkCount = 0;
      const iterator = chunks[Symbol.asyncIterator]();
      // A fetch that timed out still waits: the connection's close ends it, not the iterator's return.
      let stuck = false;
      try {
        for (;;) {
          const next = await withinReadTimeout(iterator.next(), readTimeoutMs).catch((error: unknown) => {
            stuck = error instanceof ReadTimeout;
            throw error;
          });
          if (next.done) break;
          const chunk = next.value;
          for (const row of chunk) {
            rowsRead++;
            if (cursor !== undefined && valuesOf(row)?.[cursor] === null) nullRows++;
            yield cursor === undefined ? row : checkedCursor(row, cursor, rowsRead, cursorProblem);
          }
          chunkCount++;
          if (cursor !== undefined) last = valuesOf(chunk.at(-1))?.[cursor];
          await onRowsRead?.({ source, rows: rowsRead, chunks: chunkCount, ...(cursor !== undefined ? { cursor: last } : {}) });
        }
      } catch (error) {
        if (isRatError(error)) throw error;
        if (mayPassOnRetry(location, error)) throw readingStopped(source, rowsRead, cursor, last, error);
        throw readingRefused(source, rowsRead, cursor, last, table !== undefined ? 'table' : 'query', error);
      } finally {
        // As for await does: a consumer that stopped early (a bad row with onError fail) ends the read.
        if (!stuck) await iterator.return?.();
      }
    }
    const columnTypes = Object.fromEntries(result.columns.filter((c) => c.type !== undefined).map((c) => [c.name, c.type!]));
    const cursorKind = cursorColumn?.numeric ? ('number' as const) : cursorColumn?.binary ? ('bytes' as const) : undefined;
    // The first run's count of rows without a cursor stays with the cursor, for later runs to compare with.
    const cursorNulls = () => (previous ? (previous.nulls ?? nullsNow) : nullRows);
    const report = await ingestion.ingestRows(
      { name: source, rows: rows(), columnTypes, ...(cursor !== undefined ? { cursorField: cursor, cursorOrdered: true, cursorNulls, ...(cursorKind ? { cursorKind } : {}) } : {}) },
      target,
      ingestOptions,
    );
    const unreadable = previous?.nulls !== undefined && nullsNow !== undefined ? nullsNow - previous.nulls : 0;
    const warnings =
      unreadable > 0 && report.status !== 'failed'
        ? [
            `${source}: ${unreadable.toLocaleString('en-US')} row${unreadable === 1 ? ' has' : 's have'} a NULL ${cursor} and ${unreadable === 1 ? 'was' : 'were'} not loaded (${nullsNow!.toLocaleString('en-US')} such rows now, ${previous!.nulls!.toLocaleString('en-US')} when the first run loaded them): an incremental run reads only rows whose ${cursor} is at or after the stored value. Give them a ${cursor}, or cursor on a column that is never NULL (a query can select COALESCE(${cursor}, created_at) AS ...)`,
          ]
        : [];
    // The duration includes connecting and the query's start, not only the ingest.
    return { ...report, rowsRead, ...(unreadable > 0 ? { rowsWithoutCursor: unreadable } : {}), ...(warnings.length > 0 ? { warnings } : {}), durationMs: Date.now() - started };
  } finally {
    await connection.close();
  }
}

/** The server sent nothing within the read timeout. */
class ReadTimeout extends Error {
  constructor(ms: number) {
    super(`the server sent nothing for ${ms / 1000} s (the read timeout, --read-timeout): it stopped answering, or the network dropped the connection without closing it`);
  }
}

/** `pending`, or a ReadTimeout after `ms` (0: no limit). A fetch left behind never rejects unhandled. */
function withinReadTimeout<T>(pending: Promise<T>, ms: number): Promise<T> {
  if (ms === 0) return pending;
  pending.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ReadTimeout(ms)), ms);
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

/** A row's values as the source holds them: those its cursor is compared by. */
function valuesOf(row: ParsedRow | ConvertedRow | RejectedRecord | undefined): ParsedRow | undefined {
  return row instanceof RejectedRecord ? (row.record as ParsedRow) : row instanceof ConvertedRow ? row.asStored() : row;
}

/**
 * The row, or when its cursor value cannot be a stored cursor (see SourceColumn.cursorProblem) a
 * record for the quarantine that leaves the cursor where it was. The source sorts such values last,
 * so the next run reads the row again: marked mayRepeat, it is quarantined once, not on every run.
 */
function checkedCursor(row: ParsedRow | ConvertedRow | RejectedRecord, cursor: string, line: number, cursorProblem: SourceColumn['cursorProblem']): ParsedRow | ConvertedRow | RejectedRecord {
  const values = valuesOf(row)!;
  const problem = cursorProblem?.(values[cursor]);
  if (problem === undefined) return row;
  const value = values[cursor];
  const shown = Buffer.isBuffer(value) ? `the BLOB x'${value.toString('hex')}'` : String(value);
  const reason = `row ${line}: cursor column ${JSON.stringify(cursor)} holds ${shown}, which cannot be a cursor (${problem}: no later row would load); the cursor stays at the last other value${row instanceof RejectedRecord ? `; also ${row.reason}` : ''}`;
  const raw = row instanceof RejectedRecord ? row.raw : rowJson(row instanceof ConvertedRow ? row.row : row, (field, message) => new ExternalError('SOURCE_DB_ERROR', `row ${line}, column ${field}: ${message}`));
  return new RejectedRecord(line, reason, raw, values, true);
}

/** The error of a read the connection dropped under, after `rowsRead` rows (the last with cursor value `last`). */
function readingStopped(source: string, rowsRead: number, cursor: string | undefined, last: unknown, error: unknown): ExternalError {
  return new ExternalError('SOURCE_DB_ERROR', `${source}: reading stopped ${readPosition(rowsRead, cursor, last)}: ${describeError(error)}; nothing was committed and the cursor did not move: run again to retry`, { cause: error });
}

/**
 * The error of a read the server ended itself, connection intact, after `rowsRead` rows: a value it
 * cannot send (text a SQL_ASCII database holds that is not UTF-8) or a query failing on a later row
 * (a division by zero). Running again fails the same way, so it says what to fix instead.
 */
function readingRefused(source: string, rowsRead: number, cursor: string | undefined, last: unknown, what: 'table' | 'query', error: unknown): ExternalError {
  return new ExternalError(
    'SOURCE_DB_ERROR',
    `${source}: the database refused to send the rows ${readPosition(rowsRead, cursor, last)}: ${describeError(error)}; nothing was committed and the cursor did not move. Running again fails the same way until the ${what === 'table' ? "table's data" : 'query or its data'} is fixed (a query can leave out or convert the rows it stops at)`,
    { cause: error },
  );
}

/** `after 1,000 rows (last id = 1000)`: where a read ended. */
function readPosition(rowsRead: number, cursor: string | undefined, last: unknown): string {
  return `after ${rowsRead.toLocaleString('en-US')} row${rowsRead === 1 ? '' : 's'}${cursor !== undefined && last !== undefined && last !== null ? ` (last ${cursor} = ${String(last)})` : ''}`;
}

/** Rows of a read that failed before its first row: none, then the error (the row source records the failed run). */
// eslint-disable-next-line require-yield -- it has no row to yield, only the error to raise where rows are pulled
async function* stoppedBeforeFirstRow(error: Error): AsyncGenerator<ParsedRow> {
  throw error;
}

/** Whether a statement failed because the connection ended (server shut down, backend killed, socket broken), not because the server refused it. */
function isConnectionLost(location: DatabaseLocation, error: unknown): boolean {
  if (location.dialect === 'postgres') return isPostgresConnectionLost(error);
  if (location.dialect === 'mysql') return isMysqlConnectionLost(error);
  return false;
}

/** Whether a read that ended part way may get through when run again: the connection was lost, the server went silent, or a SQLite writer held the file. */
function mayPassOnRetry(location: DatabaseLocation, error: unknown): boolean {
  return error instanceof ReadTimeout || isConnectionLost(location, error) || (location.dialect === 'sqlite' && isSqliteBusy(error));
}

/**
 * `postgres://rat@db:5432/shop#public.orders`, or `...#query:<hash>` for a query: the same query keeps
 * its cursor, also laid out anew (line breaks, indents), which otherwise would load every row again.
 */
export function sourceName(location: DatabaseLocation, table: string | undefined, query: string | undefined): string {
  if (table !== undefined && table.trim() !== '') return `${location.display}#${tableParts(table).join('.')}`;
  return queryName(location, queryLayoutFree(userQuery(query ?? '')));
}

/** The name earlier versions gave a query: the hash of its text as typed. */
function formerQueryName(location: DatabaseLocation, query: string): string {
  return queryName(location, userQuery(query));
}

function queryName(location: DatabaseLocation, text: string): string {
  return `${location.display}#query:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** PostgreSQL's dollar quote opening (`$$`, `$body$`), read where lastIndex says. */
const DOLLAR_TAG = /\$[A-Za-z_]*\$/y;

/**
 * The query with each run of white space between tokens made one space. Quoted strings and names,
 * PostgreSQL's dollar quotes and comments are kept as written, and a line comment keeps the line
 * break that ends it: two queries that read differently never get one text.
 */
export function queryLayoutFree(query: string): string {
  let out = '';
  let i = 0;
  const copyTo = (end: number) => {
    const stop = end < 0 ? query.length : end;
    out += query.slice(i, stop);
    i = stop;
  };
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      while (i < query.length && /\s/.test(query[i]!)) i++;
      if (out !== '' && i < query.length) out += ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < query.length && query[j] !== c) j += query[j] === '\\' ? 2 : 1;
      copyTo(j + 1);
    } else if (query.startsWith('--', i) || c === '#') {
      copyTo(query.indexOf('\n', i));
      if (i < query.length) out += '\n';
      while (i < query.length && /\s/.test(query[i]!)) i++;
    } else if (query.startsWith('/*', i)) {
      const end = query.indexOf('*/', i + 2);
      copyTo(end < 0 ? -1 : end + 2);
    } else if (c === '$' && ((DOLLAR_TAG.lastIndex = i), DOLLAR_TAG.test(query))) {
      const tag = query.slice(i, DOLLAR_TAG.lastIndex);
      const end = query.indexOf(tag, i + tag.length);
      copyTo(end < 0 ? -1 : end + tag.length);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

async function connect(location: DatabaseLocation): Promise<SourceConnection> {
  try {
    if (location.dialect === 'postgres') return await connectPostgres(location.connectUrl!);
    if (location.dialect === 'mysql') {
      return await connectMysql({
        host: location.host!,
        port: location.port!,
        database: location.database!,
        ...(location.user !== undefined ? { user: location.user } : {}),
        ...(location.password !== undefined ? { password: location.password } : {}),
        ...(location.tls !== undefined ? { tls: location.tls } : {}),
      });
    }
    return connectSqlite(location.path!);
  } catch (error) {
    if (location.dialect === 'sqlite') {
      const hint = (error as { code?: unknown }).code === 'SQLITE_NOTADB' ? 'the file is not a SQLite database (or an encrypted one)' : 'check that the file exists and is readable';
      throw new ExternalError('SOURCE_DB_ERROR', `cannot open SQLite database ${location.path}: ${describeError(error)}; ${hint}`, { cause: error });
    }
    const passwordFrom = location.dialect === 'postgres' ? 'PGPASSWORD' : 'MYSQL_PWD';
    // pg's words for a server that asks for a SCRAM password when none was given: say that instead.
    const reason = /^SASL: .*client password must be a (non-empty )?string$/.test((error as Error).message ?? '')
      ? 'the server asks for a password, and none was given (no RAT_SOURCE_PASSWORD, PGPASSWORD, ~/.pgpass entry or password in the URL)'
      : describeError(error) || (error as { code?: string }).code;
    throw new ExternalError(
      'SOURCE_DB_ERROR',
      `cannot connect to ${location.display} (host ${location.host}, database ${location.database}): ${reason}; check that the server runs and accepts connections from here, the database name, and the user and password (RAT_SOURCE_PASSWORD or ${passwordFrom}, or in the URL)`,
      { cause: error },
    );
  }
}

function isMissingTable(location: DatabaseLocation, error: unknown): boolean {
  return location.dialect === 'postgres' ? isMissingPostgresTable(error) : location.dialect === 'mysql' ? isMissingMysqlTable(error) : isMissingSqliteTable(error);
}

/** For `--table` naming no table: the tables named so but for case (names are case-sensitive in PostgreSQL, and in MySQL on Linux); none when that cannot be asked. */
async function likeNamed(connection: SourceConnection, location: DatabaseLocation, table: string | undefined, error: unknown): Promise<string[]> {
  if (table === undefined || !connection.tablesLike || !isMissingTable(location, error)) return [];
  return connection.tablesLike(tableParts(table)).catch(() => []);
}

function statementError(location: DatabaseLocation, source: string, table: string | undefined, cursor: string | undefined, error: unknown, similar: string[] = []): Error {
  if (isMissingTable(location, error)) {
    const list =
      location.dialect === 'sqlite' ? `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')` : `SELECT table_schema, table_name FROM information_schema.tables`;
    const suggestion = similar.length > 0 ? `; names are case-sensitive here: did you mean ${similar.map((name) => `--table ${name}`).join(' or ')}?` : '';
    return new NotFoundError(
      'SOURCE_TABLE_NOT_FOUND',
      `${source}: ${table !== undefined ? `table ${table}` : 'a table of the query'} not found: ${describeError(error)}${suggestion}; check the name${location.dialect === 'sqlite' ? '' : ` and that ${location.user ?? 'the user'} may read it`} (list tables with: ${list})`,
      { cause: error },
    );
  }
  return new ExternalError(
    'SOURCE_DB_ERROR',
    `${source}: the database refused the ${table !== undefined ? 'read' : 'query'}: ${describeError(error)}; check the ${table !== undefined ? 'table name' : 'query'}${cursor !== undefined ? ` and the cursor column ${cursor}` : ''}`,
    { cause: error },
  );
}

/** How many rows of the selection have a NULL cursor (a count the source makes). */
async function countNullCursors(connection: SourceConnection, selection: { table: string | undefined; query: string | undefined; cursor: string }): Promise<number> {
  const result = await connection.open(nullCursorCount(connection, selection), [], 1);
  let count = 0;
  for await (const chunk of result.chunks) {
    count += chunk.reduce((sum, row) => sum + Number(valuesOf(row)?.n ?? 0), 0);
  }
  return count;
}
