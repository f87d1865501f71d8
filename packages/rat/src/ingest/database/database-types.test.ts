import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type IngestFixture, openIngestFixture } from '../test-support/ingest-fixture.js';
import { ingestDatabase } from './ingest-database.js';
import { openMariadbSource, openPostgresSource, openSqliteSource, type TestSourceDatabase } from './test-support/source-databases.js';

let fx: IngestFixture;
let source: TestSourceDatabase | undefined;
beforeEach(async () => {
  fx = await openIngestFixture();
});
afterEach(async () => {
  await source?.close();
  source = undefined;
  await fx.close();
});

/** Each column's DuckDB type and exact value (as text) in bronze.everything, by id. */
async function loaded(columns: string[]): Promise<{ types: Record<string, string>; values: Record<string, unknown>[] }> {
  const typeRow = (await fx.rat.query(`SELECT ${columns.map((c) => `typeof(${c}) AS ${c}`).join(', ')} FROM bronze.everything LIMIT 1`))[0] as Record<string, string>;
  const values = (await fx.rat.query(`SELECT ${columns.map((c) => `${c}::VARCHAR AS ${c}`).join(', ')} FROM bronze.everything ORDER BY id`)) as Record<string, unknown>[];
  return { types: typeRow, values };
}

const UNICODE = 'héllo wörld — 🍝 ナポリタン';

