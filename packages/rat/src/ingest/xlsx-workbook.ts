import { posix } from 'node:path';
import { checkDeclared, inflateEntry, invalid, readPart, readZipDirectory, type ZipEntry } from './xlsx-archive.js';
import { InputFileError } from './input-file-error.js';
import { attribute, attributeIn, decodeText, XmlError, type XmlHandler, XmlScanner } from './xlsx-xml.js';

/** A sheet of the workbook: its name, 1-based position and the part holding its XML. */
export interface WorkbookSheet {
  name: string;
  index: number;
  part: string;
  /** Hidden from the user in Excel (`state="hidden"` or `"veryHidden"`). */
  hidden: boolean;
  /** A chart sheet: a chart filling the sheet, no cells. */
  chart: boolean;
}

/**
 * How a number format shows a number: as a date (perhaps with a time: `yyyy-mm-dd hh:mm`), as a
 * time of day only (`hh:mm`), or as elapsed time (`[h]:mm:ss`, which counts past 24 hours).
 */
export type TimeFormat = 'date' | 'time' | 'elapsed';

/** What reading a sheet's cells needs from the rest of the workbook. */
export interface OpenedWorkbook {
  sheet: WorkbookSheet;
  /** Every sheet of the workbook, in order (for messages naming the others). */
  sheets: WorkbookSheet[];
  /** The sheet's zip entry, to be streamed. */
  sheetEntry: ZipEntry;
  /** The shared string table (cells of type `s` hold an index into it). */
  strings: string[];
  /** By cell style index (`s`): whether its number format shows a date, a time of day or elapsed time (undefined: a plain number). */
  dateStyles: (TimeFormat | undefined)[];
  /** Serial dates count from 1904-01-01 instead of 1899-12-30 (Mac Excel's old default). */
  date1904: boolean;
}

/**
 * Opens an .xlsx for reading one sheet: the archive is checked by its central directory first (zip
 * bomb limits, a real workbook), then workbook.xml and its relationships name the sheets and the
 * parts the sheet needs, the styles tell which cell formats are dates, and the shared strings are
 * read (streamed: a large workbook's table may be bigger than any single part limit). Every part is
 * inflated with its declared size enforced, so an entry that lies about its size is refused as it
 * inflates. Entries rat does not read (images, themes, other sheets) are never inflated.
 */
export async function openWorkbook(path: string, display: string, size: number, sheet: string | number | undefined): Promise<OpenedWorkbook> {
  const entries = await readZipDirectory(path, display, size);
  checkDeclared(entries, display);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const workbookEntry = byName.get('xl/workbook.xml');
  if (!workbookEntry) {
    if (byName.has('xl/workbook.bin')) throw invalid(display, 'not an .xlsx workbook: this is an Excel binary workbook (.xlsb), which rat does not read; save it as .xlsx');
    const names = entries.slice(0, 5).map((e) => e.name).join(', ');
    throw invalid(display, `not an Excel workbook: the zip archive has no xl/workbook.xml (it holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${names ? `: ${names}` : ''})`);
  }
  const workbookXml = await readPart(path, display, workbookEntry);
  const relsEntry = byName.get('xl/_rels/workbook.xml.rels');
  const rels = relationships(relsEntry ? await readPart(path, display, relsEntry) : '');
  const sheets = parseSheets(workbookXml, rels);
  if (sheets.length === 0) throw invalid(display, 'not an Excel workbook: xl/workbook.xml lists no sheets');
  // By default the first sheet the user sees with cells in it: hidden helper sheets and chart sheets come before the data often enough.
  const named = (name: string) => sheets.find((s) => s.name === name) ?? sheets.find((s) => s.name.toLowerCase() === name.toLowerCase());
  // A number past the last sheet may still be a name (`--sheet 2024` in a workbook of year sheets): the CLI cannot tell the two apart.
  const wanted =
    typeof sheet === 'number' ? (sheets[sheet - 1] ?? named(String(sheet))) : sheet === undefined ? (sheets.find((s) => !s.hidden && !s.chart) ?? sheets[0]) : named(sheet);
  const list = sheets.map((s) => `${s.index} "${s.name}"`).join(', ');
  if (!wanted) {
    const asked = typeof sheet === 'number' ? `${sheet} by position or by name` : JSON.stringify(sheet);
    throw new InputFileError('INGEST_FILE_INVALID', display, {}, `the workbook has no sheet ${asked} (sheets: ${list})`);
  }
  const sheetEntry = byName.get(wanted.part);
  if (!sheetEntry) throw invalid(display, `sheet "${wanted.name}" points to ${wanted.part}, which the archive does not hold`);
  // By the type's last segment: transitional files say http://schemas.openxmlformats.org/..., Strict ones http://purl.oclc.org/ooxml/....
  const partOf = (type: string, fallback: string) => byName.get([...rels.values()].find((r) => r.type.endsWith(`/${type}`))?.target ?? fallback) ?? byName.get(fallback);
  const stylesEntry = partOf('styles', 'xl/styles.xml');
  const stringsEntry = partOf('sharedStrings', 'xl/sharedStrings.xml');
  const workbookPr = /<(?:\w+:)?workbookPr\s[^>]*>/.exec(workbookXml)?.[0];
  const date1904 = workbookPr !== undefined && /^(1|true)$/.test(attribute(workbookPr, 'date1904') ?? '');
  return {
    sheet: wanted,
    sheets,
    sheetEntry,
    strings: stringsEntry ? await readSharedStrings(path, display, stringsEntry) : [],
    dateStyles: stylesEntry ? parseDateStyles(await readPart(path, display, stylesEntry), display) : [],
    date1904,
  };
}

