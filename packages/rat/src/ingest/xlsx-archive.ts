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

/** A sheet of the workbook: its name, 1-based position and the part holding its XML. */
export interface WorkbookSheet {
  name: string;
  index: number;
  part: string;
}

/** A merged range (1-based rows and columns). */
export interface MergedRange {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export interface CheckedWorkbook {
  sheet: WorkbookSheet;
  /** Merged ranges of the sheet that reach the header row. */
  headerMerges: MergedRange[];
}

/**
 * Checks an .xlsx before any XML parser sees it: it must be a zip archive (central directory read
 * from the end of the file), unpack to no more than the limits in total and per entry ratio, hold
 * xl/workbook.xml and the requested sheet; then every entry is inflated once, streaming, and must
 * not produce more bytes than its directory claims (a lying entry is how a bomb hides). That pass
 * also collects the sheet's merged ranges, which exceljs's streaming reader does not report.
 */
export async function checkWorkbook(path: string, display: string, size: number, sheet: string | number | undefined, headerRow: number): Promise<CheckedWorkbook> {
  const entries = await readZipDirectory(path, display, size);
  const byName = new Map(entries.map((e) => [e.name, e]));
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
  const workbookEntry = byName.get('xl/workbook.xml');
  if (!workbookEntry) {
    const names = entries.slice(0, 5).map((e) => e.name).join(', ');
    throw invalid(display, `not an Excel workbook: the zip archive has no xl/workbook.xml (it holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${names ? `: ${names}` : ''})`);
  }
  const sheets = parseSheets(await readPart(path, display, workbookEntry), byName.get('xl/_rels/workbook.xml.rels') ? await readPart(path, display, byName.get('xl/_rels/workbook.xml.rels')!) : '');
  if (sheets.length === 0) throw invalid(display, 'not an Excel workbook: xl/workbook.xml lists no sheets');
  const wanted = typeof sheet === 'number' ? sheets[sheet - 1] : sheet === undefined ? sheets[0] : sheets.find((s) => s.name === sheet) ?? sheets.find((s) => s.name.toLowerCase() === sheet.toLowerCase());
  const list = sheets.map((s) => `${s.index} "${s.name}"`).join(', ');
  if (!wanted) throw new InputFileError('INGEST_FILE_INVALID', display, {}, `the workbook has no sheet ${typeof sheet === 'number' ? sheet : JSON.stringify(sheet)} (sheets: ${list})`);
  if (!byName.has(wanted.part)) throw invalid(display, `sheet "${wanted.name}" points to ${wanted.part}, which the archive does not hold`);
  const headerMerges: MergedRange[] = [];
  for (const entry of entries) {
    if (entry === workbookEntry) continue;
    const scan = entry.name === wanted.part ? mergeScanner(headerRow, headerMerges) : undefined;
    await inflateEntry(path, display, entry, scan);
  }
  return { sheet: wanted, headerMerges };
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

/** A small XML part, verified like every entry, as text. */
async function readPart(path: string, display: string, entry: ZipEntry): Promise<string> {
  if (entry.uncompressedSize > XLSX_LIMITS.maxPartBytes) throw invalid(display, `${entry.name} claims ${entry.uncompressedSize} bytes, over the ${XLSX_LIMITS.maxPartBytes} a workbook part may have`);
  const chunks: Buffer[] = [];
  await inflateEntry(path, display, entry, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Inflates one entry, streaming, and refuses it the moment it produces more than its declared
 * uncompressed size. `onChunk` sees the bytes.
 */
async function inflateEntry(path: string, display: string, entry: ZipEntry, onChunk?: (chunk: Buffer) => void): Promise<void> {
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
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) {
      produced += chunk.length;
      if (produced > entry.uncompressedSize) {
        throw invalid(display, `refused as a likely zip bomb: entry ${entry.name} unpacks to more than the ${entry.uncompressedSize} bytes its directory claims`);
      }
      onChunk?.(chunk);
    }
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError('INGEST_FILE_INVALID', display, {}, `corrupt zip archive: entry ${entry.name} does not inflate (${(error as Error).message})`, { cause: error });
  } finally {
    source.destroy();
    output.destroy();
  }
}

/** Collects `<mergeCell ref="B1:C1"/>` ranges that reach the header row, across chunk boundaries. */
function mergeScanner(headerRow: number, out: MergedRange[]): (chunk: Buffer) => void {
  let carry = '';
  const seen = new Set<string>();
  return (chunk) => {
    const text = carry + chunk.toString('latin1');
    const pattern = /<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"/g;
    let lastEnd = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      lastEnd = pattern.lastIndex;
      const range = { left: columnNumber(m[1]!), top: Number(m[2]), right: columnNumber(m[3]!), bottom: Number(m[4]) };
      const key = `${range.top}:${range.left}`;
      if (range.top <= headerRow && range.bottom >= headerRow && !seen.has(key)) {
        seen.add(key);
        out.push(range);
      }
    }
    carry = text.slice(Math.max(lastEnd, text.length - 256));
  };
}

/** `A` -> 1, `AB` -> 28. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

/** The sheets of xl/workbook.xml, in workbook order, with the part their relationship points to. */
function parseSheets(workbookXml: string, relsXml: string): WorkbookSheet[] {
  const targets = new Map<string, string>();
  for (const tag of relsXml.match(/<(?:\w+:)?Relationship\s[^>]*>/g) ?? []) {
    const attrs = attributes(tag);
    if (attrs.Id && attrs.Target) targets.set(attrs.Id, attrs.Target.startsWith('/') ? attrs.Target.slice(1) : `xl/${attrs.Target.replace(/^\.\//, '')}`);
  }
  return (workbookXml.match(/<(?:\w+:)?sheet\s[^>]*>/g) ?? []).map((tag, i) => {
    const attrs = attributes(tag);
    const rid = Object.entries(attrs).find(([k]) => k.endsWith(':id'))?.[1] ?? '';
    return { name: attrs.name ?? `Sheet${i + 1}`, index: i + 1, part: targets.get(rid) ?? `xl/worksheets/sheet${i + 1}.xml` };
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) out[m[1]!] = decodeXml(m[2]!);
  return out;
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1]?.toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function invalid(display: string, problem: string): InputFileError {
  return new InputFileError('INGEST_FILE_INVALID', display, {}, problem);
}
