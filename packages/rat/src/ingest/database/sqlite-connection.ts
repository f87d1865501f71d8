import Database from 'better-sqlite3';
import type { ParsedRow } from '../ingest-options.js';
import { ConvertedRow, RejectedRecord, rowJson } from '../row-source.js';
import { cursorParam, hexOf, type SourceColumn, sourceColumn, type SourceConnection, type SourceResult } from './source-connection.js';

/**
 * better-sqlite3 decodes a TEXT value's invalid UTF-8 bytes as U+FFFD: such a value would load with
 * its bytes replaced. Text holding U+FFFD itself cannot be told apart, and goes to the quarantine too.
 */
const REPLACEMENT = '\uFFFD';
const NOT_UTF8 = 'holds text that is not valid UTF-8 (read as U+FFFD, the replacement character): fix the encoding in the source (e.g. CAST(col AS BLOB) to load its bytes as hex)';

interface ColumnReader extends Omit<SourceColumn, 'name'> {
  /** The value to load, or a Misfit when it does not fit the column. */
  convert: (value: unknown) => unknown;
  /**
   * The conversion may load a value other than the one SQLite compares (a time with a UTC offset
   * becomes the UTC time): a row where it did comes as a ConvertedRow, for the cursor to stay SQLite's value.
   */
  rewrites?: boolean;
}

/** A value that does not fit its column's declared type: its row goes to the quarantine with `reason`. */
class Misfit {
  constructor(readonly reason: string) {}
}

const bytesOrSame = (value: unknown) => (Buffer.isBuffer(value) ? hexOf(value) : value);

/** SQLite's spelling of a BLOB literal, `x'2024'`: how a blob shows in a message and the quarantine. */
const blobLiteral = (bytes: Buffer) => `x'${hexOf(bytes)}'`;

/**
 * A reader for a column of numbers, dates or booleans: a BLOB there goes to the quarantine. As hex text
 * it would load as the number its digits spell (x'12' as 12, x'2024' as 2024.0).
 */
function noBlob(declared: string, convert: (value: unknown) => unknown): (value: unknown) => unknown {
  return (value) => (Buffer.isBuffer(value) ? new Misfit(`holds the BLOB ${blobLiteral(value)}, not a value of its declared type ${declared}`) : convert(value));
}

const same = (value: unknown) => value;

/** Text SQLite would take for a number: what its numeric affinities convert (https://www.sqlite.org/datatype3.html#type_affinity). */
const PLAIN_NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;
/** A double's words, which DuckDB reads and SQLite leaves as text (a REAL column only). */
const FLOAT_WORD = /^\s*[+-]?(?:inf|infinity|nan)\s*$/i;

/**
 * A reader for a column of numbers: a BLOB there goes to the quarantine (see noBlob), and so does text
 * that is no plain number. SQLite converts a number written as text in such a column on insert, so text
 * left there is not one to SQLite (`0x10`, `1_000`); DuckDB's cast would read it as 16 and 1000.
 */
function numberReader(declared: string, floatWords: boolean): (value: unknown) => unknown {
  return noBlob(declared, (value) =>
    typeof value === 'string' && !PLAIN_NUMBER.test(value) && !(floatWords && FLOAT_WORD.test(value)) ? new Misfit(`holds the text ${JSON.stringify(value)}, not a value of its declared type ${declared}`) : value,
  );
}

/**
 * Why a cursor value cannot be stored: SQLite sorts every number before every text and every text
 * before every BLOB (https://www.sqlite.org/datatype3.html#sort_order), so as the stored cursor such a
 * value would leave no later row of the column's own type greater.
 */
