import type { Json } from '@duckdb/node-api';
import { describeError, isRatError } from '../core/errors.js';
import { displayWidth, sliceToWidth } from './display-width.js';

/** The CLI's only door to stdout/stderr: tables for people, JSON for scripts. */
export interface Output {
  json: boolean;
  line(text: string): void;
  error(error: unknown): void;
  /** Prints rows as an aligned table (or a JSON array with --json). */
  table(columns: string[], rows: Json[][]): void;
  /** Streams rows: the first batch sets the column widths; memory stays bounded by one batch. */
  stream(columns: string[], batches: AsyncIterable<Json[][]>): Promise<number>;
  value(value: unknown): void;
  /** Streams rows as CSV with a header line (RFC 4180 quoting). */
  streamCsv(columns: string[], batches: AsyncIterable<Json[][]>): Promise<number>;
  /** Resolves when everything written so far has left the process (before another writer uses stdout). */
  flush(): Promise<void>;
  /**
   * A progress line on stderr: in a terminal it rewrites itself in place (`done` ends it with a
   * newline); elsewhere each call is one plain line, so logs stay readable.
   */
  progress(text: string, done?: boolean): void;
}

const MAX_CELL = 60;
const WIDTH_SAMPLE = 200;

/** Writes text and resolves once the destination can take more (backpressure for streamed results). */
type Writer = (text: string) => void | Promise<void>;

let draining: { promise: Promise<void>; fail(error: Error): void } | undefined;
/** The reader of stdout went away (rat ... | head -1): what is left to print goes nowhere. */
let stdoutClosed = false;

/**
 * Resolves once stdout takes more: one 'drain' listener however many writes wait (a listener per
 * write made Node warn of a leak, MaxListenersExceededWarning, when a pipe filled: rat ... | head).
 * Rejects with a broken pipe once the reader has gone (no drain comes then).
 */
function stdoutDrained(): Promise<void> {
  if (stdoutClosed) return Promise.reject(brokenPipe());
  if (!draining) {
    let fail: (error: Error) => void = () => {};
    const promise = new Promise<void>((resolve, reject) => {
      fail = reject;
      process.stdout.once('drain', () => {
        draining = undefined;
        resolve();
      });
    });
    // A write nobody awaits (a table's, not a stream's) may hold this promise: its rejection is no crash.
    promise.catch(() => {});
    draining = { promise, fail };
  }
  return draining.promise;
}

function stdoutWriter(text: string): void | Promise<void> {
  if (stdoutClosed) return;
  if (process.stdout.write(text)) return;
  return stdoutDrained();
}

/**
 * For the `rat` executable, on EPIPE from stdout: the rest of the output is dropped. A command that
 * streams rows stops at its next wait for the reader (a broken pipe, which main() takes as success:
 * the reader has what it wanted); any other command runs to its end and exits with its own code, so
 * `rat ingest bad.csv t | head -1` still exits 1 and no ingest stops half way.
 */
export function closeStdout(): void {
  stdoutClosed = true;
  draining?.fail(brokenPipe());
  draining = undefined;
}

/**
 * Sends what user code (a custom parser) prints with console.log to stderr: under --json, stdout
 * holds only the JSON the command prints.
 */
export function keepConsoleOffStdout(): void {
  console.log = console.error;
}

function brokenPipe(): Error {
  return new Error('Broken pipe: the reader of stdout went away');
}

