import { createReadStream } from 'node:fs';
import type ExcelJS from 'exceljs';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import type { StageContext, StagedFile } from './staged-file.js';
import { RowSink } from './staged-rows.js';
import { checkWorkbook, type MergedRange } from './xlsx-archive.js';

/** What the streaming reader hands out (its typings omit these). */
interface SheetReader extends AsyncIterable<ExcelJS.Row> {
  id: number | string;
  name?: string;
  /** The sheet's XML: a file stream when exceljs buffered the sheet to a temp file. */
  iterator?: { destroy?: () => void; on?: (event: 'error', listener: () => void) => void };
}

/**
 * Excel .xlsx: the archive is checked first (zip bomb limits, a real workbook, the sheet exists),
 * then exceljs's streaming reader walks the chosen sheet row by row, so a sheet of any length needs
 * memory for one row, not the sheet. The header row (default 1) names the columns: an empty cell
 * becomes `column_<n>`, a merged cell repeats its value over the range, and repeated names get
 * `_2`, `_3`. Rows above the header and rows with no value are skipped; each row keeps its sheet
 * row number as its line. Values: numbers, booleans, dates (as timestamps), text (rich text joined),
 * formulas as their cached result; error cells (#DIV/0!) are empty.
 */
export async function stageXlsx(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const headerRow = ctx.options.headerRow ?? 1;
  const { sheet, headerMerges } = await checkWorkbook(file.localPath, file.display, file.size, ctx.options.sheet, headerRow);
  const sink = new RowSink(ctx, file);
  const aboveHeader = new Map<number, unknown[]>();
  let names: string[] | undefined;
  const used = new Set<string>();
  const nameOf = (column: number): string => {
    names ??= [];
    while (names.length < column) names.push(unique(`column_${names.length + 1}`, used));
    return names[column - 1]!;
  };
  let found = false;
  let line = 0;
  try {
    // Loaded on first use: exceljs takes a second or more to load, which every `rat` command would pay.
    const { default: excel } = await import('exceljs');
    const workbook = new excel.stream.xlsx.WorkbookReader(createReadStream(file.localPath), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      styles: 'cache',
      hyperlinks: 'ignore',
      entries: 'ignore',
    });
    for await (const reader of workbook as unknown as AsyncIterable<SheetReader>) {
      const sheetNo = /sheet(\d+)\.xml$/.exec(sheet.part)?.[1];
      const match = reader.name !== undefined ? reader.name === sheet.name : String(reader.id) === sheetNo;
      if (!match || found) {
        // A sheet we skip: exceljs may have buffered it to a temp file it deletes as soon as we move on,
        // and its unread stream would then fail to open with nobody listening. Close it unread.
        const pending = reader.iterator;
        if (pending && typeof pending.destroy === 'function') {
          pending.on?.('error', () => undefined);
          pending.destroy();
        }
        continue;
      }
      found = true;
      for await (const row of reader) {
        line = row.number;
        if (line < headerRow) {
          if (headerMerges.some((m) => m.top === line)) aboveHeader.set(line, rowValues(row));
          continue;
        }
        if (line === headerRow) {
          names = headerNames(rowValues(row), headerMerges, aboveHeader, used);
          names.forEach((n) => sink.declare(n));
          continue;
        }
        if (names === undefined) throw noHeader(file, sheet.name, headerRow);
        const record: Record<string, unknown> = {};
        let any = false;
        rowValues(row).forEach((value, index) => {
          if (value === undefined) return;
          record[nameOf(index + 1)] = value;
          any = true;
        });
        if (any) await sink.add(record, line);
      }
    }
  } catch (error) {
    await sink.abort();
    if (error instanceof InputFileError) throw error;
    throw new InputFileError('INGEST_FILE_INVALID', file.display, line > 0 ? { line } : {}, `not a readable Excel workbook: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (!found) {
    await sink.abort();
    throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, `sheet "${sheet.name}" (${sheet.part}) could not be read from the workbook`);
  }
  if (names === undefined) {
    await sink.abort();
    throw noHeader(file, sheet.name, headerRow);
  }
  if (sink.rows === 0 && sink.rejected === 0) {
    await sink.abort();
    throw new InputFileError('INGEST_FILE_INVALID', file.display, { line: headerRow + 1 }, `sheet "${sheet.name}" has a header row but no data rows`);
  }
  return sink.stage();
}

function noHeader(file: ProbedFile, sheet: string, headerRow: number): InputFileError {
  return new InputFileError('INGEST_FILE_INVALID', file.display, { line: headerRow }, `sheet "${sheet}" has no header in row ${headerRow} (the row is empty); pick the row that holds the column names with --header-row`);
}

/** Header names: merged ranges repeat the value of their top-left cell, empty cells are column_<n>, and names are made unique. */
function headerNames(values: unknown[], merges: MergedRange[], aboveHeader: Map<number, unknown[]>, used: Set<string>): string[] {
  const width = Math.max(values.length, ...merges.map((m) => m.right));
  const raw: string[] = [];
  for (let column = 1; column <= width; column++) {
    const merge = merges.find((m) => m.left <= column && column <= m.right);
    const value = merge ? (merge.top === merge.bottom || !aboveHeader.has(merge.top) ? values[merge.left - 1] : aboveHeader.get(merge.top)![merge.left - 1]) : values[column - 1];
    raw.push(headerText(value));
  }
  // Names first, so a later empty cell's column_<n> cannot take a real header's name.
  for (const name of raw) if (name !== '') used.add(name);
  const taken = new Set<string>();
  return raw.map((name, i) => {
    if (name === '') return unique(`column_${i + 1}`, used);
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
    return unique(name, used);
  });
}

function unique(base: string, used: Set<string>): string {
  let name = base;
  for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
  used.add(name);
  return name;
}

function headerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).trim();
}

/** The row's cell values by column (1-based column n at index n-1), undefined where empty. */
function rowValues(row: ExcelJS.Row): unknown[] {
  const values: unknown[] = [];
  row.eachCell({ includeEmpty: false }, (cell, column) => {
    values[column - 1] = cellValue(cell.value, cell.numFmt);
  });
  return values;
}

/** One cell as a plain value: rich text joined, hyperlinks as their text, formulas as their cached result. */
export function cellValue(value: ExcelJS.CellValue, numFmt?: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'boolean' || value instanceof Date) return value;
  if ('richText' in value) return value.richText.map((part) => part.text).join('');
  if ('error' in value) return undefined;
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as { result?: unknown }).result;
    if (typeof result === 'number' && Number.isFinite(result) && isDateFormat(numFmt)) return excelDate(result);
    if (result !== null && typeof result === 'object' && !(result instanceof Date)) return cellValue(result as ExcelJS.CellValue, numFmt);
    return cellValue(result as ExcelJS.CellValue, numFmt);
  }
  if ('text' in value) {
    const text = (value as { text: unknown }).text;
    return typeof text === 'string' ? text : cellValue(text as ExcelJS.CellValue, numFmt);
  }
  return undefined;
}

/** Whether a number format shows a date or time (as exceljs decides for plain cells). */
function isDateFormat(format: string | undefined): boolean {
  if (!format) return false;
  return /[ymdhsb]/i.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

/** Excel's serial date (1900 system) as a Date of the same wall time in UTC. */
function excelDate(serial: number): Date {
  return new Date(Math.round((serial - 25569) * 86_400_000));
}
