import { createHash } from 'node:crypto';
import type { LoadedTable } from '../catalog/catalog.js';
import { ValidationError } from '../core/errors.js';
import { daysFromCivil, daysInMonth } from '../iceberg/calendar.js';
import { lineageIds, snapshotLineage } from '../iceberg/snapshot-lineage.js';

/**
 * Where an incremental source left off: the largest value of its cursor field among the rows it
 * committed. Stored with the target table, in the same metadata version as those rows (a table
 * property, and the snapshot summary), so it follows the table: a branch has its own, a merge
 * brings it along, and it can never be ahead of or behind the data it describes.
 */
export interface SourceCursor {
  /** The record field or column compared (`updated_at`). */
  field: string;
  /**
   * The value: numbers stay numbers, except those a double would round (integers beyond 2^53, a
   * database's decimals), kept as their exact text with kind `number`; dates and timestamps are ISO 8601 text in UTC;
   * a binary column's bytes (kind `bytes`) are their lowercase hex, which a read binds back as bytes.
   */
  value: string | number;
  kind: CursorKind;
  /**
   * A source read in cursor order (a database): the rows already committed whose cursor is `value`
   * itself, as short hashes of their content (see tieHash). The next run reads from `value` on
   * (`>=`), so that a row written later with that same value is not missed, and leaves these out.
   * Absent for cursors stored before it existed, and when more rows than TIE_LIMIT share the value:
   * the next run then reads after `value` (`>`).
   */
  seen?: string[];
  /**
   * With `seen`, when they fit in CELL_LIMIT: the columns of the rows at `value`, and per row the hash
   * of each column's value in that order (cellHash, CELL_DIGITS hex digits each, run together). A row
   * read again after a column was dropped, renamed, or added with a default has another whole-row
   * hash; its values in the columns it still has tell it is the same row (see CursorTies).
   */
  columns?: string[];
  cells?: string[];
  /**
   * A database source: the rows whose cursor column was NULL when the first run loaded them. Later
   * runs cannot read such rows (NULL is never after a value); a run that finds more of them says so.
   */
  nulls?: number;
}

/** The most rows sharing the last cursor value whose hashes are kept with the cursor (in the table's metadata, and each snapshot's summary). */
export const TIE_LIMIT = 1000;

/** A row's hash in SourceCursor.seen: 64 bits of the sha256 of its text as the source read it. */
export function tieHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The most column values (rows times columns) whose hashes are kept with the cursor (SourceCursor.cells): 16 KB of hex, as `seen` at TIE_LIMIT. */
export const CELL_LIMIT = 2000;

const CELL_DIGITS = 8;

/** A column value's hash in SourceCursor.cells: 32 bits of the sha256 of its text (as in the row's JSON). */
function cellHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, CELL_DIGITS);
}

/** Whether two cursors are the same stored state: value, field and the rows seen at the value. */
export function sameCursor(a: SourceCursor | undefined, b: SourceCursor | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.field === b.field && a.value === b.value && (a.seen ?? []).join() === (b.seen ?? []).join();
}

export type CursorKind = 'number' | 'timestamp' | 'string' | 'bytes';

const PREFIX = 'rat.cursor.';

/** The table property (and snapshot summary key) holding a source's cursor. */
export function cursorKey(source: string): string {
  return `${PREFIX}${source}`;
}

/**
 * A source's cursor as of the table's current snapshot. The property is the fast path; when the
 * snapshot that wrote it is no longer in the current history (a rollback past it), the newest
 * snapshot of that history carrying the source's cursor in its summary wins, else there is none.
 */
