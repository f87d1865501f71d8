import { type ErrorCode, RatError } from '../core/errors.js';
import type { Output } from './output.js';

/** What a failed file, endpoint or replayed group says about its failure (FileReport and its kin). */
export interface Failed {
  error?: string;
  errorCode?: ErrorCode | 'INTERNAL';
}

/**
 * The error a command ends with when some of its items failed: with one, that item's error; with
 * several, each item's error gets a line of its own on stderr, in full (the table cuts long notes, and
 * the first error alone hides the others), and the command ends with `summary` (--json: the report
 * holds every error, at `field`).
 */
export function failedItems(out: Output, failed: readonly Failed[], summary: string, field: string, fallback: ErrorCode): Error {
  const error = (item: Failed, message: string): Error =>
    // A failure rat did not foresee (a bug) has no code of its own: it is printed as such.
    item.errorCode === 'INTERNAL' ? new Error(message) : new RatError(item.errorCode ?? fallback, message);
  const first = failed[0]!;
  if (failed.length === 1) return error(first, `${summary}: ${first.error ?? ''}`);
  if (!out.json) for (const item of failed) out.error(error(item, item.error ?? ''));
  return error(first, out.json ? `${summary}; the report's ${field} says why` : `${summary}; their errors are above`);
}

/** A failed item's error without the name it starts with, for a table's note beside that name: `a.csv (line 2): ...` becomes `(line 2): ...`. */
export function withoutName(error: string, name: string): string {
  return error.startsWith(name) ? error.slice(name.length).replace(/^:? /, '') : error;
}

/** `1 row`, `2 rows`. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
