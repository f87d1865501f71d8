import type { IngestProgress } from '../ingest/index.js';
import type { Output } from './output.js';

const QUIET_MS = 1_000;
const PLAIN_EVERY_MS = 5_000;
/**
 * At most five rewrites a second in a terminal: an upload reports every chunk it copies (thousands
 * for a large file, each one terminal write); the ingest steps' events, one per 250 ms poll, all show.
 */
const TERMINAL_EVERY_MS = 200;

/**
 * Turns ingest progress events into lines: bytes done of total, rate, ETA (rows and their rate for a
 * custom parser's; compressed bytes read and the time so far for a compressed file's read). Quiet for the first
 * second of a step (short files print nothing); in a terminal the line updates in place, elsewhere
 * a plain line every few seconds.
 */
export function createProgressReporter(out: Output, terminal = process.stderr.isTTY === true): { report(event: IngestProgress): void; end(): void } {
  let current: { key: string; started: number; lastPrinted: number; open: boolean; bytesDone: number } | undefined;
  // A batch's line is timed from the batch's start, across the steps of its files. In a terminal a
  // file's step line, once it shows, takes the batch's place; the batch's shows again after that file.
  let batch: { started: number; lastPrinted: number; open: boolean; first?: BatchStart } | undefined;
  // A file's next step leaves the batch's line where it is: that step's own line, if it shows, takes its place.
  const endStep = () => {
    if (current?.open && terminal) out.progress('', true);
    current = undefined;
  };
  const end = () => {
    if (batch?.open && terminal && !current?.open) out.progress('', true);
    endStep();
  };
  const reportBatch = (event: IngestProgress) => {
    const now = Date.now();
    batch ??= { started: now, lastPrinted: 0, open: false };
    const elapsed = now - batch.started;
    const filesDone = event.filesDone ?? event.bytesDone;
    if (!batch.first && filesDone > 0) batch.first = { elapsedMs: elapsed, files: filesDone };
    const finished = event.bytesDone >= event.bytesTotal;
    // A short batch prints nothing, and its end only once its line has shown.
    const due = finished ? batch.lastPrinted > 0 : elapsed >= QUIET_MS && now - batch.lastPrinted >= (terminal ? TERMINAL_EVERY_MS : PLAIN_EVERY_MS);
    // A batch event comes between files: the steps of the file before it are over.
    endStep();
    if (due) {
      batch.lastPrinted = now;
      batch.open = !finished;
      out.progress(progressText(event, elapsed, batch.first), finished);
    }
    if (finished) batch = undefined;
  };
  return {
    report(event) {
      if (event.phase === 'batch') return reportBatch(event);
      const key = `${event.phase}:${event.file}`;
      const now = Date.now();
      // Bytes that go back are the next step of the file under the same phase (an Excel sheet parsed, then
      // its rows read): timed from its own start, or its share and ETA would mix the two.
      if (current?.key !== key || event.bytesDone < current.bytesDone) {
        endStep();
        current = { key, started: now, lastPrinted: 0, open: false, bytesDone: 0 };
      }
      current.bytesDone = event.bytesDone;
      const elapsed = now - current.started;
      const finished = event.bytesDone >= event.bytesTotal;
      if (elapsed < QUIET_MS) return;
      if (!finished && now - current.lastPrinted < (terminal ? TERMINAL_EVERY_MS : PLAIN_EVERY_MS)) return;
      current.lastPrinted = now;
      current.open = true;
      if (batch) batch.open = false;
      out.progress(progressText(event, elapsed), finished);
      if (finished) current.open = false;
    },
    end,
  };
}

/** When a batch's first file (or first run of small files read together) was done, and how many files that was. */
export interface BatchStart {
  elapsedMs: number;
  files: number;
}

/**
 * `first`: a batch's first files also create the table, open the catalog and warm up, so the ETA
 * comes from the files done after them (a batch of 200 small files once showed `ETA 5m41s` after its
 * first file, and ended a second later); until more are done it is `ETA ?`.
 */
