import { basename, join } from 'node:path';
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

const columns = async (table: string) => Object.fromEntries((await fx.rat.describeTable(table)).schema.fields.map((f) => [f.name, f.type]));

describe('schema drift', () => {
  it('evolve (default) adds new columns in the same commit; old rows read NULL', async () => {
    await fx.ingestion.ingest(await fx.file('v1.csv', 'id,name\n1,a\n'), 'bronze.drift');
    const report = await fx.ingestion.ingest(await fx.file('v2.csv', 'id,name,region\n2,b,EU\n'), 'bronze.drift');
    expect(report.files[0]!.schemaChanges).toEqual(['added column region (string)']);
    expect(await columns('bronze.drift')).toMatchObject({ id: 'long', name: 'string', region: 'string' });
    const rows = await fx.rat.query<{ id: number; region: string | null }>('SELECT id, region FROM bronze.drift ORDER BY id');
    expect(rows).toEqual([{ id: 1, region: null }, { id: 2, region: 'EU' }]);
    expect((await fx.rat.snapshots('bronze.drift')).length).toBe(2);
  });

  it('strict refuses a file with new columns and leaves the table unchanged; ignore drops them', async () => {
    const path = await fx.file('v3.csv', 'id,name,region,channel\n3,c,US,web\n');
    const strict = await fx.ingestion.ingest(path, 'bronze.drift', { schemaDrift: 'strict' });
    expect(strict.files[0]!.status).toBe('failed');
    expect(strict.files[0]!.error).toContain(`${path} (column "channel"): brings a column "channel" that bronze.drift does not have`);
    expect((await fx.rat.snapshots('bronze.drift')).length).toBe(2);
    const ignore = await fx.ingestion.ingest(path, 'bronze.drift', { schemaDrift: 'ignore' });
    expect(ignore.files[0]).toMatchObject({ status: 'success', droppedColumns: ['channel'] });
    expect(Object.keys(await columns('bronze.drift'))).not.toContain('channel');
  });

  it('treats fields new inside structs and lists of structs as drift: evolve adds them, strict refuses, ignore drops them', async () => {
    await fx.ingestion.ingest(await fx.file('n1.ndjson', '{"id":1,"a":{"x":1},"l":[{"p":1}],"m":{"k":{"v":1}}}\n'), 'bronze.nested_drift');
    const v2 = await fx.file('n2.ndjson', '{"id":2,"a":{"x":2,"y":"new"},"l":[{"q":"newq","p":2}],"m":{"k":{"v":2}}}\n');
    const before = (await fx.rat.snapshots('bronze.nested_drift')).length;
    const strict = await fx.ingestion.ingest(v2, 'bronze.nested_drift', { schemaDrift: 'strict' });
    expect(strict.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('(column "a"): brings a field a.y (string) inside bronze.nested_drift.a that the table does not have') });
    expect((await fx.rat.snapshots('bronze.nested_drift')).length).toBe(before);
    const ignore = await fx.ingestion.ingest(v2, 'bronze.nested_drift', { schemaDrift: 'ignore' });
    expect(ignore.files[0]).toMatchObject({ status: 'success', droppedColumns: ['a.y', 'l.element.q'] });
    const evolve = await fx.ingestion.ingest(v2, 'bronze.nested_drift');
    expect(evolve.files[0]!.schemaChanges).toEqual(['added field a.y (string)', 'added field l.element.q (string)']);
    const table = await fx.rat.describeTable('bronze.nested_drift');
    const a = table.schema.fields.find((f) => f.name === 'a')!;
    // The new field gets an id of its own; the existing ones keep theirs.
    expect(a.type).toMatchObject({ type: 'struct', fields: [{ name: 'x' }, { name: 'y', type: 'string', required: false }] });
    const ids = JSON.stringify(table.schema).match(/"id":\d+/g)!;
    expect(new Set(ids).size).toBe(ids.length);
    expect(await fx.rat.query('SELECT id, a.y AS y, l[1].q AS q, l[1].p AS p FROM bronze.nested_drift ORDER BY id, y NULLS FIRST')).toEqual([
      { id: 1, y: null, q: null, p: 1 },
      { id: 2, y: null, q: null, p: 2 },
      { id: 2, y: 'new', q: 'newq', p: 2 },
    ]);
    // A value inside a struct or list that does not convert makes the row bad: the cast alone would turn it into NULL.
    const bad = await fx.ingestion.ingest(await fx.file('n3.ndjson', '{"id":3,"a":{"x":"abc"},"l":[{"p":3}]}\n{"id":4,"a":{"x":4},"l":[{"p":"z"},{"p":5}]}\n{"id":5,"a":{"x":"5"},"l":[{"p":null}]}\n'), 'bronze.nested_drift');
    expect(bad.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT line, reason FROM bronze.nested_drift__rejects ORDER BY line')).toEqual([
      { line: 1, reason: expect.stringContaining('column a: cannot convert') },
      { line: 2, reason: expect.stringContaining('column l: cannot convert') },
    ]);
    expect(await fx.rat.query('SELECT a.x AS x, l[1].p AS p FROM bronze.nested_drift WHERE id = 5')).toEqual([{ x: 5, p: null }]);
  });

  it('quarantines a scalar, list or text where the table has a struct or a list of structs inside a column, instead of loading NULL', async () => {
    await fx.ingestion.ingest(await fx.file('shape1.ndjson', '{"id":1,"a":{"x":{"y":1}},"l":[{"y":1}]}\n'), 'bronze.shape');
    const path = await fx.file('shape2.ndjson', ['{"id":2,"a":{"x":5}}', '{"id":3,"l":[5,6]}', '{"id":4,"a":{"x":[1,2]}}', '{"id":5,"a":{"x":"str"}}', '{"id":6,"a":{"x":{"y":6}},"l":[{"y":6}]}', '{"id":7,"a":{"x":null},"l":[]}'].join('\n'));
    const report = await fx.ingestion.ingest(path, 'bronze.shape');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 4 });
    expect(await fx.rat.query('SELECT id, a.x.y AS y, l FROM bronze.shape ORDER BY id')).toEqual([
      { id: 1, y: 1, l: [{ y: 1 }] },
      { id: 6, y: 6, l: [{ y: 6 }] },
      { id: 7, y: null, l: [] },
    ]);
    expect(await fx.rat.query('SELECT line, reason, raw FROM bronze.shape__rejects ORDER BY line')).toEqual([
      { line: 1, reason: expect.stringContaining("column a: cannot convert {'x': 5}"), raw: '{"id":2,"a":{"x":5}}' },
      { line: 2, reason: expect.stringContaining('column l: cannot convert [5, 6]'), raw: '{"id":3,"l":[5,6]}' },
      { line: 3, reason: expect.stringContaining('column a: cannot convert'), raw: '{"id":4,"a":{"x":[1,2]}}' },
      { line: 4, reason: expect.stringContaining('column a: cannot convert'), raw: '{"id":5,"a":{"x":"str"}}' },
    ]);
  });

  it('widens int, float and decimal fields inside structs, lists and maps as it widens columns: evolve widens, strict refuses, ignore quarantines', async () => {
    const parquet = async (name: string, select: string) => {
      const path = join(fx.dir, name);
      await fx.rat.sql(`COPY (${select}) TO ${quoteString(path)} (FORMAT parquet)`);
      return path;
    };
    const narrow = await parquet('nested-narrow.parquet', "SELECT 1 AS id, {'n': 1::INTEGER, 'f': 1.5::FLOAT, 'd': 1.25::DECIMAL(5,2)} AS s, [{'n': 2::INTEGER}] AS l, MAP {'k': 3::INTEGER} AS m");
    expect((await fx.ingestion.ingest(narrow, 'bronze.nested_wide')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    // The same types with small values need no wider field: nothing changes.
    const small = await parquet('nested-small.parquet', "SELECT 2 AS id, {'n': 4::BIGINT, 'f': 0.5::DOUBLE, 'd': 1.5::DECIMAL(9,2)} AS s, [{'n': 5::BIGINT}] AS l, MAP {'k': 6::BIGINT} AS m");
    expect((await fx.ingestion.ingest(small, 'bronze.nested_wide')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, schemaChanges: [] });
    const wide = await parquet(
      'nested-wide.parquet',
      "SELECT 3 AS id, {'n': 5000000000::BIGINT, 'f': 1.123456789012::DOUBLE, 'd': 1234567.89::DECIMAL(9,2)} AS s, [{'n': 6000000000::BIGINT}] AS l, MAP {'k': 7000000000::BIGINT} AS m",
    );
    const before = await fx.snapshotCount('bronze.nested_wide');
    const strict = await fx.ingestion.ingest(wide, 'bronze.nested_wide', { schemaDrift: 'strict' });
    expect(strict.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('(column "s"): 1 values need long, wider than bronze.nested_wide.s.n (int) (schema drift policy strict') });
    const ignore = await fx.ingestion.ingest(wide, 'bronze.nested_wide', { schemaDrift: 'ignore' });
    expect(ignore.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1, schemaChanges: [] });
    expect(await fx.snapshotCount('bronze.nested_wide')).toBe(before);
    const evolve = await fx.ingestion.ingest(wide, 'bronze.nested_wide');
    expect(evolve.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0 });
    expect(evolve.files[0]!.schemaChanges).toEqual([
      'widened s.n int -> long',
      'widened s.f float -> double',
      'widened s.d decimal(5, 2) -> decimal(9, 2)',
      'widened l.element.n int -> long',
      'widened m.value int -> long',
    ]);
    const table = await fx.rat.describeTable('bronze.nested_wide');
    const type = (name: string) => table.schema.fields.find((f) => f.name === name)!.type;
    expect(type('s')).toMatchObject({ fields: [{ name: 'n', type: 'long' }, { name: 'f', type: 'double' }, { name: 'd', type: 'decimal(9, 2)' }] });
    expect(type('l')).toMatchObject({ element: { fields: [{ name: 'n', type: 'long' }] } });
    expect(type('m')).toMatchObject({ value: 'long' });
    // Every value exact, the rows written before the widening read through the wider types.
    expect(await fx.rat.query("SELECT id, s.n AS n, s.f AS f, CAST(s.d AS VARCHAR) AS d, l[1].n AS ln, m['k'] AS mk FROM bronze.nested_wide ORDER BY id")).toEqual([
      { id: 1, n: 1, f: 1.5, d: '1.25', ln: 2, mk: 3 },
      { id: 2, n: 4, f: 0.5, d: '1.50', ln: 5, mk: 6 },
      { id: 3, n: 5000000000, f: 1.123456789012, d: '1234567.89', ln: 6000000000, mk: 7000000000 },
    ]);
    // The row quarantined under ignore loads once the fields are wide enough.
    expect(await fx.ingestion.replayRejects('bronze.nested_wide')).toMatchObject({ replayed: 1, stillRejected: 0 });
  });

  it("widens int and float fields inside a custom parser's objects (staged as JSON text) the same way; a fraction still goes to the quarantine", async () => {
    await fx.rat.sql('CREATE TABLE bronze.parsed_wide (id BIGINT, s STRUCT(n INTEGER, f FLOAT), l INTEGER[])');
    const rows = [
      { id: 1, s: { n: 5000000000, f: 0.5 }, l: [1, 6000000000] },
      { id: 2, s: { n: 2.5, f: 1.123456789012 }, l: [2] },
      { id: 3, s: { n: 3, f: 1.123456789012 }, l: [3] },
    ];
    const path = await fx.file('parsed-wide.txt', 'x');
    const strict = await fx.ingestion.ingest(path, 'bronze.parsed_wide', { parser: () => rows, schemaDrift: 'strict' });
    expect(strict.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('1 values need long, wider than bronze.parsed_wide.s.n (int)') });
    const report = await fx.ingestion.ingest(path, 'bronze.parsed_wide', { parser: () => rows });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(report.files[0]!.schemaChanges).toEqual(expect.arrayContaining(['widened s.n int -> long', 'widened s.f float -> double', 'widened l.element int -> long']));
    expect(await fx.rat.query('SELECT id, s.n AS n, s.f AS f, l FROM bronze.parsed_wide ORDER BY id')).toEqual([
      { id: 1, n: 5000000000, f: 0.5, l: [1, 6000000000] },
      { id: 3, n: 3, f: 1.123456789012, l: [3] },
    ]);
    expect(await fx.rat.query('SELECT line, reason FROM bronze.parsed_wide__rejects')).toEqual([{ line: 2, reason: expect.stringContaining('column s: cannot convert') }]);
  });

  it('quarantines a row whose text becomes a list with a NULL in it under --type (["1","x"] as INTEGER[])', async () => {
    const path = await fx.file('typed-list.ndjson', '{"id":1,"l":[1,"x"]}\n{"id":2,"l":[3,4]}\n{"id":3,"l":[5,null]}\n');
    const report = await fx.ingestion.ingest(path, 'bronze.typed_list', { types: { l: 'INTEGER[]' } });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id, l FROM bronze.typed_list ORDER BY id')).toEqual([
      { id: 2, l: [3, 4] },
      { id: 3, l: [5, null] },
    ]);
    expect(await fx.rat.query('SELECT line, reason FROM bronze.typed_list__rejects')).toEqual([{ line: 1, reason: expect.stringContaining('column l: cannot convert') }]);
  });

  it('a file whose every row goes to the quarantine changes no column: it brought no rows', async () => {
    await fx.rat.sql('CREATE TABLE bronze.nothing (id INTEGER, n INTEGER, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const before = await fx.rat.loadTable('bronze.nothing');
    const path = await fx.file('nothing.ndjson', '{"id":6000000000,"extra":"x","n":"abc"}\n');
    const report = await fx.ingestion.ingest(path, 'bronze.nothing');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1, schemaChanges: [] });
    expect(await columns('bronze.nothing')).toEqual({ id: 'int', n: 'int', _source_file: 'string', _ingested_at: 'timestamptz' });
    expect((await fx.rat.loadTable('bronze.nothing')).metadataLocation).toBe(before.metadataLocation);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.nothing__rejects')).toEqual([{ n: 1 }]);
  });

  it('widens int to long only when a value needs it, and quarantines values that cannot convert', async () => {
    await fx.rat.sql('CREATE TABLE bronze.widen (id INTEGER, qty INTEGER, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const small = await fx.ingestion.ingest(await fx.file('small.csv', 'id,qty\n1,5\n'), 'bronze.widen');
    expect(small.files[0]!.schemaChanges).toEqual([]);
    expect(await columns('bronze.widen')).toMatchObject({ id: 'int', qty: 'int' });
    const big = await fx.ingestion.ingest(await fx.file('big.csv', 'id,qty\n2,5000000000\n'), 'bronze.widen');
    expect(big.files[0]!.schemaChanges).toEqual(['widened qty int -> long']);
    expect(await columns('bronze.widen')).toMatchObject({ id: 'int', qty: 'long' });
    const path = await fx.file('text.csv', 'id,qty\n3,7\n4,lots\n');
    const bad = await fx.ingestion.ingest(path, 'bronze.widen');
    expect(bad.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    const [reject] = await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM bronze.widen__rejects WHERE file_path = ${quoteString(path)}`);
    expect(reject).toMatchObject({ line: 3 });
    expect(reject!.reason).toMatch(/lots/);
    const total = await fx.rat.query<{ s: number }>('SELECT sum(qty)::BIGINT AS s FROM bronze.widen');
    expect(total[0]!.s).toBe(5000000012);
    // A file that widens a column and has a bad line (the widening check reads the file before the write does): the line is quarantined once, with its reason once.
    const both = await fx.file('both.csv', 'id,qty\n6000000000,1\n7,x\n');
    const report = await fx.ingestion.ingest(both, 'bronze.widen');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1, schemaChanges: ['widened id int -> long'] });
    const rejects = await fx.rat.query<{ line: number; reason: string }>(`SELECT line, reason FROM bronze.widen__rejects WHERE file_path = ${quoteString(both)}`);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.line).toBe(3);
    expect(rejects[0]!.reason).not.toContain(';');
  });

  it('quarantines CSV values an integer or date column would silently change (1.5, a time of day), instead of rounding them', async () => {
    // DuckDB's CSV reader casts leniently: read as BIGINT, '1.5' becomes 2; read as DATE, '2024-01-02 10:00:00' loses its time.
    await fx.ingestion.ingest(await fx.file('exact1.csv', 'id,qty,day\n1,5,2024-01-01\n'), 'bronze.exact');
    expect(await columns('bronze.exact')).toMatchObject({ id: 'long', qty: 'long', day: 'date' });
    const path = await fx.file('exact2.csv', 'id,qty,day\n2,1.5,2024-01-02\n3,2.0,2024-01-03 00:00:00\n4,7,2024-01-04 10:00:00\n5,8,2024-01-05\n');
    const report = await fx.ingestion.ingest(path, 'bronze.exact');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 2, schemaChanges: [] });
    expect(await fx.rat.query('SELECT id, qty, CAST(day AS VARCHAR) AS day FROM bronze.exact ORDER BY id')).toEqual([
      { id: 1, qty: 5, day: '2024-01-01' },
      { id: 3, qty: 2, day: '2024-01-03' },
      { id: 5, qty: 8, day: '2024-01-05' },
    ]);
    const reasons = await fx.rat.query<{ reason: string }>(`SELECT reason FROM bronze.exact__rejects WHERE file_path = ${quoteString(path)} ORDER BY reason`);
    expect(reasons.map((r) => r.reason)).toEqual(['column day: cannot convert 2024-01-04 10:00:00 to DATE', 'column qty: cannot convert 1.5 to BIGINT']);
    // Each with its line and its raw CSV text, as DuckDB's own rejects have them.
    expect(await fx.rat.query(`SELECT line, raw, format FROM bronze.exact__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`)).toEqual([
      { line: 2, raw: '2,1.5,2024-01-02', format: 'csv' },
      { line: 4, raw: '4,7,2024-01-04 10:00:00', format: 'csv' },
    ]);
    // A replay parses the raw text again: still not an integer, the rows stay quarantined under their lines.
    expect(await fx.ingestion.replayRejects('bronze.exact')).toMatchObject({ replayed: 0, stillRejected: 2 });
    expect((await fx.rat.query<{ line: number }>(`SELECT line FROM bronze.exact__rejects ORDER BY line`)).map((r) => r.line)).toEqual([2, 4]);
    // With --on-error fail the file is refused, naming the first line, and the table keeps its rows.
    const strict = await fx.ingestion.ingest(path, 'bronze.exact', { onError: 'fail' });
    expect(strict.files[0]!.status).toBe('failed');
    expect(strict.files[0]!.error).toMatch(/exact2\.csv.*\b2\b.*cannot convert 1\.5 to BIGINT/);
    expect((await fx.rat.query('SELECT count(*)::INTEGER AS n FROM bronze.exact'))[0]).toEqual({ n: 3 });
    // An explicit integer type does not round either.
    const typed = await fx.ingestion.ingest(await fx.file('typed.csv', 'id,qty\n1,2.5\n2,4\n'), 'bronze.exact_typed', { types: { qty: 'BIGINT' } });
    expect(typed.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await columns('bronze.exact_typed')).toMatchObject({ qty: 'long' });
    // A fraction past the type detection's sample (20,480 rows) in a column detected as an integer: quarantined, with its line.
    const late = await fx.file('late.csv', `id,qty\n${Array.from({ length: 30_000 }, (_, i) => `${i},${i % 10}`).join('\n')}\n30000,0.5\n30001,2.0\n30002,1e3\n`);
    expect((await fx.ingestion.ingest(late, 'bronze.exact_late')).files[0]).toMatchObject({ status: 'success', rowsIngested: 30_002, rowsRejected: 1 });
    expect(await columns('bronze.exact_late')).toMatchObject({ qty: 'long' });
    expect(await fx.rat.query('SELECT line, reason, raw FROM bronze.exact_late__rejects')).toEqual([{ line: 30_002, reason: 'column qty: cannot convert 0.5 to BIGINT', raw: '30000,0.5' }]);
    expect(await fx.rat.query('SELECT id, qty FROM bronze.exact_late WHERE id >= 29999 ORDER BY id')).toEqual([
      { id: 29_999, qty: 9 },
      { id: 30_001, qty: 2 },
      { id: 30_002, qty: 1000 },
    ]);
    // The whole-file detection (sampleSize -1) reads the column as what it is.
    await fx.rat.sql('DROP TABLE bronze.exact_late');
    expect((await fx.ingestion.ingest(late, 'bronze.exact_late', { sampleSize: -1 })).files[0]).toMatchObject({ status: 'success', rowsIngested: 30_003 });
    expect(await columns('bronze.exact_late')).toMatchObject({ qty: 'double' });
    expect(await fx.rat.query('SELECT qty FROM bronze.exact_late WHERE id = 30000')).toEqual([{ qty: 0.5 }]);
  });

  it('keeps integers past 2^53 exact and quarantines late bad values with their lines, whichever way the read took', async () => {
    // The read takes integers as DOUBLE where its first bytes allow (cheaper than text, exact up to 2^53),
    // as text where they do not; a value that does not fit the cheap read makes it read the file again, as text.
    const rows = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => row(i)).join('\n');
    const big = await fx.file('big-ids.csv', `id,n,day\n${rows(5000, (i) => `${1_800_000_000_000_000_000n + BigInt(i)},${i},2024-01-0${1 + (i % 9)}`)}\n`);
    const late = await fx.file(
      'late-values.csv',
      `id,n,day\n${rows(30_000, (i) => `${i},${i},2024-01-0${1 + (i % 9)}`)}\n9007199254740993,31,2024-02-01\n30001,abc,2024-02-02\n30002,7,2024-02-03 10:00:00\n30003,8,2024-02-04 00:00:00\n30004,0x1F,2024-02-05\n`,
    );
    expect((await fx.ingestion.ingest(big, 'bronze.exact_ids')).files[0]).toMatchObject({ status: 'success', rowsIngested: 5000, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT CAST(max(id) AS VARCHAR) AS id FROM bronze.exact_ids')).toEqual([{ id: '1800000000000004999' }]);
    const report = await fx.ingestion.ingest(late, 'bronze.exact_ids');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 30_002, rowsRejected: 3 });
    expect(await fx.rat.query("SELECT CAST(id AS VARCHAR) AS id, n, CAST(day AS VARCHAR) AS day FROM bronze.exact_ids WHERE day = DATE '2024-02-01'")).toEqual([{ id: '9007199254740993', n: 31, day: '2024-02-01' }]);
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line, reason, raw FROM bronze.exact_ids__rejects ORDER BY line`);
    expect(rejects.map((r) => [r.line, r.raw])).toEqual([
      [30_003, '30001,abc,2024-02-02'],
      [30_004, '30002,7,2024-02-03 10:00:00'],
      [30_006, '30004,0x1F,2024-02-05'],
    ]);
    expect(rejects[0]!.reason).toBe('column n: cannot convert abc to BIGINT');
    // ISO dates are read without the sniffed format, checked: a time of day is quarantined, midnight is that date (nothing is lost).
    expect(rejects[1]!.reason).toBe('column day: cannot convert 2024-02-03 10:00:00 to DATE');
    // Hexadecimal text is an integer to the cast, but read as one it would lose its notation.
    expect(rejects[2]!.reason).toBe('column n: 0x1F is not written as a plain integer (a leading zero, 0x or _), which BIGINT would not keep');
    expect(await fx.rat.query("SELECT n FROM bronze.exact_ids WHERE day = DATE '2024-02-04'")).toEqual([{ n: 8 }]);
    expect(await columns('bronze.exact_ids')).toMatchObject({ id: 'long', n: 'long', day: 'date' });
    // A column empty all through the sample is detected as text; into the table's integer column its later values still convert, checked.
    const empty = await fx.file('empty-sample.csv', `id,n,day\n${rows(30_000, (i) => `${i},,2024-03-01`)}\n40000,x1,2024-03-02\n40001,41,2024-03-03\n`);
    expect((await fx.ingestion.ingest(empty, 'bronze.exact_ids')).files[0]).toMatchObject({ status: 'success', rowsIngested: 30_001, rowsRejected: 1 });
    expect(await fx.rat.query("SELECT n FROM bronze.exact_ids WHERE day = DATE '2024-03-03'")).toEqual([{ n: 41 }]);
    expect(await fx.rat.query(`SELECT line, reason FROM bronze.exact_ids__rejects WHERE file_path = ${quoteString(empty)}`)).toEqual([{ line: 30_002, reason: 'column n: cannot convert x1 to BIGINT' }]);
  });

  it('reads a CSV once when a late integer value is text no integer type takes (N/A), twice when the column type takes it (0x1F)', async () => {
    // Each completed read of the file reports its last 'reading' event with every byte done.
    const reads = async (name: string, late: string) => {
      const path = await fx.file(name, `id,n\n${Array.from({ length: 30_000 }, (_, i) => `${i},${i}`).join('\n')}\n30000,${late}\n`);
      const events: IngestProgress[] = [];
      const report = await fx.ingestion.ingest(path, 'bronze.exact_reads', { onProgress: (e) => events.push(e) });
      return { report: report.files[0], reads: events.filter((e) => e.phase === 'reading' && e.bytesDone === e.bytesTotal).length };
    };
    expect(await reads('late-na.csv', 'N/A')).toMatchObject({ reads: 1, report: { rowsIngested: 30_000, rowsRejected: 1 } });
    // The read as text quarantines 0x1F, which read as an integer would be 31.
    expect(await reads('late-hex.csv', '0x1F')).toMatchObject({ reads: 2, report: { rowsIngested: 30_000, rowsRejected: 1 } });
    expect(await fx.rat.query('SELECT line, reason FROM bronze.exact_reads__rejects ORDER BY reason')).toEqual([
      { line: 30_002, reason: 'column n: 0x1F is not written as a plain integer (a leading zero, 0x or _), which BIGINT would not keep' },
      { line: 30_002, reason: 'column n: cannot convert N/A to BIGINT' },
    ]);
  });

  it('takes a file out of a run of small CSVs read together when one of its values would be rounded', async () => {
    // A run is sniffed from its first file: the third file's 2.5 would be read as an integer like the others.
    await fx.ingestion.ingest(await fx.file('runs-00.csv', 'id,qty\n0,1\n'), 'bronze.exact_run');
    for (const [i, qty] of ['2', '3', '2.5', '4'].entries()) await fx.file(`runs-${String(i + 1).padStart(2, '0')}.csv`, `id,qty\n${i + 1},${qty}\n${i + 11},1\n`);
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'runs-0[1-4].csv'), 'bronze.exact_run');
    expect(report.files.map((f) => [basename(f.file), f.status, f.rowsIngested, f.rowsRejected])).toEqual([
      ['runs-01.csv', 'success', 2, 0],
      ['runs-02.csv', 'success', 2, 0],
      ['runs-03.csv', 'success', 1, 1],
      ['runs-04.csv', 'success', 2, 0],
    ]);
    expect(await fx.rat.query('SELECT qty FROM bronze.exact_run WHERE id = 3')).toEqual([]);
    expect(await fx.rat.query('SELECT line, reason, raw FROM bronze.exact_run__rejects')).toEqual([{ line: 2, reason: 'column qty: cannot convert 2.5 to BIGINT', raw: '3,2.5' }]);
  });

  it('quarantines a NULL in a required column with its CSV line and text, found in the file after the read', async () => {
    await fx.rat.sql('CREATE TABLE bronze.required (id BIGINT NOT NULL, name VARCHAR NOT NULL, qty DOUBLE)');
    // Line 30,003 is one record over two lines (DuckDB counts it as one line, and so does rat).
    const text = `id,name,qty\n${Array.from({ length: 30_000 }, (_, i) => `${i},n${i},${i}.5`).join('\n')}\n30000,,1.5\n30001,"two\nlines",2.5\n,x,3.5\n30003,y,\n`;
    const path = await fx.file('required.csv', text);
    const report = await fx.ingestion.ingest(path, 'bronze.required');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 30_002, rowsRejected: 2 });
    expect(await fx.rat.query(`SELECT line, reason, raw, format FROM bronze.required__rejects ORDER BY line`)).toEqual([
      { line: 30_002, reason: 'column name: NULL in a required (NOT NULL) column', raw: '30000,,1.5', format: 'csv' },
      { line: 30_004, reason: 'column id: NULL in a required (NOT NULL) column', raw: ',x,3.5', format: 'csv' },
    ]);
    // --on-error fail names the first line.
    const strict = await fx.ingestion.ingest(await fx.file('required-strict.csv', text), 'bronze.required', { onError: 'fail' });
    expect(strict.files[0]!.status).toBe('failed');
    expect(strict.files[0]!.error).toMatch(/required-strict\.csv \(line 30002\): column name: NULL in a required/);
    // After the fix, a replay parses the CSV text again; the row still bad keeps its line.
    await fx.rat.sql('ALTER TABLE bronze.required ALTER COLUMN name DROP NOT NULL');
    expect(await fx.ingestion.replayRejects('bronze.required')).toMatchObject({ replayed: 1, stillRejected: 1 });
    expect(await fx.rat.query('SELECT id, name, qty FROM bronze.required WHERE id = 30000')).toEqual([{ id: 30_000, name: null, qty: 1.5 }]);
    expect(await fx.rat.query('SELECT line, raw FROM bronze.required__rejects')).toEqual([{ line: 30_004, raw: ',x,3.5' }]);
    // A zstd-compressed file is walked decompressed: its line and text too.
    const zst = join(fx.dir, 'required.csv.zst');
    await fx.rat.duck.run(`COPY (SELECT * FROM (VALUES (40000, 'z', 4.5), (NULL, 'x', 3.5)) t(id, name, qty)) TO ${quoteString(zst)} (FORMAT csv, COMPRESSION zstd)`);
    expect((await fx.ingestion.ingest(zst, 'bronze.required')).files[0]).toMatchObject({ status: 'success', rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT line, raw, format FROM bronze.required__rejects WHERE file_path = ${quoteString(zst)}`)).toEqual([{ line: 3, raw: ',x,3.5', format: 'csv' }]);
    // A file rat cannot walk byte by byte (UTF-16): no line rather than a guessed one, and the row's values as JSON.
    const utf16 = await fx.file('required-utf16.csv', Buffer.from('\ufeffid,name,qty\n40001,z,4.5\n,y,3.5\n', 'utf16le'));
    expect((await fx.ingestion.ingest(utf16, 'bronze.required')).files[0]).toMatchObject({ status: 'success', rowsRejected: 1 });
    expect(await fx.rat.query(`SELECT line, raw, format FROM bronze.required__rejects WHERE file_path = ${quoteString(utf16)}`)).toEqual([
      { line: null, raw: '{"id":null,"name":"y","qty":3.5}', format: 'json' },
    ]);
  });

  it('quarantines a time of day read through a sniffed timestamp format into a date column, with its line', async () => {
    await fx.rat.sql('CREATE TABLE bronze.days (id BIGINT, day DATE)');
    const path = await fx.file('days.csv', `id;day\n${Array.from({ length: 56 }, (_, i) => `${i};${String(1 + (i % 28)).padStart(2, '0')}/02/2024 00:00:00`).join('\n')}\n56;05/02/2024 10:30:00\n57;06/02/2024 00:00:00\n`);
    const report = await fx.ingestion.ingest(path, 'bronze.days');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 57, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT line, reason, raw FROM bronze.days__rejects')).toEqual([{ line: 58, reason: 'column day: cannot convert 2024-02-05 10:30:00 to DATE', raw: '56;05/02/2024 10:30:00' }]);
    expect(await fx.rat.query("SELECT CAST(day AS VARCHAR) AS day FROM bronze.days WHERE id = 57")).toEqual([{ day: '2024-02-06' }]);
  });

  it('reads a date column of ISO dates as such when one value is written dd/mm/yyyy, quarantining that one (the sniffer picked %d/%m/%Y for all)', async () => {
    const text = `id,d\n${Array.from({ length: 1000 }, (_, i) => `${i + 1},2024-01-${String((i % 28) + 1).padStart(2, '0')}`).join('\n')}\n1001,05/02/2024\n`;
    const report = await fx.ingestion.ingest(await fx.file('mostly-iso.csv', text), 'bronze.mostly_iso');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1000, rowsRejected: 1 });
    expect(await columns('bronze.mostly_iso')).toMatchObject({ d: 'date' });
    expect(await fx.rat.query('SELECT line, raw FROM bronze.mostly_iso__rejects')).toEqual([{ line: 1002, raw: '1001,05/02/2024' }]);
    expect(await fx.ingestion.replayRejects('bronze.mostly_iso', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await fx.rat.query(`SELECT d::VARCHAR AS d FROM bronze.mostly_iso WHERE id = 1001`)).toEqual([{ d: '2024-02-05' }]);
    // All written dd/mm/yyyy: the sniffer's format stands.
    const dm = await fx.ingestion.ingest(await fx.file('day-month.csv', `id,d\n${Array.from({ length: 50 }, (_, i) => `${i + 1},${String((i % 28) + 1).padStart(2, '0')}/01/2024`).join('\n')}\n`), 'bronze.day_month');
    expect(dm.files[0]).toMatchObject({ status: 'success', rowsIngested: 50, rowsRejected: 0 });
    expect(await fx.rat.query(`SELECT max(d)::VARCHAR AS d FROM bronze.day_month`)).toEqual([{ d: '2024-01-28' }]);
  });

  it('quarantines JSON values that do not fit the column type, with the record number', async () => {
    await fx.ingestion.ingest(await fx.file('j1.ndjson', '{"id": 1, "score": 10}\n'), 'bronze.scores');
    const path = await fx.file('j2.ndjson', '{"id": 2, "score": 20}\n{"id": 3, "score": 2.5}\n{"id": 4, "score": "high"}\n');
    const report = await fx.ingestion.ingest(path, 'bronze.scores', { schemaDrift: 'ignore' });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string; format: string }>(`SELECT line, reason, raw, format FROM bronze.scores__rejects ORDER BY line`);
    expect(rejects.map((r) => r.line)).toEqual([2, 3]);
    expect(rejects[0]!.reason).toBe('column score: cannot convert 2.5 to BIGINT');
    expect(JSON.parse(rejects[1]!.raw)).toMatchObject({ id: 4, score: 'high' });
    expect(rejects[1]!.format).toBe('json');
  });

  describe('lineage into a table made without it', () => {
    it('says lineage was left out where the drift policy adds no columns', async () => {
      await fx.ingestion.ingest(await fx.file('nolin-1.csv', 'a,b\n1,x\n'), 'bronze.nolin', { lineage: false });
      for (const schemaDrift of ['strict', 'ignore'] as const) {
        const report = await fx.ingestion.ingest(await fx.file(`nolin-${schemaDrift}.csv`, 'a,b\n2,y\n'), 'bronze.nolin', { schemaDrift });
        expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
        expect(report.files[0]!.schemaChanges).toEqual([
          `lineage columns _source_file, _ingested_at not added: bronze.nolin has none, and schema drift policy ${schemaDrift} adds no columns (ingest once with --schema-drift evolve to add them, or with --no-lineage)`,
        ]);
      }
      expect(Object.keys(await columns('bronze.nolin'))).toEqual(['a', 'b']);
    });

    it('refuses to write lineage into columns of the data named like it (kept with --keep-names)', async () => {
      await fx.ingestion.ingest(await fx.file('own-1.csv', 'id,_source_file,_ingested_at\n1,crm-export,yesterday\n'), 'bronze.ownlin', { lineage: false, safeNames: false });
      const report = await fx.ingestion.ingest(await fx.file('own-2.csv', 'id\n2\n'), 'bronze.ownlin');
      expect(report.files[0]).toMatchObject({
        status: 'failed',
        error: expect.stringContaining(
          'bronze.ownlin has _source_file (string) and _ingested_at (string) of its own data, not the lineage columns _source_file (string) and _ingested_at (timestamptz) that lineage fills with the source file and the load time: ingest into bronze.ownlin with --no-lineage',
        ),
      });
      expect(await fx.rat.query('SELECT id, _source_file, _ingested_at FROM bronze.ownlin')).toEqual([{ id: 1, _source_file: 'crm-export', _ingested_at: 'yesterday' }]);
      expect((await fx.ingestion.ingest(await fx.file('own-3.csv', 'id\n3\n'), 'bronze.ownlin', { lineage: false })).files[0]).toMatchObject({ status: 'success' });
    });
  });
});
