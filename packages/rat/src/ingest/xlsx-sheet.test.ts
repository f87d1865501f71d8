import { describe, expect, it } from 'vitest';
import { TimeOfDay } from './staged-rows.js';
import { serialDate, SheetReader, type SheetRow } from './xlsx-sheet.js';
import { timeFormatOf } from './xlsx-workbook.js';
import { XmlError } from './xlsx-xml.js';

const strings = ['id', 'name', 'Ada Lovelace', '', 'kanji'];
/** Style 1 shows a date, style 2 a plain number, style 3 a time of day, style 4 elapsed time. */
const dateStyles = [undefined, 'date', undefined, 'time', 'elapsed'] as const;

function read(sheetData: string, options: { date1904?: boolean; prefix?: string; tail?: string; chunk?: number } = {}): { rows: SheetRow[]; merges: SheetReader['merges'] } {
  const reader = new SheetReader({ strings, dateStyles: [...dateStyles], date1904: options.date1904 ?? false }, 'xl/worksheets/sheet1.xml');
  const p = options.prefix ?? '';
  const xml = Buffer.from(`<?xml version="1.0"?><${p}worksheet xmlns${p ? `:${p.slice(0, -1)}` : ''}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><${p}sheetData>${sheetData}</${p}sheetData>${options.tail ?? ''}</${p}worksheet>`);
  const rows: SheetRow[] = [];
  const size = options.chunk ?? xml.length;
  for (let at = 0; at < xml.length; at += size) {
    reader.write(xml.subarray(at, at + size));
    rows.push(...reader.rows);
    reader.rows = [];
  }
  reader.end();
  rows.push(...reader.rows);
  return { rows, merges: reader.merges };
}