export function progressText(event: IngestProgress, elapsedMs: number, first?: BatchStart): string {
  const finished = event.bytesDone >= event.bytesTotal;
  if (event.phase === 'batch') {
    const filesDone = event.filesDone ?? event.bytesDone;
    const filesTotal = event.filesTotal ?? event.bytesTotal;
    const rows = event.rowsDone === undefined ? '' : `  ${count(event.rowsDone)} rows`;
    if (finished) return `${count(filesTotal)} files into ${event.file}${rows}  done in ${duration(elapsedMs / 1000)}`;
    const perMs = elapsedMs > 0 ? filesDone / elapsedMs : 0;
    const since = first ? { files: filesDone - first.files, ms: elapsedMs - first.elapsedMs } : { files: filesDone, ms: elapsedMs };
    const etaPerMs = since.files > 0 && since.ms > 0 ? since.files / since.ms : 0;
    const eta = etaPerMs > 0 ? `ETA ${duration((filesTotal - filesDone) / etaPerMs / 1000)}` : 'ETA ?';
    // The file being ingested now is the one after those done.
    return `file ${count(Math.min(filesDone + 1, filesTotal))} of ${count(filesTotal)} into ${event.file}${rows}  ${(perMs * 1000).toFixed(1)} files/s  ${eta}`;
  }
  if (event.indeterminate && event.rowsTotal !== undefined) {
    // The rows read from a database or API: DuckDB infers their types with no share done to report.
    const state = finished ? `done in ${duration(elapsedMs / 1000)}` : `${duration(elapsedMs / 1000)} so far`;
    return `${event.phase} the ${count(event.rowsTotal)} rows read from ${event.file}  ${state}`;
  }
  if (event.rowsDone !== undefined) {
    const step = event.phase === 'parsing' ? 'parsing (custom parser)' : event.phase;
    const rate = `${count(elapsedMs > 0 ? Math.round((event.rowsDone / elapsedMs) * 1000) : 0)} rows/s`;
    if (event.rowsTotal === undefined) {
      // A parser's rows have no known total: a count and a rate, no share or ETA.
      return `${step} ${event.file}  ${count(event.rowsDone)} rows  ${rate}${finished ? `  done in ${duration(elapsedMs / 1000)}` : ''}`;
    }
    const share = event.rowsTotal > 0 ? Math.min(1, event.rowsDone / event.rowsTotal) : 1;
    const perMs = elapsedMs > 0 ? event.rowsDone / elapsedMs : 0;
    const eta = finished ? `done in ${duration(elapsedMs / 1000)}` : perMs > 0 ? `ETA ${duration((event.rowsTotal - event.rowsDone) / perMs / 1000)}` : 'ETA ?';
    return `${step} ${event.file}  ${count(event.rowsDone)} / ${count(event.rowsTotal)} rows  ${Math.floor(share * 100)}%  ${rate}  ${eta}`;
  }
  if (event.compressed) {
    // Compressed bytes are read ahead of the rows decompressed from them: their share is no share of the work done.
    const state = finished ? `done in ${duration(elapsedMs / 1000)}` : `${duration(elapsedMs / 1000)} so far`;
    // Compressed bytes that stand still are not a stuck read: the rows read ahead are being parsed.
    const ahead = event.readAhead && !finished ? ', parsing the rows read ahead' : '';
    return `${event.phase} ${event.file}  ${bytes(event.bytesDone)} of ${bytes(event.bytesTotal)} compressed read${ahead}  ${state}`;
  }
  if (event.indeterminate) {
    const step = event.phase === 'inferring' ? 'inferring the column types of' : event.phase;
    const state = event.bytesDone >= event.bytesTotal ? `done in ${duration(elapsedMs / 1000)}` : `${duration(elapsedMs / 1000)} so far (reads ${event.sampled ? 'the sample rows' : 'every record'}; DuckDB reports no share done)`;
    return `${step} ${event.file}  ${bytes(event.bytesTotal)}  ${state}`;
  }
  const share = event.bytesTotal > 0 ? event.bytesDone / event.bytesTotal : 1;
  const rate = elapsedMs > 0 ? (event.bytesDone / elapsedMs) * 1000 : 0;
  const eta = rate > 0 && share < 1 ? `ETA ${duration((event.bytesTotal - event.bytesDone) / rate)}` : share >= 1 ? `done in ${duration(elapsedMs / 1000)}` : 'ETA ?';
  return `${event.phase} ${event.file}  ${bytes(event.bytesDone)} / ${bytes(event.bytesTotal)}  ${Math.floor(share * 100)}%  ${bytes(rate)}/s  ${eta}`;
}

/** Bytes in binary units, named as such (KiB = 1024 B): a 159,333,359-byte file is 152.0 MiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(seconds: number): string {
  // Rounded up once, before it is split: 119.5 s is 2m00s, not 1m60s.
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  return minutes < 60 ? `${minutes}m${String(whole % 60).padStart(2, '0')}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
