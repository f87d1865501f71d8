import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ExternalError } from '../core/errors.js';
import { readZstdText, zstdHead } from './decompressed.js';
import { headMayHoldInexactNumbers, LongRunScan, scanForInexactNumbers } from './json-numbers.js';
import type { Compression, ResolvedIngestOptions, SourceFormat, TextEncoding } from './ingest-options.js';
import { InputFileError } from './input-file-error.js';
import type { IngestProgress } from './progress.js';
import { findZstdTruncation } from './zstd-frames.js';

/** What rat learned about a source file before reading its rows. */
export interface ProbedFile {
  /** Local path DuckDB reads (a landing object on S3 is a cached download). */
  localPath: string;
  /** The name recorded in the registry and lineage: a landing key or an absolute local path. */
  display: string;
  size: number;
  /** sha256 of the bytes as stored, hex ('' while `pendingScan` is set). */
  hash: string;
  /**
   * The file's longest line break to line break, measured by the pass that hashes it (see LineMeter);
   * undefined while `pendingScan` is set, and for zstd, which that pass does not decompress, until a
   * CSV reader asks for it (measureZstdLines).
   */
  longestLine?: LongestLine;
  /**
   * For a JSON file, whether its text may hold a number DuckDB reads inexactly (json-numbers.ts), as
   * the pass that hashes it found; undefined when that pass did not read the text (zstd, a deferred hash).
   */
  maybeInexactNumbers?: boolean;
  /** The sha256 and longest line while they are still being computed, alongside the read of the rows (see probeFile's `deferHash`). */
  pendingScan?: Promise<FileScan>;
  compression: Compression;
  /** custom: a custom parser reads the file (IngestOptions.parser). */
  format: SourceFormat | 'custom';
  encoding: TextEncoding;
  /** The first (decompressed) bytes, for text formats: what detects the format, encoding and dialect. */
  sample?: Buffer;
  /** Throws when the file changed since it was probed (SourceFile.unchanged): called once its rows are read. */
  unchanged?(): Promise<void>;
}

export const SAMPLE_BYTES = 64 * 1024;

/** A line of the (decompressed) text: its bytes without the line feed, and the byte where it starts. */
export interface LongestLine {
  bytes: number;
  start: number;
}

/** What the pass over the file's bytes that hashes them finds. */
interface FileScan {
  hash: string;
  longestLine?: LongestLine;
  maybeInexactNumbers?: boolean;
}

const FORMAT_BY_EXTENSION: Record<string, SourceFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.tab': 'csv',
  '.txt': 'csv',
  '.json': 'json',
  '.jsonl': 'json',
  '.ndjson': 'json',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.xlsx': 'xlsx',
  '.xlsm': 'xlsx',
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.avro': 'avro',
};

/**
 * Hashes the file, finds its compression (by magic bytes, whatever the name says), checks that a
 * compressed stream is complete (DuckDB reads truncated gzip and zstd silently), and detects the
 * format and text encoding. Every problem is an InputFileError naming the file and byte.
 */