export function readCursor(table: LoadedTable | undefined, source: string): SourceCursor | undefined {
  if (!table) return undefined;
  const metadata = table.metadata;
  const key = cursorKey(source);
  // Every commit with a cursor sets the property: none means none was stored, or a user removed it
  // (`ALTER TABLE ... UNSET TBLPROPERTIES`) to start the source over, which the summaries must not undo.
  if (metadata.properties[key] === undefined) return undefined;
  const stored = parseStored(metadata.properties[key]);
  // The snapshot that wrote it may have been expired since: still in the history, so the cursor holds.
  // A reset (storedReset) has no cursor: the source starts over.
  if (stored && (stored.snapshot === undefined || lineageIds(metadata).has(stored.snapshot))) return stored.cursor;
  for (const snapshot of snapshotLineage(metadata)) {
    const found = parseStored(snapshot.summary[key]);
    if (found) return found.cursor;
  }
  return undefined;
}

/**
 * The property value that ends a source's cursor as of snapshot `snapshotId`: the table's rows were
 * replaced by another source's (an overwrite), so those the cursor stood for are gone and the
 * source's next run reads from the start. Kept in the snapshot summary too, so that a rollback to
 * before it finds the cursor again, and one to after it does not.
 */
export function storedReset(snapshotId: bigint | undefined): string {
  return JSON.stringify({ reset: true, ...(snapshotId !== undefined ? { snapshot: snapshotId.toString() } : {}) });
}

/** The sources whose cursor the table holds now, each with it (what `rat table show` lists). */
export function tableCursors(table: LoadedTable): { source: string; cursor: SourceCursor }[] {
  return Object.keys(table.metadata.properties).flatMap((key) => {
    if (!key.startsWith(PREFIX)) return [];
    const cursor = readCursor(table, key.slice(PREFIX.length));
    return cursor ? [{ source: key.slice(PREFIX.length), cursor }] : [];
  });
}

/** The sources whose cursor `metadata` holds (not reset). */
export function cursorSources(metadata: { properties: Record<string, string> }): string[] {
  return Object.entries(metadata.properties).flatMap(([key, value]) => (key.startsWith(PREFIX) && parseStored(value)?.cursor ? [key.slice(PREFIX.length)] : []));
}

/** The property value for a cursor committed by snapshot `snapshotId` (undefined when the commit adds no snapshot). */
export function storedCursor(cursor: SourceCursor, snapshotId: bigint | undefined): string {
  return JSON.stringify({ ...cursor, ...(snapshotId !== undefined ? { snapshot: snapshotId.toString() } : {}) });
}

/** A number written out exactly: digits, an optional fraction, no exponent (a decimal's text). */
export const EXACT_NUMBER = /^-?\d+(?:\.\d+)?$/;

/**
 * The cursor for a value of the field, or undefined for values that cannot be one (null, objects).
 * `kind`: what the source says the field holds; a `number` field's text (a decimal) stays that text.
 */
export function cursorOf(field: string, value: unknown, kind?: CursorKind): SourceCursor | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return { field, value, kind: 'number' };
  if (kind === 'number' && typeof value === 'string' && EXACT_NUMBER.test(value)) return { field, value, kind: 'number' };
  if (kind === 'bytes' && typeof value === 'string' && /^(?:[0-9a-f]{2})+$/.test(value)) return { field, value, kind: 'bytes' };
  if (typeof value === 'bigint') return { field, value: Number.isSafeInteger(Number(value)) ? Number(value) : value.toString(), kind: 'number' };
  if (value instanceof Date && !Number.isNaN(value.getTime())) return { field, value: value.toISOString(), kind: 'timestamp' };
  if (typeof value === 'string' && value !== '') return { field, value, kind: 'string' };
  return undefined;
}

/**
 * The larger of two cursors of one field (see compareCursorValues); values that do not compare (a
 * number and a timestamp: the API changed what the field holds) fail naming both and the source
 * (`where`), as no order between them would be right.
 */
export function maxCursor(a: SourceCursor | undefined, b: SourceCursor | undefined, where?: string): SourceCursor | undefined {
  if (!a) return b;
  if (!b) return a;
  const order = compareCursorValues(b.value, a.value);
  if (order === undefined) throw incomparableCursors(a.field, a.value, b.value, where);
  return order > 0 ? b : a;
}

