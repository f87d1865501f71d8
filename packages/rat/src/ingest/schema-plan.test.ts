import { DECIMAL, DOUBLE, FLOAT, TIMESTAMPTZ, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import type { CustomParser } from './ingest-options.js';
import { lossyCastSql } from './schema-plan.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** Values that the conversion plan casts to the table's types (JSON, custom parsers): quarantined when the cast would change them, never loaded changed. */
let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** The quarantined rows of a table as [line, reason], by line. */
const rejects = async (table: string) => (await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM ${table}__rejects ORDER BY line`)).map((r) => [r.line, r.reason]);
const amounts = async (table: string) => (await fx.rat.query<{ id: number; amt: string }>(`SELECT id, CAST(amt AS VARCHAR) AS amt FROM ${table} ORDER BY id`)).map((r) => [r.id, r.amt]);
const ndjson = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

describe('lossyCastSql', () => {
  const lossy = async (value: string, type: DuckDBType, sqlType: string) => {
    const sql = lossyCastSql('v', type, sqlType);
    if (sql === undefined) return undefined;
    const [row] = await fx.rat.query<{ lossy: boolean }>(`SELECT ${sql} AS lossy FROM (SELECT CAST(${value} AS ${type.toString()}) AS v)`);
    return row!.lossy;
  };

  it('finds a number or text that a decimal would round, by the type it has, and nothing else', async () => {
    expect(await lossy(`'1.005'`, VARCHAR, 'DECIMAL(12,2)')).toBe(true);
    expect(await lossy(`'-1.005'`, VARCHAR, 'DECIMAL(12,2)')).toBe(true);
    expect(await lossy(`'1.5e-3'`, VARCHAR, 'DECIMAL(12,2)')).toBe(true);
    expect(await lossy(`'19.900'`, VARCHAR, 'DECIMAL(12,2)')).toBe(false);
    expect(await lossy(`'1.5e1'`, VARCHAR, 'DECIMAL(12,2)')).toBe(false);
    expect(await lossy('12.345', DOUBLE, 'DECIMAL(12, 2)')).toBe(true);
    expect(await lossy('19.99', DOUBLE, 'DECIMAL(12, 2)')).toBe(false);
    // A double's arithmetic noise is not a digit: 0.1 + 0.2 (0.30000000000000004) and 0.7 + 0.1 (0.7999999999999999) are the decimals they were computed from.
    expect(await lossy('0.1::DOUBLE + 0.2::DOUBLE', DOUBLE, 'DECIMAL(12, 2)')).toBe(false);
    expect(await lossy('0.7::DOUBLE + 0.1::DOUBLE', DOUBLE, 'DECIMAL(12, 2)')).toBe(false);
    expect(await lossy('-1234567.005', DOUBLE, 'DECIMAL(18, 2)')).toBe(true);
    // A float's 19.9 is not a double's: compared as a float, it comes back unchanged.
    expect(await lossy('19.9', FLOAT, 'DECIMAL(12, 2)')).toBe(false);
    expect(await lossy('12.345', DECIMAL(18, 3), 'DECIMAL(12, 2)')).toBe(true);
    expect(await lossy('12.340', DECIMAL(18, 3), 'DECIMAL(12, 2)')).toBe(false);
    // A decimal of the target's scale or less cannot lose digits: no check, no cost.
    expect(lossyCastSql('v', DECIMAL(38, 2), 'DECIMAL(12, 2)')).toBeUndefined();
  });

  it('finds a fraction an integer would round away past 2^53, where a double no longer tells the two apart', async () => {
    expect(await lossy(`'9007199254740993.5'`, VARCHAR, 'BIGINT')).toBe(true);
    expect(await lossy(`' 9007199254740993.25 '`, VARCHAR, 'BIGINT')).toBe(true);
    expect(await lossy('123456789012345678.9', DECIMAL(38, 9), 'BIGINT')).toBe(true);
    expect(await lossy('-12345678901234567.5', DECIMAL(18, 1), 'BIGINT')).toBe(true);
    expect(await lossy('2.5', DECIMAL(18, 1), 'INTEGER')).toBe(true);
    expect(await lossy(`'9007199254740993'`, VARCHAR, 'BIGINT')).toBe(false);
    expect(await lossy(`'9007199254740993.000'`, VARCHAR, 'BIGINT')).toBe(false);
    expect(await lossy(`'1.5e3'`, VARCHAR, 'BIGINT')).toBe(false);
    expect(await lossy('123456789012345678.000', DECIMAL(38, 3), 'BIGINT')).toBe(false);
  });

  it('finds digits a float would round away, but not a number the float holds as written', async () => {
    expect(await lossy('1.123456789012', DOUBLE, 'FLOAT')).toBe(true);
    expect(await lossy('16777217', DOUBLE, 'FLOAT')).toBe(true);
    expect(await lossy(`'1.123456789012'`, VARCHAR, 'FLOAT')).toBe(true);
    expect(await lossy('1.123456789012', DECIMAL(18, 12), 'FLOAT')).toBe(true);
    expect(await lossy('0.1', DOUBLE, 'FLOAT')).toBe(false);
    expect(await lossy('1.5', DOUBLE, 'FLOAT')).toBe(false);
    expect(await lossy(`'nan'`, DOUBLE, 'FLOAT')).toBe(false);
    expect(await lossy(`'-inf'`, DOUBLE, 'FLOAT')).toBe(false);
  });

  it('finds a UTC offset that a timestamp without a zone would drop or convert', async () => {
    expect(await lossy(`'2024-01-02T10:00:00+05:00'`, VARCHAR, 'TIMESTAMP')).toBe(true);
    expect(await lossy(`'2024-01-02 10:00:00Z'`, VARCHAR, 'TIMESTAMP')).toBe(true);
    expect(await lossy(`'2024-01-02 10:00:00.5-0130'`, VARCHAR, 'TIMESTAMP')).toBe(true);
    expect(await lossy(`'2024-01-02 10:00:00'`, VARCHAR, 'TIMESTAMP')).toBe(false);
    expect(await lossy(`'2024-01-02T10:00:00+05:00'`, TIMESTAMPTZ, 'TIMESTAMP')).toBe(true);
    expect(lossyCastSql('v', TIMESTAMPTZ, 'TIMESTAMPTZ')).toBeUndefined();
  });
});

describe('JSON decimals', () => {
  it('quarantines a number or a string with more fraction digits than the column has, or too many whole digits; exact values load', async () => {
    await fx.rat.sql('CREATE TABLE bronze.pay (id BIGINT, amt DECIMAL(12,2))');
    const numbers = await fx.file(
      'pay.ndjson',
      '{"id":1,"amt":19.99}\n{"id":2,"amt":19.9}\n{"id":3,"amt":20}\n{"id":4,"amt":-3.5}\n{"id":5,"amt":12.345}\n{"id":6,"amt":-1.005}\n{"id":7,"amt":123456789012.5}\n{"id":8,"amt":19.999}\n',
    );
    expect((await fx.ingestion.ingest(numbers, 'bronze.pay')).files[0]).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 4 });
    const strings = await fx.file('pay-text.ndjson', ndjson([{ id: 11, amt: '19.999' }, { id: 12, amt: '19.90' }, { id: 13, amt: '-0.001' }, { id: 14, amt: '7' }, { id: 15, amt: '-42.10' }]));
    expect((await fx.ingestion.ingest(strings, 'bronze.pay')).files[0]).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 2 });
    expect(await amounts('bronze.pay')).toEqual([
      [1, '19.99'],
      [2, '19.90'],
      [3, '20.00'],
      [4, '-3.50'],
      [12, '19.90'],
      [14, '7.00'],
      [15, '-42.10'],
    ]);
    expect(await rejects('bronze.pay')).toEqual([
      [1, 'column amt: cannot convert 19.999 to DECIMAL(12,2)'],
      [3, 'column amt: cannot convert -0.001 to DECIMAL(12,2)'],
      [5, 'column amt: cannot convert 12.345 to DECIMAL(12,2)'],
      [6, 'column amt: cannot convert -1.005 to DECIMAL(12,2)'],
      [7, 'column amt: cannot convert 123456789012.5 to DECIMAL(12,2)'],
      [8, 'column amt: cannot convert 19.999 to DECIMAL(12,2)'],
    ]);
  });

  it('does the same for --type DECIMAL(12,2), and with --on-error fail refuses the file naming its line, column and value', async () => {
    const path = await fx.file('typed.ndjson', '{"id":1,"amt":12.345}\n{"id":2,"amt":"1.005"}\n{"id":3,"amt":19.99}\n');
    const strict = await fx.ingestion.ingest(path, 'bronze.pay_strict', { types: { amt: 'DECIMAL(12,2)' }, onError: 'fail' });
    expect(strict.files[0]!.status).toBe('failed');
    expect(strict.files[0]!.error).toMatch(/typed\.ndjson.*line 1.*column amt: cannot convert 12\.345 to DECIMAL\(12,2\)/);
    expect(await fx.snapshotCount('bronze.pay_strict')).toBe(0);
    const report = await fx.ingestion.ingest(path, 'bronze.pay_typed', { types: { amt: 'DECIMAL(12,2)' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await amounts('bronze.pay_typed')).toEqual([[3, '19.99']]);
    expect(await rejects('bronze.pay_typed')).toEqual([
      [1, 'column amt: cannot convert 12.345 to DECIMAL(12,2)'],
      [2, 'column amt: cannot convert 1.005 to DECIMAL(12,2)'],
    ]);
  });

  it('quarantines a decimal inside a struct or a list that its cast would round, and a fraction inside one that an integer would', async () => {
    await fx.rat.sql('CREATE TABLE bronze.nest (id BIGINT, s STRUCT(amt DECIMAL(12,2), qty BIGINT), l DECIMAL(12,2)[])');
    const path = await fx.file(
      'nest.ndjson',
      ndjson([
        { id: 1, s: { amt: 19.9, qty: 2 }, l: [1.5, -2] },
        { id: 2, s: { amt: 12.345, qty: 2 }, l: [] },
        { id: 3, s: { amt: 1, qty: 2 }, l: [1.5, -0.001] },
        { id: 4, s: { amt: 1, qty: 2.5 }, l: null },
        { id: 5, s: { amt: 123456789012.5, qty: 1 }, l: [1] },
      ]),
    );
    expect((await fx.ingestion.ingest(path, 'bronze.nest')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 4 });
    expect(await fx.rat.query(`SELECT id, CAST(s.amt AS VARCHAR) AS amt, s.qty AS qty, CAST(l AS VARCHAR) AS l FROM bronze.nest`)).toEqual([{ id: 1, amt: '19.90', qty: 2, l: '[1.50, -2.00]' }]);
    expect((await rejects('bronze.nest')).map(([line, reason]) => [line, String(reason).replace(/ to .*/, '')])).toEqual([
      [2, "column s: cannot convert {'amt': 12.345, 'qty': 2.0}"],
      [3, 'column l: cannot convert [1.5, -0.001]'],
      [4, "column s: cannot convert {'amt': 1.0, 'qty': 2.5}"],
      [5, "column s: cannot convert {'amt': 123456789012.5, 'qty': 1.0}"],
    ]);
  });
});

describe('Numbers a column type would round', () => {
  it('quarantines a fraction past 2^53 into an integer column, read as a decimal or as text, and a merge key so written', async () => {
    await fx.ingestion.ingest(await fx.file('big-int1.csv', 'id,v\n1,5\n'), 'bronze.big_int');
    const decimal = await fx.ingestion.ingest(await fx.file('big-int2.csv', 'id,v\n2,123456789012345678.9\n3,12345678901234567.5\n4,9007199254740993\n'), 'bronze.big_int');
    expect(decimal.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    // `abc` makes the column text: the values are converted from their text.
    const text = await fx.ingestion.ingest(await fx.file('big-int3.csv', 'id,v\n5,9007199254740993.5\n6,abc\n7,9007199254740995\n'), 'bronze.big_int');
    expect(text.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, CAST(v AS VARCHAR) AS v FROM bronze.big_int ORDER BY id')).toEqual([
      { id: 1, v: '5' },
      { id: 4, v: '9007199254740993' },
      { id: 7, v: '9007199254740995' },
    ]);
    expect((await fx.rat.query<{ line: number; reason: string }>('SELECT line, reason FROM bronze.big_int__rejects ORDER BY line, reason')).map((r) => [r.line, r.reason])).toEqual([
      [2, 'column v: cannot convert 123456789012345678.9 to BIGINT'],
      [2, 'column v: cannot convert 9007199254740993.5 to BIGINT'],
      [3, 'column v: cannot convert 12345678901234567.5 to BIGINT'],
      [3, 'column v: cannot convert abc to BIGINT'],
    ]);
    // As a merge key, the rounded number (9007199254740995) would replace the row of another key.
    const merged = await fx.ingestion.ingest(await fx.file('big-int4.csv', 'id,v\n8,9007199254740995.4\n'), 'bronze.big_int', { mode: 'merge', keys: ['v'] });
    expect(merged.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id FROM bronze.big_int WHERE v = 9007199254740995')).toEqual([{ id: 7 }]);
  });

  it('quarantines a number a float column would round, where the column is not widened (--schema-drift ignore): inside a struct and at the top', async () => {
    await fx.rat.sql('CREATE TABLE bronze.floats (id INTEGER, f FLOAT, s STRUCT(f FLOAT), _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    // A float holds 0.1 as a double does: it loads; 1.123456789012 would become 1.1234568.
    const nested = await fx.ingestion.ingest(await fx.file('floats.ndjson', ndjson([{ id: 1, f: 1.5, s: { f: 1.123456789012 } }, { id: 2, f: 0.5, s: { f: 0.1 } }])), 'bronze.floats', { schemaDrift: 'ignore' });
    expect(nested.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1, schemaChanges: [] });
    const ignored = await fx.ingestion.ingest(await fx.file('floats.csv', 'id,f\n3,1.123456789012\n4,2.5\n'), 'bronze.floats', { schemaDrift: 'ignore' });
    expect(ignored.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1, schemaChanges: [] });
    expect(await fx.rat.query('SELECT id, CAST(f AS VARCHAR) AS f, CAST(s.f AS VARCHAR) AS sf FROM bronze.floats ORDER BY id')).toEqual([
      { id: 2, f: '0.5', sf: '0.1' },
      { id: 4, f: '2.5', sf: null },
    ]);
    expect((await rejects('bronze.floats')).map(([line, reason]) => [line, String(reason).replace(/ to .*/, '')])).toEqual([
      [1, "column s: cannot convert {'f': 1.123456789012}"],
      [2, 'column f: cannot convert 1.123456789012'],
    ]);
    expect((await fx.rat.describeTable('bronze.floats')).schema.fields.find((f) => f.name === 'f')!.type).toBe('float');
  });

  it('widens a decimal column for a Parquet decimal of another scale or an integer that needs more digits; strict refuses, ignore quarantines', async () => {
    await fx.rat.sql('CREATE TABLE bronze.pay_wide (id BIGINT, amt DECIMAL(10,2))');
    const parquet = async (name: string, select: string) => {
      const path = join(fx.dir, name);
      await fx.rat.sql(`COPY (${select}) TO ${quoteString(path)} (FORMAT parquet)`);
      return path;
    };
    const wide = await parquet('wide.parquet', 'SELECT 1::BIGINT AS id, 123456789.5::DECIMAL(12,1) AS amt UNION ALL SELECT 2, 1.5');
    const whole = await parquet('whole.parquet', 'SELECT 3::BIGINT AS id, 12345678901::BIGINT AS amt');
    const strict = await fx.ingestion.ingest(wide, 'bronze.pay_wide', { schemaDrift: 'strict' });
    expect(strict.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('1 values need decimal(38, 2), wider than bronze.pay_wide.amt (decimal(10, 2))') });
    const ignored = await fx.ingestion.ingest(whole, 'bronze.pay_wide', { schemaDrift: 'ignore' });
    expect(ignored.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1, schemaChanges: [] });
    for (const path of [wide, whole]) {
      const report = await fx.ingestion.ingest(path, 'bronze.pay_wide');
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsRejected: 0 });
    }
    expect((await fx.rat.describeTable('bronze.pay_wide')).schema.fields.find((f) => f.name === 'amt')!.type).toBe('decimal(38, 2)');
    expect(await amounts('bronze.pay_wide')).toEqual([
      [1, '123456789.50'],
      [2, '1.50'],
      [3, '12345678901.00'],
    ]);
  });
});

describe('JSON timestamps with a UTC offset into a column without a zone', () => {
  it('are quarantined, not converted to UTC; into a timestamptz column, or a new one, they keep their instant', async () => {
    // One format with an offset: read_json reads the column as timestamptz. Z beside +05:00 is text to it.
    const path = await fx.file('ts.ndjson', '{"id":1,"ts":"2024-01-02T10:00:00+05:00"}\n{"id":2,"ts":"2024-01-02T10:00:00-01:30"}\n');
    const mixed = await fx.file('ts-mixed.ndjson', '{"id":3,"ts":"2024-01-02T10:00:00Z"}\n{"id":4,"ts":"2024-01-02T10:00:00+05:00"}\n{"id":5,"ts":"2024-01-02T10:00:00"}\n{"id":6,"ts":"2024-01-02 10:00:00 America/New_York"}\n');
    await fx.rat.sql('CREATE TABLE bronze.naive (id BIGINT, ts TIMESTAMP)');
    expect((await fx.ingestion.ingest(path, 'bronze.naive')).files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
    expect((await fx.ingestion.ingest(mixed, 'bronze.naive')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 3 });
    expect(await fx.rat.query(`SELECT id, CAST(ts AS VARCHAR) AS ts FROM bronze.naive`)).toEqual([{ id: 5, ts: '2024-01-02 10:00:00' }]);
    expect(await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM bronze.naive__rejects ORDER BY file_path, line`)).toEqual([
      { line: 1, reason: 'column ts: 2024-01-02T10:00:00Z has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)' },
      { line: 2, reason: 'column ts: 2024-01-02T10:00:00+05:00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)' },
      // A zone by name, too.
      { line: 4, reason: 'column ts: 2024-01-02 10:00:00 America/New_York has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)' },
      // As read_json gives the instant: in UTC.
      { line: 1, reason: 'column ts: 2024-01-02 05:00:00+00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)' },
      { line: 2, reason: 'column ts: 2024-01-02 11:30:00+00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)' },
    ]);
    const utc = `SELECT id, strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') AS t FROM`;
    await fx.rat.sql('CREATE TABLE bronze.zoned (id BIGINT, ts TIMESTAMPTZ)');
    expect((await fx.ingestion.ingest(path, 'bronze.zoned')).files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect(await fx.rat.query(`${utc} bronze.zoned ORDER BY id`)).toEqual([
      { id: 1, t: '2024-01-02 05:00:00' },
      { id: 2, t: '2024-01-02 11:30:00' },
    ]);
    expect((await fx.ingestion.ingest(path, 'bronze.fresh')).files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 0 });
    expect((await fx.rat.describeTable('bronze.fresh')).schema.fields.find((f) => f.name === 'ts')?.type).toBe('timestamptz');
    expect(await fx.rat.query(`${utc} bronze.fresh ORDER BY id`)).toEqual([
      { id: 1, t: '2024-01-02 05:00:00' },
      { id: 2, t: '2024-01-02 11:30:00' },
    ]);
  });
});

