import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestOptions } from './ingest-options.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** JSON and NDJSON values that DuckDB's reader alone would lose, shift or round, and the errors about such files. */
let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

let tables = 0;
/** Ingests `text` as `name` into a fresh table; the table's name, its report and its rows without lineage. */
async function load(name: string, text: string | Uint8Array, options: IngestOptions = {}) {
  const table = `bronze.json_${++tables}`;
  const report = await fx.ingestion.ingest(await fx.file(name, text), table, options);
  const file = report.files[0]!;
  const rows = file.status === 'success' && file.rowsIngested > 0 ? await fx.rat.query(`SELECT * EXCLUDE (_source_file, _ingested_at) FROM ${table} ORDER BY 1`) : [];
  return { table, file, rows };
}

async function fieldTypes(table: string): Promise<Record<string, unknown>> {
  return Object.fromEntries((await fx.rat.describeTable(table)).schema.fields.map((f) => [f.name, f.type]));
}

/** The types of the fields of the struct column `column`. */
async function structFieldTypes(table: string, column: string): Promise<Record<string, unknown>> {
  const struct = (await fx.rat.describeTable(table)).schema.fields.find((f) => f.name === column)!.type as { fields: Array<{ name: string; type: unknown }> };
  return Object.fromEntries(struct.fields.map((f) => [f.name, f.type]));
}