/**
 * Orders two cursor values, or undefined when they are of kinds that have no order between them.
 * Numbers and numeric text (`9.5`, `10.25`, integers beyond 2^53) compare as exact decimals;
 * date-times both with a zone (`Z`, `+02:00`), or both without, as instants, their fraction to its
 * last digit (Go writes `10:00:00Z` and `10:00:00.25Z` in one format, which text order gets wrong:
 * `Z` sorts after `.`); other text, a date among it, as text. A number against text that is not
 * numeric, and a date-time with a zone against one without, do not compare.
 */
export function compareCursorValues(a: string | number, b: string | number): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = decimalOf(a);
  const y = decimalOf(b);
  if (x && y) return compareDecimals(x, y);
  if (typeof a === 'number' || typeof b === 'number') {
    // A number a double writes with an exponent (1e-7) against numeric text: as doubles.
    const text = typeof a === 'number' ? b : a;
    return typeof text === 'string' && /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text) ? Number(a) - Number(b) : undefined;
  }
  if (x || y) return undefined;
  const s = instantOf(a);
  const t = instantOf(b);
  if (s && t) {
    if (s.zoned !== t.zoned) return undefined;
    return s.seconds !== t.seconds ? (s.seconds < t.seconds ? -1 : 1) : compareDigits(s.fraction, t.fraction);
  }
  return textOrder(a, b);
}

/** The error for two values of a cursor field that do not compare; `where` names the source. */
export function incomparableCursors(field: string, stored: string | number, value: string | number, where?: string): ValidationError {
  const show = (v: string | number) => `${JSON.stringify(v)} (${describeCursorValue(v)})`;
  return new ValidationError(
    'SOURCE_CURSOR_INVALID',
    `${where ? `${where}: ` : ''}cursor field "${field}" holds ${show(value)}, which does not compare with ${show(stored)}: the source changed what the field holds; nothing was loaded. Reset the cursor (load into a new table, or roll the table back) or point cursorField at a field of one kind`,
  );
}

function describeCursorValue(value: string | number): string {
  if (typeof value === 'number') return 'a number';
  if (decimalOf(value) !== undefined) return 'numeric text';
  const instant = instantOf(value);
  if (instant) return instant.zoned ? 'a timestamp with a zone' : 'a timestamp without a zone';
  return 'text';
}

function textOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A number or numeric text as sign, integer digits (no leading zeros) and fraction digits; undefined for anything else (an exponent, text). */
function decimalOf(value: string | number): { negative: boolean; whole: string; fraction: string } | undefined {
  const text = typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value).toString() : String(value)) : value;
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const whole = match[2]!.replace(/^0+(?=\d)/, '');
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  return { negative: match[1] === '-' && (whole !== '0' || fraction !== ''), whole, fraction };
}

function compareDecimals(x: NonNullable<ReturnType<typeof decimalOf>>, y: NonNullable<ReturnType<typeof decimalOf>>): number {
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const magnitude = x.whole.length !== y.whole.length ? x.whole.length - y.whole.length : textOrder(x.whole, y.whole) || compareDigits(x.fraction, y.fraction);
  return x.negative ? -magnitude : magnitude;
}

/** Orders two digit strings as fractions (`25` is .25, above `2499`). */
function compareDigits(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  return textOrder(a.padEnd(width, '0'), b.padEnd(width, '0'));
}

/**
 * An ISO 8601 / RFC 3339 date-time as whole seconds since the epoch (shifted to UTC when it has a
 * zone) and its fraction's digits, so no precision is lost (a JS Date keeps milliseconds only).
 */
function instantOf(text: string): { seconds: bigint; fraction: string; zoned: boolean } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth(Number(year), Number(month))) return undefined;
  // daysFromCivil, not Date.UTC: Date.UTC reads years 0..99 as 1900..1999.
  const local = daysFromCivil(Number(year), Number(month), Number(day)) * 86_400 + Number(hour) * 3600 + Number(minute) * 60 + Number(second ?? 0);
  let offset = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60 * (zone.startsWith('-') ? -1 : 1);
  }
  return { seconds: BigInt(local - offset), fraction: (fraction ?? '').replace(/0+$/, ''), zoned: zone !== undefined };
}

