import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';
import type { IngestOptions } from './ingest-options.js';

/**
 * The bad-input corpus: each file either quarantines its bad rows (with file, line and reason) or
 * fails on its own with an error naming the file and position, a failed registry row, and the
 * table unchanged, while the batch goes on.
 */
let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
  const seed = await fx.file('seed.csv', 'id,name,amount\n100,seed,1.5\n');
  await fx.ingestion.ingest(seed, 'bronze.corpus');
});
afterAll(async () => {
  await fx.close();
});

async function expectFailed(path: string, pattern: RegExp, options: IngestOptions = {}) {
  const before = await fx.rat.loadTable('bronze.corpus');
  const good = await fx.file(`good-${Math.random().toString(36).slice(2)}.csv`, 'id,name,amount\n1,ok,2.5\n');
  const report = await fx.ingestion.ingest([path, good], 'bronze.corpus', options);
  const file = report.files[0]!;
  expect(file.status, file.error).toBe('failed');
  expect(file.error).toContain(path);
  expect(file.error).toMatch(pattern);
  // The table did not change because of the bad file; the good file after it still went in.
  expect(report.files[1]!.status, report.files[1]!.error).toBe('success');
  const after = await fx.rat.snapshots('bronze.corpus');
  expect(after.length).toBe(before.metadata.snapshots.length + 1);
  const entries = await fx.ingestion.registry({ filePath: path });
  expect(entries.at(-1)).toMatchObject({ status: 'failed', rowsIngested: 0 });
  expect(entries.at(-1)!.error).toMatch(pattern);
  return file;
}