describe('JSON keys DuckDB renames', () => {
  it('keeps keys that differ only in case as columns of their own, in one record or across records, NDJSON and arrays', async () => {
    for (const [name, text] of [
      ['case.ndjson', '{"id":1,"Name":"A"}\n{"id":2,"name":"b"}\n'],
      ['case.json', '[{"id":1,"Name":"A"},{"id":2,"name":"b"}]'],
    ]) {
      const { file, rows } = await load(name!, text!);
      expect(file.status, file.error).toBe('success');
      // `name` keeps its name whichever comes first; `Name` is `name_2`.
      expect(rows, name).toEqual([
        { id: 1, name: null, name_2: 'A' },
        { id: 2, name: 'b', name_2: null },
      ]);
    }
    const both = await load('both.ndjson', '{"id":1,"Name":"a","name":"b","name_1":"c"}\n');
    expect(both.rows).toEqual([{ id: 1, name: 'b', name_2: 'a', name_1: 'c' }]);
    // A later file with the keys the other way round fills the same columns.
    const table = both.table;
    await fx.ingestion.ingest(await fx.file('both-swapped.ndjson', '{"id":2,"name":"B","Name":"A","name_1":"C"}\n'), table);
    expect(await fx.rat.query(`SELECT id::INT AS id, name, name_2, name_1 FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, name: 'b', name_2: 'a', name_1: 'c' },
      { id: 2, name: 'B', name_2: 'A', name_1: 'C' },
    ]);
  });

  it('gives an empty key a column like the other readers (column_<n>)', async () => {
    const { rows } = await load('empty-key.ndjson', '{"":1,"a":2}\n{"":3,"a":4}\n');
    expect(rows).toEqual([
      { column_1: 1, a: 2 },
      { column_1: 3, a: 4 },
    ]);
  });

  it('renames the key --rename names exactly, even when another differs from it only in case', async () => {
    const { rows } = await load('rename.ndjson', '{"id":1,"Name":"A"}\n{"id":2,"name":"b"}\n', { rename: { name: 'name2' } });
    expect(rows).toEqual([
      { id: 1, name: 'A', name2: null },
      { id: 2, name: null, name2: 'b' },
    ]);
  });
});

describe('JSON timestamps with a UTC offset', () => {
  it('load as timestamptz holding the instant, also appended to a timestamptz column', async () => {
    const text = '{"id":1,"tz":"2024-01-02T03:04:05+02:00"}\n{"id":2,"tz":"2024-07-02T03:04:05-05:30"}\n';
    const { table, rows } = await load('tz.ndjson', text);
    expect((await fieldTypes(table)).tz).toBe('timestamptz');
    const instants = async () => (await fx.rat.query<{ t: string }>(`SELECT strftime(tz AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS t FROM ${table} ORDER BY id, t`)).map((r) => r.t);
    expect(rows).toHaveLength(2);
    expect(await instants()).toEqual(['2024-01-02 01:04:05', '2024-07-02 08:34:05']);
    await fx.ingestion.ingest(await fx.file('tz-more.ndjson', '{"id":4,"tz":"2024-01-02T03:04:05+02:00"}\n'), table);
    expect((await instants()).at(-1)).toBe('2024-01-02 01:04:05');
    const utc = await load('tz-z.ndjson', '{"t":"2024-07-02T03:04:05Z"}\n');
    expect((await fieldTypes(utc.table)).t).toBe('timestamptz');
  });

  it('keep offset-less timestamps as timestamp, and a column mixing both as text', async () => {
    const plain = await load('plain.ndjson', '{"t":"2024-01-02T03:04:05"}\n');
    expect((await fieldTypes(plain.table)).t).toBe('timestamp');
    const mixed = await load('mixed-tz.ndjson', '{"t":"2024-01-02T03:04:05"}\n{"t":"2024-01-02T03:04:05+02:00"}\n');
    expect((await fieldTypes(mixed.table)).t).toBe('string');
    expect(mixed.rows.map((r) => r.t)).toEqual(['2024-01-02T03:04:05', '2024-01-02T03:04:05+02:00']);
  });

  it('type ISO date-times DuckDB leaves text (a T with a fraction, fractions of several lengths) as timestamp or timestamptz, cutting past the microsecond', async () => {
    const lines = [
      { id: 1, t: '2024-02-29T10:11:12.123456', z: '2024-01-01T23:30:00Z', n: '2024-01-01T23:30:00.123456789', s: '2024-01-01 23:30:00', o: '2024-01-01T23:30:00+02:00' },
      { id: 2, t: '2024-01-01T23:30:00.123', z: '2024-01-01T23:30:00.5Z', n: null, s: '2024-01-01T23:30:00.5', o: '2024-01-01T23:30:00.25-0530' },
    ];
    const { table, file } = await load('fractions.ndjson', lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    expect(file.status, file.error).toBe('success');
    expect(await fieldTypes(table)).toMatchObject({ t: 'timestamp', z: 'timestamptz', n: 'timestamp', s: 'timestamp', o: 'timestamptz' });
    const utc = (c: string) => `strftime(${c} AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f')`;
    const select = `strftime(t, '%Y-%m-%d %H:%M:%S.%f') AS t, ${utc('z')} AS z, strftime(n, '%H:%M:%S.%f') AS n, strftime(s, '%H:%M:%S.%f') AS s, ${utc('o')} AS o`;
    expect(await fx.rat.query(`SELECT ${select} FROM ${table} ORDER BY id`)).toEqual([
      { t: '2024-02-29 10:11:12.123456', z: '2024-01-01 23:30:00.000000', n: '23:30:00.123456', s: '23:30:00.000000', o: '2024-01-01 21:30:00.000000' },
      { t: '2024-01-01 23:30:00.123000', z: '2024-01-01 23:30:00.500000', n: null, s: '23:30:00.500000', o: '2024-01-02 05:00:00.250000' },
    ]);
  });

  it('keep such a column as text when it mixes offsets with none, holds an impossible date, or other text', async () => {
    const text = [
      '{"id":1,"mixed":"2024-01-02T03:04:05.5","bad":"2024-02-29T10:00:00.5","other":"2024-01-02T03:04:05.5Z"}',
      '{"id":2,"mixed":"2024-01-02T03:04:05+02:00","bad":"2024-02-30T10:00:00","other":"soon"}',
    ].join('\n');
    const { table, rows } = await load('not-all.ndjson', `${text}\n`);
    expect(await fieldTypes(table)).toMatchObject({ mixed: 'string', bad: 'string', other: 'string' });
    expect(rows).toEqual([
      { id: 1, mixed: '2024-01-02T03:04:05.5', bad: '2024-02-29T10:00:00.5', other: '2024-01-02T03:04:05.5Z' },
      { id: 2, mixed: '2024-01-02T03:04:05+02:00', bad: '2024-02-30T10:00:00', other: 'soon' },
    ]);
  });
});

describe('JSON numbers read_json would round', () => {
  it('loads integers beyond BIGINT and UBIGINT, of up to 38 digits, as decimal(38,0) with every digit', async () => {
    for (const value of ['-9223372036854775809', '18446744073709551617', '12345678901234567890123']) {
      const { table, file } = await load(`big${value.length}.ndjson`, `{"id":1,"v":${value}}\n{"id":2,"v":5}\n`);
      expect(file.status, file.error).toBe('success');
      expect((await fieldTypes(table)).v, value).toBe('decimal(38, 0)');
      expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([{ v: value }, { v: '5' }]);
    }
  });

  it('appends such an integer to a decimal(38,0) column exactly', async () => {
    const { table } = await load('wide.ndjson', '{"id":1,"v":18446744073709551616}\n');
    await fx.ingestion.ingest(await fx.file('wide-more.ndjson', '{"id":2,"v":-9223372036854775809}\n'), table);
    expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([{ v: '18446744073709551616' }, { v: '-9223372036854775809' }]);
  });

  it('keeps integers of more than 38 digits, or such integers beside fractions, as text', async () => {
    const long = '1234567890123456789012345678901234567890123';
    const { table, rows } = await load('long.ndjson', `{"id":1,"v":${long}}\n{"id":2,"v":5}\n`);
    expect((await fieldTypes(table)).v).toBe('string');
    expect(rows.map((r) => r.v)).toEqual([long, '5']);
    const mixed = await load('mixed-num.ndjson', '{"id":1,"v":18446744073709551617}\n{"id":2,"v":1.5}\n');
    expect(mixed.rows.map((r) => r.v)).toEqual(['18446744073709551617', '1.5']);
  });

  it('keeps an integer no double holds (beyond 2^53) beside fractions as text; one a double holds stays a double', async () => {
    const mixed = await load('mixed-53.ndjson', '{"id":1,"v":9007199254740993}\n{"id":2,"v":1.5}\n{"id":3,"v":-9223372036854775807}\n');
    expect(mixed.file.status, mixed.file.error).toBe('success');
    expect((await fieldTypes(mixed.table)).v).toBe('string');
    expect(mixed.rows.map((r) => r.v)).toEqual(['9007199254740993', '1.5', '-9223372036854775807']);
    const exact = await load('exact-60.ndjson', '{"id":1,"v":1152921504606846976}\n{"id":2,"v":1.5}\n');
    expect((await fieldTypes(exact.table)).v).toBe('double');
    expect(exact.rows.map((r) => r.v)).toEqual([2 ** 60, 1.5]);
  });

  it('keeps big integers exact in a file with a malformed line', async () => {
    const { table, file } = await load('big-bad.ndjson', '{"id":1,"v":123456789012345678901234567890}\n{"id":2,\n{"id":3,"v":-9223372036854775809}\n');
    expect(file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([{ v: '123456789012345678901234567890' }, { v: '-9223372036854775809' }]);
  });

  it('quarantines an infinite date or timestamp (DuckDB reads "infinity" as one; Iceberg has none), also inside a list', async () => {
    const text = '{"id":1,"d":"2024-01-01","l":["2024-01-02"]}\n{"id":2,"d":"infinity","l":null}\n{"id":3,"d":"2024-01-03","l":["2024-01-04","-infinity"]}\n';
    const { table, file, rows } = await load('inf-date.ndjson', text);
    expect(file).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect((await fieldTypes(table)).d).toBe('date');
    expect(rows.map((r) => r.id)).toEqual([1]);
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line, reason, raw FROM ${table}__rejects ORDER BY line`);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [2, 'column d: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity'],
      [3, 'column l[]: -infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity'],
    ]);
    expect(rejects[0]!.raw).toContain('"infinity"');
  });

  it('quarantines a number beyond a double (1e400) instead of storing Infinity', async () => {
    const { table, file, rows } = await load('inf.ndjson', '{"id":1,"v":1.5}\n{"id":2,"v":1e400}\n{"id":3,"v":-2.5}\n');
    expect(file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect((await fieldTypes(table)).v).toBe('double');
    expect(rows.map((r) => r.v)).toEqual([1.5, -2.5]);
    const rejects = await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM ${table}__rejects`);
    expect(rejects).toEqual([{ line: 2, reason: 'key "v": 1e400 is beyond the range of a double' }]);
  });

  it("loads the tokens Infinity, -Infinity and NaN (Python's json writes a float's so) as the double's own values; 1e400 still goes to the quarantine", async () => {
    const { table, file } = await load('inf-tokens.ndjson', '{"id":1,"v":Infinity}\n{"id":2,"v":-Infinity}\n{"id":3,"v":NaN}\n{"id":4,"v":-1e400}\n{"id":5,"v":0.5}\n');
    expect(file).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT id::INT AS id, CAST(v AS VARCHAR) AS v FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, v: 'inf' },
      { id: 2, v: '-inf' },
      { id: 3, v: 'nan' },
      { id: 5, v: '0.5' },
    ]);
    expect(await fx.rat.query(`SELECT line, reason FROM ${table}__rejects`)).toEqual([{ line: 4, reason: 'key "v": -1e400 is beyond the range of a double' }]);
  });
});

describe('JSON numbers with more digits than a double holds (DuckDB reads every fraction as a double)', () => {
  const long = '1234567890123456789.0123456789';

  it('loads them into a decimal column exactly, the table\'s or --type, NDJSON and arrays, also past the first 64 KiB', async () => {
    const padding = `{"id":0,"v":1.5,"note":"${'x'.repeat(70_000)}"}\n`;
    for (const [name, text, options] of [
      ['dec.ndjson', `{"id":1,"v":${long}}\n{"id":2,"v":1.5}\n`],
      ['dec.json', `[{"id":1,"v":${long}},{"id":2,"v":1.5}]`],
      ['dec-late.ndjson', `${padding}{"id":1,"v":${long}}\n{"id":2,"v":1.5}\n`],
      // gzip: the pass that hashes (and decompresses) the file looks for such numbers too; with skipExisting, an uncompressed file's as well.
      ['dec-late.ndjson.gz', gzipSync(`${padding}{"id":1,"v":${long}}\n{"id":2,"v":1.5}\n`)],
      ['dec-late-skip.ndjson', `${padding}{"id":1,"v":${long}}\n{"id":2,"v":1.5}\n`, { skipExisting: true }],
    ] as Array<[string, string | Uint8Array, IngestOptions?]>) {
      const given = await load(name, text, { types: { v: 'DECIMAL(38,10)' }, ...options });
      expect(given.file.status, given.file.error).toBe('success');
      expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${given.table} WHERE id > 0 ORDER BY id`), name).toEqual([{ v: long }, { v: '1.5000000000' }]);
    }
    const table = 'bronze.json_dec_table';
    await fx.rat.sql(`CREATE TABLE ${table} (id BIGINT, v DECIMAL(38,10), s STRUCT(v DECIMAL(38,10)))`);
    const report = await fx.ingestion.ingest(await fx.file('dec-table.ndjson', `{"id":1,"v":${long},"s":{"v":-${long}}}\n`), table);
    expect(report.files[0]!.status, report.files[0]!.error).toBe('success');
    expect(await fx.rat.query(`SELECT v::VARCHAR AS v, s.v::VARCHAR AS sv FROM ${table}`)).toEqual([{ v: long, sv: `-${long}` }]);
  });

  it('quarantines a fraction past 2^53 going into an integer column instead of rounding it to an integer', async () => {
    const { table, file, rows } = await load('frac-int.ndjson', '{"id":1,"v":123456789012345678.9}\n{"id":2,"v":5}\n', { types: { v: 'BIGINT' } });
    expect(file).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(rows.map((r) => r.id)).toEqual([2]);
    expect(await fx.rat.query(`SELECT line, reason FROM ${table}__rejects`)).toEqual([{ line: 1, reason: 'column v: cannot convert 123456789012345678.9 to BIGINT' }]);
  });

  it('makes a new column holding one text with every digit, and 1e-400 stays 1e-400 instead of 0, also nested', async () => {
    const { table, rows } = await load('new-col.ndjson', `{"id":1,"v":${long},"w":1e-400,"s":{"v":${long}},"l":[0.5,1e-400]}\n{"id":2,"v":1.5,"w":0.5,"s":{"v":2},"l":[]}\n`);
    const types = await fieldTypes(table);
    expect([types.v, types.w]).toEqual(['string', 'string']);
    expect(rows.map((r) => [r.v, r.w])).toEqual([
      [long, '1e-400'],
      ['1.5', '0.5'],
    ]);
    expect(rows[0]!.s).toEqual({ v: long });
    expect(rows[0]!.l).toEqual(['0.5', '1e-400']);
  });

  it('keeps numbers a double gives back as written (0.1, 0.30000000000000004) as doubles', async () => {
    const { table, rows } = await load('doubles.ndjson', '{"id":1,"v":0.30000000000000004}\n{"id":2,"v":0.1}\n{"id":3,"v":1234567890.12345}\n');
    expect((await fieldTypes(table)).v).toBe('double');
    expect(rows.map((r) => r.v)).toEqual([0.30000000000000004, 0.1, 1234567890.12345]);
  });

  it('replays a quarantined row with such a number exactly once the column holds it', async () => {
    const table = 'bronze.json_dec_replay';
    await fx.rat.sql(`CREATE TABLE ${table} (id BIGINT, v DECIMAL(20,10))`);
    const report = await fx.ingestion.ingest(await fx.file('dec-replay.ndjson', `{"id":1,"v":${long}}\n{"id":2,"v":5}\n`), table);
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    await fx.rat.sql(`ALTER TABLE ${table} ALTER COLUMN v TYPE DECIMAL(38,10)`);
    expect(await fx.ingestion.replayRejects(table)).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([{ v: long }, { v: '5.0000000000' }]);
  });

  it('keeps them in a file with a malformed line, which is read line by line', async () => {
    const { table, file } = await load('dec-bad.ndjson', `{"id":1,"v":${long}}\n{"id":2,\n{"id":3,"v":1.5}\n`, { types: { v: 'DECIMAL(38,10)' } });
    expect(file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT v::VARCHAR AS v FROM ${table} ORDER BY id`)).toEqual([{ v: long }, { v: '1.5000000000' }]);
  });
});

describe('JSON values inside objects and arrays', () => {
  it('keeps the instant of timestamps with an offset in nested objects and arrays (timestamptz), and naive ones as timestamp', async () => {
    const text = '{"id":1,"c":{"at":"2024-01-02T03:04:05+02:00","l":["2024-01-02T03:04:05-05:00"],"naive":"2024-01-02T03:04:05","deep":[{"t":"2024-01-02T03:04:05+01:00"}]}}\n{"id":2,"c":null}\n';
    const { table, file } = await load('nested-tz.ndjson', text);
    expect(file.status, file.error).toBe('success');
    expect(await structFieldTypes(table, 'c')).toMatchObject({
      at: 'timestamptz',
      l: { type: 'list', element: 'timestamptz' },
      naive: 'timestamp',
      deep: { type: 'list', element: { type: 'struct', fields: [{ name: 't', type: 'timestamptz' }] } },
    });
    const utc = (v: string) => `strftime(${v} AT TIME ZONE 'UTC', '%H:%M:%S')`;
    expect(await fx.rat.query(`SELECT ${utc('c.at')} AS at, ${utc('c.l[1]')} AS l, strftime(c.naive, '%H:%M:%S') AS naive, ${utc('c.deep[1].t')} AS deep, c IS NULL AS missing FROM ${table} ORDER BY id`)).toEqual([
      { at: '01:04:05', l: '08:04:05', naive: '03:04:05', deep: '02:04:05', missing: false },
      { at: null, l: null, naive: null, deep: null, missing: true },
    ]);
  });

  it('types nested ISO date-times DuckDB leaves text (a T with a fraction, fractions of several lengths) as the same column would at the top level', async () => {
    const text = [
      '{"id":1,"c":{"at":"2024-02-29T10:11:12.123456","l":["2024-01-01T23:30:00Z","2024-01-01T23:30:00.5Z"],"m":{"x":"2024-01-01T23:30:00.123456789+01:00"},"mixed":"2024-01-01T23:30:00.5"}}',
      '{"id":2,"c":{"at":"2024-01-01T23:30:00.123","l":[],"m":{"y":"2024-01-01T23:30:00.5-01:00"},"mixed":"2024-01-01T23:30:00.5Z"}}',
      '{"id":3,"c":null}',
    ].join('\n');
    const { table, file } = await load('nested-fractions.ndjson', `${text}\n`);
    expect(file.status, file.error).toBe('success');
    expect(await structFieldTypes(table, 'c')).toMatchObject({
      at: 'timestamp',
      l: { type: 'list', element: 'timestamptz' },
      mixed: 'string',
    });
    const utc = (v: string) => `strftime(${v} AT TIME ZONE 'UTC', '%H:%M:%S.%f')`;
    expect(await fx.rat.query(`SELECT strftime(c.at, '%Y-%m-%d %H:%M:%S.%f') AS at, ${utc('c.l[2]')} AS l, ${utc("c.m['x']")} AS x, ${utc("c.m['y']")} AS y, c.mixed AS mixed FROM ${table} ORDER BY id`)).toEqual([
      { at: '2024-02-29 10:11:12.123456', l: '23:30:00.500000', x: '22:30:00.123456', y: null, mixed: '2024-01-01T23:30:00.5' },
      { at: '2024-01-01 23:30:00.123000', l: null, x: null, y: '00:30:00.500000', mixed: '2024-01-01T23:30:00.5Z' },
      { at: null, l: null, x: null, y: null, mixed: null },
    ]);
  });

  it('keeps every digit of nested integers a double would round, as the same column would at the top level', async () => {
    const text = '{"id":1,"n":{"big":99999999999999999999,"mixed":9007199254740993,"list":[9007199254740993,1.5]}}\n{"id":2,"n":{"big":1,"mixed":1.5,"list":[2]}}\n{"id":3,"n":null}\n';
    for (const flatten of [false, true]) {
      const { table, file } = await load(`nested-big-${flatten}.ndjson`, text, { flatten });
      expect(file.status, file.error).toBe('success');
      const select = flatten ? 'n_big::VARCHAR AS big, n_mixed AS mixed, n_list AS list' : 'n.big::VARCHAR AS big, n.mixed AS mixed, n.list AS list';
      expect(await fx.rat.query(`SELECT ${select} FROM ${table} ORDER BY id`)).toEqual([
        { big: '99999999999999999999', mixed: '9007199254740993', list: ['9007199254740993', '1.5'] },
        { big: '1', mixed: '1.5', list: ['2'] },
        { big: null, mixed: null, list: null },
      ]);
    }
  });

  it('keeps nested doubles as doubles when a double holds them, and a NULL object NULL', async () => {
    const { table, file } = await load('nested-plain.ndjson', '{"id":1,"n":{"x":1.5,"y":[2.25,1152921504606846976]}}\n{"id":2,"n":null}\n{"id":3,"n":{"x":null,"y":null}}\n');
    expect(file.status, file.error).toBe('success');
    expect(await fx.rat.query(`SELECT n FROM ${table} ORDER BY id`)).toEqual([{ n: { x: 1.5, y: [2.25, 2 ** 60] } }, { n: null }, { n: { x: null, y: null } }]);
  });

  it('quarantines a row with a nested number beyond a double (1e400) or an infinite nested date, naming the field', async () => {
    const text = '{"id":1,"n":{"x":1.5,"d":"2024-01-01"}}\n{"id":2,"n":{"x":1e400,"d":"2024-01-02"}}\n{"id":3,"n":{"x":2.5,"d":"infinity"}}\n{"id":4,"n":{"x":Infinity,"d":null}}\n';
    const { table, file } = await load('nested-inf.ndjson', text);
    expect(file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query(`SELECT id::INT AS id, n.x::VARCHAR AS x FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, x: '1.5' },
      { id: 4, x: 'inf' },
    ]);
    expect(await fx.rat.query(`SELECT line, reason FROM ${table}__rejects ORDER BY line`)).toEqual([
      { line: 2, reason: 'key "n.x": 1e400 is beyond the range of a double' },
      { line: 3, reason: 'column n.d: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity' },
    ]);
  });

  it('reads nested values inside wide objects (maps) with the same checks', async () => {
    // 250 keys: DuckDB's inference reads an object of more than 200 keys as a MAP. k0 is 2^53 + 1, written as text (no JavaScript number holds it).
    const wide = Array.from({ length: 250 }, (_, i) => `"k${i}":${i === 0 ? '9007199254740993' : i + 0.5}`).join(',');
    const { table, file } = await load('nested-map.ndjson', `{"id":1,"m":{${wide}}}\n`);
    expect(file.status, file.error).toBe('success');
    expect(await fx.rat.query(`SELECT m['k0'] AS k0, m['k1'] AS k1 FROM ${table}`)).toEqual([{ k0: '9007199254740993', k1: '1.5' }]);
  });

  it('writes an object or array going into a text field, list element or map value of the table as its JSON, NDJSON and arrays', async () => {
    // The first file makes a.x, l's elements and m's values text (m: an empty object, read as a map).
    const { table } = await load('text-fields.ndjson', '{"id":1,"a":{"x":"t"},"l":["t"],"m":{}}\n');
    const objects = '{"id":2,"a":{"x":{"y":1,"z":"q"}},"l":[{"y":1},"s"],"m":{"k":{"z":"w"},"j":[1,"x"],"s":"plain"}}\n{"id":3,"a":{"x":[1,"b"]},"l":[[1,"c"]]}\n';
    const records = `[${objects.trim().split('\n').join(',').replaceAll('"id":2', '"id":4').replaceAll('"id":3', '"id":5')}]`;
    for (const [name, text] of [['text-fields2.ndjson', objects], ['text-fields3.json', records]]) {
      const report = await fx.ingestion.ingest(await fx.file(name!, text!), table);
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0, schemaChanges: [] });
    }
    expect(await fx.rat.query(`SELECT id, a.x AS x, l, m FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, x: 't', l: ['t'], m: [] },
      ...[2, 4].flatMap((id) => [
        {
          id,
          x: '{"y":1,"z":"q"}',
          l: ['{"y":1}', 's'],
          m: [
            { key: 'k', value: '{"z":"w"}' },
            { key: 'j', value: '[1,"x"]' },
            { key: 's', value: 'plain' },
          ],
        },
        { id: id + 1, x: '[1,"b"]', l: ['[1,"c"]'], m: null },
      ]),
    ]);
  });
});

