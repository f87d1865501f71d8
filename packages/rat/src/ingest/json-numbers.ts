import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { openDecompressed, readZstdText, type StoredCompression } from './decompressed.js';

/**
 * JSON numbers that DuckDB's reader would change without a word. Its parser reads every number
 * with a fraction or an exponent as a double before any cast, even into a DECIMAL or VARCHAR
 * column: `1234567890123456789.0123456789` becomes 1234567890123456822.7576610816 in a
 * DECIMAL(38,10), `123456789012345678.9` goes into a BIGINT as 123456789012345680, and `1e-400`
 * loads as 0. Such a number is written as a JSON string of its text instead (quoteInexactNumbers),
 * so it reaches its column as written: a decimal or text column keeps every digit, an integer
 * column's check sends a fraction to the quarantine, and a new column holding one becomes text.
 */

/** A JSON string (skipped whole, so digits inside one are never taken for a number) or a JSON number. */
const TOKEN = /"(?:[^"\\]|\\.)*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/g;

/**
 * The line with each number a double does not give back as written quoted, as a JSON string of
 * its text (`1234567890123456789.0123456789` -> `"1234567890123456789.0123456789"`). Kept as
 * numbers: integers (DuckDB keeps those exactly, or types them wider itself), numbers whose double
 * is the same decimal value (`0.1`, `0.30000000000000004`), and numbers beyond a double's range
 * (`1e400`), which the read quarantines naming the key. The line is valid JSON, so numbers and
 * strings are all the tokens that hold digits.
 */
export function quoteInexactNumbers(line: string): string {
  return line.replace(TOKEN, (token) => (token.startsWith('"') || !isInexact(token) ? token : `"${token}"`));
}

function isInexact(token: string): boolean {
  if (!/[.eE]/.test(token)) return false;
  const double = Number(token);
  return Number.isFinite(double) && decimalValue(token) !== decimalValue(String(double));
}

/** A decimal number's value as `<sign><digits>e<exponent>` with no leading or trailing zeros, so equal values compare equal. */
function decimalValue(text: string): string {
  const [, sign, whole, fraction = '', exponent = '0'] = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text)!;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  const trimmed = digits.replace(/0+$/, '');
  if (trimmed === '') return '0';
  return `${sign}${trimmed}e${Number(exponent) - fraction.length + (digits.length - trimmed.length)}`;
}

/** Bytes a JSON number is written with; `.`, `e` and `E` mark one that is not an integer. */
const NUMBER_BYTE = new Uint8Array(256);
for (const c of '0123456789.eE+-') NUMBER_BYTE[c.charCodeAt(0)] = 1;

/** A negative three-digit exponent (`1e-400`, 0 as a double), looked for in a file's first bytes only. */
const UNDERFLOW = /[0-9][eE]-[0-9]{3}/;

/** The first bytes looked at byte by byte: as many as a file's sample (file-probe.ts). */
const HEAD_BYTES = 64 * 1024;

/**
 * Whether a JSON text (decompressed as stored) may hold a number DuckDB reads inexactly: one with a
 * point or an exponent and more than 17 significant digits anywhere (LongRunScan), or (in the first
 * 64 KiB, as a CSV file's sniffer sees it) a negative three-digit exponent such as `1e-400`. Numbers
 * of 16 or 17 digits are what JavaScript and Python write for doubles (`0.30000000000000004`): a
 * file full of them read record by record took ten times as long, so they are not looked for. The pass that hashes a file does
 * this as it goes (file-probe.ts); this is the pass of its own for a file that one did not read. A
 * true answer only sends the file to the exact read.
 */
export async function scanForInexactNumbers(path: string, compression: StoredCompression): Promise<boolean> {
  const scan = async (chunks: AsyncIterable<Buffer>): Promise<boolean> => {
    const head: Buffer[] = [];
    let headBytes = 0;
    const runs = new LongRunScan();
    for await (const chunk of chunks) {
      if (headBytes < HEAD_BYTES) {
        head.push(Buffer.from(chunk.subarray(0, HEAD_BYTES - headBytes)));
        headBytes += Math.min(chunk.length, HEAD_BYTES - headBytes);
      }
      if (runs.add(chunk)) return true;
    }
    return headMayHoldInexactNumbers(Buffer.concat(head));
  };
  // zstd by the zstd tool where it is installed: fzstd in JavaScript decompresses about 50 MB/s.
  if (compression === 'zstd') return readZstdText(path, scan);
  const source = openDecompressed(path, compression);
  try {
    return await scan(source.stream as AsyncIterable<Buffer>);
  } finally {
    source.close();
  }
}

/** Whether the first bytes of a JSON text hold a number too small for a double (`1e-400`). */
export function headMayHoldInexactNumbers(head: Buffer): boolean {
  return UNDERFLOW.test(head.toString('latin1', 0, Math.min(head.length, HEAD_BYTES)));
}

/**
 * The state of a run of number bytes read so far: its significant digits before any exponent (leading
 * zeros and the point aside), whether it holds a mark, and whether an exponent has begun.
 */
interface RunState {
  digits: number;
  marked: boolean;
  exponent: boolean;
}

const emptyRun = (): RunState => ({ digits: 0, marked: false, exponent: false });

