import type { DuckDb } from '../engine/duckdb.js';

/**
 * A progress report of one step of one file; bytes are of the source file as stored. A step whose
 * share done cannot be known (JSON type inference: DuckDB reads the whole file before the query
 * starts, and reports nothing meanwhile) is `indeterminate`: it reports bytesDone 0 while it runs,
 * so that a user sees it is alive and for how long, then bytesTotal when it ends.
 */
export interface IngestProgress {
  /** The file; for a `batch` event, the target table (`bronze.sales`). */
  file: string;
  /**
   * parsing: a custom parser producing rows (counted in rowsDone). typing and writing, for a database
   * or API source: the rows read from it have their column types inferred (indeterminate), then are
   * written, counted in rowsDone of rowsTotal (their bytes are of rat's scratch copy of the rows). batch: an ingest of more than one
   * file, told once before the first file and after each file (or each run of small CSVs read
   * together), and once after its last commit: filesDone of filesTotal, rowsDone ingested so far;
   * bytesDone and bytesTotal count files too, and bytesDone reaches bytesTotal only with that last event.
   */
  phase: 'hashing' | 'inferring' | 'typing' | 'parsing' | 'reading' | 'writing' | 'uploading' | 'batch';
  bytesDone: number;
  bytesTotal: number;
  indeterminate?: true;
  /** An indeterminate type inference that reads the sample rows only (a CSV's), not every record (a JSON file's). */
  sampled?: true;
  /**
   * The file is compressed, and bytesDone counts the compressed bytes DuckDB's reader has taken in:
   * it reads them ahead of the rows it decompresses and parses (a gzip file is at 95% seconds before
   * the step ends), so no share done or ETA can be told from it. Reported every poll while it runs,
   * so the time so far keeps showing.
   */
  compressed?: true;
  /**
   * A compressed read whose compressed bytes have not moved for a second, or are all taken in: DuckDB
   * is decompressing and parsing what it read ahead (a gzip file's last 5% can take half a minute), so
   * the step is not stuck at bytesDone.
   */
  readAhead?: true;
  /**
   * A step counted in rows instead of bytes (a custom parser's rows): the rows done so far, and
   * rowsTotal when it is known (while a parser runs it is not). bytesDone reaches bytesTotal when
   * the step ends, as for any step.
   */
  rowsDone?: number;
  rowsTotal?: number;
  filesDone?: number;
  filesTotal?: number;
}

const POLL_MS = 250;
/** Polls with no new compressed bytes read after which a compressed read is said to parse what it read ahead (a second). */
const STILL_POLLS = 4;

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
  let still = 0;
  const timer = setInterval(() => {
    const percentage = duck.connection.progress.percentage;
    if (percentage > 0) {
      // Short of the total until the work ends, in bytes and in rows: DuckDB says 100% while it still finishes.
      const short = (total: number) => Math.min(Math.max(0, total - 1), Math.round((total * percentage) / 100));
      const done = short(event.bytesTotal);
      still = done === last ? still + 1 : 0;
      if (done > last || (event.compressed && done >= last)) {
        last = done;
        const rows = event.rowsTotal === undefined ? {} : { rowsDone: short(event.rowsTotal) };
        const readAhead = event.compressed && (percentage >= 100 || still >= STILL_POLLS) ? { readAhead: true as const } : {};
        report({ ...event, bytesDone: done, ...rows, ...readAhead });
      }
    }
  }, POLL_MS);
  try {
    const result = await work();
    report({ ...event, bytesDone: event.bytesTotal, ...(event.rowsTotal === undefined ? {} : { rowsDone: event.rowsTotal }) });
    return result;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A custom parser's rows as progress reports (phase `parsing`, no total: a parser's output has no
 * known length), at most one per poll interval; `done` reports the end with the file's bytes done.
 */
export function rowsProducedReporter(report: ((event: IngestProgress) => void) | undefined, event: { file: string; bytesTotal: number }): ((rowsDone: number, done?: boolean) => void) | undefined {
  if (!report) return undefined;
  let last = Date.now();
  return (rowsDone, done = false) => {
    const now = Date.now();
    if (!done && now - last < POLL_MS) return;
    last = now;
    report({ ...event, phase: 'parsing', bytesDone: done ? event.bytesTotal : 0, rowsDone });
  };
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
