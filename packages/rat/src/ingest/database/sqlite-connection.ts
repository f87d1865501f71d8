import Database from 'better-sqlite3';
import type { ParsedRow } from '../ingest-options.js';
import { hexOf, type SourceColumn, type SourceConnection, type SourceResult } from './source-connection.js';

interface ColumnReader {
  type?: string;
  convert: (value: unknown) => unknown;
}

const bytesOrSame = (value: unknown) => (Buffer.isBuffer(value) ? hexOf(value) : value);

/**
 * A DuckDB type from a SQLite declared type, after SQLite's own affinity rules
 * (https://www.sqlite.org/datatype3.html#determination_of_column_affinity) with the common names
 * for dates, booleans and decimals first. Undeclared (expressions in a query): left to inference.
 * SQLite does not enforce declared types: a value that does not fit goes to the quarantine.
 */
function columnReader(declared: string | null): ColumnReader {
  const type = (declared ?? '').toUpperCase();
  if (type === '') return { convert: bytesOrSame };
  const decimal = /^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(type);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2] ?? 0);
    if (precision <= 38 && scale <= precision) return { type: `DECIMAL(${precision},${scale})`, convert: bytesOrSame };
  }
  if (/^BOOL/.test(type)) return { type: 'BOOLEAN', convert: (v) => (v === 0n ? false : v === 1n ? true : bytesOrSame(v)) };
  if (/^(DATETIME|TIMESTAMP)/.test(type)) return { type: 'TIMESTAMP', convert: (v) => (typeof v === 'string' ? utcTimestamp(v) : bytesOrSame(v)) };
  if (/^DATE\b/.test(type)) return { type: 'DATE', convert: bytesOrSame };
  if (type.includes('INT')) return { type: 'BIGINT', convert: bytesOrSame };
  if (/CHAR|CLOB|TEXT|JSON|UUID/.test(type)) return { type: 'VARCHAR', convert: bytesOrSame };
  if (type.includes('BLOB')) return { type: 'VARCHAR', convert: bytesOrSame };
  if (/REAL|FLOA|DOUB/.test(type)) return { type: 'DOUBLE', convert: bytesOrSame };
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
  let closed = false;
  let pending: IterableIterator<unknown[]> | undefined;
  return {
    quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
    // SQLite compares a bound text with an integer column as text: big integers (a number cursor kept as text) are bound as integers.
    cursorValue: (cursor) => ({ sql: '?', param: cursor.kind === 'number' && typeof cursor.value === 'string' && /^-?\d+$/.test(cursor.value) ? BigInt(cursor.value) : cursor.value }),
    async open(sql, params, chunkSize): Promise<SourceResult> {
      const statement = db.prepare(sql).safeIntegers(true).raw(true);
      const described = statement.columns();
      const readers = described.map((c) => columnReader(c.type));
      const names = described.map((c) => c.name);
      const columns: SourceColumn[] = names.map((name, i) => ({ name, ...(readers[i]!.type ? { type: readers[i]!.type } : {}) }));
      const toRow = (values: unknown[]): ParsedRow => {
        const row: ParsedRow = {};
        for (let i = 0; i < names.length; i++) {
          const value = values[i];
          row[names[i]!] = value === null || value === undefined ? null : readers[i]!.convert(value);
        }
        return row;
      };
      const rows = statement.iterate(...params) as IterableIterator<unknown[]>;
      pending = rows;
      async function* chunks(): AsyncGenerator<ParsedRow[]> {
        for (;;) {
          const chunk: ParsedRow[] = [];
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