export async function probeFile(
  localPath: string,
  display: string,
  options: ResolvedIngestOptions,
  report?: (event: IngestProgress) => void,
  deferHash = false,
): Promise<ProbedFile> {
  let size: number;
  try {
    size = (await stat(localPath)).size;
  } catch (error) {
    throw new ExternalError('STORAGE_ERROR', `${display}: cannot read ${localPath}: ${(error as Error).message}`, { cause: error });
  }
  if (size === 0) throw new InputFileError('INGEST_FILE_INVALID', display, {}, 'the file is empty (0 bytes)');
  const head = await readHead(localPath, 8);
  const detected: Compression = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'none';
  const compression = !options.compression || options.compression === 'auto' ? detected : options.compression;
  if (compression !== detected) {
    throw new InputFileError('INGEST_FILE_INVALID', display, { byte: 0 }, `compression ${compression} was asked for, but the file starts like ${detected === 'none' ? 'uncompressed data' : detected}`);
  }
  // An uncompressed file needs no integrity pass: its hash can be computed while DuckDB reads the rows
  // (one pass over the bytes instead of two). A compressed one is decompressed here, to the end, first.
  const deferred = deferHash && compression === 'none' ? deferredHash(localPath, display, size, namedJson(display, options)) : undefined;
  const hashed = deferred ? { hash: '', sample: await readHead(localPath, Math.min(size, SAMPLE_BYTES), false) } : await hashAndSample(localPath, display, size, compression, report, namedJson(display, options));
  const { hash, gzipEnd, longestLine } = hashed;
  let sample = hashed.sample;
  if (compression === 'zstd') {
    // Walking the frame headers finds a cut-off file without decompressing it all (DuckDB's reader decompresses it fast, rat's in JavaScript).
    const truncated = await findZstdTruncation(localPath);
    if (truncated) throw new InputFileError('INGEST_FILE_INVALID', display, { byte: truncated.offset }, truncated.problem);
    try {
      sample = await zstdHead(localPath, SAMPLE_BYTES);
    } catch (error) {
      throw new InputFileError('INGEST_FILE_INVALID', display, { byte: 0 }, (error as Error).message, { cause: error });
    }
  }
  if (sample && sample.length === 0) throw new InputFileError('INGEST_FILE_INVALID', display, {}, `the file is empty after ${compression} decompression`);
  const format = options.parser ? 'custom' : (options.format ?? formatOf(display, head, sample));
  if (gzipEnd !== undefined && (format === 'csv' || format === 'json')) {
    // zlib (and gzip -t) end the stream at zero padding, as tape and block copies leave; DuckDB's reader, which reads CSV and JSON, refuses it ("Input is not a GZIP stream").
    throw new InputFileError(
      'INGEST_FILE_INVALID',
      display,
      { byte: gzipEnd },
      `the gzip stream ends at byte ${gzipEnd}, followed by ${size - gzipEnd} bytes of zero padding, which DuckDB's ${format.toUpperCase()} reader cannot read past; strip it: gzip -dc ${basename(display)} | gzip > fixed.${format}.gz`,
    );
  }
  if (format === 'xlsx' && compression !== 'none') {
    throw new InputFileError('INGEST_FILE_INVALID', display, { byte: 0 }, `an .xlsx workbook is a zip archive already; this one is wrapped in ${compression}: decompress it first`);
  }
  if (format === 'parquet') {
    if (compression !== 'none') throw new InputFileError('INGEST_FILE_INVALID', display, { byte: 0 }, `a Parquet file is compressed inside; this one is wrapped in ${compression}: decompress it first`);
    if (head.subarray(0, 4).toString('latin1') !== 'PAR1') throw new InputFileError('INGEST_FILE_INVALID', display, { byte: 0 }, 'not a Parquet file: it does not start with the PAR1 magic bytes');
  }
  // Binary formats have no text encoding; a custom parser may read binary files, so NUL bytes are no error for it.
  // `utf-16` given means UTF-16, its byte order as the byte-order mark says.
  const given = options.encoding === 'utf-16' && bigEndianMark(sample) ? 'utf-16be' : options.encoding;
  const encoding = format === 'parquet' || format === 'xlsx' || format === 'arrow' || format === 'avro' ? 'utf-8' : format === 'custom' ? (given ?? customEncoding(display, sample)) : (given ?? detectEncoding(display, sample));
  if (format === 'json' && encoding !== 'utf-8') {
    throw new InputFileError('INGEST_FILE_INVALID', display, {}, `JSON must be UTF-8 (RFC 8259), but the file looks ${encoding}; convert it (iconv -f ${encoding} -t utf-8)`);
  }
  return {
    localPath,
    display,
    size,
    hash,
    compression,
    format,
    encoding,
    ...(sample ? { sample } : {}),
    ...(longestLine ? { longestLine } : {}),
    ...(deferred ? { pendingScan: deferred } : {}),
    ...(format === 'json' && 'maybeInexactNumbers' in hashed && hashed.maybeInexactNumbers !== undefined ? { maybeInexactNumbers: hashed.maybeInexactNumbers } : {}),
  };
}

/** Whether a file is JSON by its name or `--format`: its hash pass also looks for long numbers, which only JSON needs. */
function namedJson(display: string, options: ResolvedIngestOptions): boolean {
  return !options.parser && (options.format ?? FORMAT_BY_EXTENSION[extname(display.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, ''))]) === 'json';
}

