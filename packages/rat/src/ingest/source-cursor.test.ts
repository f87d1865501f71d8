import { describe, expect, it } from 'vitest';
import { CursorTies, type SourceCursor, TIE_LIMIT, tieHash } from './source-cursor.js';

const at = (value: string | number, kind: SourceCursor['kind'] = typeof value === 'number' ? 'number' : 'string'): SourceCursor => ({ field: 'c', value, kind });

describe('CursorTies', () => {
  it('keeps the hashes of the rows at the last value, and leaves out rows at the stored value that an earlier run committed', () => {
    const first = new CursorTies(undefined, true, String);
    for (const [value, text] of [[1, 'r1'], [2, 'r2'], [2, 'r3']] as const) expect(first.committedBefore(at(value), text)).toBe(false);
    const stored = first.cursor(at(2))!;
    expect(stored).toEqual({ ...at(2), seen: [tieHash('r2'), tieHash('r3')] });

    const next = new CursorTies(stored, true, String);
    // Rows at the stored value come first in cursor order: the known ones are left out, a new one is kept.
    expect([next.committedBefore(at(2), 'r2'), next.committedBefore(at(2), 'r4'), next.committedBefore(at(2), 'r3')]).toEqual([true, false, true]);
    expect(next.skipped).toBe(2);
    expect(next.cursor(at(2))!.seen).toEqual([tieHash('r2'), tieHash('r4'), tieHash('r3')]);
  });

  it('treats text equal but for case, accents or trailing spaces as one value (a case-insensitive collation sorts them together in no order)', () => {
    const ties = new CursorTies(undefined, true, String);
    for (const [value, text] of [['abc', 'r1'], ['ABC', 'r2'], ['ábc ', 'r3']] as const) ties.committedBefore(at(value), text);
    expect(ties.cursor(at('ábc '))!.seen).toHaveLength(3);
  });

  it('leaves out a row an earlier version hashed by another text (its NULL fields included), and keeps the new text for the next run', () => {
    const stored = { ...at(2), seen: [tieHash('{"id":2,"note":null}')] };
    const ties = new CursorTies(stored, true, String);
    expect(ties.committedBefore(at(2), '{"id":2}', '{"id":2,"note":null}')).toBe(true);
    expect(ties.committedBefore(at(2), '{"id":3}', '{"id":3,"note":null}')).toBe(false);
    expect(ties.cursor(at(2))!.seen).toEqual([tieHash('{"id":2}'), tieHash('{"id":3}')]);
  });

  it('treats numbers equal but for their spelling (1.0, 1.00, 1) as one value in cursor order', () => {
    const first = new CursorTies(undefined, true, String);
    for (const [value, text] of [['1.0', 'r1'], ['1.00', 'r2']] as const) first.committedBefore(at(value, 'number'), text);
    const stored = first.cursor(at('1.00', 'number'))!;
    expect(stored.seen).toEqual([tieHash('r1'), tieHash('r2')]);
    const next = new CursorTies(stored, true, String);
    expect([next.committedBefore(at('1.0', 'number'), 'r1'), next.committedBefore(at(1), 'r2'), next.committedBefore(at('1.000', 'number'), 'r3')]).toEqual([true, true, false]);
  });

  it('leaves out a row at the stored value whose column was dropped, renamed or added with a default, by its values in the columns it still has', () => {
    const first = new CursorTies(undefined, true, JSON.stringify);
    const rows = [
      { id: 1, c: 2, note: 'a', extra: 'x' },
      { id: 2, c: 2, note: 'b', extra: 'y' },
    ];
    for (const row of rows) first.committedBefore(at(2), JSON.stringify(row), undefined, row);
    const stored = first.cursor(at(2))!;
    expect(stored.columns).toEqual(['id', 'c', 'note', 'extra']);
    expect(stored.cells).toHaveLength(2);

    const next = new CursorTies(stored, true, JSON.stringify);
    const seen = (row: Record<string, unknown>) => next.committedBefore(at(2), JSON.stringify(row), undefined, row);
    // extra dropped, note renamed to remark, a flag added with a default: the same rows.
    expect([seen({ id: 1, c: 2, note: 'a' }), seen({ id: 2, c: 2, remark: 'b', extra: 'y' }), seen({ id: 1, c: 2, note: 'a', extra: 'x', flag: false })]).toEqual([true, true, true]);
    // A value changed, or a row not loaded before: new.
    expect([seen({ id: 1, c: 2, note: 'changed' }), seen({ id: 3, c: 2, note: 'a' })]).toEqual([false, false]);
    // Only the cursor column in common: the row cannot be told from a new one.
    expect(seen({ key: 1, c: 2 })).toBe(false);
  });

  it('stores no hashes past TIE_LIMIT rows at one value: the next run then reads after the value', () => {
    const ties = new CursorTies(undefined, true, String);
    for (let i = 0; i <= TIE_LIMIT; i++) ties.committedBefore(at(5), `r${i}`);
    expect(ties.cursor(at(5))).toEqual(at(5));
  });
});