/** The run state after the bytes [from, to) of a run. */
function readRun(bytes: Buffer, from: number, to: number, state: RunState): RunState {
  let { digits, marked, exponent } = state;
  for (let i = from; i < to; i++) {
    const byte = bytes[i]!;
    if (byte === 0x65 || byte === 0x45) exponent = marked = true;
    else if (byte === 0x2e) marked = true;
    else if (byte >= 0x30 && byte <= 0x39 && !exponent && (digits > 0 || byte !== 0x30)) digits++;
    else if (byte === 0x2d || byte === 0x2b) {
      // A sign starts a new number unless it is an exponent's (`1e-5`); runs such as `2024-01-01` are several.
      if (!exponent || (bytes[i - 1] !== 0x65 && bytes[i - 1] !== 0x45)) ({ digits, marked, exponent } = emptyRun());
    }
  }
  return { digits, marked, exponent };
}

/** More significant digits than any double's shortest form (17), with a point or exponent: no double printer wrote it. */
const isLong = (run: RunState) => run.marked && run.digits > MAX_DOUBLE_DIGITS;
const MAX_DOUBLE_DIGITS = 17;

/** Bytes a JSON number can follow (after white space): a key's colon, a comma, an array's bracket. */
const NUMBER_AFTER = new Uint8Array(256);
for (const c of ':,[') NUMBER_AFTER[c.charCodeAt(0)] = 1;
const isSpace = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

/**
 * Finds a number with more significant digits than a double prints, chunk by chunk
 * (scanForInexactNumbers). Every 16th byte is looked at, and the run of number bytes around it
 * when it is one: such a number is 18 bytes or more, so it holds one of them. A run counts only
 * where a JSON number can stand, after a colon, a comma or a bracket: digits and `e`s inside a
 * string (a hex digest such as an MD5 or a Git commit id, `...4238a0b923820dcc509e67...`) follow a
 * letter or a quote, and sent whole files of such ids to the slow record-by-record read.
 */
export class LongRunScan {
  /** Whether such a number was found. */
  found = false;
  /** The run the last chunk ended with, if it ended inside one, and whether that run stands where a number can. */
  private carry = emptyRun();
  private carryOpen = false;
  private carryCounts = true;
  /** The last byte of the text so far that is not white space (0: none yet, the text's start, where a number can stand). */
  private lastByte = 0;

  /** Whether the text so far holds such a number. */
  add(chunk: Buffer): boolean {
    this.found ||= this.scan(chunk);
    return this.found;
  }

  /** Whether a run starting at `from` follows, past white space, a byte a number can follow. */
  private counts(chunk: Buffer, from: number): boolean {
    let at = from - 1;
    while (at >= 0 && isSpace(chunk[at]!)) at--;
    const before = at >= 0 ? chunk[at]! : this.lastByte;
    return before === 0 || NUMBER_AFTER[before] === 1;
  }

  private scan(chunk: Buffer): boolean {
    const length = chunk.length;
    if (length === 0) return false;
    let start = 0;
    // The run the last chunk ended with, continued.
    while (start < length && NUMBER_BYTE[chunk[start]!] === 1) start++;
    const counts = this.carryOpen ? this.carryCounts : this.counts(chunk, 0);
    const continued = readRun(chunk, 0, start, this.carry);
    if (counts && isLong(continued)) return true;
    if (start === length) {
      [this.carry, this.carryOpen, this.carryCounts, this.lastByte] = [continued, true, counts, chunk[length - 1]!];
      return false;
    }
    let done = start;
    for (let probe = start; probe < length; probe += 16) {
      if (probe < done || NUMBER_BYTE[chunk[probe]!] !== 1) continue;
      let from = probe;
      while (from > done && NUMBER_BYTE[chunk[from - 1]!] === 1) from--;
      let to = probe;
      while (to < length && NUMBER_BYTE[chunk[to]!] === 1) to++;
      if (to - from > MAX_DOUBLE_DIGITS && isLong(readRun(chunk, from, to, emptyRun())) && this.counts(chunk, from)) return true;
      done = to;
    }
    // The run this chunk ends with, which the next one may continue.
    let tail = length;
    while (tail > start && NUMBER_BYTE[chunk[tail - 1]!] === 1) tail--;
    this.carryOpen = tail < length;
    this.carryCounts = this.carryOpen && this.counts(chunk, tail);
    this.carry = readRun(chunk, tail, length, emptyRun());
    let last = length - 1;
    while (last >= 0 && isSpace(chunk[last]!)) last--;
    if (last >= 0) this.lastByte = chunk[last]!;
    return false;
  }
}

/**
 * Rewrites rat's own NDJSON scratch file (one JSON object per line, a record's numbers as the
 * source wrote them) with its inexact numbers quoted (quoteInexactNumbers), to `out`.
 */
export async function quoteInexactNumbersInFile(path: string, compression: StoredCompression, out: string): Promise<void> {
  const source = openDecompressed(path, compression);
  const writer = createWriteStream(out);
  try {
    for await (const line of createInterface({ input: source.stream, crlfDelay: Infinity })) {
      // Every line, with no regular expression in front to pick them: one that looked for 16 digits around a
      // point tried each of its 19 forms at every position, and took 8 times as long as this on lines with
      // long runs of digits (a hex digest): 4.2 s against 0.5 s per 20,000 lines of 900 bytes.
      if (!writer.write(`${quoteInexactNumbers(line)}\n`)) await once(writer, 'drain');
    }
  } finally {
    source.close();
    writer.end();
    await once(writer, 'close');
  }
}