describe('bad input', () => {
  it('quarantines ragged rows and an unclosed quote with their line numbers and raw text', async () => {
    const path = await fx.file('ragged.csv', 'id,name,amount\n1,a,1.5\n2,"b,c",2\n3,e,5,extra\n4,f\n5,"unclosed,3\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 3 });
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string; file_path: string }>(`SELECT line, reason, raw, file_path FROM bronze.corpus__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`);
    expect(rejects.map((r) => r.line)).toEqual([4, 5, 6]);
    expect(rejects[0]!.reason).toBe('expected 3 fields, found 4');
    expect(rejects[0]!.raw).toBe('3,e,5,extra');
    // DuckDB reports a short line once per missing column, each with another count: one sentence.
    expect(rejects[1]!.reason).toBe('expected 3 fields, found 2');
    expect(rejects[2]!.reason).toMatch(/unterminated quote/);
    const [entry] = (await fx.ingestion.registry({ filePath: path })).slice(-1);
    expect(entry).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 3 });
    const rows = await fx.rat.query<{ name: string }>(`SELECT name FROM bronze.corpus WHERE _source_file = ${quoteString(path)} ORDER BY id`);
    expect(rows.map((r) => r.name)).toEqual(['a', 'b,c']);
  });

  it('fails a file whose unclosed quote swallows later lines, naming the line where it opens', async () => {
    const csv = (rows: number, bad: (i: number) => string | undefined) => ['id,name,amount', ...Array.from({ length: rows }, (_, k) => bad(k + 1) ?? `${k + 1},name ${k + 1},${k + 1}`)].join('\n') + '\n';
    // The quote runs to the end of the file: DuckDB's one reject would hold only its first 10,000 characters, and rows 796-1000 would vanish.
    const toEnd = await fx.file('unclosed-mid.csv', csv(1000, (i) => (i === 2 ? '2,"n2,2' : undefined)));
    const failed = await expectFailed(toEnd, /\(line 3\): unclosed quote.*nothing was loaded.*Close the quote/);
    expect(failed.rowsIngested).toBe(0);
    // The quote closes at a later quote: the lines between would vanish just the same.
    await expectFailed(await fx.file('unclosed-closed-later.csv', csv(1000, (i) => (i === 2 ? '2,"n2,2' : i === 500 ? '500,"n500",500' : undefined))), /\(line 3\): unclosed quote/);
    // Larger than one of DuckDB's parallel chunks: the reject swallows only to its chunk's end, and the rows after it are read.
    await expectFailed(await fx.file('unclosed-parallel.csv', csv(300_000, (i) => (i === 150_000 ? '150000,"n150000,150000' : undefined))), /\(line 150001\): unclosed quote/);
    const quarantined = await fx.rat.query<{ n: number }>(`SELECT count(*) AS n FROM bronze.corpus__rejects WHERE file_path LIKE '%unclosed-%'`);
    expect(Number(quarantined[0]!.n)).toBe(0);
  });

  it('quarantines a line with text after a closing quote (DuckDB reports it as an unterminated quote too): nothing is swallowed', async () => {
    const path = await fx.file('closed-then-text.csv', 'id,name,amount\n1,"ab"c,1\n2,"d""e",2\n3,ghi,3\n4,"x"y,"z"\n5,jkl,5\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 2 });
    const rejects = await fx.rat.query<{ line: number; raw: string }>(`SELECT line, raw FROM bronze.corpus__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`);
    expect(rejects.map((r) => [r.line, r.raw.trimEnd()])).toEqual([
      [2, '1,"ab"c,1'],
      [5, '4,"x"y,"z"'],
    ]);
    const rows = await fx.rat.query<{ name: string }>(`SELECT name FROM bronze.corpus WHERE _source_file = ${quoteString(path)} ORDER BY id`);
    expect(rows.map((r) => r.name)).toEqual(['d"e', 'ghi', 'jkl']);
  });

  it('quarantines a quote left open on the last line whole, every other line loaded', async () => {
    const lines = ['id,name,amount', ...Array.from({ length: 999 }, (_, k) => `${k + 1},name ${k + 1},${k + 1}`), '1000,"n1000,1000'];
    const path = await fx.file('unclosed-last.csv', lines.join('\n') + '\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 999, rowsRejected: 1 });
    const rejects = await fx.rat.query<{ line: number; raw: string }>(`SELECT line, raw FROM bronze.corpus__rejects WHERE file_path = ${quoteString(path)}`);
    expect(rejects).toEqual([{ line: 1001, raw: '1000,"n1000,1000\n' }]);
  });

  it('gives a ragged line one reason, with a value that does not convert after it', async () => {
    const path = await fx.file('short.csv', 'id,name,amount\n1,a,1.5\n2\nx\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    const rejects = await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM bronze.corpus__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`);
    expect(rejects[0]).toEqual({ line: 3, reason: 'expected 3 fields, found 1' });
    expect(rejects[1]!.line).toBe(4);
    expect(rejects[1]!.reason).toMatch(/^expected 3 fields, found 1; column id: cannot convert x to /);
  });

  it('never lets leading lines vanish when a later row is wider', async () => {
    const path = await fx.file('wide-last.csv', 'id,name,amount\n1,a,5\n2,b,x\n3,c,7,9\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(report.files[0]!.sampleRejects.map((r) => r.line)).toEqual([3, 4]);
  });

  it('fails the whole file on any bad row with --on-error fail, naming the line', async () => {
    const path = await fx.file('strict.csv', 'id,name,amount\n1,a,1.5\n2,b,not-a-number\n');
    await expectFailed(path, /line 3.*not-a-number.*1 bad row/, { onError: 'fail' });
  });

  it('detects Latin-1, and quarantines lines of a file forced to the wrong encoding', async () => {
    const latin = await fx.file('latin.csv', Buffer.from('id,name,amount\n7,caf\xe9,1\n', 'latin1'));
    const ok = await fx.ingestion.ingest(latin, 'bronze.corpus');
    expect(ok.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    const [row] = await fx.rat.query<{ name: string }>('SELECT name FROM bronze.corpus WHERE id = 7');
    expect(row!.name).toBe('café');
    const forced = await fx.ingestion.ingest(latin, 'bronze.corpus', { encoding: 'utf-8' });
    expect(forced.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1 });
    expect(forced.files[0]!.sampleRejects[0]).toMatchObject({ line: 2 });
    expect(forced.files[0]!.sampleRejects[0]!.reason).toMatch(/unicode|utf-8/i);
  });

  it('refuses UTF-16 without a byte-order mark as binary, naming the byte', async () => {
    const path = await fx.file('utf16.csv', Buffer.from('id,name,amount\n1,a,1\n', 'utf16le'));
    await expectFailed(path, /byte 1\).*NUL byte.*--encoding utf-16/);
  });

  it('refuses truncated gzip and zstd files', async () => {
    const lines = ['id,name,amount', ...Array.from({ length: 20000 }, (_, i) => `${i},name ${i},${i}.5`)].join('\n');
    const gz = gzipSync(lines);
    const truncatedGz = await fx.file('cut.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    await expectFailed(truncatedGz, /truncated gzip/);
    const zst = `${fx.dir}/full.csv.zst`;
    await fx.rat.duck.run(`COPY (SELECT range AS id, 'n' || range AS name, range AS amount FROM range(200000)) TO ${quoteString(zst)} (FORMAT csv, COMPRESSION zstd)`);
    const bytes = await readFile(zst);
    const truncatedZst = await fx.file('cut.csv.zst', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectFailed(truncatedZst, /truncated zstd/);
  });

  it('fails compressed files DuckDB cannot read as those files, with INGEST_FILE_INVALID and advice: gzip followed by zero padding, zstd damaged inside its frames', async () => {
    // A whole gzip stream and then zero bytes, as tape and block copies leave: gzip -t and zlib accept it, DuckDB's reader does not.
    const member = gzipSync('id,name,amount\n1,a,1\n');
    const padded = await fx.file('padded.csv.gz', Buffer.concat([member, Buffer.alloc(512)]));
    const paddedFailure = await expectFailed(padded, new RegExp(`padded\\.csv\\.gz \\(byte ${member.length}\\): the gzip stream ends at byte ${member.length}, followed by 512 bytes of zero padding, which DuckDB's CSV reader cannot read past; strip it: gzip -dc padded\\.csv\\.gz \\| gzip > fixed\\.csv\\.gz`));
    expect(paddedFailure.errorCode).toBe('INGEST_FILE_INVALID');
    // Every frame complete (rat's checks pass), 6 bytes three quarters in changed, past the sample rat decompresses itself: only
    // DuckDB's decompression finds it. Made with `seq 1 30000 | awk 'BEGIN{print "id,name"}{print $1",row"$1}' | zstd -19`
    // (which writes frame checksums; DuckDB's own writer does not, and damage inside its literals goes unnoticed by any reader).
    const damaged = await fx.file('damaged.csv.zst', await readFile(fileURLToPath(new URL('./test-support/compressed/damaged.csv.zst', import.meta.url))));
    const damagedFailure = await expectFailed(damaged, /damaged\.csv\.zst: corrupt zstd data: DuckDB's reader stopped with "[^"]+" and does not say at which byte; `zstd -t damaged\.csv\.zst` shows the damage/);
    expect(damagedFailure.errorCode).toBe('INGEST_FILE_INVALID');
  });

  it('fails a gzip file with corrupt data as that file, in a batch whose other files load (the process keeps running)', async () => {
    const lines = ['id,name,amount', ...Array.from({ length: 200000 }, (_, i) => `${i},name ${i},${(i * 7919) % 1000}.5`)].join('\n');
    const gz = Buffer.from(gzipSync(lines));
    // Bytes flipped in the middle of the deflate stream, and a valid stream followed by garbage.
    const flipped = Buffer.from(gz);
    for (let i = 0; i < 16; i++) flipped[Math.floor(gz.length / 2) + i]! ^= 0xff;
    const dir = `${fx.dir}/corrupt-gz`;
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/a.csv`, 'id,name,amount\n1,a,1\n');
    await writeFile(`${dir}/b.csv.gz`, flipped);
    await writeFile(`${dir}/c.csv.gz`, Buffer.concat([gzipSync('id,name,amount\n2,b,2\n'), Buffer.from('garbage\n')]));
    await writeFile(`${dir}/d.csv`, 'id,name,amount\n3,c,3\n');
    const report = await fx.ingestion.ingestBatch(`${dir}/`, 'bronze.corrupt_gz');
    expect(report.files.map((f) => [f.file.split('/').pop(), f.status])).toEqual([
      ['a.csv', 'success'],
      ['b.csv.gz', 'failed'],
      ['c.csv.gz', 'failed'],
      ['d.csv', 'success'],
    ]);
    expect(report.files[1]!.error).toMatch(/b\.csv\.gz \(byte \d+\): corrupt gzip data/);
    expect(report.files[2]!.error).toMatch(/c\.csv\.gz \(byte \d+\): corrupt gzip data/);
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.corrupt_gz ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('fails a Parquet file with a corrupt data page as that file (read as the rows are written), the table unchanged', async () => {
    const path = `${fx.dir}/pages.parquet`;
    await fx.rat.duck.run(`COPY (SELECT range AS id, 'name ' || range AS name FROM range(200000)) TO ${quoteString(path)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 50000)`);
    const bytes = await readFile(path);
    for (let i = 0; i < 64; i++) bytes[Math.floor(bytes.length / 2) + i]! ^= 0x5a;
    await writeFile(path, bytes);
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(report.files[0]!.error).toContain(`${path}: `);
    expect(await fx.rat.query(`SELECT count(*)::INT AS n FROM bronze._file_registry WHERE file_path = ${quoteString(path)} AND status = 'failed'`)).toEqual([{ n: 1 }]);
    // DuckDB names the staging link it read; the error names the file instead, all through.
    expect(report.files[0]!.error).toBe(`${path}: Failed to read file "${path}": Snappy decompression failure`);
    const cut = await fx.file('cut.parquet', bytes.subarray(0, bytes.length - 100));
    const cutReport = await fx.ingestion.ingest(cut, 'bronze.corpus');
    expect(cutReport.files[0]!.error).toBe(`${cut}: No magic bytes found at end of file '${cut}'`);
  });

  it('refuses an empty file and a header-only file', async () => {
    await expectFailed(await fx.file('empty.csv', ''), /empty \(0 bytes\)/);
    await expectFailed(await fx.file('header-only.csv', 'id,name,amount\n'), /line 2\).*header line but no data rows/);
    await expectFailed(await fx.file('empty.json.gz', gzipSync('')), /empty after gzip decompression/);
  });

  it('refuses JSON that is not JSON, and quarantines the malformed lines of NDJSON', async () => {
    await expectFailed(await fx.file('not.json', 'hello, this is not json\n'), /not\.json \(line 1, byte 0\): "h" cannot start a JSON value/);
    const path = await fx.file('partly.ndjson', '{"id": 1, "name": "a", "amount": 1}\n{"id": 2, "name": }\n\n{"id": 3, "name": "c", "amount": 3}\n[1,2]\n');
    const report = await fx.ingestion.ingest(path, 'bronze.corpus');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line, reason, raw FROM bronze.corpus__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`);
    expect(rejects).toEqual([
      { line: 2, reason: 'malformed JSON', raw: '{"id": 2, "name": }' },
      { line: 5, reason: 'not a JSON object but array', raw: '[1,2]' },
    ]);
    await expectFailed(path, /line \d+|malformed/i, { onError: 'fail' });
  });

  it('quarantines an NDJSON object holding a key twice, at the top or nested, instead of failing the file; the other rows load', async () => {
    const path = await fx.file('twice.ndjson', '{"id": 1, "name": "a"}\n{"id": 2, "name": "b", "name": "c"}\n{"id": 3, "name": "d", "tags": {"k": 1, "k": 2}}\n{"id": 4, "name": "e", "list": [{"x": 1}, {"x": 2}]}\n');
    const report = await fx.ingestion.ingest(path, 'bronze.twice');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, name FROM bronze.twice ORDER BY id')).toEqual([
      { id: 1, name: 'a' },
      { id: 4, name: 'e' },
    ]);
    expect(await fx.rat.query<{ line: number; reason: string; raw: string }>('SELECT line, reason, raw FROM bronze.twice__rejects ORDER BY line')).toEqual([
      { line: 2, reason: 'the object holds the key $.name twice', raw: '{"id": 2, "name": "b", "name": "c"}' },
      { line: 3, reason: 'the object holds the key $.tags.k twice', raw: '{"id": 3, "name": "d", "tags": {"k": 1, "k": 2}}' },
    ]);
    await expectFailed(path, /line 2.*key \$\.name twice|key \$\.name twice/, { onError: 'fail' });
  });

  it('refuses duplicated column names, naming both positions', async () => {
    await expectFailed(await fx.file('dup.csv', 'id,name,id\n1,a,2\n'), /column 3\).*"id" appears twice \(columns 1 and 3\)/);
    await expectFailed(await fx.file('clash.csv', 'Order Date,order_date\n1,2\n'), /columns 1 \("Order Date"\) and 2 \("order_date"\) both become "order_date"/);
  });

  it('renames column names with spaces and SQL keywords, or refuses them with --keep-names', async () => {
    const path = await fx.file('names.csv', 'Select,Order Date,from,2nd\n1,2020-01-01,x,y\n');
    const report = await fx.ingestion.ingest(path, 'bronze.names');
    expect(report.files[0]!.renamed.map((m) => m.name)).toEqual(['select_', 'order_date', 'from_', '_2nd']);
    const [row] = await fx.rat.query<{ select_: number; from_: string }>('SELECT select_, from_ FROM bronze.names');
    expect(row).toMatchObject({ select_: 1, from_: 'x' });
    const kept = await fx.ingestion.ingest(path, 'bronze.names', { safeNames: false });
    expect(kept.files[0]!.status).toBe('failed');
    expect(kept.files[0]!.error).toContain(`${path} (column 1): column name "Select" is a reserved SQL keyword`);
    expect((await fx.rat.snapshots('bronze.names')).length).toBe(1);
    // Keywords DuckDB parses as syntax where a column may stand (`SELECT at FROM t` fails) are renamed too.
    const syntax = await fx.ingestion.ingest(await fx.file('syntax-names.csv', 'at,by,left,amount\n1,2,3,4\n'), 'bronze.syntax_names');
    expect(syntax.files[0]!.renamed.map((m) => m.name)).toEqual(['at_', 'by_', 'left_']);
    expect(await fx.rat.query('SELECT at_, by_, left_, amount FROM bronze.syntax_names')).toEqual([{ at_: 1, by_: 2, left_: 3, amount: 4 }]);
  });

  it('refuses a column named like the columns rat adds while reading (__rat_line), kept by --keep-names or given by --rename, rather than losing it', async () => {
    const inputs: [string, IngestOptions][] = [
      [await fx.file('internal.csv', 'id,__rat_line\n1,mine\n'), { safeNames: false }],
      [await fx.file('internal.ndjson', '{"id":1,"__rat_ord":"mine"}\n'), { safeNames: false }],
      [await fx.file('internal.txt', 'x'), { parser: () => [{ id: 1, line: 'mine' }], rename: { line: '__rat_line' } }],
    ];
    for (const [path, options] of inputs) {
      const report = await fx.ingestion.ingest(path, 'bronze.internal_names', options);
      expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
      expect(report.files[0]!.error).toMatch(new RegExp(`^${path} \\(column 2\\): column "(__rat_line|__rat_ord|line)" would be named "__rat_(line|ord)", and names starting with __rat_ are those of the columns rat adds`));
    }
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'internal_names' })).toBe(false);
  });

  it("loads columns named like Object's own properties (constructor, toString, __proto__) from every reader, and takes a --type for one", async () => {
    const csv = await fx.ingestion.ingest(await fx.file('object-names.csv', 'id,constructor,toString,valueOf\n1,2,3,4\n'), 'bronze.object_names', { types: { toString: 'VARCHAR' } });
    expect(csv.files[0], csv.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT id, "constructor", to_string, value_of FROM bronze.object_names')).toEqual([{ id: 1, constructor: 2, to_string: '3', value_of: 4 }]);
    const json = await fx.ingestion.ingest(await fx.file('object-names.ndjson', '{"id":2,"__proto__":5,"hasOwnProperty":6}\n'), 'bronze.object_names_json');
    expect(json.files[0], json.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT id, proto, has_own_property FROM bronze.object_names_json')).toEqual([{ id: 2, proto: 5, has_own_property: 6 }]);
    const parsed = await fx.ingestion.ingest(await fx.file('object-names.txt', 'x'), 'bronze.object_names_parsed', { parser: () => [{ id: 3, constructor: 'c', toString: 't' }] });
    expect(parsed.files[0], parsed.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT id, "constructor", to_string FROM bronze.object_names_parsed')).toEqual([{ id: 3, constructor: 'c', to_string: 't' }]);
  });
});
