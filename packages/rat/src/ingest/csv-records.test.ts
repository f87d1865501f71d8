import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDb, openDuckDb } from '../engine/duckdb.js';
import { decodeKeepingBytes, locateRecords, type RecordDialect } from './csv-records.js';
import type { ProbedFile } from './file-probe.js';

let dir: string;
let duck: DuckDb;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-records-'));
  duck = await openDuckDb({ threads: 1 });
});
afterAll(async () => {
  duck.close();
  await rm(dir, { recursive: true, force: true });
});

const csv: RecordDialect = { delimiter: ',', quote: '"', escape: '"', header: true, skip: 0 };
const probed = async (name: string, content: string | Buffer, more: Partial<ProbedFile> = {}): Promise<ProbedFile> => {
  const localPath = join(dir, name);
  await writeFile(localPath, content);
  return { localPath, display: name, size: 0, hash: '', compression: 'none', format: 'csv', encoding: 'utf-8', ...more };
};

/** The line DuckDB's reader gives a record it rejects: the record `marker` is made to fail an integer column. */
async function duckDbLine(path: string, dialect: RecordDialect): Promise<number> {
  await duck.run('DROP TABLE IF EXISTS lines_duck; DROP TABLE IF EXISTS lines_scan');
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE lines_rows AS SELECT * FROM read_csv('${path}', auto_detect = false, header = ${dialect.header}, skip = ${dialect.skip}, delim = '${dialect.delimiter}', quote = '${dialect.quote}', escape = '${dialect.escape}', columns = {'a': 'BIGINT', 'b': 'VARCHAR'}, store_rejects = true, rejects_table = 'lines_duck', rejects_scan = 'lines_scan')`,
  );
  const [row] = await duck.rows<{ line: bigint }>('SELECT line FROM lines_duck');
  return Number(row!.line);
}

describe('locating CSV records by their position among the rows read', () => {
  it('numbers lines as DuckDB does: quoted line breaks inside a record do not count, blank and skipped lines do', async () => {
    // The record "bad" sits after a skipped line, a quoted value with line breaks and blank lines; LF and CRLF endings.
    for (const eol of ['\n', '\r\n']) {
      const text = (bad: string) => ['junk line', '"a","b"', '1,"x', 'y', 'z"', '', '', '2,w', `${bad},"p""q"`, '4,"last"'].join(eol);
      const dialect = { ...csv, skip: 1 };
      const marker = await probed('marker.csv', text('bad'));
      const expected = await duckDbLine(marker.localPath, dialect);
      expect(expected).toBe(7);
      const file = await probed('lines.csv', text('3'));
      const located = await locateRecords(file, dialect, [{ ordinal: 2, column: 0, value: '3' }, { ordinal: 3, column: 1, value: 'last' }], new Set(), 4);
      expect(located).toEqual(
        new Map([
          [2, { line: expected, raw: '3,"p""q"' }],
          [3, { line: 8, raw: '4,"last"' }],
        ]),
      );
    }
  });

  it('skips the records DuckDB rejected itself, by their line', async () => {
    // Line 3 is ragged: DuckDB rejects it, so the third row read is the record on line 5.
    const file = await probed('rejected.csv', 'a,b\n1,x\n2,y,extra\n3,z\n4,w\n');
    expect(await locateRecords(file, csv, [{ ordinal: 2, column: 0, value: '4' }], new Set([3]), 3)).toEqual(new Map([[2, { line: 5, raw: '4,w' }]]));
  });

  it('reads gzip, Latin-1 and a backslash escape', async () => {
    const gz = await probed('rows.csv.gz', gzipSync('a,b\n1,x\n2,"a \\"quoted\\"\nvalue"\n3,y\n'), { compression: 'gzip' });
    const backslash = { ...csv, escape: '\\' };
    expect(await locateRecords(gz, backslash, [{ ordinal: 2, column: 1, value: 'y' }], new Set(), 3)).toEqual(new Map([[2, { line: 4, raw: '3,y' }]]));
    const latin = await probed('latin.csv', Buffer.from('a;b\n1;caf\xe9\n', 'latin1'), { encoding: 'latin-1' });
    expect(await locateRecords(latin, { ...csv, delimiter: ';' }, [{ ordinal: 0, column: 1, value: 'café' }], new Set(), 1)).toEqual(new Map([[0, { line: 2, raw: '1;café' }]]));
  });

  it('gives no answer rather than a wrong one', async () => {
    const file = await probed('check.csv', 'a,b\n1,x\n2,y\n');
    // The value is not where the read says it is, or the file has more records than rows read and rejected.
    expect(await locateRecords(file, csv, [{ ordinal: 1, column: 0, value: '7' }], new Set(), 2)).toBeUndefined();
    expect(await locateRecords(file, csv, [{ ordinal: 1, column: 0, value: '2' }], new Set(), 1)).toBeUndefined();
    // An unclosed quote swallows the rest of the file here, where DuckDB's reader would go on.
    const unclosed = await probed('unclosed.csv', 'a,b\n1,"x\n2,y\n3,z\n');
    expect(await locateRecords(unclosed, csv, [{ ordinal: 2, column: 0, value: '3' }], new Set([2]), 2)).toBeUndefined();
    // Encodings and compressions it cannot walk byte by byte here.
    expect(await locateRecords({ ...file, compression: 'zstd' }, csv, [{ ordinal: 0, column: 0, value: '1' }], new Set(), 2)).toBeUndefined();
    expect(await locateRecords({ ...file, encoding: 'utf-16' }, csv, [{ ordinal: 0, column: 0, value: '1' }], new Set(), 2)).toBeUndefined();
  });
});

describe('decodeKeepingBytes', () => {
  it('decodes UTF-8 and reads each byte outside a valid sequence as its Latin-1 character', () => {
    // é as UTF-8, a Latin-1 é, an encoded surrogate (not UTF-8), an emoji, a cut sequence at the end.
    const bytes = Buffer.from([0x61, 0xc3, 0xa9, 0xe9, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80, 0xc0, 0xaf, 0xe2, 0x82]);
    expect(decodeKeepingBytes(bytes)).toBe('aé\u00e9\u00ed\u00a0\u0080😀\u00c0\u00af\u00e2\u0082');
    expect(decodeKeepingBytes(Buffer.from('plain ascii, naïve'))).toBe('plain ascii, naïve');
  });
});