interface Relationship {
  type: string;
  target: string;
}

/** xl/_rels/workbook.xml.rels: relationship id -> type and archive path (targets are relative to xl/). */
function relationships(relsXml: string): Map<string, Relationship> {
  const out = new Map<string, Relationship>();
  for (const tag of relsXml.match(/<(?:\w+:)?Relationship\s[^>]*>/g) ?? []) {
    const id = attribute(tag, 'Id');
    const target = attribute(tag, 'Target');
    if (id === undefined || target === undefined) continue;
    // Relative to xl/, `../` steps included (`../xl/worksheets/sheet1.xml`).
    out.set(id, { type: attribute(tag, 'Type') ?? '', target: target.startsWith('/') ? target.slice(1) : posix.normalize(`xl/${target}`) });
  }
  return out;
}

/** The sheets of xl/workbook.xml, in workbook order, with the part their relationship points to. */
function parseSheets(workbookXml: string, rels: Map<string, Relationship>): WorkbookSheet[] {
  return (workbookXml.match(/<(?:\w+:)?sheet\s[^>]*>/g) ?? []).map((tag, i) => {
    const rid = /\s[\w.-]+:id\s*=\s*"([^"]*)"/.exec(tag)?.[1] ?? '';
    const rel = rels.get(rid);
    return {
      name: attribute(tag, 'name') ?? `Sheet${i + 1}`,
      index: i + 1,
      part: rel?.target ?? `xl/worksheets/sheet${i + 1}.xml`,
      hidden: /^(hidden|veryHidden)$/.test(attribute(tag, 'state') ?? ''),
      chart: rel?.type.endsWith('/chartsheet') === true,
    };
  });
}

/**
 * xl/sharedStrings.xml, streamed: one string per `<si>`, its `<t>` runs joined (rich text) and its
 * phonetic guides (`<rPh>`, the furigana of Japanese text) left out, as Excel shows the cell.
 */
async function readSharedStrings(path: string, display: string, entry: ZipEntry): Promise<string[]> {
  const strings: string[] = [];
  let current = '';
  let inItem = false;
  let phonetic = 0;
  const handler: XmlHandler = {
    wantText: false,
    open(name) {
      if (name === 'si') {
        inItem = true;
        current = '';
      } else if (name === 'rPh') phonetic++;
      else if (name === 't' && inItem && phonetic === 0) handler.wantText = true;
    },
    close(name) {
      if (name === 't') handler.wantText = false;
      else if (name === 'rPh') phonetic--;
      else if (name === 'si') {
        strings.push(decodeText(current));
        inItem = false;
      }
    },
    text(raw) {
      current += raw;
    },
  };
  const scanner = new XmlScanner(handler, entry.name);
  try {
    await inflateEntry(path, display, entry, (chunk) => scanner.write(chunk));
    scanner.end();
  } catch (error) {
    throw asInputError(error, display);
  }
  return strings;
}