/**
 * Whether the JSON file may hold a number DuckDB reads inexactly (json-numbers.ts): as its hash pass
 * found, or by a pass of its own over the (decompressed) text when that pass did not look (zstd, a
 * file not named JSON). A hash computed alongside the read is waited for: the answer is needed before
 * the read, and that pass reads the bytes once where a pass of its own would read them again.
 */
export async function mayHoldInexactNumbers(probed: ProbedFile): Promise<boolean> {
  await settleHash(probed);
  return probed.maybeInexactNumbers ?? scanForInexactNumbers(probed.localPath, probed.compression);
}

/** Waits for a deferred hash and stores it in `probed.hash` (and the longest line in `probed.longestLine`). */
export async function settleHash(probed: ProbedFile): Promise<void> {
  if (!probed.pendingScan) return;
  const { hash, longestLine, maybeInexactNumbers } = await probed.pendingScan;
  if (maybeInexactNumbers !== undefined && probed.format === 'json') probed.maybeInexactNumbers = maybeInexactNumbers;
  probed.hash = hash;
  if (longestLine) probed.longestLine = longestLine;
  delete probed.pendingScan;
}

/**
 * Measures a zstd file's longest line alongside the read of its rows (the hashing pass does not
 * decompress zstd): DuckDB's CSV reader drops a line of about 30 MiB or more without a reject, in a
 * zstd file as in any other. `settleHash` waits for it.
 */
export function measureZstdLines(probed: ProbedFile): void {
  if (probed.compression !== 'zstd' || probed.longestLine || probed.pendingScan) return;
  const { hash } = probed;
  const pending = zstdLongestLine(probed.localPath, probed.display).then((longestLine) => ({ hash, longestLine }));
  // Awaited by settleHash; until then a failure must not count as an unhandled rejection.
  pending.catch(() => undefined);
  probed.pendingScan = pending;
}

/** A zstd file's longest line (readZstdText: by the zstd tool where it is installed). */
async function zstdLongestLine(path: string, display: string): Promise<LongestLine> {
  try {
    return await readZstdText(path, async (chunks) => {
      const meter = new LineMeter();
      // fzstd hands over whole blocks or frames; the meter measures lines longer than its chunks.
      for await (const chunk of chunks) for (let at = 0; at < chunk.length; at += METER_CHUNK) meter.add(chunk.subarray(at, at + METER_CHUNK));
      return meter.longest();
    });
  } catch (error) {
    throw new InputFileError('INGEST_FILE_INVALID', display, {}, (error as Error).message, { cause: error });
  }
}

/** No progress events: the read of the rows reports progress meanwhile. */
function deferredHash(localPath: string, display: string, size: number, json: boolean): Promise<FileScan> {
  const pending = hashAndSample(localPath, display, size, 'hash-only', undefined, json).then(({ hash, longestLine, maybeInexactNumbers }) => ({
    hash,
    ...(longestLine ? { longestLine } : {}),
    ...(maybeInexactNumbers !== undefined ? { maybeInexactNumbers } : {}),
  }));
  // Awaited by settleHash; until then a failure must not count as an unhandled rejection.
  pending.catch(() => undefined);
  return pending;
}