describe('JSON files read_json cannot read as records', () => {
  it('names the real line of a syntax error in a JSON array, and a truncated array as such', async () => {
    const records = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ a: i, pad: 'x'.repeat(50) })), null, 1);
    const at = records.indexOf('"a": 150');
    const broken = `${records.slice(0, at)}"a": 150,, ${records.slice(at + 9)}`;
    const line = broken.slice(0, at).split('\n').length;
    expect((await load('badbig.json', broken)).file.error).toMatch(new RegExp(`\\(line ${line}, byte \\d+\\): expected a quoted member name, found ","`));
    expect((await load('cut.json', '[{"a":1},{"a":2}')).file.error).toMatch(/ends early inside 1 unclosed array.*truncated/);
  });

  it('reads an object written over several lines as one document: whole, one row; cut off, a failure at the cut', async () => {
    const pretty = '{\n  "a": 1,\n  "b": {\n    "c": 2\n  }\n}\n';
    const whole = await load('pretty.json', pretty);
    expect(whole.file).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0 });
    expect(await fx.rat.query(`SELECT a, b.c AS c FROM ${whole.table}`)).toEqual([{ a: 1, c: 2 }]);
    const cut = await load('pretty-cut.json', pretty.slice(0, 24));
    expect(cut.file).toMatchObject({ status: 'failed', rowsIngested: 0, rowsRejected: 0, errorCode: 'INGEST_FILE_INVALID' });
    expect(cut.file.error).toMatch(/pretty-cut\.json \(line 4, byte 24\): the JSON document ends early inside 2 unclosed object\(s\) \(truncated file\?\)/);
    // Lines that are each a whole object stay newline-delimited.
    expect((await load('lines.json', '{"a":1}\n{"a":2}\n')).file).toMatchObject({ status: 'success', rowsIngested: 2 });
  });

  it('reads pretty-printed objects one after another (jq output) value after value: each a row, and a syntax error named where it is', async () => {
    const sequence = (second: string) => `{\n  "id": 1,\n  "v": "a"\n}\n{\n  "id": 2,\n  "v": ${second}\n}\n{\n  "id": 3,\n  "v": "c"\n}\n`;
    const good = await load('seq.json', sequence('"b"'));
    expect(good.file).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0 });
    expect(good.rows).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }, { id: 3, v: 'c' }]);
    const bad = await load('seq-bad.json', sequence(''));
    expect(bad.file).toMatchObject({ status: 'failed', rowsIngested: 0, errorCode: 'INGEST_FILE_INVALID' });
    expect(bad.file.error).toMatch(/seq-bad\.json \(line 7, byte 45\): a value is missing after "v": \(found "\}"\)$/);
    // A value that is not an object among them goes to the rejects with its record number, as in an array.
    const mixed = await load('seq-mixed.json', `${sequence('null')}5\n`);
    expect(mixed.file).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT line, reason, raw FROM ${mixed.table}__rejects`)).toEqual([{ line: 4, reason: 'record 4 of the document is not a JSON object but a number', raw: '5' }]);
    // Records at a path are in one document: a second one is still refused.
    expect((await load('two-docs.json', '{"data": [{"a": 1}]}\n{"data": [{"a": 2}]}\n', { records: 'data' })).file.error).toMatch(/\(line 2, byte 21\): more than one JSON value at the top level/);
  });

  it('gives no line for an error DuckDB reports without one, and puts its advice in rat terms', async () => {
    const { file } = await load('dup-struct.ndjson', '{"a":{"x":1}}\n{"a":{"x":1}}\n{"a":{"B":1,"b":2}}\n');
    expect(file.error).toMatch(/dup-struct\.ndjson: keys \$\.a\.B and \$\.a\.b differ only in case \(in one object, or in different records\)/);
    expect(file.error).not.toMatch(/line 1|ignore_errors/);
    // In different records, and inside a list of objects, the keys are named by their paths too (no object holds both).
    const apart = await load('case-twins-apart.ndjson', '{"id":1,"l":[{"Q":1}]}\n{"id":2,"l":[{"x":1},{"q":2}]}\n', { flatten: true });
    expect(apart.file).toMatchObject({ status: 'failed', error: expect.stringContaining('case-twins-apart.ndjson: keys $.l[].Q and $.l[].q differ only in case') });
  });

  it('refuses, under --flatten, a key with a dot in its name that a nested key also flattens to, saying what to do; without --flatten both load', async () => {
    for (const [name, text, column] of [
      ['dotted-top.ndjson', '{"id":1,"a.b":1,"a":{"b":2}}\n', 'a.b'],
      ['dotted-inner.ndjson', '{"id":1,"a":{"b.c":1,"b":{"c":2}}}\n', 'a.b.c'],
    ] as const) {
      const { file } = await load(name, text, { flatten: true });
      expect(file).toMatchObject({ status: 'failed', error: expect.stringContaining(`${name} (column 3): two keys become the column "${column}" when flattened`) });
      expect(file.error).toContain('rename that key in the file, or ingest the file without flattening');
      expect(file.error).not.toContain('--no-header');
    }
    expect((await load('dotted-top.ndjson', '{"id":1,"a.b":1,"a":{"b":2}}\n')).rows).toEqual([{ id: 1, a_b: 1, a: { b: 2 } }]);
  });

  it('quarantines NDJSON lines and array elements that are not objects, with their line or position', async () => {
    const lines = await load('non-object.ndjson', '{"a":1}\n[1,2]\n{"a":3}\n');
    expect(lines.file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT line, reason, raw FROM ${lines.table}__rejects`)).toEqual([{ line: 2, reason: 'not a JSON object but array', raw: '[1,2]' }]);
    const array = await load('non-object.json', '[{"a":1}, 5, {"a":2}]');
    expect(array.file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT line, reason, raw FROM ${array.table}__rejects`)).toEqual([{ line: 2, reason: 'record 2 of the document is not a JSON object but a number', raw: '5' }]);
    expect(array.rows).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('quarantines a record that is null, in NDJSON, a JSON array and --records, where read_json would load a row of NULLs', async () => {
    const rejectsOf = (table: string) => fx.rat.query(`SELECT line, reason, raw FROM ${table}__rejects ORDER BY line`);
    const rejectedInRegistry = async (table: string) => (await fx.ingestion.registry({ target: table })).map((e) => e.rowsRejected);
    // Blank lines are skipped; `{}` is a record (a row of NULLs), `null` is not.
    const lines = await load('nulls.ndjson', '{"a":1,"b":"x"}\nnull\n\n  null \n{"a":2,"b":"y"}\n{}\n');
    expect(lines.file).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 2 });
    expect(lines.rows).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { a: null, b: null }]);
    expect(await rejectsOf(lines.table)).toEqual([
      { line: 2, reason: 'not a JSON object but null', raw: 'null' },
      { line: 4, reason: 'not a JSON object but null', raw: '  null ' },
    ]);
    expect(await rejectedInRegistry(lines.table)).toEqual([2]);
    // Read again exactly for a number beyond a double's range first, then record by record.
    const huge = await load('nulls-huge.ndjson', '{"a":1e400}\nnull\n{"a":2}\n');
    expect(huge.file).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await rejectsOf(huge.table)).toMatchObject([{ line: 1, reason: 'key "a": 1e400 is beyond the range of a double' }, { line: 2, raw: 'null' }]);

    const array = await load('nulls.json', '[{"a":1}, null, {"a":2}]');
    expect(array.file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(array.rows).toEqual([{ a: 1 }, { a: 2 }]);
    expect(await rejectsOf(array.table)).toEqual([{ line: 2, reason: 'record 2 of the document is not a JSON object but null', raw: 'null' }]);
    const records = await load('nulls-records.json', '{"data":{"items":[{"a":1}, null, {"a":2}]}}', { records: 'data.items' });
    expect(records.file).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await rejectsOf(records.table)).toEqual([{ line: 2, reason: 'record 2 of records "data.items" is not a JSON object but null', raw: 'null' }]);

    expect((await load('nulls.ndjson', '{"a":1}\nnull\n', { onError: 'fail' })).file.error).toMatch(/nulls\.ndjson \(line 2\): not a JSON object but null \(1 bad row in all/);
    expect((await load('nulls.json', '[{"a":1}, null]', { onError: 'fail' })).file.error).toMatch(/nulls\.json \(line 2\): record 2 of the document is not a JSON object but null/);
  });

  it('makes no columns of a file of null lines: all quarantined, like lines of numbers', async () => {
    for (const [name, text] of [
      ['all-null.ndjson', 'null\n null\n\n'],
      ['all-numbers.ndjson', '5\n6\n'],
    ]) {
      const { table, file } = await load(name!, text!);
      expect(file, name).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
      expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: table.split('.')[1]! }), name).toBe(false);
      expect((await fx.rat.query(`SELECT line FROM ${table}__rejects ORDER BY line`)).map((r) => r.line), name).toEqual([1, 2]);
    }
    const { table } = await load('some.ndjson', '{"a":1}\n');
    const report = await fx.ingestion.ingest(await fx.file('later-nulls.ndjson', 'null\nnull\n'), table);
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
    expect(Object.keys(await fieldTypes(table))).toEqual(['a', '_source_file', '_ingested_at']);
  });

  it('loads records with no fields ({}) as rows of NULLs into a table, as among other records; they cannot create one', async () => {
    const created = await load('empty-objects.ndjson', '{}\n{}\n');
    expect(created.file).toMatchObject({ status: 'failed', errorCode: 'INGEST_FILE_INVALID' });
    expect(created.file.error).toMatch(/empty-objects\.ndjson: its 2 records have no fields \(\{\}\): there are no columns to create bronze\./);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: created.table.split('.')[1]! })).toBe(false);
    const { table } = await load('with-fields.ndjson', '{"a":1}\n{}\n');
    for (const [name, text, rejected] of [
      ['objects.ndjson', '{}\n{}\n', 0],
      ['objects.json', '[{}, {}]', 0],
      ['objects-null.ndjson', '{}\nnull\n{}\n', 1],
    ] as const) {
      const report = await fx.ingestion.ingest(await fx.file(name, text), table);
      expect(report.files[0], name).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: rejected });
    }
    expect(await fx.rat.query(`SELECT count(*)::INTEGER AS n, count(a)::INTEGER AS a FROM ${table}`)).toEqual([{ n: 8, a: 1 }]);
  });

  it('refuses an empty array as a file without records', async () => {
    expect((await load('empty.json', '[]')).file.error).toMatch(/empty\.json: the file holds no JSON records \(an empty array\)/);
  });

  it('loads no rows, and fails nothing, when --records is null or empty there (an API dump\'s last page)', async () => {
    for (const [name, text] of [
      ['page-null.json', '{"results":[{"a":1}],"next":null}'],
      ['page-empty.json', '{"results":[],"next":null}'],
    ]) {
      const { file } = await load(name!, text!, { records: name === 'page-null.json' ? 'next' : 'results' });
      expect(file, name).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 0 });
    }
  });
});

describe('NDJSON rejects name the line in the file', () => {
  const rejectsOf = (table: string) => fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM ${table}__rejects ORDER BY line`);

  it('counts blank lines (also \\r\\n ones, lines of spaces, and at the start) in the lines of rejected values', async () => {
    const plain = await load('gap.ndjson', '{"a":1}\n\n{"a":1e400}\n');
    expect(await rejectsOf(plain.table)).toEqual([{ line: 3, reason: 'key "a": 1e400 is beyond the range of a double' }]);
    const crlf = await load('gap-crlf.ndjson', '\r\n\r\n{"a":1}\r\n  \r\n\t\r\n{"a":1e400}\r\n{"a":2}\r\n\r\n{"a":-1e400}\r\n');
    expect((await rejectsOf(crlf.table)).map((r) => r.line)).toEqual([6, 9]);
  });

  it('counts them in the lines of records that are not objects, read line by line', async () => {
    const { table } = await load('gap-null.ndjson', '\n\n{"a":1}\r\n\r\n   \r\nnull\n{"a":3}\n\n[1]\n');
    expect(await rejectsOf(table)).toEqual([
      { line: 6, reason: 'not a JSON object but null' },
      { line: 9, reason: 'not a JSON object but array' },
    ]);
  });

  it('counts them in the lines of values the table cannot take, and in the --on-error fail message', async () => {
    const { table } = await load('typed.ndjson', '{"a":1}\n');
    const file = await fx.file('gap-typed.ndjson', '\n{"a":2}\n\n  \n{"a":"x"}\n');
    const failed = (await fx.ingestion.ingest(file, table, { onError: 'fail' })).files[0]!;
    expect(failed.error).toMatch(/\(line 5\): column a: cannot convert x to BIGINT/);
    const loaded = (await fx.ingestion.ingest(file, table)).files[0]!;
    expect(loaded.sampleRejects).toEqual([{ line: 5, reason: 'column a: cannot convert x to BIGINT' }]);
    expect(await rejectsOf(table)).toEqual([{ line: 5, reason: 'column a: cannot convert x to BIGINT' }]);
  });

  it('keep the record as the line wrote it, not rebuilt from the typed values, also in a gzip file and one read line by line', async () => {
    const { table } = await load('raw-typed.ndjson', '{"id":1,"a":1}\n');
    const text = '\n{"id":3,"a":"abc"}\r\n{"id":4,  "a":2.50}\n{"id":5,"a":7}';
    const rawsOf = async (file: string) => {
      expect((await fx.ingestion.ingest(file, table)).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
      return fx.rat.query(`SELECT line, raw FROM ${table}__rejects WHERE file_path = '${file}' AND reason LIKE 'column a:%' ORDER BY line`);
    };
    const expected = [
      { line: 2, raw: '{"id":3,"a":"abc"}' },
      { line: 3, raw: '{"id":4,  "a":2.50}' },
    ];
    expect(await rawsOf(await fx.file('raw-typed-2.ndjson', text))).toEqual(expected);
    expect(await rawsOf(await fx.file('raw-typed-3.ndjson.gz', gzipSync(text)))).toEqual(expected);
    // A line that is not JSON makes the file read line by line.
    expect(await rawsOf(await fx.file('raw-typed-4.ndjson', `${text}\n{oops\n`))).toEqual(expected);
  });

  it('names an array element by its position, blank lines or not', async () => {
    const { table } = await load('gap.json', '[{"a":1},\n\n{"a":1e400}]\n');
    expect((await rejectsOf(table)).map((r) => r.line)).toEqual([2]);
  });
});