describe('custom parser values', () => {
  const parser: CustomParser = function* () {
    yield { id: 1, amt: '12.345', ts: '2024-01-02T10:00:00+05:00' };
    yield { id: 2, amt: '12.34', ts: '2024-01-02T10:00:00' };
    yield { id: 3, amt: 12.345, ts: '2024-01-02 11:00:00Z' };
    yield { id: 4, amt: -7.5, ts: '2024-01-02 12:00:00' };
  };

  it('quarantines a decimal the column would round and a timestamp whose offset a TIMESTAMP would drop, by row', async () => {
    const path = await fx.file('rows.txt', 'x\n');
    const report = await fx.ingestion.ingest(path, 'bronze.parsed', { parser, types: { amt: 'DECIMAL(12,2)', ts: 'TIMESTAMP' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2 });
    expect(await fx.rat.query(`SELECT id, CAST(amt AS VARCHAR) AS amt, CAST(ts AS VARCHAR) AS ts FROM bronze.parsed ORDER BY id`)).toEqual([
      { id: 2, amt: '12.34', ts: '2024-01-02 10:00:00' },
      { id: 4, amt: '-7.50', ts: '2024-01-02 12:00:00' },
    ]);
    expect(await rejects('bronze.parsed')).toEqual([
      [1, 'column amt: cannot convert 12.345 to DECIMAL(12,2); column ts: 2024-01-02T10:00:00+05:00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)'],
      [3, 'column amt: cannot convert 12.345 to DECIMAL(12,2); column ts: 2024-01-02 11:00:00Z has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)'],
    ]);
    const strict = await fx.ingestion.ingest(await fx.file('rows2.txt', 'y\n'), 'bronze.parsed_strict', { parser, types: { amt: 'DECIMAL(12,2)', ts: 'TIMESTAMP' }, onError: 'fail' });
    expect(strict.files[0]!.status).toBe('failed');
    expect(strict.files[0]!.error).toMatch(/rows2\.txt.*\b1\b.*column amt: cannot convert 12\.345 to DECIMAL\(12,2\)/);
  });

  it('quarantines a decimal inside an object or array the parser yields, cast to a struct or list', async () => {
    const nested: CustomParser = function* () {
      yield { id: 1, s: { amt: 19.9 }, l: ['1.5', 2] };
      yield { id: 2, s: { amt: '12.345' }, l: [] };
      yield { id: 3, s: { amt: 1 }, l: [0.5, 1.005] };
    };
    const report = await fx.ingestion.ingest(await fx.file('nested.txt', 'z\n'), 'bronze.parsed_nested', { parser: nested, types: { s: 'STRUCT(amt DECIMAL(12,2))', l: 'DECIMAL(12,2)[]' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query(`SELECT id, CAST(s.amt AS VARCHAR) AS amt, CAST(l AS VARCHAR) AS l FROM bronze.parsed_nested`)).toEqual([{ id: 1, amt: '19.90', l: '[1.50, 2.00]' }]);
    expect((await rejects('bronze.parsed_nested')).map(([line, reason]) => [line, String(reason).replace(/ to .*/, '')])).toEqual([
      [2, 'column s: cannot convert {"amt":"12.345"}'],
      [3, 'column l: cannot convert [0.5,1.005]'],
    ]);
  });
});

describe('typed values of other readers', () => {
  it('quarantines a Parquet decimal of a larger scale, one inside a map, and an instant, that the table\'s columns would change', async () => {
    const path = join(fx.dir, 'typed.parquet');
    await fx.rat.duck.run(`COPY (SELECT * FROM (VALUES
        (1, 12.340::DECIMAL(18,3), MAP {'a': 1.500::DECIMAL(18,3)}, TIMESTAMPTZ '2024-01-02 10:00:00+00'),
        (2, 12.345::DECIMAL(18,3), MAP {'a': 1.000::DECIMAL(18,3)}, NULL),
        (3, 1.000::DECIMAL(18,3), MAP {'a': 1.001::DECIMAL(18,3)}, NULL),
        (4, -2.500::DECIMAL(18,3), NULL, NULL)) v(id, amt, m, ts)) TO ${quoteString(path)} (FORMAT parquet)`);
    await fx.rat.sql('CREATE TABLE bronze.typed_pq (id BIGINT, amt DECIMAL(12,2), m MAP(VARCHAR, DECIMAL(12,2)), ts TIMESTAMP)');
    expect((await fx.ingestion.ingest(path, 'bronze.typed_pq')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 3 });
    expect(await amounts('bronze.typed_pq')).toEqual([[4, '-2.50']]);
    expect((await fx.rat.query<{ reason: string }>(`SELECT reason FROM bronze.typed_pq__rejects ORDER BY reason`)).map((r) => r.reason.replace(/ to .*/, ''))).toEqual([
      'column amt: cannot convert 12.345',
      'column m: cannot convert {a=1.001}',
      'column ts: 2024-01-02 10:00:00+00 has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)',
    ]);
  });
});
