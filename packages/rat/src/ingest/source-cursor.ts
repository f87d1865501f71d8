import type { LoadedTable } from '../catalog/catalog.js';
import type { TableMetadata } from '../iceberg/types.js';

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
  const stored = parseStored(metadata.properties[key]);
  const history = ancestry(metadata);
  if (stored && (stored.snapshot === undefined || history.some((s) => s.snapshotId.toString() === stored.snapshot))) return stored.cursor;
  for (const snapshot of history) {
    const found = parseStored(snapshot.summary[key]);
    if (found) return found.cursor;
  }
  return undefined;
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

/** The larger of two cursors of one field (numbers numerically, text and timestamps as text). */
export function maxCursor(a: SourceCursor | undefined, b: SourceCursor | undefined): SourceCursor | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareCursorValues(b.value, a.value) > 0 ? b : a;
}

/** Orders two cursor values: numeric when both are numbers (or numeric text of big integers), else as text. */
export function compareCursorValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const big = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? BigInt(v) : undefined) : /^-?\d+$/.test(v) ? BigInt(v) : undefined);
  const x = big(a);
  const y = big(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  if (typeof a === 'number' || typeof b === 'number') return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseStored(text: string | undefined): { cursor: SourceCursor; snapshot?: string } | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<SourceCursor> & { snapshot?: unknown };
    if (typeof parsed.field !== 'string' || (typeof parsed.value !== 'string' && typeof parsed.value !== 'number')) return undefined;
    const kind: CursorKind = parsed.kind === 'number' || parsed.kind === 'timestamp' || parsed.kind === 'bytes' ? parsed.kind : 'string';
    return { cursor: { field: parsed.field, value: parsed.value, kind }, ...(typeof parsed.snapshot === 'string' ? { snapshot: parsed.snapshot } : {}) };
  } catch {
    return undefined;
  }
}

/** The current snapshot and its ancestors, newest first. */
function ancestry(metadata: TableMetadata): TableMetadata['snapshots'] {
  const byId = new Map(metadata.snapshots.map((s) => [s.snapshotId, s]));
  const out: TableMetadata['snapshots'] = [];
  let id = metadata.currentSnapshotId;
  while (id !== undefined) {
    const snapshot = byId.get(id);
    if (!snapshot || out.includes(snapshot)) break;
    out.push(snapshot);
    id = snapshot.parentSnapshotId;
  }
  return out;
}
