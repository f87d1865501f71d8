import { loadMysql } from '../../core/drivers.js';
import type { ParsedRow } from '../ingest-options.js';
import { EXACT_NUMBER, type SourceCursor } from '../source-cursor.js';
import { cursorParam, hexOf, isSocketLost, KEEPALIVE_MS, sourceColumn, type SourceConnection, type SourceResult, tableArgument } from './source-connection.js';

/** MySQL protocol column types (include/mysql_com.h `enum_field_types`), shared by MariaDB. */
const TYPE = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;
const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
/** The `binary` character set: BLOB / BINARY / VARBINARY rather than text. */
const BINARY_CHARSET = 63;

interface ColumnReader {
  type?: string;
  convert: (value: unknown) => unknown;
  /** Numbers that arrive as text (DECIMAL): see SourceColumn.numeric. */
  numeric?: boolean;
  /** Bytes that arrive as hex text (BINARY, BLOB, BIT): see SourceColumn.binary. */
  binary?: boolean;
  /** See SourceColumn.notCursor. */
  notCursor?: string;
}

const same = (value: unknown) => value;
const bytes = (value: unknown) => (Buffer.isBuffer(value) ? hexOf(value) : value);
const big = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? BigInt(value) : value);

interface Field {
  columnType?: number;
  type?: number;
  flags: number | string[];
  decimals: number;
  columnLength?: number;
  characterSet?: number;
}

/**
 * The DuckDB type and value conversion for a column: BIGINT as bigint, DECIMAL as its text into
 * DECIMAL(p,s), DATETIME and TIMESTAMP as text (the session runs in UTC), binary values as hex text.
 * TINYINT(1) (MySQL's BOOLEAN) stays a number: it can hold -128..127.
 */
function columnReader(field: Field): ColumnReader {
  const type = field.columnType ?? field.type;
  const flagged = (bit: number, name: string) => (typeof field.flags === 'number' ? (field.flags & bit) !== 0 : field.flags.includes(name));
  const unsigned = flagged(UNSIGNED_FLAG, 'UNSIGNED');
  // https://dev.mysql.com/doc/refman/8.0/en/enum.html#enum-sorting: ORDER BY sorts by list position, a comparison with text compares text.
  if (flagged(ENUM_FLAG, 'ENUM') || flagged(SET_FLAG, 'SET')) {
    const kind = flagged(ENUM_FLAG, 'ENUM') ? 'an ENUM' : 'a SET';
    return { type: 'VARCHAR', convert: same, notCursor: `is ${kind}, which MySQL sorts by its position in the list but compares with a stored value as text: a read from that value would load rows twice and miss others` };
  }
  switch (type) {
    case TYPE.TINY:
    case TYPE.YEAR:
    case TYPE.SHORT:
    case TYPE.INT24:
      // Iceberg's smallest integer is 32-bit.
      return { type: 'INTEGER', convert: same };
    case TYPE.LONG:
      return { type: unsigned ? 'BIGINT' : 'INTEGER', convert: same };
    case TYPE.LONGLONG:
      return { type: unsigned ? 'DECIMAL(20,0)' : 'BIGINT', convert: big };
    case TYPE.FLOAT:
      return { type: 'REAL', convert: same };
    case TYPE.DOUBLE:
      return { type: 'DOUBLE', convert: same };
    case TYPE.DECIMAL:
    case TYPE.NEWDECIMAL: {
      // Display length = precision + a point when scale > 0 + a sign when signed.
      const scale = field.decimals;
      const precision = (field.columnLength ?? 0) - (scale > 0 ? 1 : 0) - (unsigned ? 0 : 1);
      return { type: precision >= Math.max(scale, 1) && precision <= 38 ? `DECIMAL(${precision},${scale})` : 'VARCHAR', convert: same, numeric: true };
    }
    case TYPE.DATE:
    case TYPE.NEWDATE:
      return { type: 'DATE', convert: same };
    case TYPE.DATETIME:
    case TYPE.TIMESTAMP:
      return { type: 'TIMESTAMP', convert: same };
    case TYPE.TIME:
      // MySQL TIME spans -838:59:59..838:59:59, beyond a time of day.
      return { type: 'VARCHAR', convert: same };
    case TYPE.NULL:
      return { convert: same };
    case TYPE.BIT:
      // Compared with its stored bytes (X'012c'), a BIT column is greater for every row: each run would load them all again.
      return { type: 'VARCHAR', convert: bytes, binary: true, notCursor: 'is a BIT column, which MySQL does not compare with a stored value in the order it sorts it: every run would load every row again' };
    case TYPE.GEOMETRY:
      return { type: 'VARCHAR', convert: bytes, binary: true };
  }
  return field.characterSet === BINARY_CHARSET ? { type: 'VARCHAR', convert: bytes, binary: true } : { type: 'VARCHAR', convert: same };
}

