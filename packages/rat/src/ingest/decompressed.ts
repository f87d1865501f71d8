import { spawn } from 'node:child_process';
import { accessSync, constants, createReadStream } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { InputFileError } from './input-file-error.js';

/** How a file's bytes are wrapped. */
export type StoredCompression = 'none' | 'gzip' | 'zstd';

export interface DecompressedSource {
  /** The file's bytes, decompressed. */
  stream: Readable;
  /** How far into the file (as stored) reading has got. */
  bytesRead(): number;
  close(): void;
}

/**
 * A file's bytes as a stream, decompressed: gzip by Node's zlib, zstd (which Node 20's zlib lacks) by
 * the fzstd library, in JavaScript. A damaged or cut-off compressed stream fails the stream with an
 * Error saying so; the caller adds the file and position.
 */
export function openDecompressed(path: string, compression: StoredCompression, chunkBytes = 1024 * 1024): DecompressedSource {
  const raw = createReadStream(path, { highWaterMark: chunkBytes });
  const bytesRead = () => raw.bytesRead;
  if (compression === 'none') return { stream: raw, bytesRead, close: () => raw.destroy() };
  const inflate = compression === 'gzip' ? createGunzip({ chunkSize: Math.max(64, chunkBytes) }) : zstdTransform();
  raw.on('error', (error) => inflate.destroy(error));
  return {
    stream: raw.pipe(inflate),
    bytesRead,
    close: () => {
      raw.destroy();
      inflate.destroy();
    },
  };
}

/**
 * A zstd file's text given to `consume`, decompressed by the zstd tool where it is installed (about
 * ten times faster than fzstd in JavaScript, and in a process of its own), else by fzstd. For passes
 * that only look at the text (its longest line, its numbers): `consume` may stop early. When the tool
 * fails, the text is given again, from the start, by fzstd, whose errors say what is wrong.
 */
export async function readZstdText<T>(path: string, consume: (chunks: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
  if (zstdTool()) {
    const child = spawn('zstd', ['-dcq', '--', path], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', (code) => resolve(code));
    });
    try {
      const result = await consume(child.stdout);
      if (!child.stdout.readableEnded) return result;
      if ((await exited) === 0) return result;
    } catch {
      // The tool failed or was not there after all: fzstd reads the file and names what is wrong.
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
  }
  const { stream, close } = openDecompressed(path, 'zstd');
  try {
    return await consume(stream as AsyncIterable<Buffer>);
  } finally {
    close();
  }
}

let zstdOnPath: boolean | undefined;

/** Whether an executable `zstd` is on the PATH (looked for once). */
function zstdTool(): boolean {
  zstdOnPath ??= (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, 'zstd'), constants.X_OK);
      return dir !== '';
    } catch {
      return false;
    }
  });
  return zstdOnPath;
}

/** What a failed read of a compressed file says: the decompressor's problem in words (truncated, corrupt). */
export function decompressionProblem(compression: StoredCompression, error: unknown): string {
  const message = (error as Error).message;
  if (compression === 'gzip') return /unexpected end/i.test(message) ? 'the gzip stream ends early (truncated gzip)' : `corrupt gzip data: ${message}`;
  return message;
}

/**
 * DuckDB's own error for compressed data it cannot decompress, as the file's error: the data that
 * rat's checks pass (complete gzip members, complete zstd frames) can still be damaged inside, a zstd
 * block or checksum, and DuckDB then says only `IO Error: Data corruption detected`, naming neither
 * the file nor where. Undefined for any other error.
 */
export function duckDbDecompressionError(display: string, compression: StoredCompression, error: unknown): InputFileError | undefined {
  if (compression === 'none' || error instanceof InputFileError || !(error instanceof Error)) return undefined;
  const first = error.message.split('\n')[0] ?? '';
  if (!/IO Error/i.test(first) || !/corrupt|checksum|GZIP|ZSTD|decompress/i.test(first)) return undefined;
  const test = `${compression === 'gzip' ? 'gzip' : 'zstd'} -t ${basename(display)}`;
  return new InputFileError(
    'INGEST_FILE_INVALID',
    display,
    {},
    `corrupt ${compression} data: DuckDB's reader stopped with "${first.replace(/^.*?IO Error: /i, '')}" and does not say at which byte; \`${test}\` shows the damage: get an undamaged copy of the file`,
    { cause: error },
  );
}

/** A Transform that decompresses Zstandard frames (RFC 8878), one after another, as they arrive. */
export function zstdTransform(): Transform {
  let ended = false;
  const decompress = new Decompress((data, final) => {
    // A copy: the library does not promise the block it hands over stays untouched.
    if (data.length > 0) transform.push(Buffer.from(data));
    if (final) ended = true;
  });
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        decompress.push(chunk);
        done();
      } catch (error) {
        done(zstdError(error));
      }
    },
    flush(done) {
      try {
        decompress.push(new Uint8Array(0), true);
        done(ended ? null : new Error('the zstd data ends inside a frame (truncated zstd)'));
      } catch (error) {
        done(zstdError(error));
      }
    },
  });
  return transform;
}

/**
 * The first `limit` decompressed bytes of a zstd file (fewer when it is shorter), without reading
 * further than that needs: a sample for detecting the format and the text encoding.
 */
export async function zstdHead(path: string, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  const decompress = new Decompress((data) => {
    if (have < limit && data.length > 0) {
      const part = Buffer.from(data.subarray(0, limit - have));
      parts.push(part);
      have += part.length;
    }
  });
  const raw = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      decompress.push(chunk);
      if (have >= limit) break;
    }
  } catch (error) {
    throw zstdError(error);
  } finally {
    raw.destroy();
  }
  return Buffer.concat(parts);
}

function zstdError(error: unknown): Error {
  const message = (error as Error).message;
  const problem = /unexpected EOF/i.test(message)
    ? 'the zstd data ends inside a frame (truncated zstd)'
    : /window size/i.test(message)
      ? `its zstd window is larger than rat can decompress (${message}); recompress it without --long`
      : `corrupt zstd data: ${message}`;
  return new Error(problem, { cause: error });
}
