import { type ErrorCode, RatError } from '../core/errors.js';
import type { Output } from './output.js';

/** What a failed file, endpoint or replayed group says about its failure (FileReport and its kin). */
export interface Failed {
  error?: string;
  errorCode?: ErrorCode | 'INTERNAL';
}

/** Exit code of a command some of whose items failed while others loaded or were skipped. */
const PARTIAL_FAILURE_EXIT = 3;

/** The errors failedItems made for a command whose other items went through. */
const partial = new WeakSet<Error>();

/** The exit code of a command that ended with `error`: 3 when only some of its items failed, else 1. */
export function exitCodeOf(error: unknown): number {
  return error instanceof Error && partial.has(error) ? PARTIAL_FAILURE_EXIT : 1;
}

/**
 * The error a command ends with when some of its `total` items failed: with one, that item's error; with
 * several, each item's error gets a line of its own on stderr, in full (the table cuts long notes, and
 * the first error alone hides the others), and the command ends with `summary` (--json: the report
 * holds every error, at `field`). When other items went through, the command exits 3 rather than 1:
 * a script can tell a batch that loaded nothing from one to run again for its failed files.
 */
export function failedItems(out: Output, failed: readonly Failed[], total: number, summary: string, field: string, fallback: ErrorCode): Error {
  const error = (item: Failed, message: string): Error =>
    // A failure rat did not foresee (a bug) has no code of its own: it is printed as such.
    item.errorCode === 'INTERNAL' ? new Error(message) : new RatError(item.errorCode ?? fallback, message);
  const first = failed[0]!;
  if (failed.length > 1 && !out.json) for (const item of failed) out.error(error(item, item.error ?? ''));
  const ending = failed.length === 1 ? error(first, `${summary}: ${first.error ?? ''}`) : error(first, out.json ? `${summary}; the report's ${field} says why` : `${summary}; their errors are above`);
  if (failed.length < total) partial.add(ending);
  return ending;
}

/** A failed item's error without the name it starts with, for a table's note beside that name: `a.csv (line 2): ...` becomes `(line 2): ...`. */
export function withoutName(error: string, name: string): string {
  return error.startsWith(name) ? error.slice(name.length).replace(/^:? /, '') : error;
}

/** `1 row`, `2 rows`. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
