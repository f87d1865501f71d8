import { ValidationError } from '../../core/errors.js';
import { compareCursorValues, incomparableCursors } from '../source-cursor.js';

/** What one record holds in the cursor field: a value, null when nothing (null or missing), undefined when the record has no fields to read (malformed). */
export type RecordCursor = string | number | null | undefined;

/**
 * The checks of one incremental endpoint's run over its cursor field, and, with `maxPages`, the
 * records it holds back. A run whose cursor cannot work fails before anything is committed, as
 * a silent success would load every record again on every run (no record has the field: no cursor
 * is ever stored) or drop new ones (values that do not compare).
 *
 * With `maxPages` the run may end while the API has more pages, and the stored cursor (the largest
 * loaded) must not pass records on them. That holds when the API sends records oldest first, except
 * for records sharing the largest value: more of them may be on the next page, and the next run,
 * asking for records after it, would never get them. So the records at the largest value wait here
 * until a larger one arrives; when maxPages ends the pages they are left for the next run, which
 * asks from the value below. A run cut short whose records are not oldest first, or that can load
 * nothing but such ties (or nothing new at all), fails: every later run would do the same.
 */
export class CursorGuard<T> {
  private withCursor = 0;
  private objects = 0;
  private fields: string[] | undefined;
  private largest: string | number | undefined;
  private ties: T[] = [];
  private loadedBelowTies = 0;
  private disorder: string | undefined;

  constructor(
    private readonly field: string,
    private readonly what: string,
    /** Whether `maxPages` may end the pages early (records at the largest cursor then wait). */
    private readonly holdTies: boolean,
  ) {}

  /** The record's cursor value; fails on an object, array or boolean there, naming the record (`where`). */
  read(record: unknown, where: () => string): RecordCursor {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
    this.objects++;
    this.fields ??= Object.keys(record);
    const raw = (record as Record<string, unknown>)[this.field];
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'number') return Number.isFinite(raw) ? (this.withCursor++, raw) : undefined;
    if (typeof raw === 'bigint' || typeof raw === 'string') {
      this.withCursor++;
      return typeof raw === 'bigint' ? raw.toString() : raw;
    }
    throw new ValidationError(
      'SOURCE_CURSOR_INVALID',
      `${where()}: incremental.cursorField "${this.field}" holds ${describe(raw)}, not a number or text to compare; point cursorField at a top-level field holding the record's update time or sequence`,
    );
  }

  /** Whether a cursor value is past the lower bound; fails when the two do not compare (the API changed what the field holds). */
  isAfter(value: string | number, since: { value: string | number; inclusive: boolean }, where: () => string): boolean {
    const order = compareCursorValues(value, since.value);
    if (order === undefined) throw incomparableCursors(this.field, since.value, value, where());
    return order > 0 || (order === 0 && since.inclusive);
  }

  /** The items to load now, given one more with `value` as its cursor (null: none): with holdTies, those at the largest value wait. */
  admit(item: T, value: string | number | null, where: () => string): T[] {
    if (!this.holdTies || value === null) return [item];
    const order = this.largest === undefined ? 1 : compareCursorValues(value, this.largest);
    if (order === undefined) throw incomparableCursors(this.field, this.largest!, value, where());
    if (order === 0) {
      this.ties.push(item);
      return [];
    }
    if (order < 0) {
      this.disorder ??= `${where()} has ${this.field} ${JSON.stringify(value)}, before ${JSON.stringify(this.largest)} on an earlier record`;
      this.loadedBelowTies++;
      return [item];
    }
    const released = this.ties;
    this.loadedBelowTies += released.length;
    this.largest = value;
    this.ties = [item];
    return released;
  }

  /**
   * At the end of the pages: the items still waiting when the API had no more pages, none when
   * maxPages ended them (`leftBehind` says how many). Fails when no record had a value in the field.
   */
  finish(stoppedAtMaxPages: boolean, maxPages: number | undefined): { items: T[]; leftBehind: number } {
    if (this.objects > 0 && this.withCursor === 0) {
      throw new ValidationError(
        'SOURCE_CURSOR_INVALID',
        `${this.what}: none of the ${this.objects} records fetched has a value in incremental.cursorField "${this.field}" (the first record's fields: ${this.fields!.slice(0, 12).join(', ') || 'none'}); set cursorField to the top-level field holding each record's update time or sequence: without one no cursor is stored and every run loads every record again`,
      );
    }
    const ties = this.ties;
    this.ties = [];
    if (!stoppedAtMaxPages) return { items: ties, leftBehind: 0 };
    const cut = `stopped at maxPages ${maxPages} while the API had more pages`;
    if (this.disorder !== undefined) {
      throw new ValidationError(
        'SOURCE_CURSOR_INVALID',
        `${this.what}: ${cut}, and the records are not oldest first (${this.disorder}), so storing the largest cursor would pass records on the pages not fetched; remove maxPages, or have the API sort by ${this.field} ascending`,
      );
    }
    if (this.loadedBelowTies === 0) {
      const value = `${this.field} ${JSON.stringify(this.largest)}`;
      const tied = ties.length === 1 ? `the only record it could load has ${value}` : `the ${ties.length} records it could load all have ${value}`;
      const why = ties.length > 0 ? `${tied}, and more may follow on the next page` : 'none of its records is after the stored cursor';
      throw new ValidationError('SOURCE_CURSOR_INVALID', `${this.what}: ${cut}, and ${why}: every run would stop at the same place; raise maxPages (or remove it)`);
    }
    return { items: [], leftBehind: ties.length };
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  const kind = typeof value === 'boolean' ? 'a boolean' : Array.isArray(value) ? 'an array' : 'an object';
  return `${text.length > 80 ? `${text.slice(0, 80)}…` : text} (${kind})`;
}