function parseStored(text: string | undefined): { cursor: SourceCursor | undefined; snapshot?: string } | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<SourceCursor> & { snapshot?: unknown; reset?: unknown };
    if (parsed.reset === true) return { cursor: undefined, ...(typeof parsed.snapshot === 'string' ? { snapshot: parsed.snapshot } : {}) };
    if (typeof parsed.field !== 'string' || (typeof parsed.value !== 'string' && typeof parsed.value !== 'number')) return undefined;
    const kind: CursorKind = parsed.kind === 'number' || parsed.kind === 'timestamp' || parsed.kind === 'bytes' ? parsed.kind : 'string';
    const seen = Array.isArray(parsed.seen) && parsed.seen.every((h) => typeof h === 'string') ? { seen: parsed.seen } : {};
    const nulls = typeof parsed.nulls === 'number' ? { nulls: parsed.nulls } : {};
    const { columns, cells } = parsed;
    const cellsFit = Array.isArray(columns) && columns.every((c) => typeof c === 'string') && Array.isArray(cells) && cells.every((c) => typeof c === 'string' && c.length === columns.length * CELL_DIGITS);
    const byColumn = cellsFit ? { columns, cells } : {};
    return { cursor: { field: parsed.field, value: parsed.value, kind, ...seen, ...byColumn, ...nulls }, ...(typeof parsed.snapshot === 'string' ? { snapshot: parsed.snapshot } : {}) };
  } catch {
    return undefined;
  }
}


/**
 * The rows at the stored cursor value. A source that reads from that value on (a database's `>=`, an
 * API asked for records since it) leaves out the rows an earlier run committed there (their hashes
 * are the stored cursor's `seen`), and the rows it loads at the new largest value become the new
 * cursor's `seen`. `ordered`: the rows come in the source's cursor order (a database's ORDER BY),
 * where values tie as the database may sort them: equal, and text equal but for case, accents or
 * trailing spaces (a case-insensitive collation sorts `abc` and `ABC` together, in no fixed order).
 * Otherwise (an API) values tie when they compare equal (compareCursorValues: `10:00:00Z` and
 * `10:00:00.000Z` are one instant), and rows below the largest so far do not count.
 */
export class CursorTies {
  private readonly earlier: Set<string>;
  private last: SourceCursor | undefined;
  /** The rows at `last` so far, their texts (hashed at the end) and values, or undefined past TIE_LIMIT. */
  private group: { text: string; row: Record<string, unknown> | undefined }[] | undefined = [];
  /** Rows left out: committed by an earlier run. */
  skipped = 0;

  constructor(
    private readonly stored: SourceCursor | undefined,
    private readonly ordered: boolean,
    /** A column value's text, as in the row's JSON (what SourceCursor.cells hash). */
    private readonly cellText: (value: unknown) => string,
  ) {
    this.earlier = new Set(stored?.seen ?? []);
  }

  /**
   * Whether a row read (its cursor, its text) was committed by an earlier run; if not, it is one more
   * row loaded. `formerText`: the text earlier versions hashed the row by, when it differs (its NULL fields
   * included, see row-source.ts tieText), so that a cursor they stored still leaves out its rows.
   * `row`: its values by column, compared one by one when its whole text is not known (see sameValues).
   */
  committedBefore(cursor: SourceCursor | undefined, text: string, formerText?: string, row?: Record<string, unknown>): boolean {
    if (
      this.earlier.size > 0 &&
      this.stored &&
      cursor &&
      this.ties(cursor, this.stored) &&
      (this.earlier.has(tieHash(text)) || (formerText !== undefined && this.earlier.has(tieHash(formerText))) || (row !== undefined && this.sameValues(row, this.stored)))
    ) {
      this.skipped++;
      this.note(cursor, text, row);
      return true;
    }
    if (cursor) this.note(cursor, text, row);
    return false;
  }

