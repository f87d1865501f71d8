import type { SourceReport } from '../ingest/index.js';

/** How long a run took, as every command's report prints it: `11.5s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * The cursor column of `ingest-db` and `ingest-api`: `id: 1180 -> 1204`, `id: (none) -> 1204` on a
 * first run, `id: 1204 (unchanged)` when the run committed nothing, `-` for a source without a cursor.
 */
export function cursorText(cursor: SourceReport['cursor']): string {
  if (!cursor) return '-';
  const { field, previous, value } = cursor;
  const before = previous === undefined ? '(none)' : String(previous);
  // A run that commits nothing leaves the cursor where it was.
  if (value === undefined || value === previous) return `${field}: ${before} (unchanged)`;
  return `${field}: ${before} -> ${String(value)}`;
}