export interface MysqlLocation {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  /** Encrypt (`required`), and also check the server's certificate and host name (`verified`). */
  tls?: 'required' | 'verified';
}

/**
 * A MySQL/MariaDB source: one read-only transaction with a consistent snapshot, the result streamed
 * (the server sends rows as the client reads them); reading pauses the socket while `chunkSize` rows
 * wait to be consumed, so memory stays bounded.
 */
export async function connectMysql(location: MysqlLocation): Promise<SourceConnection> {
  const conn = loadMysql().createConnection({
    host: location.host,
    port: location.port,
    ...(location.user !== undefined ? { user: location.user } : {}),
    ...(location.password !== undefined ? { password: location.password } : {}),
    database: location.database,
    ...(location.tls ? { ssl: { rejectUnauthorized: location.tls === 'verified' } } : {}),
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    jsonStrings: true,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    keepAliveInitialDelay: KEEPALIVE_MS,
    typeCast: (field, next) => (field.type === 'GEOMETRY' ? field.buffer() : next()),
  });
  // A dropped connection is emitted on the connection, not the running query (which has no callback):
  // hand it to the reader, and never leave it unhandled (that would end the process).
  let onLost: ((error: Error) => void) | undefined;
  conn.on('error', (error: Error) => onLost?.(error));
  conn.on('end', () => onLost?.(Object.assign(new Error('the server closed the connection'), { code: 'PROTOCOL_CONNECTION_LOST' })));
  const run = (sql: string) => new Promise<void>((resolve, reject) => conn.query(sql, (error) => (error ? reject(error) : resolve())));
  /** Columns read through CAST(... AS DOUBLE) that are FLOAT in the source (they stay REAL). */
  const floats = new Set<string>();
  await new Promise<void>((resolve, reject) => conn.connect((error) => (error ? reject(error) : resolve())));
  let closed = false;
  const connection: SourceConnection = {
    quoteIdent: quoteMysqlIdent,
    cursorValue: mysqlCursorValue,
    /**
     * The text protocol sends a FLOAT rounded to 6 significant digits (MariaDB's `%g`): 16777215 arrives
     * as 16777200, and as a cursor the row is read again on every run. Cast to DOUBLE, it arrives as
     * the double the float widens to, exact; its column stays REAL.
     */
    async selectList(from) {
      const fields = await new Promise<Field[]>((resolve, reject) => conn.query(`SELECT * FROM ${from} LIMIT 0`, (error, _rows, found) => (error ? reject(error) : resolve((found ?? []) as unknown as Field[]))));
      const names = fields.map((f) => (f as unknown as { name: string }).name);
      const isFloat = (f: Field) => (f.columnType ?? f.type) === TYPE.FLOAT;
      // Two columns of one name cannot be listed by name; the read refuses them anyway.
      if (!fields.some(isFloat) || new Set(names).size !== names.length) return undefined;
      for (const [i, name] of names.entries()) if (isFloat(fields[i]!)) floats.add(name);
      return names.map((name) => (floats.has(name) ? `CAST(${quoteMysqlIdent(name)} AS DOUBLE) AS ${quoteMysqlIdent(name)}` : quoteMysqlIdent(name))).join(', ');
    },
    async open(sql, params, chunkSize): Promise<SourceResult> {
      await run(`SET time_zone = '+00:00'`);
      await run('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const query = conn.query({ sql, values: params, rowsAsArray: true });
      const buffer: unknown[][] = [];
      let ended = false;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      let paused = false;
      const fields = new Promise<Field[]>((resolve, reject) => {
        query.on('fields', (f: Field[]) => resolve(f));
        const fail = (error: Error) => {
          failure ??= error;
          reject(error);
          wake?.();
        };
        query.on('error', fail);
        onLost = fail;
        query.on('end', () => {
          ended = true;
          resolve([]);
          wake?.();
        });
      });
      query.on('result', (row: unknown[]) => {
        buffer.push(row);
        if (buffer.length >= chunkSize && !paused) {
          paused = true;
          conn.pause();
        }
        wake?.();
      });
      const described = await fields;
      const names = (described as unknown as { name: string }[]).map((f) => f.name);
      const readers = described.map((field, i) => (floats.has(names[i]!) ? { type: 'REAL', convert: same } : columnReader(field)));
      const columns = names.map((name, i) => sourceColumn(name, readers[i]!));
      const toRow = (values: unknown[]): ParsedRow => {
        const row: ParsedRow = {};
        for (let i = 0; i < names.length; i++) {
          const value = values[i];
          row[names[i]!] = value === null || value === undefined ? null : readers[i]!.convert(value);
        }
        return row;
      };
      async function* chunks(): AsyncGenerator<ParsedRow[]> {
        for (;;) {
          if (buffer.length >= chunkSize || (buffer.length > 0 && (ended || failure))) {
            const chunk = buffer.splice(0, chunkSize);
            if (paused && buffer.length < chunkSize) {
              paused = false;
              conn.resume();
            }
            yield chunk.map(toRow);
            continue;
          }
          if (failure) throw failure;
          if (ended) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        await run('COMMIT');
      }
      return { columns, chunks: chunks() };
    },
    async tablesLike(parts) {
      const schema = parts.length > 1 ? parts.at(-2)! : null;
      const found = await new Promise<{ schema_name: string; table_name: string }[]>((resolve, reject) =>
        conn.query(
          `SELECT table_schema AS schema_name, table_name FROM information_schema.tables
            WHERE lower(table_name) = lower(?) AND lower(table_schema) = lower(coalesce(?, DATABASE())) ORDER BY 1, 2 LIMIT 5`,
          [parts.at(-1), schema],
          (error, rows) => (error ? reject(error) : resolve(rows as { schema_name: string; table_name: string }[])),
        ),
      );
      return found.map((row) => tableArgument(row.schema_name, row.table_name));
    },
    async close() {
      if (closed) return;
      closed = true;
      // destroy() rather than end(): a result still streaming would first have to be read to its end.
      conn.destroy();
    },
  };
  return connection;
}

function quoteMysqlIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * A stored number cursor bound as an exact number. MySQL compares a DECIMAL or BIGINT column with a
 * string as doubles (https://dev.mysql.com/doc/refman/8.0/en/type-conversion.html), so past about 15
 * significant digits `12345678901234567.02 > '12345678901234567.01'` is false and the row is skipped
 * (MariaDB turns a constant string into the column's type first, but its rule between a string and a
 * DECIMAL is the same). An integer is bound as a bigint (written as its digits), a decimal cast to a
 * DECIMAL of exactly its digits; bytes are bound as bytes; text and timestamps stay strings, compared in the column's own type.
 */
export function mysqlCursorValue(cursor: SourceCursor): { sql: string; param: unknown } {
  const { value } = cursor;
  if (cursor.kind === 'bytes') return { sql: '?', param: cursorParam(cursor) };
  if (cursor.kind !== 'number' || typeof value !== 'string' || !EXACT_NUMBER.test(value)) return { sql: '?', param: value };
  const [whole = '', fraction = ''] = value.replace(/^-/, '').split('.');
  if (fraction === '') return { sql: '?', param: BigInt(value) };
  const precision = whole.replace(/^0+(?=\d)/, '').length + fraction.length;
  // MySQL's widest DECIMAL: 65 digits, 30 after the point; a DECIMAL column's values fit.
  if (precision > 65 || fraction.length > 30) return { sql: '?', param: value };
  return { sql: `CAST(? AS DECIMAL(${precision},${fraction.length}))`, param: value };
}

/** MySQL's ER_NO_SUCH_TABLE (1146). */
export function isMissingMysqlTable(error: unknown): boolean {
  return (error as { errno?: unknown }).errno === 1146;
}

/** ER_SERVER_SHUTDOWN, MariaDB's ER_CONNECTION_KILLED, CR_SERVER_GONE_ERROR, CR_SERVER_LOST. */
const CONNECTION_LOST_ERRNOS = new Set([1053, 1927, 2006, 2013]);

/** Whether the connection ended under a statement (the server shut down, killed it, or the socket broke) rather than the server refusing it. */
export function isMysqlConnectionLost(error: unknown): boolean {
  const { errno, code, fatal } = error as { errno?: unknown; code?: unknown; fatal?: unknown };
  return (typeof errno === 'number' && CONNECTION_LOST_ERRNOS.has(errno)) || code === 'PROTOCOL_CONNECTION_LOST' || fatal === true || isSocketLost(error);
}