describe('database source column types', () => {
  it('PostgreSQL: keeps exact values and maps each type (big ints past 2^53, numeric, timestamps, json, bytea, uuid, arrays, NULLs)', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE everything (
      id bigint PRIMARY KEY, small smallint, num integer, big bigint, amount numeric(20,4), loose numeric, ratio real, score double precision,
      flag boolean, name text, code varchar(10), letter char(3), born date, at_time time, created timestamp, seen timestamptz,
      doc jsonb, raw bytea, uid uuid, tags text[], counts int[], span interval)`);
    await source.exec(`INSERT INTO everything VALUES
      (1, -32768, 2147483647, 9007199254740993, 1234567890123456.7891, 3.14159265358979323846264338, 1.5, 0.1,
       true, '${UNICODE}', 'abc', 'xy', '2024-02-29', '13:14:15.5', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02',
       '{"a": [1, 2], "b": "ü"}', '\\xdeadbeef', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x,"y z"}', '{1,2,3}', '1 day 02:03:04'),
      (2, ${Array.from({ length: 21 }, () => 'NULL').join(', ')}),
      (3, 0, 0, -9223372036854775808, -0.0001, 0, -0.25, 1e300, false, '', '', '', '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '[]', '\\x', '00000000-0000-0000-0000-000000000000', '{}', '{}', '0')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'public.everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 3, 0]);
    expect(report.file).toBe(`${source.url}#public.everything`);
    const columns = ['id', 'small', 'num', 'big', 'amount', 'loose', 'ratio', 'score', 'flag', 'name', 'code', 'letter', 'born', 'at_time', 'created', 'seen', 'doc', 'raw', 'uid', 'tags', 'counts', 'span'];
    const { types, values } = await loaded(columns);
    expect(types).toEqual({
      id: 'BIGINT', small: 'INTEGER', num: 'INTEGER', big: 'BIGINT', amount: 'DECIMAL(20,4)', loose: 'VARCHAR', ratio: 'FLOAT', score: 'DOUBLE',
      flag: 'BOOLEAN', name: 'VARCHAR', code: 'VARCHAR', letter: 'VARCHAR', born: 'DATE', at_time: 'TIME', created: 'TIMESTAMP', seen: 'TIMESTAMP WITH TIME ZONE',
      doc: 'VARCHAR', raw: 'VARCHAR', uid: 'UUID', tags: 'VARCHAR[]', counts: 'INTEGER[]', span: 'VARCHAR',
    });
    expect(values[0]).toMatchObject({
      id: '1', small: '-32768', num: '2147483647', big: '9007199254740993', amount: '1234567890123456.7891', loose: '3.14159265358979323846264338', ratio: '1.5', score: '0.1',
      flag: 'true', name: UNICODE, code: 'abc', letter: 'xy ', born: '2024-02-29', at_time: '13:14:15.5', created: '2024-01-02 03:04:05.123456',
      doc: '{"a": [1, 2], "b": "ü"}', raw: 'deadbeef', uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', tags: '[x, y z]', counts: '[1, 2, 3]', span: '1 day 02:03:04',
    });
    expect(values[1]).toEqual({ ...Object.fromEntries(columns.map((c) => [c, null])), id: '2' });
    expect(values[2]).toMatchObject({ big: '-9223372036854775808', amount: '-0.0001', score: '1e+300', flag: 'false', name: '', raw: '', tags: '[]', born: '0001-01-01' });
    const instants = await fx.rat.query(`SELECT epoch_us(seen)::VARCHAR AS us FROM bronze.everything WHERE seen IS NOT NULL ORDER BY id`);
    expect(instants.map((r) => r.us)).toEqual([String(Date.UTC(2024, 0, 2, 1, 4, 5) * 1000 + 123456), '0']);
  });

  it('PostgreSQL: arrays become lists of their element type, each element exact whatever the local time zone', async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      source = await openPostgresSource(inject('ratTestPostgresUrl'));
      await source.exec(`CREATE TABLE everything (id int PRIMARY KEY, days date[], ats timestamp[], seens timestamptz[], amounts numeric(30,1)[], loose numeric[],
        bigs bigint[], names text[], raws bytea[], grid int[])`);
      await source.exec(`INSERT INTO everything VALUES
        (1, ARRAY['2024-01-02'::date, NULL], ARRAY['2024-01-02 10:00:00.123456'::timestamp], ARRAY['2024-01-02 10:00:00.123456+02'::timestamptz],
         ARRAY[12345678901234567890.5, 0.1], ARRAY[12345678901234567890.123456789, 0.1]::numeric[], ARRAY[9007199254740993, -1]::bigint[],
         ARRAY['a,b', 'say "hi"', 'NULL', NULL, '', 'back\\slash'], ARRAY['\\xdead'::bytea], ARRAY[1, 2]),
        (2, '{}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{{1,2},{3,4}}')`);
      const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
      expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 1, 1]);
      const columns = ['id', 'days', 'ats', 'seens', 'amounts', 'loose', 'bigs', 'names', 'raws', 'grid'];
      const { types } = await loaded(columns);
      expect(types).toEqual({
        id: 'INTEGER', days: 'DATE[]', ats: 'TIMESTAMP[]', seens: 'TIMESTAMP WITH TIME ZONE[]', amounts: 'DECIMAL(30,1)[]', loose: 'VARCHAR[]',
        bigs: 'BIGINT[]', names: 'VARCHAR[]', raws: 'VARCHAR[]', grid: 'INTEGER[]',
      });
      const [row] = await fx.rat.query(`SELECT days[1]::VARCHAR AS day, days[2] AS no_day, ats[1]::VARCHAR AS at, epoch_us(seens[1])::VARCHAR AS seen_us, amounts[1]::VARCHAR AS amount,
        loose, bigs[1]::VARCHAR AS big, names, raws FROM bronze.everything`);
      expect(row).toEqual({
        day: '2024-01-02', no_day: null, at: '2024-01-02 10:00:00.123456', seen_us: String(Date.UTC(2024, 0, 2, 8) * 1000 + 123456), amount: '12345678901234567890.5',
        loose: ['12345678901234567890.123456789', '0.1'], big: '9007199254740993', names: ['a,b', 'say "hi"', 'NULL', null, '', 'back\\slash'], raws: ['dead'],
      });
      const rejects = await fx.rat.query(`SELECT reason, raw FROM bronze.everything__rejects`);
      expect(rejects).toEqual([expect.objectContaining({ reason: expect.stringContaining('column grid: cannot convert') })]);
      expect(String(rejects[0]!.raw)).toContain('{{1,2},{3,4}}');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('PostgreSQL: a date or timestamp of infinity or -infinity (also in a date[]) goes to the quarantine naming column and value; with onError fail the run fails', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE everything (id int PRIMARY KEY, born date, created timestamp, seen timestamptz, days date[])`);
    await source.exec(`INSERT INTO everything VALUES
      (1, '2024-01-01', '2024-01-01 10:00:00', '2024-01-01 10:00:00+00', '{2024-01-01}'),
      (2, 'infinity', NULL, NULL, NULL), (3, '-infinity', NULL, NULL, NULL), (4, NULL, 'infinity', NULL, NULL),
      (5, NULL, NULL, '-infinity', NULL), (6, NULL, NULL, NULL, '{2024-01-02,infinity}')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 1, 5]);
    const { types, values } = await loaded(['id', 'born', 'created', 'seen', 'days']);
    expect(types).toEqual({ id: 'INTEGER', born: 'DATE', created: 'TIMESTAMP', seen: 'TIMESTAMP WITH TIME ZONE', days: 'DATE[]' });
    expect(values).toEqual([{ id: '1', born: '2024-01-01', created: '2024-01-01 10:00:00', seen: '2024-01-01 10:00:00+00', days: '[2024-01-01]' }]);
    const rejects = await fx.rat.query<{ reason: string; raw: string; source: string }>(`SELECT reason, raw, file_path AS source FROM bronze.everything__rejects ORDER BY line`);
    const why = ': an Iceberg date or timestamp has no infinity';
    expect(rejects.map((r) => r.reason)).toEqual([
      `column born: infinity cannot be stored as DATE${why}`,
      `column born: -infinity cannot be stored as DATE${why}`,
      `column created: infinity cannot be stored as TIMESTAMP${why}`,
      `column seen: -infinity cannot be stored as TIMESTAMPTZ${why}`,
      `column days[]: infinity cannot be stored as DATE${why}`,
    ]);
    expect(rejects.map((r) => JSON.parse(r.raw) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ id: 2, born: 'infinity' }),
      expect.objectContaining({ id: 3, born: '-infinity' }),
      expect.objectContaining({ id: 4, created: 'infinity' }),
      expect.objectContaining({ id: 5, seen: '-infinity' }),
      expect.objectContaining({ id: 6, days: ['2024-01-02', 'infinity'] }),
    ]);
    expect(new Set(rejects.map((r) => r.source))).toEqual(new Set([report.file]));

    const failed = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.strict', onError: 'fail' });
    expect([failed.status, failed.rowsIngested, failed.errorCode]).toEqual(['failed', 0, 'INGEST_BAD_ROWS']);
    expect(failed.error).toContain(`${source.url}#everything`);
    expect(failed.error).toContain(`column born: infinity cannot be stored as DATE${why}`);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'strict' })).toBe(false);
  });

  it('PostgreSQL: dates and timestamps BC (also in a date[]) load as the same days BC, never as AD', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE everything (id int PRIMARY KEY, born date, created timestamp, seen timestamptz, days date[])`);
    await source.exec(`INSERT INTO everything VALUES (1, '0044-03-15 BC', '0044-03-15 12:30:00 BC', '0001-12-31 23:00:00+00 BC', '{0044-03-15 BC,0001-01-01 BC,0001-01-01}')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 1, 0]);
    const { values } = await loaded(['id', 'born', 'created', 'seen', 'days']);
    expect(values).toEqual([{ id: '1', born: '0044-03-15 (BC)', created: '0044-03-15 (BC) 12:30:00', seen: '0001-12-31 (BC) 23:00:00+00', days: "['0044-03-15 (BC)', '0001-01-01 (BC)', 0001-01-01]" }]);
    // Days from 1970-01-01 as Iceberg stores a date: 44 BC is the proleptic year -43.
    expect(await fx.rat.query(`SELECT born - DATE '1970-01-01' AS days FROM bronze.everything`)).toEqual([{ days: -735160 }]);

    // A BC cursor is bound back in PostgreSQL's spelling: the next run loads only the later row (the one at the stored value is read again and left out).
    const options = { url: source.url, table: 'everything', target: 'bronze.by_born', cursor: 'born' };
    expect((await ingestDatabase(fx.ingestion, options)).cursor?.value).toBe('0044-03-15 (BC)');
    await source.exec(`INSERT INTO everything (id, born) VALUES (2, '0043-01-01 BC')`);
    const next = await ingestDatabase(fx.ingestion, options);
    expect([next.status, next.rowsIngested, next.alreadyLoaded, next.cursor?.value], next.error).toEqual(['success', 1, 1, '0043-01-01 (BC)']);
  });

  it('PostgreSQL: bit(n) and varbit load as the text of their bits (as the README says), not hex', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE bits (id int, b bit(4), v varbit); INSERT INTO bits VALUES (1, B'1010', B'101')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'bits', target: 'bronze.bits' });
    expect(report.status).toBe('success');
    expect(await fx.rat.query(`SELECT typeof(b) AS t, b, v FROM bronze.bits`)).toEqual([{ t: 'VARCHAR', b: '1010', v: '101' }]);
  });

  it('MariaDB: keeps exact values and maps each type (BIGINT UNSIGNED, DECIMAL, DATETIME(6), JSON, BLOB, ENUM, NULLs)', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    await source.exec(`CREATE TABLE everything (
      id BIGINT PRIMARY KEY, tiny TINYINT, small SMALLINT, num INT, uns INT UNSIGNED, big BIGINT, ubig BIGINT UNSIGNED, amount DECIMAL(20,4),
      ratio FLOAT, score DOUBLE, name VARCHAR(100), body TEXT, born DATE, created DATETIME(6), seen TIMESTAMP(3) NULL, at_time TIME,
      doc JSON, raw BLOB, kind ENUM('small','large'), yr YEAR) CHARACTER SET utf8mb4`);
    await source.exec(`INSERT INTO everything VALUES
      (1, -128, -32768, 2147483647, 4294967295, 9007199254740993, 18446744073709551615, 1234567890123456.7891,
       1.5, 0.1, '${UNICODE}', 'long text', '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123', '-12:30:00',
       '{"a": [1, 2]}', X'DEADBEEF', 'large', 2024),
      (2, ${Array.from({ length: 19 }, () => 'NULL').join(', ')})`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything', chunkSize: 1 });
    expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 2, 0]);
    const columns = ['id', 'tiny', 'small', 'num', 'uns', 'big', 'ubig', 'amount', 'ratio', 'score', 'name', 'body', 'born', 'created', 'seen', 'at_time', 'doc', 'raw', 'kind', 'yr'];
    const { types, values } = await loaded(columns);
    expect(types).toEqual({
      id: 'BIGINT', tiny: 'INTEGER', small: 'INTEGER', num: 'INTEGER', uns: 'BIGINT', big: 'BIGINT', ubig: 'DECIMAL(20,0)', amount: 'DECIMAL(20,4)',
      ratio: 'FLOAT', score: 'DOUBLE', name: 'VARCHAR', body: 'VARCHAR', born: 'DATE', created: 'TIMESTAMP', seen: 'TIMESTAMP', at_time: 'VARCHAR',
      doc: 'VARCHAR', raw: 'VARCHAR', kind: 'VARCHAR', yr: 'INTEGER',
    });
    expect(values[0]).toEqual({
      id: '1', tiny: '-128', small: '-32768', num: '2147483647', uns: '4294967295', big: '9007199254740993', ubig: '18446744073709551615', amount: '1234567890123456.7891',
      ratio: '1.5', score: '0.1', name: UNICODE, body: 'long text', born: '2024-02-29', created: '2024-01-02 03:04:05.123456', seen: '2024-01-02 03:04:05.123', at_time: '-12:30:00',
      doc: '{"a": [1, 2]}', raw: 'deadbeef', kind: 'large', yr: '2024',
    });
    expect(values[1]).toEqual({ ...Object.fromEntries(columns.map((c) => [c, null])), id: '2' });
  });

  it('SQLite: maps declared types, keeps 64-bit integers exact, and quarantines values that do not fit their declared type', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE everything (id INTEGER PRIMARY KEY, big INTEGER, amount DECIMAL(10,2), ratio REAL, flag BOOLEAN, name TEXT, born DATE, created TIMESTAMP, doc JSON, raw BLOB, anything)`);
    await source.exec(`INSERT INTO everything VALUES
      (1, 9007199254740993, 12345.67, 0.5, 1, '${UNICODE}', '2024-02-29', '2024-01-02 03:04:05.123456', '{"a":1}', X'DEADBEEF', 'free'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (3, -9223372036854775808, -0.01, -1.5, 0, '', '1999-12-31', '1999-12-31 23:59:59', '[]', X'', 'x'),
      (4, 'not a number', 1, 1, 1, 'n', '2024-01-01', '2024-01-01 00:00:00', '{}', X'00', 'y')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 3, 1]);
    const columns = ['id', 'big', 'amount', 'ratio', 'flag', 'name', 'born', 'created', 'doc', 'raw', 'anything'];
    const { types, values } = await loaded(columns);
    expect(types).toEqual({ id: 'BIGINT', big: 'BIGINT', amount: 'DECIMAL(10,2)', ratio: 'DOUBLE', flag: 'BOOLEAN', name: 'VARCHAR', born: 'DATE', created: 'TIMESTAMP', doc: 'VARCHAR', raw: 'VARCHAR', anything: 'VARCHAR' });
    expect(values).toEqual([
      { id: '1', big: '9007199254740993', amount: '12345.67', ratio: '0.5', flag: 'true', name: UNICODE, born: '2024-02-29', created: '2024-01-02 03:04:05.123456', doc: '{"a":1}', raw: 'deadbeef', anything: 'free' },
      { ...Object.fromEntries(columns.map((c) => [c, null])), id: '2' },
      { id: '3', big: '-9223372036854775808', amount: '-0.01', ratio: '-1.5', flag: 'false', name: '', born: '1999-12-31', created: '1999-12-31 23:59:59', doc: '[]', raw: '', anything: 'x' },
    ]);
    const rejects = await fx.rat.query(`SELECT raw FROM bronze.everything__rejects`);
    expect(String(rejects[0]!.raw)).toContain('not a number');
  });

  it('SQLite: a BLOB in a number, date or boolean column, and text that is not valid UTF-8, go to the quarantine, not in as the number its hex spells or with replaced bytes', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE everything (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, born DATE, flag BOOLEAN, name TEXT, raw BLOB)`);
    await source.exec(`INSERT INTO everything VALUES
      (1, 7, 1.5, '2024-01-01', 1, 'Müller', X'12'),
      (2, X'12', 1.5, '2024-01-01', 1, 'a', NULL),
      (3, 7, X'2024', '2024-01-01', 1, 'b', NULL),
      (4, X'00', 1.5, '2024-01-01', 1, 'c', NULL),
      (5, 7, 1.5, X'20240101', 1, 'd', NULL),
      (6, 7, 1.5, '2024-01-01', X'01', 'e', NULL),
      (7, 7, 1.5, '2024-01-01', 1, CAST(X'4dfc6c6c6572' AS TEXT), NULL)`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 1, 6]);
    const { values } = await loaded(['id', 'qty', 'price', 'name', 'raw']);
    expect(values).toEqual([{ id: '1', qty: '7', price: '1.5', name: 'Müller', raw: '12' }]);
    const rejects = await fx.rat.query<{ reason: string; raw: string }>(`SELECT reason, raw FROM bronze.everything__rejects ORDER BY line`);
    expect(rejects.map((r) => r.reason)).toEqual([
      `row 2: column "qty" holds the BLOB x'12', not a value of its declared type INTEGER`,
      `row 3: column "price" holds the BLOB x'2024', not a value of its declared type REAL`,
      `row 4: column "qty" holds the BLOB x'00', not a value of its declared type INTEGER`,
      `row 5: column "born" holds the BLOB x'20240101', not a value of its declared type DATE`,
      `row 6: column "flag" holds the BLOB x'01', not a value of its declared type BOOLEAN`,
      expect.stringMatching(/^row 7: column "name" holds text that is not valid UTF-8/),
    ]);
    expect(JSON.parse(rejects[0]!.raw)).toEqual({ id: 2, qty: "x'12'", price: 1.5, born: '2024-01-01', flag: true, name: 'a', raw: null });
  });

  it("SQLite: text that SQLite left as text in a number column (0x10, 1_000) goes to the quarantine, not in as the number DuckDB's cast reads", async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE everything (id INTEGER PRIMARY KEY, qty INTEGER, amount DECIMAL(10,2), ratio REAL)`);
    await source.exec(`INSERT INTO everything VALUES (1, '0x10', 1, 1), (2, 7, '1_000', 1), (3, 7, 1, '0b11'), (4, ' 12 ', '2.50', 'Infinity'), (5, '7', 1, 0.5)`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 2, 3]);
    const { values } = await loaded(['id', 'qty', 'amount', 'ratio']);
    expect(values).toEqual([
      { id: '4', qty: '12', amount: '2.50', ratio: 'inf' },
      { id: '5', qty: '7', amount: '1.00', ratio: '0.5' },
    ]);
    const rejects = await fx.rat.query<{ reason: string }>(`SELECT reason FROM bronze.everything__rejects ORDER BY line`);
    expect(rejects.map((r) => r.reason)).toEqual([
      `row 1: column "qty" holds the text "0x10", not a value of its declared type INTEGER`,
      `row 2: column "amount" holds the text "1_000", not a value of its declared type DECIMAL(10,2)`,
      `row 3: column "ratio" holds the text "0b11", not a value of its declared type REAL`,
    ]);
    // A replay reads the rows' raw JSON again: the integer column still refuses the text, as a CSV file's would.
    const replay = await fx.ingestion.replayRejects('bronze.everything');
    expect([replay.replayed, replay.stillRejected]).toEqual([0, 3]);
    const again = await fx.rat.query<{ reason: string }>(`SELECT reason FROM bronze.everything__rejects ORDER BY line`);
    expect(again.map((r) => r.reason)).toEqual([
      'column qty: 0x10 is not written as a plain integer (a leading zero, 0x or _), which BIGINT would not keep',
      'column amount: 1_000 is not written as a plain number (_), which DECIMAL(10,2) would not keep',
      'column ratio: cannot convert 0b11 to DOUBLE',
    ]);
    expect((await loaded(['id'])).values.map((r) => r.id)).toEqual(['4', '5']);
  });

  it('SQLite: a column without a declared type or with NUMERIC affinity mixing reals and an integer beyond 2^53 loads as text, every value as it is; integers alone stay BIGINT', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE everything (id INTEGER PRIMARY KEY, loose, num NUMERIC, ids)`);
    await source.exec(`INSERT INTO everything VALUES (1, 9007199254740993, -9007199254740993, 9007199254740993), (2, 1.5, 0.1, 2), (3, NULL, 12, 3)`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 3, 0]);
    const { types, values } = await loaded(['id', 'loose', 'num', 'ids']);
    expect(types).toEqual({ id: 'BIGINT', loose: 'VARCHAR', num: 'VARCHAR', ids: 'BIGINT' });
    expect(values).toEqual([
      { id: '1', loose: '9007199254740993', num: '-9007199254740993', ids: '9007199254740993' },
      { id: '2', loose: '1.5', num: '0.1', ids: '2' },
      { id: '3', loose: null, num: '12', ids: '3' },
    ]);
  });

  it('SQLite: a DATETIME/TIMESTAMP text with a UTC offset loads as the UTC time it names, as SQLite reads it; one without stays as it is', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE everything (id INTEGER PRIMARY KEY, created TIMESTAMP, changed DATETIME)`);
    await source.exec(`INSERT INTO everything VALUES
      (1, '2024-01-02T10:00:00+02:00', '2024-01-02 10:00:00.123456-05:30'),
      (2, '2024-01-02T10:00:00Z', '2024-01-01T23:30-01:00'),
      (3, '2024-01-02 10:00:00', '0099-03-01 00:00:00+0100')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 3, 0]);
    const { types, values } = await loaded(['id', 'created', 'changed']);
    expect(types).toEqual({ id: 'BIGINT', created: 'TIMESTAMP', changed: 'TIMESTAMP' });
    expect(values).toEqual([
      { id: '1', created: '2024-01-02 08:00:00', changed: '2024-01-02 15:30:00.123456' },
      { id: '2', created: '2024-01-02 10:00:00', changed: '2024-01-02 00:30:00' },
      { id: '3', created: '2024-01-02 10:00:00', changed: '0099-02-28 23:00:00' },
    ]);
  });
  it.each(['PostgreSQL', 'SQLite'] as const)('%s: a float column keeps NaN and Infinity as the double values they are', async (kind) => {
    source = kind === 'PostgreSQL' ? await openPostgresSource(inject('ratTestPostgresUrl')) : await openSqliteSource();
    await source.exec(kind === 'PostgreSQL' ? 'CREATE TABLE everything (id bigint PRIMARY KEY, x double precision)' : 'CREATE TABLE everything (id INTEGER PRIMARY KEY, x REAL)');
    // SQLite has no NaN (it stores NULL) and writes Infinity as 9e999.
    await source.exec(
      kind === 'PostgreSQL'
        ? `INSERT INTO everything VALUES (1, 'Infinity'), (2, '-Infinity'), (3, 'NaN'), (4, 1.5)`
        : 'INSERT INTO everything VALUES (1, 9e999), (2, -9e999), (3, NULL), (4, 1.5)',
    );
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'everything', target: 'bronze.everything' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 4, 0]);
    const { types, values } = await loaded(['id', 'x']);
    expect(types).toEqual({ id: 'BIGINT', x: 'DOUBLE' });
    expect(values.map((v) => v.x)).toEqual(['inf', '-inf', kind === 'PostgreSQL' ? 'nan' : null, '1.5']);
  });
});
