import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import type { IngestProgress } from './progress.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

async function workbookFile(name: string, build: (workbook: ExcelJS.Workbook) => void): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  build(workbook);
  return fx.file(name, new Uint8Array(await workbook.xlsx.writeBuffer()));
}

/** A zip archive written by hand: stored or deflated entries, with sizes the directory may lie about. */
function zipArchive(entries: { name: string; data: Buffer; claimedSize?: number; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const body = entry.deflate === false ? entry.data : deflateRawSync(entry.data);
    const name = Buffer.from(entry.name, 'utf8');
    const size = entry.claimedSize ?? entry.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(entry.deflate === false ? 0 : 8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(entry.deflate === false ? 0 : 8, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const WORKBOOK_XML = '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>';
const RELS_XML = '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>';
const MAIN_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';

/** A one-sheet workbook written by hand from its styles.xml body and sheetData rows: a header row of `names`, then `rows`. */
function styledWorkbook(name: string, styles: string, names: string[], rows: string): Promise<string> {
  const header = names.map((n, i) => `<c r="${String.fromCharCode(65 + i)}1" t="inlineStr"><is><t>${n}</t></is></c>`).join('');
  return fx.file(
    name,
    zipArchive([
      { name: 'xl/workbook.xml', data: Buffer.from(WORKBOOK_XML) },
      { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from(RELS_XML) },
      { name: 'xl/styles.xml', data: Buffer.from(`<styleSheet ${MAIN_NS}>${styles}</styleSheet>`) },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.from(`<worksheet ${MAIN_NS}><sheetData><row r="1">${header}</row>${rows}</sheetData></worksheet>`) },
    ]),
  );
}

describe('Excel .xlsx', () => {
  it('reads a sheet by name with typed values: dates as timestamps, numbers, booleans, rich text and formula results', async () => {
    const path = await workbookFile('orders.xlsx', (wb) => {
      wb.addWorksheet('Notes').addRow(['not this one']);
      const sheet = wb.addWorksheet('Orders');
      sheet.addRow(['Order ID', 'Order Date', 'Amount', 'Paid', 'Customer', 'Total', 'Due']);
      sheet.addRow([1, new Date(Date.UTC(2026, 0, 15)), 10.5, true, { richText: [{ text: 'Ada ' }, { text: 'Lovelace', font: { bold: true } }] }, { formula: 'C2*2', result: 21 }, { formula: 'B2+30', result: new Date(Date.UTC(2026, 1, 14)) }]);
      sheet.addRow([2, new Date(Date.UTC(2026, 1, 1, 13, 30)), 4, false, 'Grace', { formula: 'C3*2', result: 8 }, { formula: 'B3+30', result: new Date(Date.UTC(2026, 2, 3, 13, 30)) }]);
      sheet.addRow([]);
      sheet.addRow([3, new Date(Date.UTC(2026, 2, 3)), 7.25, true, 'Linus', { formula: 'C5*2', result: 14.5 }, { formula: 'B5+30', result: new Date(Date.UTC(2026, 3, 2)) }]);
      sheet.getColumn(2).numFmt = 'yyyy-mm-dd hh:mm';
      sheet.getColumn(7).numFmt = 'yyyy-mm-dd';
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_orders', { sheet: 'Orders' });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0, format: 'xlsx' });
    const types = await fx.rat.query<{ column_name: string; column_type: string }>(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM bronze.xl_orders)`);
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
      order_id: 'BIGINT',
      order_date: 'TIMESTAMP',
      amount: 'DOUBLE',
      paid: 'BOOLEAN',
      customer: 'VARCHAR',
      total: 'DOUBLE',
      due: 'TIMESTAMP',
    });
    const rows = await fx.rat.query(`SELECT order_id, CAST(order_date AS VARCHAR) AS order_date, amount, paid, customer, total, CAST(due AS VARCHAR) AS due FROM bronze.xl_orders ORDER BY order_id`);
    expect(rows).toEqual([
      { order_id: 1, order_date: '2026-01-15 00:00:00', amount: 10.5, paid: true, customer: 'Ada Lovelace', total: 21, due: '2026-02-14 00:00:00' },
      { order_id: 2, order_date: '2026-02-01 13:30:00', amount: 4, paid: false, customer: 'Grace', total: 8, due: '2026-03-03 13:30:00' },
      { order_id: 3, order_date: '2026-03-03 00:00:00', amount: 7.25, paid: true, customer: 'Linus', total: 14.5, due: '2026-04-02 00:00:00' },
    ]);
  });

  it('reads a sheet by 1-based index, with the header in row 2 and merged, empty and repeated header cells', async () => {
    const path = await workbookFile('report.xlsx', (wb) => {
      wb.addWorksheet('Cover').addRow(['cover page']);
      const sheet = wb.addWorksheet('Data');
      sheet.addRow(['Quarterly sales', null, null, null, null, null]);
      sheet.addRow(['Region', 'Sales', null, null, 'Region', 'Note']);
      sheet.mergeCells('B2:C2');
      sheet.addRow(['North', 1, 2, 'x', 'N', 'ok']);
      sheet.addRow(['South', 3, 4, 'y', 'S', null]);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_report', { sheet: 2, headerRow: 2 });
    const file = report.files[0]!;
    expect(file, file.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    const rows = await fx.rat.query('SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.xl_report ORDER BY region');
    expect(rows).toEqual([
      { region: 'North', sales: 1, sales_2: 2, column_4: 'x', region_2: 'N', note: 'ok' },
      { region: 'South', sales: 3, sales_2: 4, column_4: 'y', region_2: 'S', note: null },
    ]);
  });

  it('names columns headed by date-times by day and time, so hourly columns stay apart; a day alone names by the day', async () => {
    const path = await workbookFile('hourly.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Hourly');
      const header = sheet.addRow(['site', new Date(Date.UTC(2024, 0, 1, 8)), new Date(Date.UTC(2024, 0, 1, 9, 30)), new Date(Date.UTC(2024, 0, 2))]);
      for (const column of [2, 3, 4]) header.getCell(column).numFmt = 'yyyy-mm-dd hh:mm';
      sheet.addRow(['north', 1, 2, 3]);
    });
    expect((await fx.ingestion.ingest(path, 'bronze.xl_hourly')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.xl_hourly')).toEqual([{ site: 'north', _2024_01_01_08_00_00: 1, _2024_01_01_09_30_00: 2, _2024_01_02: 3 }]);
  });

  it('keeps header names alike but for case apart by their spelling, whatever their order, as a CSV file does', async () => {
    const workbook = (name: string, header: string[], row: unknown[]) => workbookFile(name, (wb) => wb.addWorksheet('S').addRows([header, row]));
    // `amount` keeps its name and `Amount` is amount_2 in each file: by position, the second file would swap their values.
    for (const path of [await workbook('case-1.xlsx', ['id', 'Amount', 'amount'], [1, 'upper', 'lower']), await workbook('case-2.xlsx', ['id', 'amount', 'Amount'], [2, 'lower', 'upper']), await fx.file('case-3.csv', 'id,Amount,amount\n3,upper,lower\n')]) {
      const report = await fx.ingestion.ingest(path, 'bronze.xl_case');
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    }
    expect(await fx.rat.query('SELECT id, amount, amount_2 FROM bronze.xl_case ORDER BY id')).toEqual([
      { id: 1, amount: 'lower', amount_2: 'upper' },
      { id: 2, amount: 'lower', amount_2: 'upper' },
      { id: 3, amount: 'lower', amount_2: 'upper' },
    ]);
  });

  it('quarantines cells that do not fit the table with their sheet row number', async () => {
    await fx.ingestion.ingest(
      await workbookFile('typed-1.xlsx', (wb) => {
        const sheet = wb.addWorksheet('S');
        sheet.addRow(['id', 'qty']);
        sheet.addRow([1, 5]);
      }),
      'bronze.xl_typed',
    );
    const path = await workbookFile('typed-2.xlsx', (wb) => {
      const sheet = wb.addWorksheet('S');
      sheet.addRow(['id', 'qty']);
      sheet.addRow([2, 6]);
      sheet.addRow([3, 'many']);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_typed');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    const rejects = await fx.rat.query<{ line: number; raw: string }>(`SELECT line, raw FROM bronze.xl_typed__rejects WHERE file_path = ${quoteString(path)}`);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.line).toBe(3);
    expect(rejects[0]!.raw).toContain('many');
  });

  it('reads 1900-system dates before March 1900 as Excel shows them and quarantines 1900-02-29, naming the sheet, cell and value', async () => {
    // Raw serials in a date format, as Excel saves them (exceljs writes Dates before March 1900 one day off, the mirror image of the error this guards against).
    const path = await workbookFile('dates-1900.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Old');
      sheet.addRow(['serial', 'day']);
      for (const serial of [1, 15, 59, 60, 61]) sheet.addRow([serial, serial]).getCell(2).numFmt = 'yyyy-mm-dd';
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_1900');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT serial, CAST(day AS VARCHAR) AS day FROM bronze.xl_1900 ORDER BY serial')).toEqual([
      { serial: 1, day: '1900-01-01 00:00:00' },
      { serial: 15, day: '1900-01-15 00:00:00' },
      { serial: 59, day: '1900-02-28 00:00:00' },
      { serial: 61, day: '1900-03-01 00:00:00' },
    ]);
    expect(await fx.rat.query(`SELECT line, reason, raw FROM bronze.xl_1900__rejects WHERE file_path = ${quoteString(path)}`)).toEqual([
      { line: 5, reason: `sheet "Old", cell B5: 60 in a date format is 1900-02-29, a day that did not exist (Excel's 1900 leap-year error); correct the cell in the workbook`, raw: '{"serial":60,"day":60}' },
    ]);
  });

  it('keeps a quarantined row\'s values under their column names, merged header included, so a replay can load them', async () => {
    // A table whose `day` is text takes the refused serial as it is written; the header names `day` only through a merge that follows the rows.
    const text = await workbookFile('days-text.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Days');
      sheet.addRow(['serial', 'day', 'note', 'seen']);
      sheet.addRow([1, 'unknown', 'text', new Date(Date.UTC(2024, 0, 1, 12))]);
    });
    expect((await fx.ingestion.ingest(text, 'bronze.xl_replay')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    const zero = await workbookFile('days-zero.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Days');
      sheet.addRow(['serial', 'day', null, 'seen']);
      sheet.mergeCells('B1:C1');
      sheet.addRow([0, 0, 'late', new Date(Date.UTC(2024, 0, 2, 18))]).getCell(2).numFmt = 'yyyy-mm-dd';
    });
    expect((await fx.ingestion.ingest(zero, 'bronze.xl_replay')).files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1 });
    // A date as the naive timestamp the table holds, not as JavaScript's ISO text with a Z a TIMESTAMP column refuses.
    expect(await fx.rat.query(`SELECT line, raw FROM bronze.xl_replay__rejects`)).toEqual([{ line: 2, raw: '{"serial":0,"day":0,"day_2":"late","seen":"2024-01-02 18:00:00"}' }]);
    expect(await fx.ingestion.replayRejects('bronze.xl_replay')).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await fx.rat.query('SELECT serial, day, day_2, CAST(seen AS VARCHAR) AS seen FROM bronze.xl_replay ORDER BY serial')).toEqual([
      { serial: 0, day: '0', day_2: 'late', seen: '2024-01-02 18:00:00' },
      { serial: 1, day: 'unknown', day_2: null, seen: '2024-01-01 12:00:00' },
    ]);
  });

  it('reads times of day as TIME and elapsed times as ISO 8601 durations; a column mixing times with dates becomes text', async () => {
    const path = await workbookFile('shifts.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Shifts');
      sheet.addRow(['start', 'worked', 'mixed']);
      // Raw serials in their formats, as Excel saves them: 10:30, 36 hours, 8:15:30; 06:00, 45 minutes, a date.
      const first = sheet.addRow([0.4375, 1.5, 0.34409722222222222]);
      const second = sheet.addRow([0.25, 0.03125, 45292]);
      for (const row of [first, second]) {
        row.getCell(1).numFmt = 'hh:mm';
        row.getCell(2).numFmt = '[h]:mm:ss';
        row.getCell(3).numFmt = 'h:mm:ss';
      }
      second.getCell(3).numFmt = 'yyyy-mm-dd';
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_shifts');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    const types = await fx.rat.query<{ column_name: string; column_type: string }>('SELECT column_name, column_type FROM (DESCRIBE SELECT start, worked, mixed FROM bronze.xl_shifts)');
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual(['start TIME', 'worked VARCHAR', 'mixed VARCHAR']);
    expect(await fx.rat.query('SELECT CAST(start AS VARCHAR) AS start, worked, mixed FROM bronze.xl_shifts ORDER BY start')).toEqual([
      { start: '06:00:00', worked: 'PT45M', mixed: '2024-01-01 00:00:00' },
      { start: '10:30:00', worked: 'PT36H', mixed: '08:15:30' },
    ]);
  });

  it('writes a date in a column other cells make text as a date loaded into a text column reads (no zero milliseconds)', async () => {
    const mixed = await workbookFile('dates-and-text.xlsx', (wb) => {
      const sheet = wb.addWorksheet('S');
      sheet.addRow(['due']);
      sheet.addRow([new Date(Date.UTC(2023, 2, 15))]).getCell(1).numFmt = 'yyyy-mm-dd';
      sheet.addRow([new Date(Date.UTC(2023, 2, 16, 10, 30, 0, 250))]).getCell(1).numFmt = 'yyyy-mm-dd hh:mm:ss.000';
      sheet.addRow(['n/a']);
    });
    const dates = await workbookFile('dates-only.xlsx', (wb) => {
      const sheet = wb.addWorksheet('S');
      sheet.addRow(['due']);
      sheet.addRow([new Date(Date.UTC(2023, 2, 15))]).getCell(1).numFmt = 'yyyy-mm-dd';
    });
    expect((await fx.ingestion.ingest(mixed, 'bronze.xl_due')).files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect((await fx.ingestion.ingest(dates, 'bronze.xl_due')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query("SELECT due, count(*) AS n FROM bronze.xl_due GROUP BY due ORDER BY due")).toEqual([
      { due: '2023-03-15 00:00:00', n: 2 },
      { due: '2023-03-16 10:30:00.250', n: 1 },
      { due: 'n/a', n: 1 },
    ]);
  });

  it('loads a row of error cells only (#N/A, #DIV/0!) as a row of nulls, not as an empty row to skip', async () => {
    const path = await workbookFile('errors.xlsx', (wb) => {
      const sheet = wb.addWorksheet('S');
      sheet.addRow(['a', 'b']);
      sheet.addRow([1, 2]);
      sheet.addRow([{ error: '#N/A' }, { formula: 'B99/0', result: { error: '#DIV/0!' } }]);
      sheet.addRow([]);
      sheet.addRow([3, { error: '#REF!' }]);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_errors');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT a, b FROM bronze.xl_errors ORDER BY a NULLS FIRST')).toEqual([
      { a: null, b: null },
      { a: 1, b: 2 },
      { a: 3, b: null },
    ]);
  });

  it('names the available sheets when the sheet does not exist', async () => {
    const path = await workbookFile('sheets.xlsx', (wb) => {
      wb.addWorksheet('Alpha').addRow(['a']);
      wb.addWorksheet('Beta').addRow(['b']);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_missing', { sheet: 'Gamma' });
    expect(report.files[0]!.status).toBe('failed');
    expect(report.files[0]!.error).toContain(`${path}: the workbook has no sheet "Gamma" (sheets: 1 "Alpha", 2 "Beta")`);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'xl_missing' })).toBe(false);
  });

  it('takes a number past the last sheet as a sheet name (--sheet 2024 in a workbook of year sheets), and says when it is neither', async () => {
    const path = await workbookFile('years.xlsx', (wb) => {
      wb.addWorksheet('2023').addRows([['year'], [2023]]);
      wb.addWorksheet('2024').addRows([['year'], [2024]]);
    });
    expect((await fx.ingestion.ingest(path, 'bronze.xl_years', { sheet: 2024 })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, sheet: '2024' });
    expect((await fx.ingestion.ingest(path, 'bronze.xl_years', { sheet: 1 })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, sheet: '2023' });
    expect(await fx.rat.query('SELECT year FROM bronze.xl_years ORDER BY year')).toEqual([{ year: 2023 }, { year: 2024 }]);
    const missing = await fx.ingestion.ingest(path, 'bronze.xl_years', { sheet: 2025 });
    expect(missing.files[0]!.error).toContain(`${path}: the workbook has no sheet 2025 by position or by name (sheets: 1 "2023", 2 "2024")`);
  });

  it('says a sheet is empty and names the others, and tells an empty header row from an empty sheet', async () => {
    const path = await workbookFile('empty-first.xlsx', (wb) => {
      wb.addWorksheet('Empty');
      wb.addWorksheet('Data').addRows([['id'], [1]]);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_empty');
    expect(report.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining(`${path}: sheet "Empty" is empty; pick another with --sheet (the others: 2 "Data")`) });
    expect((await fx.ingestion.ingest(path, 'bronze.xl_empty', { sheet: 'Data' })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    const only = await workbookFile('only-empty.xlsx', (wb) => wb.addWorksheet('Nothing'));
    expect((await fx.ingestion.ingest(only, 'bronze.xl_empty')).files[0]!.error).toContain('sheet "Nothing" is empty; the workbook has no other sheet');
    const gap = await workbookFile('header-gap.xlsx', (wb) => {
      const sheet = wb.addWorksheet('Gap');
      sheet.getCell('A3').value = 'id';
      sheet.getCell('A4').value = 1;
    });
    expect((await fx.ingestion.ingest(gap, 'bronze.xl_empty')).files[0]!.error).toContain('sheet "Gap" has no header in row 1 (the row is empty)');
  });

  it('reads the first visible worksheet by default, past hidden sheets, and says which sheet it read; a chart sheet is named as one', async () => {
    const path = await workbookFile('hidden-first.xlsx', (wb) => {
      const helper = wb.addWorksheet('Lookup');
      helper.addRows([['code'], ['x']]);
      helper.state = 'hidden';
      const veryHidden = wb.addWorksheet('Internal');
      veryHidden.addRows([['secret'], ['y']]);
      veryHidden.state = 'veryHidden';
      wb.addWorksheet('Data').addRows([['id'], [1], [2]]);
    });
    const report = await fx.ingestion.ingest(path, 'bronze.xl_visible');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, sheet: 'Data' });
    expect(await fx.rat.query('SELECT id FROM bronze.xl_visible ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    // A hidden sheet is still read when asked for.
    expect((await fx.ingestion.ingest(path, 'bronze.xl_hidden', { sheet: 1 })).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, sheet: 'Lookup' });

    const chart = zipArchive([
      {
        name: 'xl/workbook.xml',
        data: Buffer.from('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Chart1" sheetId="2" r:id="rId2"/><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
      },
      {
        name: 'xl/_rels/workbook.xml.rels',
        data: Buffer.from(
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/></Relationships>',
        ),
      },
      { name: 'xl/chartsheets/sheet1.xml', data: Buffer.from('<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"/></sheetViews><drawing r:id="rId1"/></chartsheet>') },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.from('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row><row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>') },
    ]);
    const chartPath = await fx.file('chart-first.xlsx', chart);
    expect((await fx.ingestion.ingest(chartPath, 'bronze.xl_chart')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, sheet: 'Sheet1' });
    const asked = await fx.ingestion.ingest(chartPath, 'bronze.xl_chart', { sheet: 'Chart1' });
    expect(asked.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(asked.files[0]!.error).toContain(`${chartPath}: sheet "Chart1" is a chart sheet (a chart, no cells); pick another with --sheet (the others: 2 "Sheet1")`);
  });

  it('reads a workbook written by LibreOffice Calc: shared strings, rich text, custom date, time, currency and percent formats, formulas, merged headers', async () => {
    // Made with `soffice --headless --convert-to xlsx libreoffice-report.fods` (LibreOffice 7.4).
    const path = fileURLToPath(new URL('./test-support/xlsx/libreoffice-report.xlsx', import.meta.url));
    const report = await fx.ingestion.ingest(path, 'bronze.xl_libreoffice', { sheet: 'Sales 2024', headerRow: 2 });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0 });
    const types = await fx.rat.query<{ column_name: string; column_type: string }>('SELECT column_name, column_type FROM (DESCRIBE SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.xl_libreoffice)');
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual([
      'order_date TIMESTAMP',
      'amount DOUBLE',
      'amount_2 DOUBLE',
      'paid BIGINT', // Calc writes its booleans as the numbers 1 and 0
      'customer VARCHAR',
      'column_6 VARCHAR',
      'time TIME',
      'formula BIGINT',
      'text_formula VARCHAR',
    ]);
    const rows = await fx.rat.query('SELECT CAST(order_date AS VARCHAR) AS order_date, amount, amount_2, paid, customer, CAST("time" AS VARCHAR) AS "time", formula, text_formula FROM bronze.xl_libreoffice ORDER BY order_date');
    // Calc counts days from 1899-12-30 without Excel's 1900-02-29, so it saves its 1900-01-01 as serial 2: Excel shows that as 1900-01-02, and so does rat (ECMA-376 part 1, 18.17.4.1).
    expect(rows).toEqual([
      { order_date: '1900-01-02 00:00:00', amount: 12345678901, amount_2: 0.1, paid: 1, customer: '   spaced   ', time: null, formula: null, text_formula: null },
      { order_date: '2024-03-01 00:00:00', amount: 1234.5, amount_2: 0.125, paid: 1, customer: 'Ada Lovelace', time: '13:30:00', formula: 2469, text_formula: 'Ada Lovelace!' },
      { order_date: '2024-03-02 08:15:00', amount: -5, amount_2: 1, paid: 0, customer: 'Line one\nLine two', time: '00:05:00', formula: null, text_formula: '<tag> "q" 漢字 😀' },
    ]);
  });

  it('reads a workbook as Excel and the OpenXML SDK write it: prefixed XML, parts found by relationship (transitional or Strict), 1904 dates, custom date formats, phonetic guides and escaped control characters', async () => {
    const ns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
    const archive = zipArchive([
      { name: 'xl/workbook.xml', data: Buffer.from(`<x:workbook ${ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:workbookPr date1904="1"/><x:sheets><x:sheet name="Data" sheetId="7" r:id="rId3"/></x:sheets></x:workbook>`) },
      {
        name: 'xl/_rels/workbook.xml.rels',
        data: Buffer.from(
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/>' +
            '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="strings.xml"/>' +
            // Strict Open XML names its relationship types under purl.oclc.org.
            '<Relationship Id="rId5" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/styles" Target="look.xml"/></Relationships>',
        ),
      },
      {
        name: 'xl/strings.xml',
        data: Buffer.from(`<x:sst ${ns}><x:si><x:t>Day</x:t></x:si><x:si><x:t>Name</x:t></x:si><x:si><x:t>Note</x:t></x:si><x:si><x:r><x:t>東京</x:t></x:r><x:rPh sb="0" eb="2"><x:t>トウキョウ</x:t></x:rPh></x:si><x:si><x:t>first_x000D_\nsecond</x:t></x:si></x:sst>`),
      },
      {
        name: 'xl/look.xml',
        data: Buffer.from(`<x:styleSheet ${ns}><x:numFmts count="1"><x:numFmt numFmtId="170" formatCode="[$-409]d\\-mmm\\-yyyy;@"/></x:numFmts><x:cellStyleXfs count="1"><x:xf numFmtId="14"/></x:cellStyleXfs><x:cellXfs count="3"><x:xf numFmtId="0"/><x:xf numFmtId="170"/><x:xf numFmtId="4"/></x:cellXfs></x:styleSheet>`),
      },
      {
        name: 'xl/worksheets/data.xml',
        data: Buffer.from(
          `<x:worksheet ${ns}><x:sheetData>` +
            '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1" t="s"><x:v>2</x:v></x:c></x:row>' +
            '<x:row r="2"><x:c r="A2" s="1"><x:v>43830</x:v></x:c><x:c r="B2" t="s"><x:v>3</x:v></x:c><x:c r="C2" s="2"><x:v>1234.5</x:v></x:c></x:row>' +
            '<x:row r="3"><x:c r="A3" s="1"><x:v>0</x:v></x:c><x:c r="B3" t="s"><x:v>4</x:v></x:c><x:c r="C3" s="0"><x:v>7</x:v></x:c></x:row>' +
            '</x:sheetData></x:worksheet>',
        ),
      },
    ]);
    const path = await fx.file('sdk.xlsx', archive);
    const report = await fx.ingestion.ingest(path, 'bronze.xl_sdk');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    const rows = await fx.rat.query('SELECT CAST(day AS VARCHAR) AS day, name, note FROM bronze.xl_sdk ORDER BY day');
    expect(rows).toEqual([
      { day: '1904-01-01 00:00:00', name: 'first\r\nsecond', note: 7 },
      { day: '2024-01-01 00:00:00', name: '東京', note: 1234.5 },
    ]);
  });

  it("reads a cell's number format from the workbook's numFmts, not from a conditional format (dxf) that reuses its id", async () => {
    const path = await styledWorkbook(
      'dxf-ids.xlsx',
      '<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs>' +
        '<dxfs count="2"><dxf><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></dxf><dxf><numFmt numFmtId="165" formatCode="0.00"/></dxf></dxfs>',
      ['share', 'day'],
      '<row r="2"><c r="A2" s="1"><v>0.25</v></c><c r="B2" s="2"><v>45292</v></c></row>',
    );
    expect((await fx.ingestion.ingest(path, 'bronze.xl_dxf')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT share, CAST(day AS VARCHAR) AS day FROM bronze.xl_dxf')).toEqual([{ share: 0.25, day: '2024-01-01 00:00:00' }]);
  });

  it('reads the East Asian built-in formats that show a time of day (32: ja-JP h"時"mm"分") as TIME, and those that show a month (34 in ja-JP) as dates', async () => {
    // Built-in ids are not listed in numFmts: the locale that wrote the file defines them.
    const path = await styledWorkbook(
      'ja-jp.xlsx',
      '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="32"/><xf numFmtId="34"/><xf numFmtId="33"/></cellXfs>',
      ['start', 'month', 'finish'],
      '<row r="2"><c r="A2" s="1"><v>0.5625</v></c><c r="B2" s="2"><v>45292</v></c><c r="C2" s="3"><v>0</v></c></row>',
    );
    expect((await fx.ingestion.ingest(path, 'bronze.xl_ja')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT CAST(start AS VARCHAR) AS start, CAST(month AS VARCHAR) AS month, CAST(finish AS VARCHAR) AS finish FROM bronze.xl_ja')).toEqual([
      { start: '13:30:00', month: '2024-01-01 00:00:00', finish: '00:00:00' },
    ]);
  });

  it('finds a sheet whose relationship target steps up from xl/ (../xl/worksheets/data.xml)', async () => {
    const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
    const rels = RELS_XML.replace('Target="worksheets/sheet1.xml"', 'Target="../xl/worksheets/data.xml"');
    const sheet = `<worksheet ${ns}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row><row r="2"><c r="A2"><v>5</v></c></row></sheetData></worksheet>`;
    const path = await fx.file('up.xlsx', zipArchive([{ name: 'xl/workbook.xml', data: Buffer.from(WORKBOOK_XML) }, { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from(rels) }, { name: 'xl/worksheets/data.xml', data: Buffer.from(sheet) }]));
    expect((await fx.ingestion.ingest(path, 'bronze.xl_up')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT id FROM bronze.xl_up')).toEqual([{ id: 5 }]);
  });

  it('reports its reading progress in bytes of the file while it reads a large sheet', async () => {
    const path = await workbookFile('progress.xlsx', (wb) => {
      const sheet = wb.addWorksheet('S');
      sheet.addRow(['id', 'label', 'value']);
      for (let i = 0; i < 20_000; i++) sheet.addRow([i, `label ${i % 977}`, i / 7]);
    });
    const events: IngestProgress[] = [];
    const report = await fx.ingestion.ingest(path, 'bronze.xl_progress', { onProgress: (event) => events.push(event) });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 20_000 });
    const reading = events.filter((e) => e.phase === 'reading' && e.bytesDone < e.bytesTotal);
    expect(reading.length).toBeGreaterThan(0);
    const { size } = await stat(path);
    for (const event of reading) expect(event).toMatchObject({ file: path, bytesTotal: size });
    expect(reading.map((e) => e.bytesDone)).toEqual([...reading.map((e) => e.bytesDone)].sort((a, b) => a - b));
  });

  describe('bad workbooks fail on their own, naming the file; the table is unchanged and the process goes on', () => {
    let snapshots: number;
    beforeAll(async () => {
      await fx.ingestion.ingest(
        await workbookFile('seed.xlsx', (wb) => {
          const sheet = wb.addWorksheet('S');
          sheet.addRow(['id']);
          sheet.addRow([1]);
        }),
        'bronze.xl_bad',
      );
      snapshots = await fx.snapshotCount('bronze.xl_bad');
    });

    async function expectRefused(name: string, content: Buffer, pattern: RegExp) {
      const path = await fx.file(name, content);
      const report = await fx.ingestion.ingest(path, 'bronze.xl_bad');
      const file = report.files[0]!;
      expect(file.status).toBe('failed');
      expect(file.errorCode).toBe('INGEST_FILE_INVALID');
      expect(file.error).toContain(path);
      expect(file.error).toMatch(pattern);
      const entries = await fx.ingestion.registry({ filePath: path });
      expect(entries.at(-1)).toMatchObject({ status: 'failed', rowsIngested: 0 });
      expect(entries.at(-1)!.error).toMatch(pattern);
      expect(await fx.snapshotCount('bronze.xl_bad')).toBe(snapshots);
      expect(await fx.rat.query('SELECT count(*) AS n FROM bronze.xl_bad')).toEqual([{ n: 1 }]);
    }

    it('refuses random bytes named .xlsx', async () => {
      await expectRefused('random.xlsx', randomBytes(4096), /not an Excel workbook: the file is not a zip archive/);
    });

    it('refuses a plain zip without a workbook', async () => {
      await expectRefused('plain.xlsx', zipArchive([{ name: 'readme.txt', data: Buffer.from('hello') }]), /not an Excel workbook: the zip archive has no xl\/workbook\.xml \(it holds 1 entry: readme\.txt\)/);
    });

    it('refuses an Excel binary workbook (.xlsb) as one, saying to save it as .xlsx', async () => {
      const xlsb = zipArchive([
        { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
        { name: 'xl/workbook.bin', data: Buffer.from([0x83, 0x01, 0x00]) },
        { name: 'xl/worksheets/sheet1.bin', data: Buffer.from([0x81, 0x01, 0x00]) },
      ]);
      await expectRefused('book.xlsb', xlsb, /not an \.xlsx workbook: this is an Excel binary workbook \(\.xlsb\), which rat does not read; save it as \.xlsx/);
    });

    it('refuses a zip bomb by its central directory before inflating it', async () => {
      const zeros = Buffer.alloc(64 * 1024 * 1024);
      const bomb = zipArchive([
        { name: 'xl/workbook.xml', data: Buffer.from(WORKBOOK_XML) },
        { name: 'xl/worksheets/sheet1.xml', data: zeros },
      ]);
      expect(bomb.length).toBeLessThan(200 * 1024);
      await expectRefused('bomb.xlsx', bomb, /likely zip bomb: entry xl\/worksheets\/sheet1\.xml claims 67108864 bytes from \d+ compressed/);
    });

    it('refuses a zip bomb whose directory lies about the size, while inflating it', async () => {
      const bomb = zipArchive([
        { name: 'xl/workbook.xml', data: Buffer.from(WORKBOOK_XML) },
        { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from(RELS_XML) },
        { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(64 * 1024 * 1024), claimedSize: 1000 },
      ]);
      await expectRefused('liar.xlsx', bomb, /likely zip bomb: entry xl\/worksheets\/sheet1\.xml unpacks to more than the 1000 bytes its directory claims/);
    });

    it('refuses a workbook whose sheet XML is broken, naming the file', async () => {
      const broken = zipArchive([
        { name: 'xl/workbook.xml', data: Buffer.from(WORKBOOK_XML) },
        { name: 'xl/_rels/workbook.xml.rels', data: Buffer.from(RELS_XML) },
        { name: 'xl/sharedStrings.xml', data: Buffer.from('<sst><si><t>id</t></si></sst>') },
        { name: 'xl/worksheets/sheet1.xml', data: Buffer.from('<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c></ro') },
      ]);
      await expectRefused('broken-sheet.xlsx', broken, /\(line 2\): not a readable Excel workbook: xl\/worksheets\/sheet1\.xml ends inside a tag: "<\/ro"/);
    });

    it('refuses a truncated workbook', async () => {
      const good = await new ExcelJS.Workbook().xlsx.writeBuffer();
      await expectRefused('truncated.xlsx', Buffer.from(new Uint8Array(good)).subarray(0, 200), /no central directory|not a zip archive/);
    });
  });
});