describe('SheetReader', () => {
  it('reads every cell type as Excel shows it', () => {
    const { rows } = read(
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' +
        '<row r="2">' +
        '<c r="A2"><v>1</v></c>' + // a number (no type means n)
        '<c r="B2" t="s"><v>2</v></c>' + // a shared string
        '<c r="C2" s="1"><v>45292.5</v></c>' + // a number in a date style: 2024-01-01 12:00
        '<c r="D2" s="2" t="n"><v>1.5e3</v></c>' +
        '<c r="E2" t="b"><v>1</v></c><c r="F2" t="b"><v>0</v></c>' +
        '<c r="G2" t="e"><v>#DIV/0!</v></c>' + // an error cell is empty
        '<c r="H2" t="str"><f>CONCAT("a","&amp;")</f><v>a&amp;</v></c>' + // a formula's cached text
        '<c r="I2"><f>A2*2</f><v>2</v></c>' + // a formula's cached number
        '<c r="J2" t="b"><f>TRUE()</f><v>1</v></c>' + // a formula's cached boolean
        '<c r="K2" s="1"><f>C2+1</f><v>45293</v></c>' + // a formula's cached date
        '<c r="L2"><f>NOW()</f></c>' + // a formula never calculated: empty
        '<c r="M2" t="inlineStr"><is><r><t>rich </t></r><r><rPr><b/></rPr><t xml:space="preserve">text</t></r><rPh sb="0" eb="1"><t>phonetic</t></rPh></is></c>' +
        '<c r="N2" t="d"><v>2024-02-29T10:30:00</v></c>' +
        '<c r="O2" t="s"><v>3</v></c>' + // an empty shared string is empty
        '<c r="P2" s="1"/>' + // a styled cell without a value
        '<c r="Q2" t="str"><v>line one_x000D_&#10;line two</v></c>' +
        '</row>',
    );
    expect(rows).toEqual([
      { number: 1, values: ['id', 'name'] },
      {
        number: 2,
        values: [
          1,
          'Ada Lovelace',
          new Date(Date.UTC(2024, 0, 1, 12)),
          1500,
          true,
          false,
          undefined,
          'a&',
          2,
          true,
          new Date(Date.UTC(2024, 0, 2)),
          undefined,
          'rich text',
          new Date(Date.UTC(2024, 1, 29, 10, 30)),
          undefined,
          undefined,
          'line one\r\nline two',
        ],
        errors: true,
      },
    ]);
    expect(1 in rows[1]!.values).toBe(true);
    expect(6 in rows[1]!.values).toBe(false); // empty cells are holes, not values
  });

  it('places cells by their references, counts on where a row or cell has none, and reads prefixed XML', () => {
    const sheetData = '<x:row r="3"><x:c r="C3"><x:v>1</x:v></x:c><x:c><x:v>2</x:v></x:c><x:c r="AA3"><x:v>3</x:v></x:c></x:row><x:row><x:c><x:v>4</x:v></x:c></x:row><x:row r="7" spans="1:2"/>';
    const { rows } = read(sheetData, { prefix: 'x:' });
    const expected = [
      { number: 3, values: [] as unknown[] },
      { number: 4, values: [4] },
      { number: 7, values: [] },
    ];
    expected[0]!.values[2] = 1;
    expected[0]!.values[3] = 2;
    expected[0]!.values[26] = 3;
    expect(rows).toEqual(expected);
  });

  it('reads serial dates in the 1904 system as well', () => {
    const { rows } = read('<row r="1"><c s="1"><v>0</v></c><c s="1"><v>43830.25</v></c></row>', { date1904: true });
    expect(rows[0]!.values).toEqual([new Date(Date.UTC(1904, 0, 1)), new Date(Date.UTC(2024, 0, 1, 6))]);
  });

  it('reads 1900-system serials before March 1900 as Excel shows them, and refuses 60, the 1900-02-29 that did not exist', () => {
    // ECMA-376 part 1, 18.17.4.1: 1 is 1900-01-01, 59 is 1900-02-28, 60 is the nonexistent 1900-02-29, 61 is 1900-03-01.
    expect(serialDate(1, false)).toEqual(new Date(Date.UTC(1900, 0, 1)));
    expect(serialDate(15.5, false)).toEqual(new Date(Date.UTC(1900, 0, 15, 12)));
    expect(serialDate(59, false)).toEqual(new Date(Date.UTC(1900, 1, 28)));
    expect(serialDate(61, false)).toEqual(new Date(Date.UTC(1900, 2, 1)));
    expect(serialDate(0, true)).toEqual(new Date(Date.UTC(1904, 0, 1)));
    const { rows } = read('<row r="2"><c r="A2" s="1"><v>59</v></c></row><row r="3"><c r="A3"><v>60</v></c><c r="B3" s="1"><v>60.25</v></c></row>');
    expect(rows).toEqual([
      { number: 2, values: [new Date(Date.UTC(1900, 1, 28))] },
      { number: 3, values: [60, 60.25], problems: ["cell B3: 60.25 in a date format is 1900-02-29, a day that did not exist (Excel's 1900 leap-year error); correct the cell in the workbook"] },
    ]);
    // In the 1904 system 60 is an ordinary day.
    expect(read('<row r="1"><c s="1"><v>60</v></c></row>', { date1904: true }).rows[0]).toEqual({ number: 1, values: [new Date(Date.UTC(1904, 2, 1))] });
  });

  it('refuses 1900-system serials below 1 in a date format (1900-01-00, before 1900-01-01): no day Excel shows, so none to load', () => {
    const { rows } = read('<row r="2"><c r="A2" s="1"><v>0</v></c><c r="B2" s="1"><v>0.5</v></c><c r="C2" s="1"><v>-1</v></c><c r="D2" s="3"><v>-0.25</v></c><c r="E2" s="1"><v>1</v></c></row>');
    expect(rows).toEqual([
      {
        number: 2,
        values: [0, 0.5, -1, -0.25, new Date(Date.UTC(1900, 0, 1))],
        problems: [
          'cell A2: 0 in a date format is 1900-01-00, a day that does not exist (the zero date Excel shows for a date formula over an empty cell); a time of day alone takes a time format such as hh:mm; correct the cell in the workbook',
          'cell B2: 0.5 in a date format is 1900-01-00, a day that does not exist (the zero date Excel shows for a date formula over an empty cell); a time of day alone takes a time format such as hh:mm; correct the cell in the workbook',
          'cell C2: -1 in a date format is before 1900-01-01, the first day of the 1900 date system (Excel shows ####); correct the cell in the workbook',
          'cell D2: -0.25 in a date format is before 1900-01-01, the first day of the 1900 date system (Excel shows ####); correct the cell in the workbook',
        ],
      },
    ]);
    // The 1904 system's day 0 is 1904-01-01; a time a hair under midnight is 00:00:00, as Excel shows it, not a day of 1900.
    expect(read('<row r="1"><c s="1"><v>0.5</v></c><c s="3"><v>0.99999999999</v></c></row>', { date1904: true }).rows[0]!.values).toEqual([new Date(Date.UTC(1904, 0, 1, 12)), new TimeOfDay(0)]);
    expect(read('<row r="1"><c s="3"><v>0.99999999999</v></c></row>').rows[0]!.values).toEqual([new TimeOfDay(0)]);
  });

  it('reads a time format as a time of day and an elapsed-time format as an ISO 8601 duration', () => {
    const { rows } = read('<row r="1"><c s="3"><v>0.4375</v></c><c s="3"><v>0.5000029</v></c><c s="3"><v>45292.5</v></c><c s="4"><v>1.5</v></c><c s="4"><v>0.0000115740740740741</v></c><c s="4"><v>0</v></c></row>');
    // 10:30; 12:00:00.251; a whole date shown as a time keeps its date; 36 hours; one second; none.
    expect(rows[0]!.values).toEqual([new TimeOfDay(37_800_000), new TimeOfDay(43_200_251), new Date(Date.UTC(2024, 0, 1, 12)), 'PT36H', 'PT1S', 'PT0S']);
    expect(String(rows[0]!.values[0])).toBe('10:30:00');
    expect(String(rows[0]!.values[1])).toBe('12:00:00.251');
  });

  it('tells date, time-of-day and elapsed-time formats apart', () => {
    for (const format of ['yyyy-mm-dd', 'd-mmm-yy', 'mmm', '[$-409]d\\-mmm\\-yyyy;@', 'yyyy-mm-dd hh:mm', 'dd/mm/yyyy h:mm AM/PM', '[Red]mm/dd']) expect(timeFormatOf(format), format).toBe('date');
    for (const format of ['hh:mm', 'h:mm AM/PM', 'h:mm:ss', 'mm:ss.0', '[Blue]hh:mm', 'hh"h"mm']) expect(timeFormatOf(format), format).toBe('time');
    for (const format of ['[h]:mm:ss', '[hh]:mm', '[mm]:ss', '[s]']) expect(timeFormatOf(format), format).toBe('elapsed');
    for (const format of ['General', '0.00', '#,##0 "days"', '[$€-407] #,##0.00', '0%']) expect(timeFormatOf(format), format).toBeUndefined();
  });

  it('never drops a value it cannot type: text in a number cell stays text, a date beyond a Date stays a number', () => {
    const { rows } = read('<row r="1"><c><v>n/a</v></c><c s="1"><v>1e12</v></c><c t="b"><v>yes</v></c><c t="d"><v>someday</v></c></row>');
    expect(rows[0]!.values).toEqual(['n/a', 1e12, 'yes', 'someday']);
  });

  it('reads a number cell holding only blanks as empty, not as 0', () => {
    const { rows } = read('<row r="1"><c r="A1"><v> </v></c><c r="B1"><v>0</v></c><c r="C1"><v> 0 </v></c><c r="D1" s="1"><v>\n</v></c><c r="E1"><v>7</v></c></row>');
    // Empty cells are holes: only B1, C1 and E1 hold a value.
    expect(Object.keys(rows[0]!.values)).toEqual(['1', '2', '4']);
    expect(rows[0]!.values).toEqual([undefined, 0, 0, undefined, 7]);
  });

  it('collects merged ranges after the rows and ignores what follows them', () => {
    const tail = '<mergeCells count="2"><mergeCell ref="A1:C1"/><mergeCell ref="B2:B3"/></mergeCells><conditionalFormatting sqref="A1"><cfRule type="expression"><formula>A1&gt;0</formula></cfRule></conditionalFormatting><extLst><broken></extLst>';
    const { merges } = read('<row r="1"><c><v>1</v></c></row>', { tail });
    expect(merges).toEqual([
      { left: 1, top: 1, right: 3, bottom: 1 },
      { left: 2, top: 2, right: 2, bottom: 3 },
    ]);
  });

  it('gives the same rows whatever the chunk size', () => {
    const sheetData = Array.from({ length: 50 }, (_, i) => `<row r="${i + 1}"><c t="s"><v>${i % 5}</v></c><c s="1"><v>${45000 + i}</v></c><c t="inlineStr"><is><t>caf\u00e9 ${i} &amp; \u6f22</t></is></c></row>`).join('');
    const whole = read(sheetData);
    expect(whole.rows).toHaveLength(50);
    for (const chunk of [1, 7, 64, 1000]) expect(read(sheetData, { chunk }).rows).toEqual(whole.rows);
  });

  it('fails on a damaged sheet: a cut-off row, a missing shared string, an unknown cell type, a bad reference', () => {
    const reader = new SheetReader({ strings, dateStyles: [...dateStyles], date1904: false }, 'xl/worksheets/sheet1.xml');
    reader.write(Buffer.from('<worksheet><sheetData><row r="1"><c><v>1</v></c></row><row r="2"><c><v>2</v>'));
    expect(() => reader.end()).toThrow('xl/worksheets/sheet1.xml ends before </c> (the part is cut off)');
    expect(reader.rowNumber).toBe(2);
    expect(() => read('<row r="1"><c r="A1" t="s"><v>9</v></c></row>')).toThrow('cell A1 refers to shared string 9, but the workbook has 5');
    expect(() => read('<row r="1"><c r="A1" t="x"><v>9</v></c></row>')).toThrow('cell A1 has an unknown type t="x"');
    expect(() => read('<row r="1"><c r="12"><v>9</v></c></row>')).toThrow('a cell reference that is not a column and row: <c r="12">');
    expect(() => read('<row r="0"><c><v>9</v></c></row>')).toThrow('a row number that is not a positive whole number: <row r="0">');
  });
});