describe('values appended to a text column', () => {
  it('keep NDJSON strings as written where DuckDB would read them as timestamps, times or dates', async () => {
    const { table } = await load('text-first.ndjson', '{"id":1,"ts":"n/a","t":"n/a","d":"n/a","o":"n/a"}\n');
    const file = await fx.file('text-later.ndjson', '{"id":2,"ts":"2024-05-01T10:00:00.750000+02:00","t":"07:30:00.500","d":"2024-05-01","o":{"x":"2024-05-01T10:00:00Z"}}\n');
    expect((await fx.ingestion.ingest(file, table)).files[0]!.status).toBe('success');
    expect(await fx.rat.query(`SELECT ts, t, d, o FROM ${table} WHERE id = 2`)).toEqual([{ ts: '2024-05-01T10:00:00.750000+02:00', t: '07:30:00.500', d: '2024-05-01', o: '{"x":"2024-05-01T10:00:00Z"}' }]);
  });

  it('keep NDJSON date-times as written into a column --type makes text, in any spelling of it', async () => {
    const text = '{"id":1,"a":"2024-01-01T10:00:00","b":"2024-01-01T10:00:00.50","c":"2024-01-01T10:00:00.50+02:00","d":"2024-01-01T10:00:00.50"}\n';
    const { table, rows } = await load('typed-text.ndjson', text, { types: { a: 'VARCHAR', b: 'TEXT', c: 'STRING' } });
    expect(await fieldTypes(table)).toMatchObject({ a: 'string', b: 'string', c: 'string', d: 'timestamp' });
    expect(rows.map(({ a, b, c }) => ({ a, b, c }))).toEqual([{ a: '2024-01-01T10:00:00', b: '2024-01-01T10:00:00.50', c: '2024-01-01T10:00:00.50+02:00' }]);
  });

  it('keep CSV values as written where the sniffer would read them as timestamps, times, dates or numbers', async () => {
    const table = `bronze.json_${++tables}`;
    await fx.ingestion.ingest(await fx.file('text-first.csv', 'id,ts,t,d,n,z,e\n1,n/a,n/a,n/a,n/a,n/a,n/a\n'), table);
    const file = await fx.file('text-later.csv', 'id,ts,t,d,n,z,e\n2,2024-01-02T03:04:05.000Z,07:30:00.500,2024-1-3,1.50,007,1e3\n');
    expect((await fx.ingestion.ingest(file, table)).files[0]!.status).toBe('success');
    expect(await fx.rat.query(`SELECT ts, t, d, n, z, e FROM ${table} WHERE id = 2`)).toEqual([{ ts: '2024-01-02T03:04:05.000Z', t: '07:30:00.500', d: '2024-1-3', n: '1.50', z: '007', e: '1e3' }]);
  });
});