/**
 * Which cell styles show dates: `cellXfs` lists the styles cells refer to by index, each with a
 * number format id; ids below 164 are Excel's built-in formats, the others are defined in `numFmts`.
 */
function parseDateStyles(stylesXml: string, display: string): (TimeFormat | undefined)[] {
  const formats = new Map<number, string>();
  const styles: number[] = [];
  // Only the workbook's own formats: a conditional format's (`<dxfs>`) may reuse an id for another format (openpyxl keeps a dxf's id while it renumbers numFmts).
  let inNumFmts = false;
  let inCellXfs = false;
  const scanner = new XmlScanner(
    {
      wantText: false,
      open(name, source, start, end) {
        if (name === 'numFmt' && inNumFmts) formats.set(Number(attributeIn(source, start, end, 'numFmtId')), attributeIn(source, start, end, 'formatCode') ?? '');
        else if (name === 'numFmts') inNumFmts = true;
        else if (name === 'cellXfs') inCellXfs = true;
        else if (name === 'xf' && inCellXfs) styles.push(Number(attributeIn(source, start, end, 'numFmtId') ?? 0));
      },
      close(name) {
        if (name === 'numFmts') inNumFmts = false;
        else if (name === 'cellXfs') inCellXfs = false;
      },
      text() {},
    },
    'xl/styles.xml',
  );
  try {
    scanner.writeText(stylesXml);
    scanner.end();
  } catch (error) {
    throw asInputError(error, display);
  }
  return styles.map((id) => {
    const format = formats.get(id);
    return format !== undefined ? timeFormatOf(format) : BUILTIN_TIME_FORMATS.get(id);
  });
}

/**
 * Built-in number formats that show a date or time (ECMA-376 part 1, 18.8.30): 14-17 and 22 dates,
 * 18-21 (`h:mm AM/PM`, `h:mm:ss`), 45 (`mm:ss`) and 47 (`mmss.0`) times of day, 46 (`[h]:mm:ss`)
 * elapsed time; 27-36 and 50-58 in the East Asian locales that define them. Those differ by locale:
 * 32 and 33 are times of day in all of them (ja-JP `h"時"mm"分"`, zh-CN `h"时"mm"分"`, ko-KR
 * `h"시" mm"분"`), 34, 35, 55 and 56 in Chinese (`上午/下午h"时"mm"分"`) but months and days in
 * Japanese: read as times of day, a serial under one day is a time and any other keeps its date.
 */
const BUILTIN_TIME_FORMATS = new Map<number, TimeFormat>([
  ...[14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58].map((id) => [id, 'date'] as const),
  ...[18, 19, 20, 21, 32, 33, 34, 35, 45, 47, 55, 56].map((id) => [id, 'time'] as const),
  [46, 'elapsed'],
]);

/**
 * How a number format code shows a number, from its date and time letters outside quoted text and
 * escapes: an elapsed-time block (`[h]`, `[mm]`, `[ss]`) makes it elapsed time; hours or seconds
 * with no year, day or month name (`m` beside them is minutes) a time of day; any other date letter
 * a date. Other [colour]/[condition] blocks are left out. Undefined: not a date or time format.
 */
export function timeFormatOf(format: string): TimeFormat | undefined {
  const unquoted = format.replace(/"[^"]*"/g, '').replace(/\\./g, '');
  if (/\[(h+|m+|s+)]/i.test(unquoted)) return 'elapsed';
  const letters = unquoted.replace(/\[[^\]]*]/g, '').replace(/AM\/PM|A\/P/gi, '');
  if (!/[ymdhsb]/i.test(letters)) return undefined;
  if (/[ydb]/i.test(letters) || /m{3,}/i.test(letters) || !/[hs]/i.test(letters)) return 'date';
  return 'time';
}

/** A damaged part's XML error as the file's error; anything else as it is. */
function asInputError(error: unknown, display: string): unknown {
  if (error instanceof XmlError) return new InputFileError('INGEST_FILE_INVALID', display, {}, `not a readable Excel workbook: ${error.message}`, { cause: error });
  return error;
}
