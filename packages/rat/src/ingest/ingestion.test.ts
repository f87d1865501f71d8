import { execFileSync } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import type { IngestOptions } from './ingest-options.js';
import type { IngestProgress } from './progress.js';
import { openIngestFixture, SUPERSTORE, VEGA, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** Rows of the two large merges (300,000 rows, id = i % 200000, the row at i = 250000 bad): the later row of an id wins. */
const LAST_OF_EACH_KEY = [
  { id: 0, n: 200000 },
  { id: 50000, n: 50000 },
  { id: 99999, n: 299999 },
  { id: 150000, n: 150000 },
];

/** An ingest, with every statement it ran on the fixture's DuckDB connection (where the rows are staged and written). */
async function ingestRecordingStatements(path: string, table: string, options: IngestOptions) {
  const statements: string[] = [];
  const connection = fx.rat.duck.connection;
  const run = connection.run.bind(connection);
  connection.run = (sql, ...rest) => {
    statements.push(sql);
    return run(sql, ...rest);
  };
  try {
    return { statements, report: await fx.ingestion.ingest(path, table, options) };
  } finally {
    connection.run = run;
  }
}

describe('ingest formats', () => {
  it('loads the superstore CSV with detected types, safe column names and lineage columns', async () => {
    const report = await fx.ingestion.ingest(SUPERSTORE, 'bronze.superstore');
    expect(report.failed).toBe(0);
    expect(report.rowsIngested).toBe(9994);
    const file = report.files[0]!;
    expect(file.renamed).toContainEqual({ source: 'Order Date', name: 'order_date', position: 3 });
    expect(file.renamed).toContainEqual({ source: 'Sub-Category', name: 'sub_category', position: 16 });
    const table = await fx.rat.describeTable('bronze.superstore');
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ row_id: 'long', order_date: 'date', sales: 'double', quantity: 'long', _source_file: 'string', _ingested_at: 'timestamptz' });
    const [row] = await fx.rat.query<{ n: number; files: number }>(`SELECT count(*)::INT AS n, count(DISTINCT _source_file)::INT AS files FROM bronze.superstore WHERE _source_file = ${quoteString(SUPERSTORE)}`);
    expect(row).toEqual({ n: 9994, files: 1 });
    expect(file.snapshotId).toBe(table.currentSnapshotId);
  });

  it('loads TSV, partitions a new table and reads gzip and zstd compressed CSV', async () => {
    const tsv = await fx.file('weather.tsv', '');
    await fx.rat.duck.run(`COPY (SELECT * FROM read_csv(${quoteString(join(VEGA, 'seattle-weather.csv'))})) TO ${quoteString(tsv)} (FORMAT csv, DELIMITER E'\\t', HEADER true)`);
    const report = await fx.ingestion.ingest(tsv, 'bronze.weather', { partitionBy: ['year(date)'] });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1461 });
    const table = await fx.rat.describeTable('bronze.weather');
    expect(table.partitionSpec.fields.map((f) => f.transform)).toEqual(['year']);
    expect(table.dataFileCount).toBe(4);
    const zst = await fx.file('weather.csv.zst', '');
    await fx.rat.duck.run(`COPY (SELECT * FROM read_csv(${quoteString(join(VEGA, 'seattle-weather.csv'))})) TO ${quoteString(zst)} (FORMAT csv, COMPRESSION zstd)`);
    const gz = await fx.file('weather.csv.gz', gzipSync(await import('node:fs/promises').then((fs) => fs.readFile(join(VEGA, 'seattle-weather.csv')))));
    const more = await fx.ingestion.ingest([zst, gz], 'bronze.weather');
    expect(more.files.map((f) => [f.status, f.rowsIngested])).toEqual([['success', 1461], ['success', 1461]]);
    const [count] = await fx.rat.query<{ n: number }>('SELECT count(*)::INT AS n FROM bronze.weather');
    expect(count!.n).toBe(3 * 1461);
  });

  it('reads a CSV again, with long lines allowed, when a line past the sample is longer than 2 MiB; the first read leaves no file behind', async () => {
    const long = 'x'.repeat(3 * 1024 * 1024);
    const path = await fx.file('long-line.csv', `id,text\n${Array.from({ length: 25_000 }, (_, i) => `${i},short`).join('\n')}\n25000,${long}\n25001,short\n`);
    const report = await fx.ingestion.ingest(path, 'bronze.long_lines');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 25_002, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT id, length(text) AS n FROM bronze.long_lines WHERE id >= 24_999 ORDER BY id')).toEqual([
      { id: 24_999, n: 5 },
      { id: 25_000, n: long.length },
      { id: 25_001, n: 5 },
    ]);
    // Only the files of the second read are in the table's directory: the first read's were removed.
    const table = await fx.rat.loadTable('bronze.long_lines');
    const files: string[] = [];
    for await (const object of fx.rat.store.list(`${fx.rat.store.keyOf(table.metadata.location)}/data/`)) if (object.key.endsWith('.parquet')) files.push(object.key);
    expect(files).toHaveLength(1);
  });

  it('loads a row on a line of 31 MiB, which DuckDB skips without a reject unless long lines are allowed: hashed alongside the read, before it (--skip-existing), gzip- and zstd-compressed', async () => {
    // DuckDB's reader rejects a line up to about 28 MiB as too long; a longer one it skips without a word (its default limit is 2 MiB).
    // Past the sniffer's sample (20,480 rows): a line this long in the sample makes the sniff take a minute.
    const long = 'x'.repeat(31 * 1024 * 1024);
    const text = `id,text\n${Array.from({ length: 21_000 }, (_, i) => `${i},short`).join('\n')}\n21000,${long}\n21001,short\n`;
    const plain = await fx.file('line-31mib.csv', text);
    const gzipped = await fx.file('line-31mib.csv.gz', gzipSync(text, { level: 1 }));
    const zstd = `${plain}.zst`;
    execFileSync('zstd', ['-q', '-1', '-f', plain, '-o', zstd]);
    for (const [path, table, options, withoutTool] of [
      [plain, 'bronze.line_31mib', {}, false],
      [plain, 'bronze.line_31mib_skip', { skipExisting: true }, false],
      [gzipped, 'bronze.line_31mib_gz', {}, false],
      // The zstd file's lines are measured by the zstd tool, and without it by rat's own decompressor.
      [zstd, 'bronze.line_31mib_zst', {}, false],
      [zstd, 'bronze.line_31mib_zst_js', {}, true],
    ] as const) {
      const path_ = process.env.PATH;
      if (withoutTool) process.env.PATH = '';
      const report = await fx.ingestion.ingest(path, table, options).finally(() => {
        process.env.PATH = path_;
      });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 21_002, rowsRejected: 0 });
      expect(await fx.rat.query(`SELECT id, length(text) AS n FROM ${table} WHERE id >= 20_999 ORDER BY id`)).toEqual([
        { id: 20_999, n: 5 },
        { id: 21_000, n: long.length },
        { id: 21_001, n: 5 },
      ]);
    }
  });

  it('fails a CSV with a line longer than 256 MiB, the most DuckDB\'s reader takes, naming the line and its length; the table is unchanged', async () => {
    const path = await fx.file('line-257mib.csv', `id,text\n${Array.from({ length: 21_000 }, (_, i) => `${i},short`).join('\n')}\n21000,`);
    const handle = await open(path, 'a');
    try {
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      for (let i = 0; i < 257; i++) await handle.write(chunk);
      await handle.write('\n21001,short\n');
    } finally {
      await handle.close();
    }
    const report = await fx.ingestion.ingest(path, 'bronze.line_257mib');
    const bytes = '21000,'.length + 257 * 1024 * 1024;
    const start = 'id,text\n'.length + Array.from({ length: 21_000 }, (_, i) => `${i},short\n`).join('').length;
    expect(report.files[0]).toMatchObject({
      status: 'failed',
      error: `${path} (line 21002, byte ${start}): the line is ${bytes} bytes long, longer than DuckDB's CSV reader takes (268435456 bytes, 256 MiB); nothing was loaded: split the value, or load it another way`,
    });
    await rm(path);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'line_257mib' })).toBe(false);
    expect(await fx.rat.query(`SELECT status FROM bronze._file_registry WHERE file_path = ${quoteString(path)}`)).toEqual([{ status: 'failed' }]);
  });

  it('loads every row of a file whose many bad values make DuckDB\'s parallel reader stop part way without an error: read again on one thread', async () => {
    // 80,000 rows, every other qty bad: DuckDB's parallel read with store_rejects stops after line 60,092 and says nothing.
    const rows = Array.from({ length: 80_000 }, (_, i) => `${i},${i % 2 === 0 ? `x${i}` : i},${'v'.repeat(120)}`);
    const path = await fx.file('many-bad.csv', `id,qty,v\n${rows.join('\n')}\n`);
    const report = await fx.ingestion.ingest(path, 'bronze.many_bad', { types: { qty: 'BIGINT' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 40_000, rowsRejected: 40_000 });
    expect(await fx.rat.query('SELECT count(*)::INT AS n, max(id)::INT AS last FROM bronze.many_bad')).toEqual([{ n: 40_000, last: 79_999 }]);
    expect(await fx.rat.query('SELECT count(*)::INT AS n, max(line)::INT AS last FROM bronze.many_bad__rejects')).toEqual([{ n: 40_000, last: 80_000 }]);
    expect(await fx.rat.query(`SELECT rows_ingested::INT AS rows, rows_rejected::INT AS rejected, status FROM bronze._file_registry WHERE file_path = ${quoteString(path)}`)).toEqual([
      { rows: 40_000, rejected: 40_000, status: 'success' },
    ]);
  });

  it('counts records, not lines, when checking that a read with rejects missed none: quoted line breaks and blank lines are no missing rows', async () => {
    const path = await fx.file('multiline-bad.csv', 'id,qty,note\n1,1,"two\nlines"\n2,x,plain\n\n3,3,"a\n\nb"\n4,y,z\n');
    const report = await fx.ingestion.ingest(path, 'bronze.multiline_bad', { types: { qty: 'BIGINT' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, note FROM bronze.multiline_bad ORDER BY id')).toEqual([
      { id: 1, note: 'two\nlines' },
      { id: 3, note: 'a\n\nb' },
    ]);
  });

  it('loads messy JSON (movies.json), keeping mixed-type values as text', async () => {
    const report = await fx.ingestion.ingest(join(VEGA, 'movies.json'), 'bronze.movies');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 3201, rowsRejected: 0, format: 'json' });
    const table = await fx.rat.describeTable('bronze.movies');
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ title: 'string', us_gross: 'long', running_time_min: 'long' });
    // Titles that are numbers in the JSON ("Title": 1776) are text like the others.
    const [row] = await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM bronze.movies WHERE title IS NULL`);
    expect(row!.n).toBeLessThan(5);
  });

  it('keeps nested JSON objects as structs, or flattens them on request, from gzip NDJSON', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, user: { name: `u${i}`, geo: { country: i % 2 ? 'NL' : 'FR' } }, tags: ['a', 'b'] }));
    const path = await fx.file('events.ndjson.gz', gzipSync(lines.join('\n')));
    const nested = await fx.ingestion.ingest(path, 'bronze.events_nested');
    expect(nested.files[0]).toMatchObject({ status: 'success', rowsIngested: 50 });
    const [s] = await fx.rat.query<{ c: string }>(`SELECT user.geo.country AS c FROM bronze.events_nested WHERE id = 3`);
    expect(s!.c).toBe('NL');
    const flat = await fx.ingestion.ingest(path, 'bronze.events_flat', { flatten: true });
    expect(flat.files[0]!.status).toBe('success');
    const columns = (await fx.rat.describeTable('bronze.events_flat')).schema.fields.map((f) => f.name);
    expect(columns).toEqual(['id', 'user_name', 'user_geo_country', 'tags', '_source_file', '_ingested_at']);
  });

  it('keeps values of mixed types as text at any depth: strings as themselves, the rest as JSON, nested or flattened', async () => {
    const path = await fx.file(
      'mixed.ndjson',
      ['{"id":1,"s":{"a":1,"b":"x"},"m":"text"}', '{"id":2,"s":{"a":"y","b":"z"},"m":{"k":[1,2]}}', '{"id":3,"s":null,"m":5}'].join('\n'),
    );
    expect((await fx.ingestion.ingest(path, 'bronze.mixed_nested')).files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect(await fx.rat.query('SELECT id, s, m FROM bronze.mixed_nested ORDER BY id')).toEqual([
      { id: 1, s: { a: '1', b: 'x' }, m: 'text' },
      { id: 2, s: { a: 'y', b: 'z' }, m: '{"k":[1,2]}' },
      { id: 3, s: null, m: '5' },
    ]);
    expect((await fx.ingestion.ingest(path, 'bronze.mixed_flat', { flatten: true })).files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect(await fx.rat.query('SELECT id, s_a, s_b, m FROM bronze.mixed_flat ORDER BY id')).toEqual([
      { id: 1, s_a: '1', s_b: 'x', m: 'text' },
      { id: 2, s_a: 'y', s_b: 'z', m: '{"k":[1,2]}' },
      { id: 3, s_a: null, s_b: null, m: '5' },
    ]);
  });

  it('reads numbers written with a decimal comma when told (--decimal-separator ,), as DuckDB does not detect it', async () => {
    const path = await fx.file('eu.csv', 'id;amount;rate\n1;1,5;0,25\n2;2,25;1\n3;1234,50;-0,5\n');
    const plain = await fx.ingestion.ingest(path, 'bronze.eu_plain');
    expect(plain.files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect((await fx.rat.describeTable('bronze.eu_plain')).schema.fields.find((f) => f.name === 'amount')!.type).toBe('string');
    const report = await fx.ingestion.ingest(path, 'bronze.eu', { decimalSeparator: ',', types: { amount: 'DECIMAL(10,2)' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT id, amount::VARCHAR AS amount, rate FROM bronze.eu ORDER BY id')).toEqual([
      { id: 1, amount: '1.50', rate: 0.25 },
      { id: 2, amount: '2.25', rate: 1 },
      { id: 3, amount: '1234.50', rate: -0.5 },
    ]);
    await expect(fx.ingestion.ingest(path, 'bronze.eu', { decimalSeparator: ';' as never })).rejects.toThrow('CSV decimal separator must be "." or ",", got ";"');
  });

  it('types JSON integers of both signs BIGINT (DuckDB infers HUGEINT), and only values beyond BIGINT as DECIMAL(38,0)', async () => {
    const signed = ['{"id":1,"delta":-5,"s":{"tz":-480}}', '{"id":2,"delta":7,"s":{"tz":60}}', '{"id":3,"delta":null,"s":{"tz":0}}'];
    const beyond = ['{"id":1,"v":-3}', '{"id":2,"v":18446744073709551615}'];
    const merge: IngestOptions = { mode: 'merge', keys: ['id'] };
    for (const [name, text, options] of [
      ['signed.ndjson', signed.join('\n'), {}],
      ['signed.json', `[${signed.join(',')}]`, {}],
      ['signed-merge.ndjson', signed.join('\n'), merge],
    ] as [string, string, IngestOptions][]) {
      const table = `bronze.${name.replace(/\W/g, '_')}`;
      expect((await fx.ingestion.ingest(await fx.file(name, text), table, options)).files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
      const fields = (await fx.rat.describeTable(table)).schema.fields;
      expect(fields.find((f) => f.name === 'delta')!.type, name).toBe('long');
      expect(JSON.stringify(fields.find((f) => f.name === 's')!.type)).toMatch(/"name":"tz","required":false,"type":"long"/);
      expect(await fx.rat.query(`SELECT id, delta, s.tz AS tz FROM ${table} ORDER BY id`)).toEqual([
        { id: 1, delta: -5, tz: -480 },
        { id: 2, delta: 7, tz: 60 },
        { id: 3, delta: null, tz: 0 },
      ]);
    }
    // A value BIGINT cannot hold fails the BIGINT read: the file is read again as DuckDB types it, streamed or staged.
    for (const [name, options] of [
      ['beyond.ndjson', {}],
      ['beyond-merge.ndjson', merge],
    ] as [string, IngestOptions][]) {
      const table = `bronze.${name.replace(/\W/g, '_')}`;
      expect((await fx.ingestion.ingest(await fx.file(name, beyond.join('\n')), table, options)).files[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
      expect((await fx.rat.describeTable(table)).schema.fields.find((f) => f.name === 'v')!.type).toBe('decimal(38, 0)');
      expect(await fx.rat.query(`SELECT id, v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([
        { id: 1, v: '-3' },
        { id: 2, v: '18446744073709551615' },
      ]);
    }
  });

  it('reports the JSON type inference as its own step before the read', async () => {
    const path = await fx.file('progress.ndjson', Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, v: `x${i}` })).join('\n'));
    const events: IngestProgress[] = [];
    const report = await fx.ingestion.ingest(path, 'bronze.progress_json', { onProgress: (e) => events.push(e) });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 200 });
    const inferred = events.findIndex((e) => e.phase === 'inferring' && e.bytesDone === e.bytesTotal);
    expect(inferred).toBeGreaterThanOrEqual(0);
    expect(events[inferred]).toMatchObject({ indeterminate: true, bytesTotal: report.files[0]!.bytes });
    // Every inference event comes before the read's, and none claims a share done before the end.
    expect(events.findIndex((e) => e.phase === 'reading')).toBeGreaterThan(inferred);
    expect(events.filter((e) => e.phase === 'inferring' && e.bytesDone !== 0 && e.bytesDone !== e.bytesTotal)).toEqual([]);
  });

  it("reports a CSV's sniff of its sample rows as a type inference step before the read (minutes for thousands of columns)", async () => {
    const path = await fx.file('progress.csv', `id,v\n${Array.from({ length: 200 }, (_, i) => `${i},x${i}`).join('\n')}\n`);
    const events: IngestProgress[] = [];
    const report = await fx.ingestion.ingest(path, 'bronze.progress_csv', { onProgress: (e) => events.push(e) });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 200 });
    const inferred = events.findIndex((e) => e.phase === 'inferring' && e.bytesDone === e.bytesTotal);
    expect(events[inferred]).toMatchObject({ indeterminate: true, sampled: true, bytesTotal: report.files[0]!.bytes });
    expect(events.findIndex((e) => e.phase === 'reading')).toBeGreaterThan(inferred);
  });

  it('loads records larger than read_json first allows (16 MiB): the file is read again allowing 256 MiB', async () => {
    const big = 'x'.repeat(40 * 1024 * 1024);
    for (const [name, text] of [
      ['big-record.ndjson', `${JSON.stringify({ id: 1, v: 'small' })}\n${JSON.stringify({ id: 2, v: big })}\n`],
      ['big-record.json', `[${JSON.stringify({ id: 1, v: 'small' })},\n${JSON.stringify({ id: 2, v: big })}]\n`],
    ] as const) {
      const path = await fx.file(name, text);
      const table = `bronze.${name.replace(/\W/g, '_')}`;
      const report = await fx.ingestion.ingest(path, table);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
      expect(await fx.rat.query(`SELECT id, length(v) AS n FROM ${table} ORDER BY id`)).toEqual([
        { id: 1, n: 5 },
        { id: 2, n: big.length },
      ]);
    }
  });

  it('stages the rows of a large file a merge reads twice on disk (scratch Parquet), with its bad rows and last-wins order intact', async () => {
    // 300,000 records of about 120 bytes (34 MiB, past STAGE_ON_DISK_BYTES): ids repeat, one value cannot be a BIGINT.
    const path = join(fx.dir, 'large-merge.ndjson');
    const pad = 'x'.repeat(80);
    await fx.rat.duck.run(`COPY (SELECT i % 200000 AS id, CASE WHEN i = 250000 THEN '"bad"' ELSE CAST(i AS VARCHAR) END AS n, '${pad}' AS pad FROM range(300000) t(i))
      TO ${quoteString(`${path}.csv`)} (FORMAT csv, HEADER false, QUOTE '', DELIMITER '|')`);
    await fx.rat.duck.run(`COPY (SELECT '{"id":' || column0 || ',"n":' || column1 || ',"pad":"' || column2 || '"}' FROM read_csv(${quoteString(`${path}.csv`)}, delim = '|', header = false, quote = '', columns = {'column0': 'VARCHAR', 'column1': 'VARCHAR', 'column2': 'VARCHAR'}))
      TO ${quoteString(path)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\\x01')`);
    await fx.rat.sql('CREATE TABLE bronze.large_merge (id BIGINT, n BIGINT, pad VARCHAR)');
    const { statements, report } = await ingestRecordingStatements(path, 'bronze.large_merge', { mode: 'merge', keys: ['id'], lineage: false });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsRejected: 1 });
    expect(statements.some((sql) => sql.startsWith('COPY (') && sql.includes('-staged.parquet'))).toBe(true);
    expect(await fx.rat.query('SELECT count(*)::INT AS rows, max(n)::INT AS high FROM bronze.large_merge')).toEqual([{ rows: 200000, high: 299999 }]);
    // The later record of an id wins; id 50000's later record (line 250001) is the bad one, so its first stays.
    expect(await fx.rat.query('SELECT id::INT AS id, n::INT AS n FROM bronze.large_merge WHERE id IN (0, 50000, 99999, 150000) ORDER BY id')).toEqual(LAST_OF_EACH_KEY);
    expect(await fx.rat.query('SELECT line::INT AS line FROM bronze.large_merge__rejects')).toEqual([{ line: 250001 }]);
  });

  it('stages the rows of a large CSV file a merge reads twice in a scratch Parquet file, not a temp table, with last-wins order and the line of its bad row intact', async () => {
    // 300,000 lines of about 135 bytes (39 MiB, past STAGE_ON_DISK_BYTES): ids repeat, one line has no id.
    const path = join(fx.dir, 'large-merge.csv');
    await fx.rat.duck.run(
      `COPY (SELECT CASE WHEN i = 250000 THEN NULL ELSE i % 200000 END AS id, i AS n, '${'x'.repeat(120)}' AS pad FROM range(300000) t(i)) TO ${quoteString(path)} (FORMAT csv, HEADER true)`,
    );
    await fx.rat.sql('CREATE TABLE bronze.large_csv_merge (id BIGINT, n BIGINT, pad VARCHAR)');
    const { statements, report } = await ingestRecordingStatements(path, 'bronze.large_csv_merge', { mode: 'merge', keys: ['id'], lineage: false });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsRejected: 1 });
    // A temp table of the rows took about 2.4 times the file in memory.
    expect(statements.some((sql) => sql.startsWith('COPY (') && sql.includes('-rows.parquet'))).toBe(true);
    expect(statements.some((sql) => /^CREATE OR REPLACE TEMP TABLE "__rat_ingest_[0-9a-f]+" AS SELECT/.test(sql))).toBe(false);
    // Nor a window over the rows to keep the last of each key, which held every row and column in memory.
    const writes = statements.filter((sql) => sql.startsWith('COPY (') && !sql.includes('-rows.parquet'));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.some((sql) => sql.includes('row_number() OVER'))).toBe(false);
    expect(await fx.rat.query('SELECT count(*)::INT AS rows, max(n)::INT AS high FROM bronze.large_csv_merge')).toEqual([{ rows: 200000, high: 299999 }]);
    // The later line of an id wins; id 50000's later line has no id, so its first stays.
    expect(await fx.rat.query('SELECT id::INT AS id, n::INT AS n FROM bronze.large_csv_merge WHERE id IN (0, 50000, 99999, 150000) ORDER BY id')).toEqual(LAST_OF_EACH_KEY);
    expect(await fx.rat.query('SELECT line::INT AS line, reason, raw FROM bronze.large_csv_merge__rejects')).toEqual([{ line: 250002, reason: 'merge key id is NULL', raw: `,250000,${'x'.repeat(120)}` }]);
  });

  it('loads a Parquet slice of flights-3m', async () => {
    const path = join(fx.dir, 'flights.parquet');
    await fx.rat.duck.run(`COPY (SELECT * FROM read_parquet(${quoteString(join(VEGA, 'flights-3m.parquet'))}) LIMIT 5000) TO ${quoteString(path)} (FORMAT parquet)`);
    const report = await fx.ingestion.ingest(path, 'bronze.flights', { lineage: false });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 5000, format: 'parquet' });
    const columns = (await fx.rat.describeTable('bronze.flights')).schema.fields.map((f) => f.name);
    expect(columns).not.toContain('_source_file');
    const [row] = await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM bronze.flights`);
    expect(row!.n).toBe(5000);
  });

  it('loads Parquet INTERVAL columns as ISO 8601 duration text and TIME WITH TIME ZONE ones as their text', async () => {
    const path = join(fx.dir, 'intervals.parquet');
    await fx.rat.duck.run(`COPY (SELECT * FROM (VALUES
        (1, INTERVAL '1 month', TIMETZ '12:34:56+05'),
        (2, INTERVAL '14 months 3 days 25:01:02.5', TIMETZ '00:00:00.25-03:30'),
        (3, INTERVAL '3 days 00:00:00.001', NULL),
        (4, INTERVAL '30 days', TIMETZ '23:59:59+00'),
        (5, INTERVAL 0 SECONDS, NULL),
        (6, NULL, NULL)) t(id, iv, ttz)) TO ${quoteString(path)} (FORMAT parquet)`);
    const report = await fx.ingestion.ingest(path, 'bronze.parquet_intervals');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 6 });
    expect(await fx.rat.query('SELECT iv, ttz FROM bronze.parquet_intervals ORDER BY id')).toEqual([
      // Parquet keeps such a time in UTC (isAdjustedToUTC): the offset written is gone from the file.
      { iv: 'P1M', ttz: '07:34:56+00' },
      { iv: 'P1Y2M3DT25H1M2.5S', ttz: '03:30:00.25+00' },
      { iv: 'P3DT0.001S', ttz: null },
      { iv: 'P30D', ttz: '23:59:59+00' },
      { iv: 'PT0S', ttz: null },
      { iv: null, ttz: null },
    ]);
  });

  it('cuts Parquet nanosecond timestamps and times of day to microseconds, before 1970 too, and never rounds up', async () => {
    const path = join(fx.dir, 'nanos.parquet');
    await fx.rat.duck.run(`COPY (SELECT * FROM (VALUES
        (1, TIMESTAMP_NS '1969-12-31 23:59:59.999999999', TIME_NS '23:59:59.999999999'),
        (2, TIMESTAMP_NS '1900-01-01 00:00:00.000000500', TIME_NS '00:00:00.000000001'),
        (3, TIMESTAMP_NS '1969-12-31 23:59:59.999999', TIME_NS '12:00:00.123456'),
        (4, TIMESTAMP_NS '2024-01-01 00:00:00.999999999', NULL),
        (5, NULL, NULL)) t(id, ts, tod)) TO ${quoteString(path)} (FORMAT parquet)`);
    const report = await fx.ingestion.ingest(path, 'bronze.parquet_nanos');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 5 });
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.parquet_nanos')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ ts: 'timestamp', tod: 'time' });
    expect(await fx.rat.query('SELECT CAST(ts AS VARCHAR) AS ts, CAST(tod AS VARCHAR) AS tod FROM bronze.parquet_nanos ORDER BY id')).toEqual([
      { ts: '1969-12-31 23:59:59.999999', tod: '23:59:59.999999' },
      { ts: '1900-01-01 00:00:00', tod: '00:00:00' },
      { ts: '1969-12-31 23:59:59.999999', tod: '12:00:00.123456' },
      { ts: '2024-01-01 00:00:00.999999', tod: null },
      { ts: null, tod: null },
    ]);
    // Inside a struct, a list and a map's values the same (a NULL struct stays NULL).
    const nested = join(fx.dir, 'nested-nanos.parquet');
    const late = `TIMESTAMP_NS '1969-12-31 23:59:59.999999999'`;
    await fx.rat.duck.run(
      `COPY (SELECT {'t': ${late}, 'c': TIME_NS '23:59:59.999999999'} AS s, [${late}, NULL] AS l, MAP {'k': ${late}} AS m, NULL::STRUCT(t TIMESTAMP_NS) AS z) TO ${quoteString(nested)} (FORMAT parquet)`,
    );
    expect((await fx.ingestion.ingest(nested, 'bronze.parquet_nested_nanos')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query("SELECT s.t::VARCHAR AS t, s.c::VARCHAR AS c, l[1]::VARCHAR AS l, m['k']::VARCHAR AS m, z FROM bronze.parquet_nested_nanos")).toEqual([
      { t: '1969-12-31 23:59:59.999999', c: '23:59:59.999999', l: '1969-12-31 23:59:59.999999', m: '1969-12-31 23:59:59.999999', z: null },
    ]);
  });

  it('refuses a Parquet file with decimals of more than 38 digits, which DuckDB reads as doubles, naming them; nothing is loaded', async () => {
    const written = join(fx.dir, 'wide-decimals-written.parquet');
    await fx.rat.duck.run(`COPY (SELECT 1 AS id, 1234567890123456789.0123456789::DECIMAL(38, 10) AS d, {'x': 2.5::DECIMAL(38, 10)} AS s) TO ${quoteString(written)} (FORMAT parquet)`);
    // As another writer declares a decimal(50, 10): the footer's precision 38 (zigzag varint 0x4c, after scale 10, 0x14) made 50 (0x64).
    const bytes = await import('node:fs/promises').then((fs) => fs.readFile(written));
    const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    const footer = bytes.subarray(footerStart).toString('latin1');
    expect(footer.split('\x15\x14\x15\x4c').length - 1).toBe(4);
    const path = await fx.file('wide-decimals.parquet', Buffer.concat([bytes.subarray(0, footerStart), Buffer.from(footer.replaceAll('\x15\x14\x15\x4c', '\x15\x14\x15\x64'), 'latin1')]));
    expect(await fx.rat.query(`SELECT typeof(d) AS d, d::VARCHAR AS v FROM read_parquet(${quoteString(path)})`)).toEqual([{ d: 'DOUBLE', v: '1.2345678901234568e+18' }]);
    const report = await fx.ingestion.ingest(path, 'bronze.parquet_wide_decimals');
    expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(report.files[0]!.error).toBe(
      `${path} (column "d"): columns d (DECIMAL(50, 10)), s.x (DECIMAL(50, 10)) are decimals of more than 38 digits, which DuckDB's Parquet reader does not read as the number the file holds (it gives a wrong double, or the bytes); nothing was loaded: write such a column as a decimal of at most 38 digits, or as text`,
    );
    expect(await fx.rat.query(`SELECT status FROM bronze._file_registry WHERE file_path = ${quoteString(path)}`)).toEqual([{ status: 'failed' }]);
  });

  it('names Parquet columns alike but for case, and repeated ones, as every format does: NDJSON then Parquet into one table keep each value in its column', async () => {
    // DuckDB writes repeated names made unique (`name_1`): written under stand-in names of the same length, then renamed in the footer's bytes, as another writer leaves them.
    const written = join(fx.dir, 'case-twins-written.parquet');
    await fx.rat.duck.run(`COPY (SELECT 'upper1' AS "Name", 'lower1' AS "nam1", 1 AS "NAM2", 5 AS "id", 6 AS "ie") TO ${quoteString(written)} (FORMAT parquet)`);
    const bytes = (await import('node:fs/promises').then((fs) => fs.readFile(written))).toString('latin1');
    const renamed = bytes.replaceAll('nam1', 'name').replaceAll('NAM2', 'NAME').replaceAll('\u0002ie', '\u0002id');
    const parquet = await fx.file('case-twins.parquet', Buffer.from(renamed, 'latin1'));
    expect(await fx.rat.query(`SELECT name FROM parquet_schema(${quoteString(parquet)}) WHERE name <> 'duckdb_schema'`)).toEqual([{ name: 'Name' }, { name: 'name' }, { name: 'NAME' }, { name: 'id' }, { name: 'id' }]);
    const ndjson = await fx.file('case-twins.ndjson', '{"Name":"upper0","name":"lower0","NAME":0,"id":3,"ID":4}\n');
    for (const path of [ndjson, parquet]) expect((await fx.ingestion.ingest(path, 'bronze.case_twins')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.case_twins ORDER BY name_3')).toEqual([
      // `name` keeps its name, then `NAME` and `Name` (in the order of their spellings) get _2 and _3, in both files.
      { name: 'lower0', name_2: 0, name_3: 'upper0', id: 3, id_2: 4 },
      { name: 'lower1', name_2: 1, name_3: 'upper1', id: 5, id_2: 6 },
    ]);
  });

  it('keeps a Parquet column named like a repeated one made unique (a, a, a_2): the file\'s a_2 stays a_2, as in a file without the repeat', async () => {
    const written = join(fx.dir, 'repeat-written.parquet');
    await fx.rat.duck.run(`COPY (SELECT 1 AS "a", 'second a' AS "q", 5 AS "a_2") TO ${quoteString(written)} (FORMAT parquet)`);
    const bytes = (await import('node:fs/promises').then((fs) => fs.readFile(written))).toString('latin1');
    // The footer names q as a, as a writer that allows repeated names leaves it (DuckDB's own writer does not).
    const repeated = await fx.file('repeat.parquet', Buffer.from(bytes.replaceAll('\u0001q', '\u0001a'), 'latin1'));
    expect(await fx.rat.query(`SELECT name FROM parquet_schema(${quoteString(repeated)}) WHERE name <> 'duckdb_schema'`)).toEqual([{ name: 'a' }, { name: 'a' }, { name: 'a_2' }]);
    const plain = join(fx.dir, 'plain.parquet');
    await fx.rat.duck.run(`COPY (SELECT 2 AS "a", 6 AS "a_2") TO ${quoteString(plain)} (FORMAT parquet)`);
    for (const path of [repeated, plain]) expect((await fx.ingestion.ingest(path, 'bronze.parquet_repeat')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT a, a_2, a_3 FROM bronze.parquet_repeat ORDER BY a')).toEqual([
      { a: 1, a_2: 5, a_3: 'second a' },
      { a: 2, a_2: 6, a_3: null },
    ]);
  });

  it('refuses every column whose type Iceberg cannot store at once, naming the --type options that load them', async () => {
    const path = join(fx.dir, 'nested-intervals.parquet');
    await fx.rat.duck.run(`COPY (SELECT 1 AS id, {'iv': INTERVAL '1 day'} AS span, [INTERVAL '2 hours'] AS spans) TO ${quoteString(path)} (FORMAT parquet)`);
    const refused = await fx.ingestion.ingest(path, 'bronze.parquet_nested_intervals');
    expect(refused.files[0]).toMatchObject({ status: 'failed' });
    expect(refused.files[0]!.error).toContain('(column "span"): columns span (STRUCT("iv" INTERVAL)), spans (INTERVAL[]) of bronze.parquet_nested_intervals have types Iceberg v2 tables cannot store; load them as text: --type span=VARCHAR --type spans=VARCHAR');
    const loaded = await fx.ingestion.ingest(path, 'bronze.parquet_nested_intervals', { types: { span: 'VARCHAR', spans: 'VARCHAR' } });
    expect(loaded.files[0], loaded.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT span, spans FROM bronze.parquet_nested_intervals')).toEqual([{ span: "{'iv': 1 day}", spans: "['02:00:00']" }]);
  });

  it('loads a file of 1,500 integer columns with each value in its column, and quarantines the one row a fraction makes bad', async () => {
    const n = 1500;
    const header = Array.from({ length: n }, (_, i) => `c${i}`).join(',');
    const row = (r: number) => Array.from({ length: n }, (_, i) => (r === 3 && i === n - 1 ? '1.5' : String(r * 10_000 + i))).join(',');
    expect((await fx.ingestion.ingest(await fx.file('wide.csv', [header, row(1)].join('\n')), 'bronze.wide')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    // Into the table's BIGINT columns every value is read checked: the 1.5 makes its row bad.
    const report = await fx.ingestion.ingest(await fx.file('wide-2.csv', [header, row(2), row(3)].join('\n')), 'bronze.wide');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT c0, c749, c${n - 1} FROM bronze.wide ORDER BY c0`)).toEqual([
      { c0: 10_000, c749: 10_749, [`c${n - 1}`]: 10_000 + n - 1 },
      { c0: 20_000, c749: 20_749, [`c${n - 1}`]: 20_000 + n - 1 },
    ]);
    expect(await fx.rat.query('SELECT line FROM bronze.wide__rejects')).toEqual([{ line: 3 }]);
  });

  it('types a file of 1,500 double columns past its first 64 KiB, the one column whose value a double cannot hold as a decimal', { timeout: 180_000 }, async () => {
    const n = 1500;
    const header = Array.from({ length: n }, (_, i) => `c${i}`).join(',');
    // c1234 has a value a double cannot hold (a decimal), c7 a double's own shortest form (stays a double): judged by DuckDB over the sample, as the file is past 64 KiB.
    const value = (r: number, i: number) => (r === 20 && i === 1234 ? '123456789012345678.25' : r === 20 && i === 7 ? '0.30000000000000004' : `${r}.${i}`);
    const lines = [header, ...Array.from({ length: 20 }, (_, r) => Array.from({ length: n }, (_, i) => value(r + 1, i)).join(','))];
    // One FILTER clause per column took DuckDB time quadratic in the columns (two minutes for these, 5.7 GB of memory); BENCHMARKS.md has the figures.
    const report = await fx.ingestion.ingest(await fx.file('wide-doubles.csv', lines.join('\n')), 'bronze.wide_doubles');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 20, rowsRejected: 0 });
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.wide_doubles')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ c0: 'double', c7: 'double', c1233: 'double', c1234: 'decimal(38, 4)', c1235: 'double', [`c${n - 1}`]: 'double' });
    expect(await fx.rat.query(`SELECT CAST(c1234 AS VARCHAR) AS c1234, c7, c1499 FROM bronze.wide_doubles WHERE c0 = 20.0`)).toEqual([{ c1234: '123456789012345678.2500', c7: 0.30000000000000004, c1499: 20.1499 }]);
  });

  it('refuses a --type for a column neither the file nor the table has, and a type DuckDB does not know, naming the option', async () => {
    const path = await fx.file('typed.csv', 'id,amount\n1,2.5\n');
    const typo = await fx.ingestion.ingest(path, 'bronze.typed', { types: { amuont: 'DECIMAL(12,2)' } });
    expect(typo.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('typed.csv: --type names column "amuont", which neither the file nor bronze.typed has (the file\'s columns: id, amount)') });
    await expect(fx.ingestion.ingest(path, 'bronze.typed', { types: { amount: 'NOTATYPE' } })).rejects.toThrow(
      '--type amount=NOTATYPE: there is no type "NOTATYPE"; use a DuckDB type such as BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP, TIMESTAMPTZ or VARCHAR',
    );
    // One column typed two ways, by its name in the file and its name in the table.
    const twice = await fx.file('typed-twice.csv', 'Order Date,amount\n2024-01-01,1\n');
    expect((await fx.ingestion.ingest(twice, 'bronze.typed_twice', { types: { 'Order Date': 'DATE', order_date: 'VARCHAR' } })).files[0]).toMatchObject({
      status: 'failed',
      error: `${twice}: --type gives column order_date two types, --type Order Date=DATE by its name in the file and --type order_date=VARCHAR: give one`,
    });
    // A type that exists, with parameters it cannot take, is named as such.
    await expect(fx.ingestion.ingest(path, 'bronze.typed', { types: { amount: 'DECIMAL(40,2)' } })).rejects.toThrow(
      '--type amount=DECIMAL(40,2): "DECIMAL(40,2)" is not a valid type: DECIMAL type width must be between 1 and 38; use a DuckDB type such as BIGINT',
    );
    // A column the table has and this file lacks is no typo.
    expect((await fx.ingestion.ingest(path, 'bronze.typed', { types: { amount: 'DECIMAL(12,2)' } })).files[0]!.status).toBe('success');
    const later = await fx.ingestion.ingest(await fx.file('typed-2.csv', 'id\n2\n'), 'bronze.typed', { types: { amount: 'DECIMAL(12,2)' } });
    expect(later.files[0]!.status).toBe('success');
  });

  it('takes explicit types and renames, and overwrites or merges by key', async () => {
    const first = await fx.file('customers-1.csv', 'Customer Id,Name,Balance\n1,Ann,10.50\n2,Bob,20.25\n3,Cy,0\n');
    const created = await fx.ingestion.ingest(first, 'bronze.customers', { types: { balance: 'DECIMAL(12,2)' }, rename: { Name: 'full_name' } });
    expect(created.files[0]!.status).toBe('success');
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.customers')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ customer_id: 'long', full_name: 'string', balance: 'decimal(12, 2)' });
    const second = await fx.file('customers-2.csv', 'Customer Id,Name,Balance\n2,Bob B.,99.99\n4,Dee,1\n4,Dee again,2\n');
    const merged = await fx.ingestion.ingest(second, 'bronze.customers', { mode: 'merge', keys: ['customer_id'], rename: { Name: 'full_name' } });
    expect(merged.files[0]).toMatchObject({ status: 'success' });
    // Of two rows with one key, the later in the file wins, and the earlier is counted.
    expect(merged.files[0]!.supersededRows).toBe(1);
    const rows = await fx.rat.query<{ customer_id: number; full_name: string }>('SELECT customer_id, full_name FROM bronze.customers ORDER BY customer_id');
    expect(rows.map((r) => r.customer_id)).toEqual([1, 2, 3, 4]);
    expect(rows.find((r) => r.customer_id === 2)!.full_name).toBe('Bob B.');
    expect(rows.find((r) => r.customer_id === 4)!.full_name).toBe('Dee again');
    // Many keys, each written first then last, far apart in the file (read by two threads): every key keeps its last row.
    const keys = 20_000;
    const text = ['Customer Id,Name,Balance', ...Array.from({ length: 2 * keys }, (_, i) => `${100 + (i % keys)},${i < keys ? 'first' : 'last'},1`)].join('\n');
    const many = await fx.ingestion.ingest(await fx.file('customers-many.csv', text), 'bronze.customers', { mode: 'merge', keys: ['customer_id'], rename: { Name: 'full_name' } });
    expect(many.files[0]).toMatchObject({ status: 'success', rowsIngested: keys, supersededRows: keys });
    expect(await fx.rat.query(`SELECT full_name, count(*)::INT AS n FROM bronze.customers WHERE customer_id >= 100 GROUP BY ALL`)).toEqual([{ full_name: 'last', n: keys }]);
    await fx.rat.sql('DELETE FROM bronze.customers WHERE customer_id >= 100');
    // A row without its key would match nothing and be added again by every run: it is quarantined.
    const nullKey = await fx.file('customers-null-key.csv', 'Customer Id,Name,Balance\n,Nobody,1\n5,Eve,2\n');
    for (let run = 0; run < 2; run++) {
      const report = await fx.ingestion.ingest(nullKey, 'bronze.customers', { mode: 'merge', keys: ['customer_id'], rename: { Name: 'full_name' } });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    }
    expect(await fx.rat.query(`SELECT line, reason FROM bronze.customers__rejects WHERE file_path LIKE '%null-key.csv'`)).toEqual([
      { line: 2, reason: 'merge key customer_id is NULL' },
      { line: 2, reason: 'merge key customer_id is NULL' },
    ]);
    expect(await fx.rat.query(`SELECT count(*)::INT AS n FROM bronze.customers WHERE full_name IN ('Nobody', 'Eve')`)).toEqual([{ n: 1 }]);
    const overwritten = await fx.ingestion.ingest(second, 'bronze.customers', { mode: 'overwrite', rename: { Name: 'full_name' } });
    expect(overwritten.files[0]!.status).toBe('success');
    const [count] = await fx.rat.query<{ n: number }>('SELECT count(*)::INT AS n FROM bronze.customers');
    expect(count!.n).toBe(3);
    // An overwrite whose every row is bad is refused, not taken as "the table is now empty".
    const snapshots = (await fx.rat.snapshots('bronze.customers')).length;
    const allBad = await fx.ingestion.ingest(await fx.file('customers-bad.csv', 'Customer Id,Name,Balance\n7,Gil,abc\n8,Hal,x\n'), 'bronze.customers', { mode: 'overwrite', rename: { Name: 'full_name' } });
    expect(allBad.files[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/customers-bad\.csv \(line 2\): .*every row of the file, 2, is bad; with --mode overwrite that would empty bronze\.customers, so the file is refused/) });
    expect((await fx.rat.snapshots('bronze.customers')).length).toBe(snapshots);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.customers')).toEqual([{ n: 3 }]);
    // One good row is a table of one row, the bad one quarantined.
    const oneGood = await fx.ingestion.ingest(await fx.file('customers-one.csv', 'Customer Id,Name,Balance\n7,Gil,1.5\n8,Hal,x\n'), 'bronze.customers', { mode: 'overwrite', rename: { Name: 'full_name' } });
    expect(oneGood.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT customer_id FROM bronze.customers')).toEqual([{ customer_id: 7 }]);
  });

  it('refuses --mode overwrite of several files, which would leave only the last file\'s rows, before reading any', async () => {
    await fx.ingestion.ingest(await fx.file('ow-before.csv', 'id,v\n99,before\n'), 'bronze.ow_batch');
    const snapshots = await fx.snapshotCount('bronze.ow_batch');
    const paths = [await fx.file('ow-1.csv', 'id,v\n1,a\n2,b\n'), await fx.file('ow-2.csv', 'id,v\n3,c\n4,d\n')];
    await expect(fx.ingestion.ingest(paths, 'bronze.ow_batch', { mode: 'overwrite' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(`--mode overwrite replaces every row of bronze.ow_batch with the rows of one file, and the batch has 2 files (${paths.join(', ')}): each would replace the rows of the one before, leaving only the last file's; nothing was done`),
    });
    expect(await fx.snapshotCount('bronze.ow_batch')).toBe(snapshots);
    expect(await fx.rat.query('SELECT id, v FROM bronze.ow_batch')).toEqual([{ id: 99, v: 'before' }]);
    expect(await fx.ingestion.registry({ target: 'bronze.ow_batch' })).toHaveLength(1);
    // One file is an overwrite as before.
    expect((await fx.ingestion.ingestBatch(paths[1]!, 'bronze.ow_batch', { mode: 'overwrite' })).files[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query('SELECT id FROM bronze.ow_batch ORDER BY id')).toEqual([{ id: 3 }, { id: 4 }]);
  });

  it('takes the partitioning a table has on every later file and run, and refuses another naming both', async () => {
    const paths = [await fx.file('part-1.csv', 'id,day\n1,2024-01-05\n'), await fx.file('part-2.csv', 'id,day\n2,2024-02-06\n')];
    // The first file creates the table; the second, and the next run, give the partitioning it has.
    const batch = await fx.ingestion.ingest(paths, 'bronze.parted', { partitionBy: ['month(day)', 'bucket(4, id)'] });
    expect(batch.files.map((f) => [f.status, f.error])).toEqual([['success', undefined], ['success', undefined]]);
    const again = await fx.ingestion.ingest(await fx.file('part-3.csv', 'id,day\n3,2024-03-07\n'), 'bronze.parted', { partitionBy: ['month(day)', 'bucket(4,id)'] });
    expect(again.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT id FROM bronze.parted ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const snapshots = await fx.snapshotCount('bronze.parted');
    for (const [table, partitionBy, has] of [
      ['bronze.parted', ['day(day)'], 'partitioned by month(day), bucket(4, id)'],
      ['bronze.parted', ['month(day)'], 'partitioned by month(day), bucket(4, id)'],
      ['bronze.unparted', ['id'], 'not partitioned'],
    ] as const) {
      if (table === 'bronze.unparted') await fx.ingestion.ingest(paths[0]!, table);
      const other = await fx.ingestion.ingest(await fx.file('part-4.csv', 'id,day\n4,2024-04-08\n'), table, { partitionBy: [...partitionBy] });
      expect(other.files[0]).toMatchObject({
        status: 'failed',
        errorCode: 'INVALID_PARTITION',
        error: `${table} exists already, ${has}: --partition-by ${partitionBy.join(', ')} applies only to a table the ingest creates; leave it out to load into ${table} as it is partitioned`,
      });
    }
    expect(await fx.snapshotCount('bronze.parted')).toBe(snapshots);
  });

  it('merges by a key the table spells in capitals (made in SQL), and refuses a key the file would add, naming it', async () => {
    await fx.rat.sql('CREATE TABLE bronze.camel (OrderId BIGINT, Amount DOUBLE)');
    await fx.rat.sql('INSERT INTO bronze.camel VALUES (1, 1.5), (2, 2.5)');
    const merged = await fx.ingestion.ingest(await fx.file('camel.csv', 'OrderId,amount\n1,9.5\n3,3.5\n'), 'bronze.camel', { mode: 'merge', keys: ['OrderId'], rename: { OrderId: 'orderid' }, lineage: false });
    expect(merged.files[0], merged.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query('SELECT OrderId AS id, Amount AS amount FROM bronze.camel ORDER BY id')).toEqual([
      { id: 1, amount: 9.5 },
      { id: 2, amount: 2.5 },
      { id: 3, amount: 3.5 },
    ]);
    // A key the table does not have: the file would add it, and no row of the table could match.
    const snapshots = await fx.snapshotCount('bronze.camel');
    const newKey = await fx.ingestion.ingest(await fx.file('camel-new-key.csv', 'orderid,amount,code\n1,1,a\n'), 'bronze.camel', { mode: 'merge', keys: ['code'], lineage: false });
    expect(newKey.files[0]).toMatchObject({
      status: 'failed',
      errorCode: 'COLUMN_NOT_FOUND',
      error: 'merge key "code" is not a column of bronze.camel (columns: OrderId, Amount): the file brings it as a new column, in which no row of bronze.camel has a value to match; merge by columns bronze.camel has',
    });
    expect(await fx.snapshotCount('bronze.camel')).toBe(snapshots);
    expect((await fx.rat.describeTable('bronze.camel')).schema.fields.map((f) => f.name)).toEqual(['OrderId', 'Amount']);
  });

  it('reads a CSV column given an unsigned --type, quarantining what the type does not hold', async () => {
    const path = await fx.file('unsigned.csv', 'id,amt\n1,1\n2,1.5\n3,-1\n4,300\n5,255\n');
    const report = await fx.ingestion.ingest(path, 'bronze.unsigned', { types: { amt: 'UTINYINT' } });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 3 });
    expect(await fx.rat.query('SELECT id, amt FROM bronze.unsigned ORDER BY id')).toEqual([{ id: 1, amt: 1 }, { id: 5, amt: 255 }]);
    expect(await fx.rat.query('SELECT line, reason FROM bronze.unsigned__rejects ORDER BY line')).toEqual([
      { line: 3, reason: 'column amt: cannot convert 1.5 to UTINYINT' },
      { line: 4, reason: 'column amt: cannot convert -1 to UTINYINT' },
      { line: 5, reason: 'column amt: cannot convert 300 to UTINYINT' },
    ]);
    const big = await fx.ingestion.ingest(await fx.file('unsigned-big.csv', 'amt\n18446744073709551615\n'), 'bronze.unsigned_big', { types: { amt: 'UBIGINT' } });
    expect(big.files[0], big.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await fx.rat.query('SELECT CAST(amt AS VARCHAR) AS amt FROM bronze.unsigned_big')).toEqual([{ amt: '18446744073709551615' }]);
  });

  it('merges the rows of a file whose keys are one value of the key column written two ways (2 and "2.0") as one key: the last wins', async () => {
    await fx.ingestion.ingest(await fx.file('same-key-1.csv', 'id,v\n1,old\n2,old\n'), 'bronze.same_key');
    const path = await fx.file('same-key-2.ndjson', '{"id":2,"v":"first"}\n{"id":"2.0","v":"last"}\n{"id":"x","v":"bad"}\n');
    const merged = await fx.ingestion.ingest(path, 'bronze.same_key', { mode: 'merge', keys: ['id'] });
    expect(merged.files[0], merged.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1, supersededRows: 1 });
    expect(await fx.rat.query('SELECT id, v FROM bronze.same_key ORDER BY id, v')).toEqual([
      { id: 1, v: 'old' },
      { id: 2, v: 'last' },
    ]);
  });
});
