import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { InputFileError } from './input-file-error.js';

/** One file inside a zip archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/**
 * What a workbook may unpack to before rat refuses it as a likely zip bomb: the total of all
 * entries, and the compression ratio of any entry larger than `ratioFloorBytes` (spreadsheet XML
 * compresses about 5-30:1; a deflate bomb about 1000:1).
 */
export const XLSX_LIMITS = {
  maxUncompressedBytes: 2 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 1024 * 1024,
  maxEntries: 10_000,
  maxPartBytes: 64 * 1024 * 1024,
};

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_U32 = 0xffffffff;

/**
 * Refuses an archive by what its central directory declares, before anything is inflated: too many
 * entries, encrypted or unknown compression, a likely bomb by total size or by one entry's ratio.
 */
export function checkDeclared(entries: ZipEntry[], display: string): void {
  let total = 0;
  for (const entry of entries) {
    total += entry.uncompressedSize;
    if (entry.flags & 1) throw invalid(display, `entry ${entry.name} is encrypted; save the workbook without a password`);
    if (entry.method !== 0 && entry.method !== 8) throw invalid(display, `entry ${entry.name} uses zip compression method ${entry.method}; only stored and deflate are read`);
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > XLSX_LIMITS.ratioFloorBytes && ratio > XLSX_LIMITS.maxRatio) {
      throw invalid(display, `refused as a likely zip bomb: entry ${entry.name} claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed (${Math.round(ratio)}:1, limit ${XLSX_LIMITS.maxRatio}:1)`);
    }
  }
  if (total > XLSX_LIMITS.maxUncompressedBytes) {
    throw invalid(display, `refused as a likely zip bomb: its entries unpack to ${total} bytes in all (limit ${XLSX_LIMITS.maxUncompressedBytes})`);
  }
}

/** Central directory entries, from the end-of-central-directory record (zip64 aware). */
export async function readZipDirectory(path: string, display: string, size: number): Promise<ZipEntry[]> {
  const handle = await open(path, 'r');
  try {
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    };
    const head = await read(0, 8);
    if (head.length >= 8 && head.readUInt32BE(0) === 0xd0cf11e0) {
      throw invalid(display, 'not an .xlsx workbook: this is an OLE file (a legacy .xls or a password-protected workbook); save it as .xlsx without a password');
    }
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = await read(size - tailLength, tailLength);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      throw invalid(display, head.length >= 4 && head.readUInt32LE(0) === LOCAL ? 'not a readable workbook: the zip archive has no central directory (truncated?)' : 'not an Excel workbook: the file is not a zip archive');
    }
    let count = tail.readUInt16LE(at + 10);
    let directorySize = tail.readUInt32LE(at + 12);
    let directoryOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || directorySize === MAX_U32 || directoryOffset === MAX_U32) {
      const locator = at - 20;
      if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) throw invalid(display, 'corrupt zip archive: zip64 sizes without a zip64 locator');
      const record = await read(Number(tail.readBigUInt64LE(locator + 8)), 56);
      if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw invalid(display, 'corrupt zip archive: bad zip64 end of central directory');
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryOffset = Number(record.readBigUInt64LE(48));
    }
    if (count > XLSX_LIMITS.maxEntries) throw invalid(display, `refused: the zip archive has ${count} entries (limit ${XLSX_LIMITS.maxEntries})`);
    if (directoryOffset + directorySize > size || directorySize > XLSX_LIMITS.maxPartBytes) throw invalid(display, 'corrupt zip archive: the central directory lies outside the file (truncated?)');
    const directory = await read(directoryOffset, directorySize);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > directory.length || directory.readUInt32LE(p) !== CENTRAL) throw invalid(display, `corrupt zip archive: central directory entry ${n + 1} is damaged`);
      const nameLength = directory.readUInt16LE(p + 28);
      const extraLength = directory.readUInt16LE(p + 30);
      const commentLength = directory.readUInt16LE(p + 32);
      const entry: ZipEntry = {
        name: directory.toString('utf8', p + 46, p + 46 + nameLength),
        flags: directory.readUInt16LE(p + 8),
        method: directory.readUInt16LE(p + 10),
        compressedSize: directory.readUInt32LE(p + 20),
        uncompressedSize: directory.readUInt32LE(p + 24),
        localHeaderOffset: directory.readUInt32LE(p + 42),
      };
      readZip64Extra(directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), entry);
      entries.push(entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

function readZip64Extra(extra: Buffer, entry: ZipEntry): void {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const length = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      let q = i + 4;
      const next = () => {
        const value = q + 8 <= i + 4 + length ? Number(extra.readBigUInt64LE(q)) : MAX_U32;
        q += 8;
        return value;
      };
      if (entry.uncompressedSize === MAX_U32) entry.uncompressedSize = next();
      if (entry.compressedSize === MAX_U32) entry.compressedSize = next();
      if (entry.localHeaderOffset === MAX_U32) entry.localHeaderOffset = next();
      return;
    }
    i += 4 + length;
  }
}

/** A small part (workbook.xml, its relationships, styles) as text, inflated like every entry. */
export async function readPart(path: string, display: string, entry: ZipEntry): Promise<string> {
  if (entry.uncompressedSize > XLSX_LIMITS.maxPartBytes) throw invalid(display, `${entry.name} claims ${entry.uncompressedSize} bytes, over the ${XLSX_LIMITS.maxPartBytes} a workbook part may have`);
  const chunks: Buffer[] = [];
  await inflateEntry(path, display, entry, (chunk) => {
    chunks.push(chunk);
  });
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Inflates one entry, streaming, and refuses it the moment it produces more than its declared
 * uncompressed size (a lying entry is how a bomb hides). `onChunk` sees the bytes as they come, with
 * how far into the archive the compressed data read so far reaches (for progress); it may be async,
 * and the next chunk waits for it. Its errors pass through as they are.
 */
export async function inflateEntry(path: string, display: string, entry: ZipEntry, onChunk: (chunk: Buffer, archiveBytesRead: number) => void | Promise<void>): Promise<void> {
  if (entry.compressedSize === 0) return;
  const handle = await open(path, 'r');
  let start: number;
  try {
    const header = Buffer.alloc(30);
    const { bytesRead } = await handle.read(header, 0, 30, entry.localHeaderOffset);
    if (bytesRead < 30 || header.readUInt32LE(0) !== LOCAL) throw invalid(display, `corrupt zip archive: the local header of ${entry.name} is missing`);
    start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await handle.close();
  }
  const source = createReadStream(path, { start, end: start + entry.compressedSize - 1, highWaterMark: 256 * 1024 });
  const output = entry.method === 8 ? source.pipe(createInflateRaw()) : source;
  if (output !== source) source.on('error', (error) => output.destroy(error));
  let produced = 0;
  let consumer: unknown;
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) {
      produced += chunk.length;
      if (produced > entry.uncompressedSize) {
        throw invalid(display, `refused as a likely zip bomb: entry ${entry.name} unpacks to more than the ${entry.uncompressedSize} bytes its directory claims`);
      }
      try {
        await onChunk(chunk, start + source.bytesRead);
      } catch (error) {
        consumer = error;
        throw error;
      }
    }
  } catch (error) {
    if (error === consumer || error instanceof InputFileError) throw error;
    throw new InputFileError('INGEST_FILE_INVALID', display, {}, `corrupt zip archive: entry ${entry.name} does not inflate (${(error as Error).message})`, { cause: error });
  } finally {
    source.destroy();
    output.destroy();
  }
}

export function invalid(display: string, problem: string): InputFileError {
  return new InputFileError('INGEST_FILE_INVALID', display, {}, problem);
}