export function createOutput(options: {
  json: boolean;
  write?: Writer;
  writeError?: (text: string) => void;
  terminal?: boolean;
  /** The terminal's width (default: stderr's); a progress line wider would wrap, and only its last row be rewritten. */
  columns?: number;
  /** A terminal that knows no escape codes (default: TERM=dumb). */
  dumb?: boolean;
}): Output {
  const write = options.write ?? stdoutWriter;
  /** Whether the reader of stdout went away: a stream stops reading rows then. */
  const readerGone = () => options.write === undefined && stdoutClosed;
  const writeError = options.writeError ?? ((text: string) => process.stderr.write(text));
  const terminal = options.terminal ?? process.stderr.isTTY === true;
  const dumb = options.dumb ?? process.env.TERM === 'dumb';
  /** Characters of the progress line on screen now, which a shorter one overwrites with spaces where \x1b[K cannot clear them. */
  let shown = 0;
  const output: Output = {
    json: options.json,
    line(text) {
      write(`${text}\n`);
    },
    error(error) {
      if (options.json) {
        writeError(`${JSON.stringify({ error: { code: isRatError(error) ? error.code : 'INTERNAL', message: describeError(error) } })}\n`);
      } else {
        writeError(`rat: ${isRatError(error) ? `${error.code}: ` : ''}${describeError(error)}\n`);
      }
    },
    table(columns, rows) {
      if (options.json) {
        write(`${JSON.stringify(rows.map((row) => toObject(columns, row)), jsonReplacer, 2)}\n`);
        return;
      }
      const widths = columnWidths(columns, rows);
      // One write: the rows are in memory already, and the caller does not wait for the reader.
      let text = `${formatRow(columns, widths)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`;
      for (const row of rows) text += `${formatRow(row.map(cell), widths)}\n`;
      write(`${text}(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
    },
    async stream(columns, batches) {
      let count = 0;
      let widths: number[] | undefined;
      let buffered: Json[][] = [];
      const flushHeader = () => {
        widths = columnWidths(columns, buffered);
        let text = `${formatRow(columns, widths)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`;
        for (const row of buffered) text += `${formatRow(row.map(cell), widths)}\n`;
        buffered = [];
        return write(text);
      };
      if (options.json) write('[');
      for await (const batch of batches) {
        if (readerGone()) throw brokenPipe();
        let text = '';
        for (const row of batch) {
          if (options.json) {
            text += `${count === 0 ? '\n' : ',\n'}${JSON.stringify(toObject(columns, row), jsonReplacer)}`;
          } else if (widths) {
            const cells = row.map(cell);
            // A value wider than the rows before it (ids past 999 after a first screen of smaller ones)
            // widens its column from here on rather than be cut: earlier rows are written already.
            for (let i = 0; i < cells.length; i++) widths[i] = Math.max(widths[i]!, Math.min(MAX_CELL, displayWidth(cells[i]!)));
            text += `${formatRow(cells, widths)}\n`;
          } else {
            buffered.push(row);
            if (buffered.length >= WIDTH_SAMPLE) await flushHeader();
          }
          count++;
        }
        // Wait for the reader: a slow consumer must not make us buffer the whole result.
        if (text) await write(text);
      }
      if (options.json) write(count === 0 ? ']\n' : '\n]\n');
      else {
        if (!widths) await flushHeader();
        write(`(${count} row${count === 1 ? '' : 's'})\n`);
      }
      return count;
    },
    value(value) {
      write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
    },
    async streamCsv(columns, batches) {
      let count = 0;
      await write(`${columns.map(csvCell).join(',')}\n`);
      for await (const batch of batches) {
        if (readerGone()) throw brokenPipe();
        let text = '';
        for (const row of batch) text += `${row.map((v) => (v === null ? '' : csvCell(typeof v === 'object' ? JSON.stringify(v) : String(v)))).join(',')}\n`;
        count += batch.length;
        if (text) await write(text);
      }
      return count;
    },
    async flush() {
      if (process.stdout.writableLength > 0) await stdoutDrained();
    },
    progress(text, done = false) {
      if (!terminal) {
        writeError(`${text}\n`);
        return;
      }
      // One column spare: a line as wide as the terminal moves the cursor to the next row on some terminals.
      const columns = options.columns ?? process.stderr.columns;
      const line = columns ? fitLine(text, columns - 1) : text;
      const clear = dumb ? ' '.repeat(Math.max(0, shown - line.length)) : '';
      writeError(`\r${dumb ? '' : '\x1b[K'}${line}${clear}${done ? '\n' : ''}`);
      shown = done ? 0 : line.length;
    },
  };
  return output;
}

/**
 * `text` in at most `width` characters: a note in parentheses at its end goes first; then the middle
 * of its longest word (a file path, landing key or URL) gives way to `…`, keeping more of its end
 * (the file's name) than of its start; then the end of the line.
 */
export function fitLine(text: string, width: number): string {
  if (text.length <= width) return text;
  const noNote = text.replace(/ \([^()]*\)$/, '');
  if (noNote.length <= width) return noNote;
  const longest = noNote.split(' ').reduce((a, b) => (b.length > a.length ? b : a), '');
  // Enough of the word stays to tell which it is, around the … that stands for the rest.
  const keep = Math.max(16, longest.length - (noNote.length - width) - 1);
  let fitted = noNote;
  if (keep + 1 < longest.length) {
    const head = Math.ceil(keep / 3);
    fitted = noNote.replace(longest, `${longest.slice(0, head)}…${longest.slice(longest.length - (keep - head))}`);
  }
  return fitted.length <= width ? fitted : `${fitted.slice(0, Math.max(0, width - 1))}…`;
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function toObject(columns: string[], row: Json[]): Record<string, Json> {
  return Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]));
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  // An SDK report carries a failure's error object (FileReport.cause) for code; for scripts, its `error` and `errorCode` say it.
  if (value instanceof Error) return undefined;
  return value;
}

/**
 * A count from an Iceberg snapshot summary, which the spec keeps as text (`"total-records": "71"`),
 * as JSON prints other 64-bit integers: a number when it fits a double exactly, else its digits.
 */
export function summaryCount(text: string | undefined): Json {
  if (text === undefined) return null;
  return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : text;
}

function cell(value: Json): string {
  if (value === null) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** In terminal columns, not UTF-16 units: a CJK character takes 2, a combining accent 0. */
function columnWidths(columns: string[], rows: Json[][]): number[] {
  return columns.map((c, i) => Math.min(MAX_CELL, Math.max(displayWidth(c), ...rows.map((r) => displayWidth(cell(r[i] ?? null))))));
}

function formatRow(cells: string[], widths: number[]): string {
  return cells
    .map((text, i) => {
      const width = widths[i]!;
      const clipped = displayWidth(text) > width ? `${sliceToWidth(text, width - 1)}…` : text;
      return clipped + ' '.repeat(Math.max(0, width - displayWidth(clipped)));
    })
    .join(' | ')
    .trimEnd();
}