describe('SheetReader on damaged XML', () => {
  const SHEET = Buffer.from(
    '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' +
      Array.from({ length: 30 }, (_, i) => `<row r="${i + 1}" spans="1:4"><c r="A${i + 1}" t="s"><v>${i % 5}</v></c><c r="B${i + 1}" s="1"><v>${45000 + i / 3}</v></c><c r="C${i + 1}" t="inlineStr"><is><r><t>a &amp; ${i}</t></r><rPh><t>x</t></rPh></is></c><c r="D${i + 1}"><f>A1</f><v>${i}</v></c></row>`).join('') +
      '</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>',
  );
  /** A small deterministic generator, so a failure names a case that can be run again. */
  const random = (seed: number) => () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };

  it('either reads a mutated sheet or fails with an XmlError: never another exception, never a hang', () => {
    const specials = Buffer.from('<>/"\'&=;![]?-x0 \u00e9');
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed);
      const bytes = Buffer.from(SHEET);
      let xml: Buffer = bytes;
      const kind = seed % 4;
      if (kind === 0) xml = bytes.subarray(0, Math.floor(next() * bytes.length));
      else if (kind === 1) for (let n = 0; n < 3; n++) bytes[Math.floor(next() * bytes.length)] = specials[Math.floor(next() * specials.length)]!;
      else if (kind === 2) {
        const at = Math.floor(next() * bytes.length);
        xml = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(next() * 20))]);
      } else for (let n = 0; n < 3; n++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const reader = new SheetReader({ strings, dateStyles: [...dateStyles], date1904: false }, 'sheet.xml');
      try {
        for (let at = 0; at < xml.length; at += 97) reader.write(xml.subarray(at, at + 97));
        reader.end();
      } catch (error) {
        if (!(error instanceof XmlError)) throw new Error(`seed ${seed}: ${(error as Error).stack}`);
      }
    }
  });
});
