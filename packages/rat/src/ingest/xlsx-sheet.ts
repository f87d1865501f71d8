import { attributeIn, decodeText, XmlError, type XmlHandler, XmlScanner } from './xlsx-xml.js';
import type { OpenedWorkbook } from './xlsx-workbook.js';
import { TimeOfDay } from './staged-rows.js';
import { isoDuration } from './typed-values.js';

/** A merged range (1-based rows and columns). */
export interface MergedRange {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** One row of the sheet: its row number and its cell values by column (column n at index n-1; empty cells are holes). */
export interface SheetRow {
  number: number;
  values: unknown[];
  /** Why the row cannot be loaded as it is (a cell naming a day that does not exist); the row goes to the quarantine. */
  problems?: string[];
  /** Whether it has error cells (`#N/A`): they are empty in `values`, but a row of them is still a row. */
  errors?: true;
}

/** Elements that come after `<mergeCells>` in a worksheet (ECMA-376 part 1, 18.3.1.99): once one opens, the sheet holds nothing more rat reads. */
const AFTER_MERGES = new Set([
  'phoneticPr', 'conditionalFormatting', 'dataValidations', 'hyperlinks', 'printOptions', 'pageMargins', 'pageSetup', 'headerFooter', 'rowBreaks', 'colBreaks',
  'customProperties', 'cellWatches', 'ignoredErrors', 'smartTags', 'drawing', 'legacyDrawing', 'legacyDrawingHF', 'drawingHF', 'picture', 'oleObjects', 'controls',
  'webPublishItems', 'tableParts', 'extLst',
]);

/**
 * Reads a worksheet's XML in chunks and hands out its rows as plain values, in one pass:
 * - numbers as numbers, or as Dates when the cell's style shows a date (the workbook's 1900 or 1904
 *   serial dates, read as the same wall time in UTC), as a TimeOfDay when it shows only a time of
 *   day (`hh:mm`), as ISO 8601 duration text when it shows elapsed time (`[h]:mm`: `PT36H`);
 * - shared and inline strings as text (rich text runs joined, phonetic guides left out);
 * - booleans; formulas as their cached result, typed like any cell; error cells (`#DIV/0!`) empty.
 * A number cell that holds no number keeps its text, and a date serial beyond what a Date holds
 * keeps its number: a value is never dropped. Merged ranges are collected as they come (they follow
 * the rows). The scan checks the XML's nesting, so a sheet that is cut off fails rather than ending
 * early.
 */
export class SheetReader {
  /** Rows completed by the chunks written so far; the caller takes them after each write. */
  rows: SheetRow[] = [];
  readonly merges: MergedRange[] = [];
  private readonly scanner: XmlScanner;
  private row: unknown[] | undefined;
  private problems: string[] | undefined;
  private errors = false;
  /** The number of the row being read (or last read). */
  rowNumber = 0;
  private column = 0;
  private inCell = false;
  private cellRef: string | undefined;
  private type = 'n';
  private style = 0;
  private value: string | undefined;
  private inline: string | undefined;
  private phonetic = 0;
  private afterData = false;
  private readonly handler: XmlHandler;

  constructor(private readonly workbook: Pick<OpenedWorkbook, 'strings' | 'dateStyles' | 'date1904'>, part: string) {
    this.handler = {
      wantText: false,
      open: (name, source, start, end, selfClosing) => this.open(name, source, start, end, selfClosing),
      close: (name) => this.close(name),
      text: (raw) => {
        if (this.inline !== undefined && this.value === undefined) this.inline += raw;
        else this.value = (this.value ?? '') + raw;
      },
    };
    this.scanner = new XmlScanner(this.handler, part);
  }

  write(chunk: Buffer): void {
    this.scanner.write(chunk);
  }

  end(): void {
    this.scanner.end();
  }

  private open(name: string, source: string, start: number, end: number, selfClosing: boolean): void {
    switch (name) {
      case 'row': {
        const r = attributeIn(source, start, end, 'r');
        this.rowNumber = r === undefined ? this.rowNumber + 1 : positive(r, 'row number', source.slice(start, end));
        this.row = [];
        this.problems = undefined;
        this.errors = false;
        this.column = 0;
        return;
      }
      case 'c': {
        if (this.row === undefined) throw new XmlError(`a cell outside a row: ${source.slice(start, end)}`);
        const ref = attributeIn(source, start, end, 'r');
        this.column = ref === undefined ? this.column + 1 : columnOf(ref, source.slice(start, end));
        this.cellRef = ref;
        this.type = attributeIn(source, start, end, 't') ?? 'n';
        const s = attributeIn(source, start, end, 's');
        this.style = s === undefined ? 0 : Number(s);
        this.value = undefined;
        this.inline = undefined;
        this.inCell = !selfClosing;
        return;
      }
      case 'v':
        if (this.inCell && !selfClosing) {
          this.value = '';
          this.handler.wantText = true;
        }
        return;
      case 'is':
        if (this.inCell) this.inline = '';
        return;
      case 't':
        if (this.inline !== undefined && this.phonetic === 0 && !selfClosing) this.handler.wantText = true;
        return;
      case 'rPh':
        this.phonetic++;
        this.handler.wantText = false;
        return;
      case 'mergeCell': {
        const range = /^\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)$/.exec(attributeIn(source, start, end, 'ref') ?? '');
        if (range) this.merges.push({ left: letters(range[1]!), top: Number(range[2]), right: letters(range[3]!), bottom: Number(range[4]) });
        return;
      }
      default:
        if (this.afterData && AFTER_MERGES.has(name)) this.scanner.stop();
    }
  }

