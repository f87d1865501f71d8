import type { DuckDb } from '../engine/duckdb.js';

/**
 * A progress report of one step of one file; bytes are of the source file as stored. A step whose
 * share done cannot be known (JSON type inference: DuckDB reads the whole file before the query
 * starts, and reports nothing meanwhile) is `indeterminate`: it reports bytesDone 0 while it runs,
 * so that a user sees it is alive and for how long, then bytesTotal when it ends.
 */
export interface IngestProgress {
  file: string;
  phase: 'hashing' | 'inferring' | 'reading' | 'writing' | 'uploading';
  bytesDone: number;
  bytesTotal: number;
  indeterminate?: true;
}

const POLL_MS = 250;

/**
 * Runs `work` (one long DuckDB statement or a few) while reporting DuckDB's own query progress as a
 * share of `bytesTotal`. DuckDB tracks progress only with its progress bar enabled; printing stays off.
 */
export async function withDuckDbProgress<T>(
  duck: DuckDb,
  report: ((event: IngestProgress) => void) | undefined,
  event: Omit<IngestProgress, 'bytesDone'>,
  work: () => Promise<T>,
): Promise<T> {
  if (!report) return work();
  await duck.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
  let last = 0;
  const timer = setInterval(() => {
    const percentage = duck.connection.progress.percentage;
    if (percentage > 0) {
      const done = Math.min(event.bytesTotal, Math.round((event.bytesTotal * percentage) / 100));
      if (done > last) {
        last = done;
        report({ ...event, bytesDone: done });
      }
    }
  }, POLL_MS);
  try {
    const result = await work();
    report({ ...event, bytesDone: event.bytesTotal });
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** Runs `work`, a step whose progress DuckDB does not report, with an indeterminate event every poll. */
export async function withHeartbeat<T>(report: ((event: IngestProgress) => void) | undefined, event: Omit<IngestProgress, 'bytesDone' | 'indeterminate'>, work: () => Promise<T>): Promise<T> {
  if (!report) return work();
  const beat = (bytesDone: number) => report({ ...event, bytesDone, indeterminate: true });
  const timer = setInterval(() => beat(0), POLL_MS);
  try {
    const result = await work();
    beat(event.bytesTotal);
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** A reader's own byte count as progress reports, at most one per poll interval (a sheet's chunks come far more often). */
export function bytesReadReporter(report: ((event: IngestProgress) => void) | undefined, event: Omit<IngestProgress, 'bytesDone' | 'indeterminate'>): ((bytesDone: number) => void) | undefined {
  if (!report) return undefined;
  let last = 0;
  return (bytesDone) => {
    const now = Date.now();
    if (now - last < POLL_MS) return;
    last = now;
    report({ ...event, bytesDone: Math.min(bytesDone, event.bytesTotal) });
  };
}
