import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { quoteIdent, quoteFilePath, quoteString } from '../engine/duckdb.js';
import { civilFromDays } from '../iceberg/calendar.js';
import { mapColumnNames } from './column-names.js';
import { changesOnFile, runOnFile } from './csv-reader.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { stageSelect } from './scratch-parquet.js';
import { createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

/**
 * The type a column of JavaScript values gets: the narrowest that holds every value seen.
 * `wideInteger`: a BigInt that no double holds (beyond 2^53, such as 9007199254740993), a BIGINT
 * like any integer, which beside fractions makes the column text, not a double that rounds it.
 */
type ValueKind = 'null' | 'boolean' | 'integer' | 'wideInteger' | 'double' | 'timestamp' | 'time' | 'varchar' | 'json';

const SQL_TYPE: Record<ValueKind, string> = { null: 'VARCHAR', boolean: 'BOOLEAN', integer: 'BIGINT', wideInteger: 'BIGINT', double: 'DOUBLE', timestamp: 'TIMESTAMP', time: 'TIME', varchar: 'VARCHAR', json: 'JSON' };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A column as rows are added: its key in the scratch file, the JSON text that starts its value, and the kind of every value so far. */
interface Column {
  key: string;
  prefix: string;
  kind: ValueKind;
  /** The DuckDB type the reader knows the column has (an Arrow file's schema); else it is worked out from the kinds. */
  sqlType?: string;
  /** A SQL function that turns the value as read into the column's value (from_base64 for bytes). */
  convert?: string;
}

function newColumn(n: number): Column {
  return { key: `c${n}`, prefix: `"c${n}":`, kind: 'null' };
}

/** A time of day with no date (an Excel cell in a time format such as `hh:mm`): a TIME column. */
export class TimeOfDay {
  /** `millis`: since midnight, below 24 hours. */
  constructor(readonly millis: number) {}

  /** `10:30:00`, `10:30:00.250`: as DuckDB reads a TIME, and as the cell reads in a text column or the quarantine. */
  toString(): string {
    const seconds = Math.floor(this.millis / 1000);
    const millis = this.millis % 1000;
    return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}${millis === 0 ? '' : `.${String(millis).padStart(3, '0')}`}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** One value made storable: its JSON text and kind, or why it cannot be typed. */
type Encoded = { json: string; kind: ValueKind } | { problem: string };

/**
 * Rows produced in JavaScript (Excel sheets, custom parsers) on their way into DuckDB: each row is
 * written as one NDJSON line to a scratch file as it comes (bounded memory, whatever the row count),
 * with its row number, while the column types are worked out from every value. A row with a value
 * that cannot be typed (a function, NaN, an invalid Date, a circular object) goes to the rejects
 * with its row number instead. `stage()` then reads the file into the staged rows with exactly
 * those types, under the safe column names, like every other reader.
 */
export class RowSink {
  private columns = new Map<string, Column>();
  /** The declared columns in order, for `addTyped`. */
  private typed: Column[] | undefined;
  /** Positional columns (`addCells`): column n at index n-1, named at the end with `nameCells`. */
  private readonly cells: Column[] = [];
  /** The name `nameCells` gave each positional column (index n-1), for the quarantined rows' values. */
  private cellNames: string[] = [];
  /** Positional rows sent to the quarantine (`rejectCells`): kept by position until `nameCells` names the columns. */
  private cellRejectsOut: WriteStream | undefined;
  private readonly cellRejectsPath: string;
  private readonly rowsPath: string;
  private readonly rejectsPath: string;
  private readonly rowsOut: WriteStream;
  private readonly rejectsOut: WriteStream;
  /** Rows not yet handed to the file stream: one write per 64 KiB, not per row. */
  private pending = '';
  /** The longest line written to either scratch file, in UTF-16 units (at most 3 bytes of UTF-8 each). */
  private longest = 0;
  rows = 0;
  rejected = 0;

  constructor(
    private readonly ctx: StageContext,
    private readonly file: ProbedFile,
  ) {
    this.rowsPath = join(ctx.scratchDir, `${ctx.id}-rows.ndjson`);
    this.rejectsPath = join(ctx.scratchDir, `${ctx.id}-row-rejects.ndjson`);
    this.cellRejectsPath = join(ctx.scratchDir, `${ctx.id}-cell-rejects.ndjson`);
    this.rowsOut = createWriteStream(this.rowsPath);
    this.rejectsOut = createWriteStream(this.rejectsPath);
  }

  /**
   * Declares a column up front, so columns keep their source order even when the first rows leave
   * them empty; with `sqlType`, the column is read as that DuckDB type, its values given as JSON that
   * DuckDB converts to it (a DATE as "2024-02-05", a DECIMAL as "12.50", a STRUCT as an object).
   */
  declare(name: string, sqlType?: string, convert?: string): void {
    if (!this.columns.has(name)) this.columns.set(name, { ...newColumn(this.columns.size + 1), ...(sqlType ? { sqlType } : {}), ...(convert ? { convert } : {}) });
  }

  /**
   * Adds one row of a reader that declared every column with its SQL type (Arrow, Avro): the values
   * as JSON text, in the order the columns were declared, undefined for null. No kinds to work out,
   * no objects to walk: several times faster per row than `add`.
   */
  async addTyped(json: readonly (string | undefined)[], line: number): Promise<void> {
    this.typed ??= [...this.columns.values()];
    let text = '{';
    for (let i = 0; i < json.length; i++) {
      const value = json[i];
      if (value !== undefined) text += this.typed[i]!.prefix + value + ',';
    }
    await this.push(text, line);
  }

  /** Adds one row, given as its entries (a parser's row, read once); `line` is its row number in the source (1-based). Returns the reject reason, if any. */
  async add(entries: readonly [string, unknown][], line: number): Promise<string | undefined> {
    let text = '{';
    const kinds: [Column, ValueKind][] = [];
    for (const [name, value] of entries) {
      const encoded = encodeValue(value, true);
      if ('problem' in encoded) {
        const reason = `column ${JSON.stringify(name)}: ${encoded.problem}`;
        await this.reject(line, reason, describeRow(Object.fromEntries(entries)));
        return reason;
      }
      if (encoded.kind === 'null') continue;
      this.declare(name);
      const column = this.columns.get(name)!;
      kinds.push([column, encoded.kind]);
      text += column.prefix + encoded.json + ',';
    }
    for (const [column, kind] of kinds) column.kind = mergeKinds(column.kind, kind);
    await this.push(text, line);
    return undefined;
  }

  /**
   * Adds one row of positional values (a sheet's cells: index n-1 is column n; holes and undefined
   * are empty). The columns get their names from `nameCells` once all rows are in, so a header that
   * depends on what follows the rows (merged cells) can still name them.
   */
  async addCells(values: readonly unknown[], line: number): Promise<void> {
    let text = '{';
    let changes: [Column, ValueKind][] | undefined;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === undefined) continue;
      let json: string;
      let kind: ValueKind;
      if (typeof value === 'number' && Number.isFinite(value)) {
        json = String(value);
        kind = Number.isSafeInteger(value) ? 'integer' : 'double';
      } else if (typeof value === 'string') {
        json = JSON.stringify(value);
        kind = 'varchar';
      } else if (value instanceof Date && !Number.isNaN(value.getTime())) {
        json = `"${timestampText(value)}"`;
        kind = 'timestamp';
      } else if (value instanceof TimeOfDay) {
        json = `"${value.toString()}"`;
        kind = 'time';
      } else {
        const encoded = encodeValue(value);
        if ('problem' in encoded) {
          await this.rejectCells(line, `column ${i + 1}: ${encoded.problem}`, values);
          return;
        }
        if (encoded.kind === 'null') continue;
        ({ json, kind } = encoded);
      }
      while (this.cells.length <= i) this.cells.push(newColumn(this.cells.length + 1));
      const column = this.cells[i]!;
      if (column.kind !== kind) (changes ??= []).push([column, kind]);
      text += column.prefix + json + ',';
    }
    if (changes) for (const [column, kind] of changes) column.kind = mergeKinds(column.kind, kind);
    await this.push(text, line);
  }

  /**
   * Names the positional columns: every named one (empty or not), then those past the names that
   * hold a value somewhere, as `extraName(n)`; a column that is neither is left out.
   */
  nameCells(names: readonly string[], extraName: (column: number) => string): void {
    while (this.cells.length < names.length) this.cells.push(newColumn(this.cells.length + 1));
    this.columns = new Map();
    this.cellNames = [];
    this.cells.forEach((column, i) => {
      const name = i < names.length ? names[i]! : column.kind !== 'null' ? extraName(i + 1) : undefined;
      if (name === undefined) return;
      this.columns.set(name, column);
      this.cellNames[i] = name;
    });
  }

  /**
   * Sends a row of positional values (`addCells`) to the quarantine. Its raw values are keyed by
   * their column names, as every reader's are, so the quarantine says which column held what and a
   * replay can load them; the names come only with `nameCells`, so the row waits by position in a
   * scratch file of its own until `stage()`.
   */
  async rejectCells(line: number, reason: string, values: readonly unknown[]): Promise<void> {
    this.rejected++;
    // Dates as the naive timestamps the rows hold (a Date's own JSON ends in Z, which a TIMESTAMP column refuses on replay).
    const text = `${JSON.stringify({ line, reason })},${describeRow(values)}\n`;
    if (text.length > this.longest) this.longest = text.length;
    this.cellRejectsOut ??= createWriteStream(this.cellRejectsPath);
    await write(this.cellRejectsOut, text);
  }

  /** The positional quarantined rows into the rejects file, each value under its column's name (a column no header names: `column_<n>`). */
  private async nameCellRejects(): Promise<void> {
    if (!this.cellRejectsOut) return;
    await close(this.cellRejectsOut);
    const lines = createInterface({ input: createReadStream(this.cellRejectsPath, 'utf8'), crlfDelay: Infinity });
    for await (const text of lines) {
      const [{ line, reason }, values] = JSON.parse(`[${text}]`) as [{ line: number; reason: string }, unknown[]];
      const raw: Record<string, unknown> = {};
      values.forEach((value, i) => {
        if (value !== null) raw[this.cellNames[i] ?? `column_${i + 1}`] = value;
      });
      const out = `${JSON.stringify({ line, reason, raw: JSON.stringify(raw) })}\n`;
      if (out.length > this.longest) this.longest = out.length;
      await write(this.rejectsOut, out);
    }
  }

  private async push(text: string, line: number): Promise<void> {
    this.rows++;
    const row = `${text}"${LINE_COLUMN}":${line}}\n`;
    if (row.length > this.longest) this.longest = row.length;
    this.pending += row;
    if (this.pending.length >= 65_536) await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    if (text !== '') await write(this.rowsOut, text);
  }

  /** Records a row that cannot be staged at all (e.g. the parser yielded something that is not an object). */
  async reject(line: number, reason: string, raw: string): Promise<void> {
    this.rejected++;
    const text = `${JSON.stringify({ line, reason, raw })}\n`;
    if (text.length > this.longest) this.longest = text.length;
    await write(this.rejectsOut, text);
  }

  /** Closes the scratch files without staging (after a failure). */
  async abort(): Promise<void> {
    this.pending = '';
    await Promise.all([close(this.rowsOut), close(this.rejectsOut), ...(this.cellRejectsOut ? [close(this.cellRejectsOut)] : [])]);
  }

  /**
   * Stages the rows and loads the rejects into the rejects table. The rows are written once from the
   * NDJSON scratch file into a scratch Parquet file beside it, and `relation` is a view over that: a
   * temp table would hold every row in memory (DuckDB spills only past its memory limit), while the
   * COPY streams and the view reads the file a row group at a time. The file is in the caller's
   * scratch directory, removed with it whatever the outcome; a column of a type Parquet does not
   * give back exactly (scratch-parquet.ts) keeps the rows in a temp table instead.
   */
  async stage(): Promise<StagedFile> {
    await this.flush();
    await this.nameCellRejects();
    await this.abort();
    const { ctx, file } = this;
    const { duck, options } = ctx;
    const { relation, rejects, view } = stageNames(ctx.id);
    // read_json sizes its buffers by the largest record allowed: no larger than the longest line needs.
    const objectBytes = Math.max(16 * 1024 * 1024, 3 * this.longest + 1024);
    await createRejectsTable(duck, rejects);
    if (this.rejected > 0) {
      await runOnFile(
        duck,
        file,
        `INSERT INTO ${quoteIdent(rejects)} SELECT line, reason, raw FROM read_json(${quoteFilePath(this.rejectsPath)}, format = 'newline_delimited', records = true,
           columns = {'line': 'BIGINT', 'reason': 'VARCHAR', 'raw': 'VARCHAR'}, maximum_object_size = ${objectBytes})`,
      );
    }
    if (this.rows === 0 && this.rejected === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'the file holds no data rows');
    const columns = [...this.columns.entries()].map(([source, c]) => ({ source, ...c }));
    if (this.rows > 0 && columns.length === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'every row is empty (no column has a value)');
    const mapping = mapColumnNames(file.display, columns.map((c) => c.source), options, ctx.reserved);
    if (this.rows === 0) {
      await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT CAST(NULL AS BIGINT) AS ${LINE_COLUMN} WHERE false`);
      return { relation, columns: [], hasLine: true, rows: 0, rejects, rejected: this.rejected, parse: { format: 'json' }, mapping: [] };
    }
    const readColumns = [...columns.map((c) => `${quoteString(c.key)}: ${quoteString(c.sqlType ?? SQL_TYPE[c.kind])}`), `${quoteString(LINE_COLUMN)}: 'BIGINT'`];
    const projection = [
      ...columns.map((c, i) => `${c.convert ? `${c.convert}(${quoteIdent(c.key)})` : c.kind === 'json' && !c.sqlType ? `CAST(${quoteIdent(c.key)} AS VARCHAR)` : quoteIdent(c.key)} AS ${quoteIdent(mapping[i]!.name)}`),
      quoteIdent(LINE_COLUMN),
    ];
    const rows = `SELECT ${projection.join(', ')} FROM read_json(${quoteFilePath(this.rowsPath)},
           format = 'newline_delimited', records = true, columns = {${readColumns.join(', ')}}, maximum_object_size = ${objectBytes})`;
    const parquet = join(ctx.scratchDir, `${ctx.id}-rows.parquet`);
    const staged = await stageSelect(duck, { select: rows, table: relation, view, parquet, onDisk: true }, (sql) => ctx.onReadProgress(() => changesOnFile(duck, file, sql)));
    // Read once: the disk they take is not needed until the scratch directory goes.
    await Promise.all([rm(this.rowsPath, { force: true }), rm(this.rejectsPath, { force: true }), rm(this.cellRejectsPath, { force: true })]);
    return { ...staged, columns: await stagedColumns(duck, staged.relation, mapping), hasLine: true, rejects, rejected: this.rejected, parse: { format: 'json' }, mapping };
  }
}

/** The kind of a column holding values of kinds `a` and `b`: as the JSON reader types such numbers (json-columns.ts numberReadings). */
function mergeKinds(a: ValueKind, b: ValueKind): ValueKind {
  if (a === 'null' || a === b) return b;
  if (b === 'null') return a;
  const both = (x: ValueKind, y: ValueKind) => (a === x && b === y) || (a === y && b === x);
  if (both('integer', 'double')) return 'double';
  if (both('integer', 'wideInteger')) return 'wideInteger';
  return 'varchar';
}

/**
 * A JavaScript value as JSON text DuckDB reads with the kind's SQL type. `plainOnly` (a custom
 * parser's values): what an object or array holds must be storable too, as a value of its own must;
 * JSON would write a Map or a Set as `{}`, an invalid Date as `null` and a Buffer as
 * `{"type":"Buffer","data":[...]}`, changing the value without a word.
 */
export function encodeValue(value: unknown, plainOnly = false): Encoded {
  switch (typeof value) {
    case 'undefined':
      return { json: 'null', kind: 'null' };
    case 'boolean':
      return { json: String(value), kind: 'boolean' };
    case 'string':
      return { json: JSON.stringify(value), kind: 'varchar' };
    case 'number':
      if (!Number.isFinite(value)) return { problem: `${value} is not a number that can be stored` };
      if (Number.isSafeInteger(value)) return { json: JSON.stringify(value), kind: 'integer' };
      // A double with no fraction beyond 2^53 (1e20): JSON.stringify writes it as the integer 100000000000000000000,
      // which a JSON reader types as an integer wider than BIGINT; with an exponent it stays the double it is.
      return { json: Number.isInteger(value) ? value.toExponential() : JSON.stringify(value), kind: 'double' };
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) return { json: JSON.stringify(value.toString()), kind: 'varchar' };
      return { json: value.toString(), kind: BigInt(Number(value)) === value ? 'integer' : 'wideInteger' };
    case 'function':
    case 'symbol':
      return { problem: `a ${typeof value} cannot be stored as a value` };
  }
  if (value === null) return { json: 'null', kind: 'null' };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return { problem: 'an invalid Date' };
    return { json: JSON.stringify(formatTimestamp(value)), kind: 'timestamp' };
  }
  if (!isPlain(value as object)) return { problem: `a ${(value as object).constructor?.name ?? 'class instance'} cannot be stored; ${PLAIN_ADVICE}` };
  try {
    return { json: JSON.stringify(value, plainOnly ? plainOnlyJson : plainJson), kind: 'json' };
  } catch (error) {
    return { problem: `a nested value cannot be stored: ${(error as Error).message.split('\n')[0]}` };
  }
}

const PLAIN_ADVICE = 'turn it into plain values (string, number, boolean, Date, plain object or array)';

/** An array or an object of the Object prototype (or none): JSON writes what it holds, and nothing else. */
function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

function plainJson(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`a ${typeof value} cannot be stored as a value`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} is not a number that can be stored`);
  return value;
}

/** plainJson, refusing objects JSON would write as something else. `this` holds the value as given, before its toJSON (a Date's, a Buffer's). */
function plainOnlyJson(this: unknown, key: string, value: unknown): unknown {
  const given = (this as Record<string, unknown>)[key];
  if (given instanceof Date) {
    if (Number.isNaN(given.getTime())) throw new TypeError(`an invalid Date at key ${JSON.stringify(key)}`);
  } else if (given !== null && typeof given === 'object' && !isPlain(given)) {
    throw new TypeError(`a ${given.constructor?.name ?? 'class instance'} at key ${JSON.stringify(key)}; ${PLAIN_ADVICE}`);
  }
  return plainJson(key, value);
}

/**
 * A Date as a naive timestamp (its UTC wall time), the form DuckDB reads as TIMESTAMP. Worked out
 * from the epoch milliseconds for years 1000-9999, about four times faster than toISOString (a
 * sheet's date columns format one per cell); other years through toISOString.
 */
export function formatTimestamp(date: Date): string {
  const ms = date.getTime();
  const days = Math.floor(ms / 86_400_000);
  const { year, month, day } = civilFromDays(days);
  if (year < 1000 || year > 9999) {
    // Years past 9999 or before 0 come as +275760-09-13T... and -271821-04-20T...: DuckDB reads them without the +.
    const iso = date.toISOString();
    const t = iso.indexOf('T');
    return `${iso.slice(iso.startsWith('+') ? 1 : 0, t)} ${iso.slice(t + 1, t + 13)}`;
  }
  let rest = ms - days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${year}-${two(month)}-${two(day)} ${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}

/**
 * formatTimestamp without a zero fraction (`2024-01-01 00:00:00`), as DuckDB casts a TIMESTAMP to
 * text: a sheet's date in a column that other cells make text reads as the same date loaded into a
 * text column from a file of dates only, so one filter finds both.
 */
export function timestampText(date: Date): string {
  const text = formatTimestamp(date);
  return text.endsWith('.000') ? text.slice(0, -4) : text;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The row as JSON for the quarantine's raw column, values that JSON cannot hold described as text. */
export function describeRow(row: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(row, function (this: unknown, key: string, value: unknown) {
      // A Date as the naive timestamp a row holds: its own JSON ends in Z, which a TIMESTAMP column refuses on a replay.
      const original = (this as Record<string, unknown>)[key];
      if (original instanceof Date && !Number.isNaN(original.getTime())) return timestampText(original);
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
      if (typeof value === 'symbol' || (typeof value === 'number' && !Number.isFinite(value))) return String(value);
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[circular]';
        seen.add(value);
      }
      return value;
    }) ?? String(row);
  } catch {
    return String(row);
  }
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function close(out: WriteStream): Promise<void> {
  if (out.closed) return;
  if (!out.writableEnded) out.end();
  await once(out, 'close');
}