  /** The new cursor `next` (the largest value loaded, or the stored one), with the hashes of the rows at it, when there were not too many. */
  cursor(next: SourceCursor | undefined): SourceCursor | undefined {
    if (!next) return next;
    const { seen: _seen, columns: _columns, cells: _cells, nulls: _nulls, ...plain } = next;
    if (this.last === undefined || !this.ties(this.last, next) || this.group === undefined) return plain;
    return { ...plain, seen: this.group.map((g) => tieHash(g.text)), ...this.cellsOf(this.group) };
  }

  /**
   * Whether a row whose whole text is not among the stored ones is yet one of them: a column of the
   * source was dropped or renamed since (or added with a default), so its text changed, not its
   * values. Compared on the columns it shares with the stored rows, which must be more than the
   * cursor column: a row at the stored value with the same values there is the same row. (A row
   * written since that differs from an earlier one only in a column dropped since cannot be told
   * from it, as one the same in every column never can.)
   */
  private sameValues(row: Record<string, unknown>, stored: SourceCursor): boolean {
    const { columns, cells } = stored;
    if (!columns || !cells) return false;
    const shared = columns.flatMap((name, index) => (Object.hasOwn(row, name) ? [index] : []));
    const sameColumns = shared.length === columns.length && Object.keys(row).length === columns.length;
    if (sameColumns || !shared.some((index) => columns[index] !== stored.field)) return false;
    const hashes = shared.map((index) => [index * CELL_DIGITS, cellHash(this.cellText(row[columns[index]!]))] as const);
    return cells.some((hashed) => hashes.every(([at, hash]) => hashed.slice(at, at + CELL_DIGITS) === hash));
  }

  /** The columns and value hashes of the rows at the last value, when they all have the same columns and fit in CELL_LIMIT. */
  private cellsOf(group: { row: Record<string, unknown> | undefined }[]): { columns: string[]; cells: string[] } | Record<string, never> {
    const columns = group[0]?.row ? Object.keys(group[0].row) : [];
    const names = columns.join('\0');
    if (columns.length === 0 || group.length * columns.length > CELL_LIMIT || group.some((g) => !g.row || Object.keys(g.row).join('\0') !== names)) return {};
    return { columns, cells: group.map((g) => columns.map((name) => cellHash(this.cellText(g.row![name]))).join('')) };
  }

  private note(cursor: SourceCursor, text: string, row: Record<string, unknown> | undefined): void {
    if (this.last !== undefined && this.ties(cursor, this.last)) {
      if (this.group !== undefined && this.group.length < TIE_LIMIT) this.group.push({ text, row });
      else this.group = undefined;
      return;
    }
    // In cursor order every other value is the next one; in any order only a larger one is.
    if (this.last === undefined || this.ordered || (compareCursorValues(cursor.value, this.last.value) ?? 0) > 0) {
      this.last = cursor;
      this.group = [{ text, row }];
    }
  }

  private ties(a: SourceCursor, b: SourceCursor): boolean {
    if (a.value === b.value) return true;
    if (!this.ordered) return compareCursorValues(a.value, b.value) === 0;
    if (a.kind === 'string' && b.kind === 'string') return BASE_LETTERS.compare((a.value as string).trimEnd(), (b.value as string).trimEnd()) === 0;
    // Numbers tie when they are equal, however spelled: a PostgreSQL numeric without a scale keeps
    // each value's own (1.0 and 1.00 are one value to its ORDER BY and >=), and a cursor stored as a
    // number may be read back as a decimal's text.
    return a.kind === 'number' && b.kind === 'number' && compareCursorValues(a.value, b.value) === 0;
  }
}

const BASE_LETTERS = new Intl.Collator('en', { sensitivity: 'base' });
