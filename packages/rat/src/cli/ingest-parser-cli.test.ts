import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rat as runRat } from './test-support/cli-runner.js';

const rat = (home: string, args: string[], cwd: string) => runRat(home, args, {}, cwd);

describe('rat ingest --parser / --sheet / --header-row', () => {
  let dir: string;
  let home: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rat-ingest-parser-cli-'));
    home = join(dir, 'home');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a parser module (default export) relative to the working directory; its errors name the file and row', async () => {
    await writeFile(
      join(dir, 'pairs-parser.mjs'),
      `export default async function* (input) {
        console.log('parsing ' + input.name.split('/').pop());
        let row = 0;
        for await (const line of input.lines()) {
          if (line === '') continue;
          row++;
          if (line === 'boom') throw new Error('unexpected boom');
          const [key, value] = line.split(':');
          yield { key, value: Number(value) };
        }
      }\n`,
    );
    await writeFile(join(dir, 'not-a-parser.mjs'), 'export const x = 1;\n');
    await writeFile(join(dir, 'pairs.txt'), 'a:1\nb:2\n');
    await writeFile(join(dir, 'broken.txt'), 'a:1\nb:2\nboom\n');
    const ok = await rat(home, ['--json', 'ingest', 'pairs.txt', 'bronze.pairs', '--parser', './pairs-parser.mjs'], dir);
    expect(ok.code, ok.stderr).toBe(0);
    // The parser's console.log goes to stderr under --json: stdout holds only the report.
    expect(ok.stderr).toContain('parsing pairs.txt');
    expect(JSON.parse(ok.stdout)).toMatchObject({ files: [{ status: 'success', rowsIngested: 2, format: 'custom' }] });
    const broken = await rat(home, ['ingest', 'broken.txt', 'bronze.pairs', '--parser', './pairs-parser.mjs'], dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${join(dir, 'broken.txt')} (row 3): the parser failed: unexpected boom`);
    // The SDK report's error object (FileReport.cause) stays out of --json: error and errorCode say it.
    const brokenJson = JSON.parse((await rat(home, ['--json', 'ingest', 'broken.txt', 'bronze.pairs', '--parser', './pairs-parser.mjs'], dir)).stdout);
    expect(brokenJson.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_PARSER_FAILED' });
    expect(brokenJson.files[0]).not.toHaveProperty('cause');
    const wrong = await rat(home, ['ingest', 'pairs.txt', 'bronze.pairs', '--parser', './not-a-parser.mjs'], dir);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('--parser ./not-a-parser.mjs: the module must export a function as default');
    const rows = JSON.parse((await rat(home, ['--json', 'sql', 'SELECT key, value FROM bronze.pairs ORDER BY key'], dir)).stdout);
    expect(rows).toEqual([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
  });

  it('reads an Excel sheet by position with a header row', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Cover').addRow(['cover']);
    const sheet = workbook.addWorksheet('Budget');
    sheet.addRow(['Budget 2026']);
    sheet.addRow(['Team', 'Amount']);
    sheet.addRow(['Ops', 100]);
    await writeFile(join(dir, 'budget.xlsx'), new Uint8Array(await workbook.xlsx.writeBuffer()));
    const result = await rat(home, ['--json', 'ingest', 'budget.xlsx', 'bronze.budget', '--sheet', '2', '--header-row', '2'], dir);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse((await rat(home, ['--json', 'sql', 'SELECT team, amount FROM bronze.budget'], dir)).stdout);
    expect(rows).toEqual([{ team: 'Ops', amount: 100 }]);
  });

  it('reads a sheet named with leading zeros (01, 007) by its name, not as a position', async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Summary').addRows([['team'], ['all']]);
    workbook.addWorksheet('007').addRows([['team'], ['bond']]);
    workbook.addWorksheet('01').addRows([['team'], ['january']]);
    await writeFile(join(dir, 'months.xlsx'), new Uint8Array(await workbook.xlsx.writeBuffer()));
    // The report names the sheet each load read.
    for (const sheet of ['01', '007']) {
      const result = await rat(home, ['--json', 'ingest', 'months.xlsx', 'bronze.sheets', '--sheet', sheet], dir);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ files: [{ sheet, rowsIngested: 1 }] });
    }
    const teams = JSON.parse((await rat(home, ['--json', 'sql', 'SELECT team FROM bronze.sheets ORDER BY team'], dir)).stdout);
    expect(teams).toEqual([{ team: 'bond' }, { team: 'january' }]);
  });
});
