import { type DuckDb, quoteIdent, quoteString } from '../engine/duckdb.js';
import { openDecompressed, type StoredCompression } from './decompressed.js';
import { LINE_COLUMN } from './staged-file.js';

/**
 * What a record of a newline-delimited file is when its lines are counted: a top-level JSON value
 * (`values`, as read_json reads it, a value may span lines) or a line that is not blank (`lines`, as
 * the record-by-record read splits the file).
 */
export type RecordUnit = 'values' | 'lines';

/** From record `ord` on (1-based, until the next shift), a record's line in the file is `ord + shift`. */
export interface LineShift {
  ord: number;
  shift: number;
}

const NEWLINE = 0x0a;
const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === NEWLINE;

/**
 * Where the records of a newline-delimited file start: read_json numbers records, skipping blank
 * lines (also `\r\n` ones and lines of spaces), while a quarantined row must name its line in the
 * file. One pass over the (decompressed) bytes; only the points where the gap between record number
 * and line changes are kept, so a file without blank lines gives none. Made only when there are rejects.
 */
export async function recordLineShifts(path: string, compression: StoredCompression, unit: RecordUnit): Promise<LineShift[]> {
  const shifts: LineShift[] = [];
  let line = 1;
  let records = 0;
  let shift = 0;
  let first = true;
  // Inside a record: `lines` until its line ends; `values` until its brackets close.
  let inRecord = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  const start = () => {
    records++;
    inRecord = true;
    if (line - records !== shift) {
      shift = line - records;
      shifts.push({ ord: records, shift });
    }
  };
  const source = openDecompressed(path, compression);
  try {
    for await (const chunk of source.stream as AsyncIterable<Buffer>) {
      let i = 0;
      // A UTF-8 byte order mark is no record.
      if (first && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      first = false;
      for (; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === NEWLINE) line++;
        if (!inRecord) {
          if (isBlank(byte)) continue;
          start();
          if (unit === 'lines') continue;
        } else if (unit === 'lines') {
          if (byte === NEWLINE) inRecord = false;
          continue;
        }
        // `values`: a value ends where its brackets close, or (a bare scalar) at blank space.
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === 0x5c) escaped = true;
          else if (byte === 0x22) inString = false;
        } else if (byte === 0x22) inString = true;
        else if (byte === 0x7b || byte === 0x5b) depth++;
        else if (byte === 0x7d || byte === 0x5d) depth--;
        if (!inString && depth <= 0 && (byte === 0x7d || byte === 0x5d || isBlank(byte))) {
          inRecord = false;
          depth = 0;
        }
      }
    }
  } finally {
    source.close();
  }
  return shifts;
}

/** The shifts as a temp table (ord BIGINT, shift BIGINT), for an ASOF join on the record number (fileLinesSql). */
export async function lineShiftsTable(duck: DuckDb, name: string, shifts: readonly LineShift[]): Promise<void> {
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (ord BIGINT, shift BIGINT)`);
  for (let i = 0; i < shifts.length; i += 1000) {
    await duck.run(`INSERT INTO ${quoteIdent(name)} VALUES ${shifts.slice(i, i + 1000).map((s) => `(${s.ord}, ${s.shift})`).join(', ')}`);
  }
}

/** `sql`'s rows (line, reason, raw) with each record number in `line` turned into its line in the file. */
export function fileLinesSql(sql: string, shiftsTable: string, line = 'line'): string {
  return `SELECT r.${line} + coalesce(s.shift, 0) AS line, r.reason, r.raw FROM (${sql}) r ASOF LEFT JOIN ${quoteIdent(shiftsTable)} s ON r.${line} >= s.ord`;
}

/**
 * A temp table (line BIGINT, raw VARCHAR) of the given lines of a newline-delimited file (1-based,
 * ascending), each as written: the records of quarantined rows, so that the quarantine keeps the
 * record the source sent (`{"a":2.5}`), not one rebuilt from the row's typed values (`{"a":"2.5"}`).
 * A line that is not a whole JSON object by itself (a record spanning lines) is left out: such a
 * row keeps its rebuilt record. One pass over the (decompressed) bytes, made only when rows are quarantined.
 */
export async function recordTextsTable(duck: DuckDb, name: string, path: string, compression: StoredCompression, lines: readonly number[]): Promise<void> {
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (line BIGINT, raw VARCHAR)`);
  let found: { line: number; raw: string }[] = [];
  const keep = async (line: number, bytes: Buffer) => {
    // A row source's numbered spool (row-source.ts) puts the record's number first: not part of the record.
    const raw = bytes
      .toString('utf8')
      .replace(line === 1 ? /^\uFEFF|\r$/g : /\r$/, '')
      .replace(new RegExp(`^\\{${JSON.stringify(LINE_COLUMN)}:\\d+(,|(?=\\}))`), '{');
    if (!isObjectText(raw)) return;
    found.push({ line, raw });
    if (found.length < 500) return;
    await insertTexts(duck, name, found);
    found = [];
  };
  let line = 1;
  let next = 0;
  let parts: Buffer[] = [];
  const source = openDecompressed(path, compression);
  try {
    for await (const chunk of source.stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end >= 0 && next < lines.length; end = chunk.indexOf(NEWLINE, start)) {
        if (line === lines[next]) {
          await keep(line, Buffer.concat([...parts, chunk.subarray(start, end)]));
          next++;
        }
        parts = [];
        start = end + 1;
        line++;
      }
      if (next >= lines.length) break;
      if (line === lines[next]) parts.push(chunk.subarray(start));
    }
    if (next < lines.length && line === lines[next] && parts.length > 0) await keep(line, Buffer.concat(parts));
  } finally {
    source.close();
  }
  if (found.length > 0) await insertTexts(duck, name, found);
}

function isObjectText(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

async function insertTexts(duck: DuckDb, name: string, rows: readonly { line: number; raw: string }[]): Promise<void> {
  await duck.run(`INSERT INTO ${quoteIdent(name)} VALUES ${rows.map((r) => `(${r.line}, ${quoteString(r.raw)})`).join(', ')}`);
}