  private close(name: string): void {
    switch (name) {
      case 'v':
      case 't':
        this.handler.wantText = false;
        return;
      case 'rPh':
        this.phonetic--;
        return;
      case 'c':
        if (this.row !== undefined) {
          const value = this.cellValue();
          if (value !== undefined) this.row[this.column - 1] = value;
        }
        this.inCell = false;
        return;
      case 'row':
        if (this.row !== undefined) this.rows.push({ number: this.rowNumber, values: this.row, ...(this.problems ? { problems: this.problems } : {}), ...(this.errors ? { errors: true as const } : {}) });
        this.row = undefined;
        return;
      case 'sheetData':
        this.afterData = true;
        return;
      case 'mergeCells':
        this.scanner.stop();
        return;
    }
  }

  /** Keeps a serial that names no day as its number and sends its row to the quarantine, saying why. */
  private refuse(serial: number, why: string): number {
    (this.problems ??= []).push(`cell ${this.cellName()}: ${serial} in a date format ${why}; correct the cell in the workbook`);
    return serial;
  }

  private cellName(): string {
    return this.cellRef ?? `in row ${this.rowNumber}, column ${this.column}`;
  }

  private cellValue(): unknown {
    const raw = this.value;
    switch (this.type) {
      case 'n': {
        if (raw === undefined || raw === '') return undefined;
        const number = Number(raw);
        if (!Number.isFinite(number)) return decodeText(raw).trim() || undefined;
        // Number() reads blank text as 0: a `<v> </v>` holds no value, not a zero.
        if (number === 0 && raw.trim() === '') return undefined;
        const shown = this.workbook.dateStyles[this.style];
        if (shown === undefined) return number;
        if (shown === 'elapsed') return elapsedText(number);
        // A time of day is the serial's fraction (a hair under midnight shows as 00:00:00, as Excel rounds it); a time
        // format over a whole date (NOW() shown as hh:mm) keeps its date.
        if (shown === 'time' && number >= 0 && number < 1) return new TimeOfDay(Math.round(number * 86_400_000) % 86_400_000);
        if (!this.workbook.date1904) {
          // Days Excel's 1900 system cannot show as a date (ECMA-376 part 1, 18.17.4.1): loaded as some other day, they would change without a word.
          if (number >= 60 && number < 61) return this.refuse(number, "is 1900-02-29, a day that did not exist (Excel's 1900 leap-year error)");
          if (number >= 0 && number < 1) return this.refuse(number, 'is 1900-01-00, a day that does not exist (the zero date Excel shows for a date formula over an empty cell); a time of day alone takes a time format such as hh:mm');
          if (number < 0) return this.refuse(number, 'is before 1900-01-01, the first day of the 1900 date system (Excel shows ####)');
        }
        return serialDate(number, this.workbook.date1904) ?? number;
      }
      case 's': {
        if (raw === undefined || raw === '') return undefined;
        const text = this.workbook.strings[Number(raw)];
        if (text === undefined) throw new XmlError(`cell ${this.cellName()} refers to shared string ${raw}, but the workbook has ${this.workbook.strings.length}`);
        return text === '' ? undefined : text;
      }
      case 'str':
      case 'inlineStr': {
        const text = this.inline ?? raw;
        if (text === undefined || text === '') return undefined;
        return decodeText(text);
      }
      case 'b':
        if (raw === '1' || raw === 'true') return true;
        if (raw === '0' || raw === 'false') return false;
        return raw === undefined || raw === '' ? undefined : decodeText(raw);
      case 'e':
        if (raw !== undefined && raw !== '') this.errors = true;
        return undefined;
      case 'd': {
        if (raw === undefined || raw === '') return undefined;
        const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`);
        return Number.isNaN(date.getTime()) ? decodeText(raw) : date;
      }
      default:
        throw new XmlError(`cell ${this.cellName()} has an unknown type t="${this.type}"`);
    }
  }
}

/**
 * Excel's serial date as a Date of the same wall time in UTC, or undefined beyond the range a Date
 * holds. 1904 system: 0 is 1904-01-01. 1900 system (ECMA-376 part 1, 18.17.4.1): 1 is 1900-01-01,
 * but 60 is 1900-02-29, a day that did not exist (Lotus 1-2-3's leap-year error, kept by Excel), so
 * from 61 (1900-03-01) on day 25569 is 1970-01-01 and before 60 every day is one later than that
 * count gives. The caller deals with 60 itself.
 */
export function serialDate(serial: number, date1904: boolean): Date | undefined {
  const days = date1904 ? serial + 1462 : serial < 60 ? serial + 1 : serial;
  const date = new Date(Math.round((days - 25569) * 86_400_000));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Elapsed time (a serial in days, `[h]:mm:ss`) as ISO 8601 duration text, as Arrow durations are: 1.5 -> `PT36H`. */
export function elapsedText(serial: number): string {
  return isoDuration(0, 0, BigInt(Math.round(serial * 86_400_000)) * 1_000_000n);
}

/** `A` -> 1, `AB` -> 28. */
export function letters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) n = n * 26 + ((text.charCodeAt(i) | 32) - 96);
  return n;
}

/** The column of a cell reference such as `AB12`. */
function columnOf(ref: string, tag: string): number {
  let end = 0;
  while (end < ref.length && end < 4) {
    const c = ref.charCodeAt(end) | 32;
    if (c < 97 || c > 122) break;
    end++;
  }
  if (end === 0 || end > 3) throw new XmlError(`a cell reference that is not a column and row: ${tag}`);
  return letters(ref.slice(0, end));
}

function positive(text: string, what: string, tag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new XmlError(`a ${what} that is not a positive whole number: ${tag}`);
  return n;
}