/** The first `length` bytes; padded to 4 bytes for magic-number checks unless `pad` is false. */
export async function readHead(path: string, length: number, pad = true): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return pad && bytesRead < 4 ? Buffer.concat([buffer.subarray(0, bytesRead), Buffer.alloc(4)]) : buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** One pass over the file: sha256 of the stored bytes, and for gzip a full decompression (integrity) keeping the first bytes. */
async function hashAndSample(
  path: string,
  display: string,
  size: number,
  compression: Compression | 'hash-only',
  report?: (event: IngestProgress) => void,
  json = false,
): Promise<FileScan & { sample?: Buffer; gzipEnd?: number }> {
  const hash = createHash('sha256');
  const lines = compression === 'zstd' ? undefined : new LineMeter();
  const numbers = json && lines ? new LongRunScan() : undefined;
  const chunks: Buffer[] = [];
  let sampled = 0;
  // The read buffer is reused: what is kept of it is copied.
  const keep = (chunk: Buffer) => {
    if (sampled >= SAMPLE_BYTES) return;
    chunks.push(Buffer.from(chunk.subarray(0, SAMPLE_BYTES - sampled)));
    sampled += Math.min(chunk.length, SAMPLE_BYTES - sampled);
  };
  const gunzip = compression === 'gzip' ? createGunzip() : undefined;
  let decompressed = 0;
  const gunzipDone = gunzip
    ? new Promise<void>((resolve, reject) => {
        gunzip.on('data', (chunk: Buffer) => {
          decompressed += chunk.length;
          lines!.add(chunk);
          numbers?.add(chunk);
          keep(chunk);
        });
        gunzip.on('end', resolve);
        gunzip.on('error', reject);
      })
    : Promise.resolve();
  // zlib reports corrupt data while the loop below still reads or waits for a drain: that wait ends
  // with the error (below), and until the promise is awaited the error must not count as unhandled,
  // which would end the process instead of failing this file.
  gunzipDone.catch(() => undefined);
  let done = 0;
  let lastReport = 0;
  try {
    for await (const chunk of readChunks(path)) {
      hash.update(chunk);
      done += chunk.length;
      if (gunzip) {
        // zlib holds on to what it is given until it has inflated it: a copy, not the reused buffer.
        if (!gunzip.write(Buffer.from(chunk))) await Promise.race([new Promise((resolve) => gunzip.once('drain', resolve)), gunzipDone]);
        if (gunzip.errored) await gunzipDone;
      } else if (compression !== 'zstd') {
        lines!.add(chunk);
        numbers?.add(chunk);
        if (compression === 'none' || numbers) keep(chunk);
      }
      if (report && done - lastReport >= 8 * 1024 * 1024) {
        lastReport = done;
        report({ file: display, phase: 'hashing', bytesDone: done, bytesTotal: size });
      }
    }
    gunzip?.end();
    await gunzipDone;
  } catch (error) {
    if (gunzip) {
      const message = (error as Error).message;
      const truncated = /unexpected end/i.test(message);
      throw new InputFileError(
        'INGEST_FILE_INVALID',
        display,
        { byte: truncated ? size : done },
        truncated ? `the gzip stream ends early after ${decompressed} decompressed bytes (truncated gzip)` : `corrupt gzip data: ${message}`,
        { cause: error },
      );
    }
    throw new ExternalError('STORAGE_ERROR', `${display}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  // zlib stops at a zero byte after a gzip member, taking the rest for padding: where the gzip data ends.
  const gzipEnd = gunzip && gunzip.bytesWritten < size ? gunzip.bytesWritten : undefined;
  const sample = compression === 'zstd' ? undefined : Buffer.concat(chunks);
  return {
    hash: hash.digest('hex'),
    ...(sample ? { sample } : {}),
    ...(numbers ? { maybeInexactNumbers: numbers.found || headMayHoldInexactNumbers(sample!) } : {}),
    ...(lines ? { longestLine: lines.longest() } : {}),
    ...(gzipEnd !== undefined ? { gzipEnd } : {}),
  };
}

/**
 * The longest line of text given chunk by chunk, at the cost of two byte searches per chunk: only
 * the first and last line feed of each chunk are looked for, so a line that lies within one chunk is
 * not measured. Exact for any line longer than the largest chunk (1 MiB as rat reads a file), which
 * is all the CSV reader's limits need: DuckDB's reader skips a line of about 30 MiB or more without a
 * reject (its default limit is 2 MiB), so csv-reader.ts compares the file's longest line with it.
 */
class LineMeter {
  private offset = 0;
  /** Where the last line feed seen is (-1: before the text). */
  private lastBreak = -1;
  private line: LongestLine = { bytes: 0, start: 0 };

  add(chunk: Buffer): void {
    const first = chunk.indexOf(NEWLINE);
    if (first >= 0) {
      this.measure(this.offset + first);
      this.lastBreak = this.offset + chunk.lastIndexOf(NEWLINE);
    }
    this.offset += chunk.length;
  }

  /** The longest line measured; the last line may end without a line feed. */
  longest(): LongestLine {
    this.measure(this.offset);
    return this.line;
  }

  private measure(end: number): void {
    const bytes = end - this.lastBreak - 1;
    if (bytes > this.line.bytes) this.line = { bytes, start: this.lastBreak + 1 };
  }
}

const NEWLINE = 0x0a;

/** The largest chunk LineMeter is given: it measures every line longer than that. */
const METER_CHUNK = 1024 * 1024;

/**
 * The file's bytes in 1 MiB chunks, all read into one buffer: each chunk is valid until the next is
 * asked for. A stream allocating a new buffer per chunk cost a 526 MiB file's hash 30% more CPU
 * (page faults on fresh memory), taken from DuckDB's threads when the hash runs alongside its read.
 */
async function* readChunks(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function formatOf(display: string, head: Buffer, sample: Buffer | undefined): SourceFormat {
  const name = display.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '');
  const byName = FORMAT_BY_EXTENSION[extname(name)];
  if (byName) return byName;
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  if (head.readUInt32LE(0) === 0x04034b50) return 'xlsx';
  // Arrow IPC: the file format's magic, or the stream format's first message (a continuation marker).
  if (head.subarray(0, 6).toString('latin1') === 'ARROW1' || head.readUInt32LE(0) === 0xffffffff) return 'arrow';
  if (head.subarray(0, 4).toString('latin1') === 'Obj\x01') return 'avro';
  const first = sample?.toString('utf8').replace(/^\uFEFF/, '').trimStart()[0];
  return first === '{' || first === '[' ? 'json' : 'csv';
}

function customEncoding(display: string, sample: Buffer | undefined): TextEncoding {
  try {
    return detectEncoding(display, sample);
  } catch {
    return 'utf-8';
  }
}

const bigEndianMark = (sample: Buffer | undefined) => sample !== undefined && sample[0] === 0xfe && sample[1] === 0xff;

/**
 * A byte-order mark decides; else valid UTF-8 is UTF-8, and so is text holding any valid multi-byte
 * UTF-8 sequence (`é` as C3 A9) among a few invalid bytes: one stray Latin-1 byte must not make
 * every other value garbled (`cafÃ©`); its row goes to the quarantine instead. Only text with
 * invalid bytes and no such sequence is 8-bit text: Windows-1252 when it holds a byte from 0x80 to
 * 0x9F (Excel on Windows writes € as 0x80, “ ” as 0x93 0x94; in Latin-1 they are control
 * characters, which DuckDB's Latin-1 reader refuses), else Latin-1. NUL bytes mean it is not 8-bit text.
 */
function detectEncoding(display: string, sample: Buffer | undefined): TextEncoding {
  if (!sample) return 'utf-8';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16';
  if (bigEndianMark(sample)) return 'utf-16be';
  const nul = sample.indexOf(0);
  if (nul >= 0) {
    throw new InputFileError(
      'INGEST_FILE_INVALID',
      display,
      { byte: nul },
      'binary data (a NUL byte): this is not UTF-8 or Latin-1 text; if it is UTF-16 without a byte-order mark, pass --encoding utf-16le (or utf-16be)',
    );
  }
  // The sample may end inside a multi-byte character: judge all but its last 3 bytes.
  const judged = sample.length === SAMPLE_BYTES ? sample.subarray(0, sample.length - 3) : sample;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(judged);
    return 'utf-8';
  } catch {
    if (hasUtf8Sequence(judged)) return 'utf-8';
    return judged.some((byte) => byte >= 0x80 && byte <= 0x9f) ? 'windows-1252' : 'latin-1';
  }
}

/** Whether the bytes hold a well-formed multi-byte UTF-8 character (RFC 3629 section 4: no overlong forms, no surrogates). */
export function hasUtf8Sequence(bytes: Buffer): boolean {
  const continuation = (i: number) => i < bytes.length && (bytes[i]! & 0xc0) === 0x80;
  for (let i = 0; i < bytes.length; i++) {
    const lead = bytes[i]!;
    if (lead < 0xc2 || lead > 0xf4) continue;
    const length = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    const second = bytes[i + 1] ?? 0;
    // The second byte's narrower range for E0, ED, F0 and F4 (RFC 3629's UTF8-3 and UTF8-4).
    const [low, high] = lead === 0xe0 ? [0xa0, 0xbf] : lead === 0xed ? [0x80, 0x9f] : lead === 0xf0 ? [0x90, 0xbf] : lead === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    if (second < low || second > high) continue;
    let ok = true;
    for (let k = 2; k < length; k++) ok &&= continuation(i + k);
    if (ok) return true;
  }
  return false;
}