function numberCursorProblem(value: unknown): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} is above every other number`;
  if (typeof value === 'string' || Buffer.isBuffer(value)) return `SQLite sorts ${typeof value === 'string' ? 'text' : 'a BLOB'} after every number`;
  return undefined;
}

/** A date column's BLOB (a Misfit, kept as its bytes in the record). */
function textCursorProblem(value: unknown): string | undefined {
  return Buffer.isBuffer(value) ? 'SQLite sorts a BLOB after every text' : undefined;
}

/**
 * A DuckDB type from a SQLite declared type, after SQLite's own affinity rules
 * (https://www.sqlite.org/datatype3.html#determination_of_column_affinity) with the common names
 * for dates, booleans and decimals first. Undeclared (expressions in a query): left to inference.
 * SQLite does not enforce declared types: a value that does not fit goes to the quarantine.
 */
function columnReader(declared: string | null): ColumnReader {
  const type = (declared ?? '').toUpperCase();
  if (type === '') return { convert: bytesOrSame };
  const number = { convert: numberReader(type, false), cursorProblem: numberCursorProblem };
  const decimal = /^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(type);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2] ?? 0);
    if (precision <= 38 && scale <= precision) return { type: `DECIMAL(${precision},${scale})`, ...number };
  }
  if (/^BOOL/.test(type)) return { type: 'BOOLEAN', convert: noBlob(type, (v) => (v === 0n ? false : v === 1n ? true : v)), cursorProblem: numberCursorProblem };
  if (/^(DATETIME|TIMESTAMP)/.test(type)) return { type: 'TIMESTAMP', convert: noBlob(type, (v) => (typeof v === 'string' ? utcTimestamp(v) : v)), cursorProblem: textCursorProblem, rewrites: true };
  if (/^DATE\b/.test(type)) return { type: 'DATE', convert: noBlob(type, same), cursorProblem: textCursorProblem };
  if (type.includes('INT')) return { type: 'BIGINT', ...number };
  // A BLOB in a text column loads as its hex (a UUID column often holds its 16 bytes).
  if (/CHAR|CLOB|TEXT|JSON|UUID/.test(type)) return { type: 'VARCHAR', convert: bytesOrSame };
  if (type.includes('BLOB')) return { type: 'VARCHAR', convert: bytesOrSame, binary: true };
  if (/REAL|FLOA|DOUB/.test(type)) return { type: 'DOUBLE', convert: numberReader(type, true), cursorProblem: numberCursorProblem };
  return { convert: bytesOrSame };
}

const WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(?:Z|([+-])(\d{2}):?(\d{2}))$/i;

/**
 * A timestamp text with a UTC offset (`2024-01-02T10:00:00+02:00`, `...Z`) as the UTC time it names
 * (`2024-01-02 08:00:00`), fraction digits kept; other text as it is. SQLite's date functions read a
 * time without offset as UTC and convert one with an offset to UTC
 * (https://www.sqlite.org/lang_datefunc.html#time_values): a TIMESTAMP column holding both then
 * holds UTC times throughout, rather than wall-clock times of different zones.
 */
export function utcTimestamp(text: string): string {
  const match = WITH_OFFSET.exec(text.trim());
  if (!match) return text;
  const [, year, month, day, hour, minute, second = '00', fraction = '', sign, offsetHours, offsetMinutes] = match;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const at = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0..99 as 1900..1999.
  at.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  at.setUTCHours(Number(hour), Number(minute) - offset, Number(second), 0);
  return `${at.toISOString().slice(0, 19).replace('T', ' ')}${fraction}`;
}

/** A SQLite source: the file opened read-only, the statement stepped row by row (integers as bigint, exact). */
export function connectSqlite(path: string): SourceConnection {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // Opening reads nothing: read the header now, so a file that is no database fails as such, not as its first query.
    db.pragma('schema_version');
  } catch (error) {
    db.close();
    throw error;
  }
  let closed = false;
  let pending: IterableIterator<unknown[]> | undefined;
  return {
    quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
    // SQLite compares a bound text with an integer column as text: big integers (a number cursor kept as text) are bound as integers.
    cursorValue: (cursor) => ({ sql: '?', param: cursor.kind === 'number' && typeof cursor.value === 'string' && /^-?\d+$/.test(cursor.value) ? BigInt(cursor.value) : cursorParam(cursor) }),
    async open(sql, params, chunkSize): Promise<SourceResult> {
      const statement = db.prepare(sql).safeIntegers(true).raw(true);
      const described = statement.columns();
      const readers = described.map((c) => columnReader(c.type));
      const names = described.map((c) => c.name);
      const columns = names.map((name, i) => sourceColumn(name, readers[i]!));
      let line = 0;
      const toRow = (values: unknown[]): ParsedRow | ConvertedRow | RejectedRecord => {
        line++;
        const row: ParsedRow = {};
        let stored: ParsedRow | undefined;
        let misfit: string | undefined;
        for (let i = 0; i < names.length; i++) {
          const value = values[i];
          const converted = value === null || value === undefined ? null : readers[i]!.convert(value);
          if (converted instanceof Misfit) misfit ??= `column ${JSON.stringify(names[i])} ${converted.reason}`;
          else if (typeof converted === 'string' && converted.includes(REPLACEMENT)) misfit ??= `column ${JSON.stringify(names[i])} ${NOT_UTF8}`;
          else if (readers[i]!.rewrites && converted !== value) (stored ??= {})[names[i]!] = value;
          row[names[i]!] = converted instanceof Misfit ? value : converted;
        }
        if (misfit === undefined) return stored ? new ConvertedRow(row, stored) : row;
        // The row as read, BLOBs spelled as SQLite literals; the record keeps the values SQLite compares (a BLOB stays bytes) for the cursor.
        const shown = Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Buffer.isBuffer(value) ? blobLiteral(value) : value]));
        return new RejectedRecord(line, `row ${line}: ${misfit}`, rowJson(shown, (field, problem) => new Error(`${field}: ${problem}`)), { ...row, ...stored });
      };
      const rows = statement.iterate(...params) as IterableIterator<unknown[]>;
      pending = rows;
      async function* chunks(): AsyncGenerator<(ParsedRow | ConvertedRow | RejectedRecord)[]> {
        for (;;) {
          const chunk: (ParsedRow | ConvertedRow | RejectedRecord)[] = [];
          while (chunk.length < chunkSize) {
            const next = rows.next();
            if (next.done) break;
            chunk.push(toRow(next.value));
          }
          if (chunk.length > 0) yield chunk;
          if (chunk.length < chunkSize) break;
        }
      }
      return { columns, chunks: chunks() };
    },
    async close() {
      if (closed) return;
      closed = true;
      // An unfinished statement keeps the connection busy: end it before closing.
      pending?.return?.();
      db.close();
    },
  };
}

export function isMissingSqliteTable(error: unknown): boolean {
  return /no such table/i.test((error as Error).message ?? '');
}

/** SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED and their extended codes): a writer held the file, and a later run may get through. */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}
