import { uniqueName } from './column-names.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import type { StageContext, StagedFile } from './staged-file.js';
import { RowSink, timestampText } from './staged-rows.js';
import { inflateEntry } from './xlsx-archive.js';
import { type MergedRange, SheetReader } from './xlsx-sheet.js';
import { openWorkbook, type WorkbookSheet } from './xlsx-workbook.js';

/**
 * Excel .xlsx: the workbook is opened (zip bomb limits, a real workbook, the sheet exists, its shared
 * strings and date styles), then the chosen sheet's XML is inflated and read in one streaming pass,
 * so a sheet of any length needs memory for a chunk of it, not the sheet. The header row (default 1)
 * names the columns: an empty cell becomes `column_<n>`, a merged cell repeats its value over the
 * range, and repeated names get `_2`, `_3`. Merged ranges follow the rows in the sheet's XML, so the
 * rows are staged by position and named at the end. Rows above the header and rows with no value
 * are skipped (error cells are values: a row of them loads as nulls); each row keeps its sheet row number as its line. Values are as `SheetReader` reads them.
 */
export async function stageXlsx(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const headerRow = ctx.options.headerRow ?? 1;
  const workbook = await openWorkbook(file.localPath, file.display, file.size, ctx.options.sheet);
  const { sheet, sheetEntry } = workbook;
  if (sheet.chart) throw otherSheet(file, sheet.name, 'is a chart sheet (a chart, no cells)', workbook.sheets);
  const sink = new RowSink(ctx, file);
  const aboveHeader = new Map<number, unknown[]>();
  let header: unknown[] | undefined;
  // Whether any row holds a value: a sheet without one is empty, whatever row the header was asked in.
  let anyValues = false;
  const reader = new SheetReader(workbook, sheetEntry.name);
  try {
    const take = async () => {
      const rows = reader.rows;
      reader.rows = [];
      for (const row of rows) {
        const line = row.number;
        if (row.values.some((v) => v !== null && v !== undefined && v !== '')) anyValues = true;
        if (line < headerRow) aboveHeader.set(line, row.values);
        else if (line === headerRow) header = row.values;
        else {
          if (header === undefined) throw noHeader(file, sheet.name, headerRow);
          if (row.problems) await sink.rejectCells(line, `sheet "${sheet.name}", ${row.problems.join('; ')}`, row.values);
          // A row of error cells only (#N/A) is a row of nulls, not an empty row.
          else if (row.values.length > 0 || row.errors) await sink.addCells(row.values, line);
        }
      }
    };
    await inflateEntry(file.localPath, file.display, sheetEntry, async (chunk, archiveBytesRead) => {
      reader.write(chunk);
      await take();
      ctx.onBytesRead?.(archiveBytesRead);
    });
    reader.end();
    await take();
    if (header === undefined) throw anyValues ? noHeader(file, sheet.name, headerRow) : otherSheet(file, sheet.name, 'is empty', workbook.sheets);
    const used = new Set<string>();
    const names = headerNames(header, reader.merges.filter((m) => m.top <= headerRow && m.bottom >= headerRow), aboveHeader, used);
    sink.nameCells(names, (column) => uniqueName(`column_${column}`, used));
  } catch (error) {
    await sink.abort();
    if (error instanceof InputFileError) throw error;
    // A damaged sheet (XmlError) or a failed inflate or scratch write: the row reached names where.
    const at = reader.rowNumber > 0 ? { line: reader.rowNumber } : {};
    throw new InputFileError('INGEST_FILE_INVALID', file.display, at, `not a readable Excel workbook: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (sink.rows === 0 && sink.rejected === 0) {
    await sink.abort();
    throw new InputFileError('INGEST_FILE_INVALID', file.display, { line: headerRow + 1 }, `sheet "${sheet.name}" has a header row but no data rows`);
  }
  return { ...(await sink.stage()), sheet: sheet.name };
}

/** A sheet with no rows to read: why, and the other sheets to pick from. */
function otherSheet(file: ProbedFile, sheet: string, why: string, sheets: readonly WorkbookSheet[]): InputFileError {
  const others = sheets.filter((s) => s.name !== sheet);
  const next = others.length > 0 ? `pick another with --sheet (the others: ${others.map((s) => `${s.index} "${s.name}"`).join(', ')})` : 'the workbook has no other sheet';
  return new InputFileError('INGEST_FILE_INVALID', file.display, {}, `sheet "${sheet}" ${why}; ${next}`);
}

function noHeader(file: ProbedFile, sheet: string, headerRow: number): InputFileError {
  return new InputFileError('INGEST_FILE_INVALID', file.display, { line: headerRow }, `sheet "${sheet}" has no header in row ${headerRow} (the row is empty); pick the row that holds the column names with --header-row`);
}

/** Header names: merged ranges repeat the value of their top-left cell, empty cells are column_<n>, and a name spelled as an earlier one gets `_2`, `_3`. */
function headerNames(values: unknown[], merges: MergedRange[], aboveHeader: Map<number, unknown[]>, used: Set<string>): string[] {
  const width = Math.max(values.length, ...merges.map((m) => m.right));
  const raw: string[] = [];
  for (let column = 1; column <= width; column++) {
    const merge = merges.find((m) => m.left <= column && column <= m.right);
    const value = merge ? (merge.top === merge.bottom || !aboveHeader.has(merge.top) ? values[merge.left - 1] : aboveHeader.get(merge.top)![merge.left - 1]) : values[column - 1];
    raw.push(headerText(value));
  }
  // Names first, so a later empty cell's column_<n> cannot take a real header's name.
  for (const name of raw) if (name !== '') used.add(name.toLowerCase());
  // Names alike but for case (`Amount`, `amount`) stay as they are: mapColumnNames tells them apart by their spelling, whatever
  // their order, as in every format (numbered here by position, a later file with the two the other way round swapped their values).
  const taken = new Set<string>();
  return raw.map((name, i) => {
    if (name === '') return uniqueName(`column_${i + 1}`, used);
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
    return uniqueName(name, used);
  });
}


function headerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  // A day names its column by the day; one with a time of day (hourly columns, `yyyy-mm-dd hh:mm`) keeps the time, or every hour of a day would be one name.
  if (value instanceof Date) return value.getTime() % 86_400_000 === 0 ? value.toISOString().slice(0, 10) : timestampText(value);
  return String(value).trim();
}
