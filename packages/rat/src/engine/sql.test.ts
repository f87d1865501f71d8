import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Json } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RatError } from '../core/errors.js';
import { type Lakehouse, openLakehouse, type SnapshotInfo } from './lakehouse.js';
import type { CommandResult, RowsResult, StatementResult } from './sql-executor.js';
import { isPostgres } from '../catalog/metadata-db.js';
import { catalogOptions, TEST_DIALECT } from '../catalog/test-support/test-catalog.js';
import { startIcebirdReader } from './test-support/icebird-reader.js';

/**
 * Every SQL statement the platform handles on catalog tables, end to end on a local lakehouse:
 * each one is checked by reading the table back (and its snapshots, schema and files) afterwards.
 */

let home: string;
let rat: Lakehouse;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'rat-sql-'));
  // env: {} keeps a developer's RAT_S3_* variables from moving this suite onto S3.
  rat = await openLakehouse({ home, env: {}, threads: 2, ...catalogOptions(home) });
});

afterAll(async () => {
  await rat?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

type Row = Record<string, Json>;

function rows(sql: string): Promise<Row[]> {
  return rat.query(sql);
}

async function command(sql: string): Promise<CommandResult> {
  const results = await rat.sql(sql);
  expect(results).toHaveLength(1);
  const result = results[0]!;
  if (result.kind !== 'command') throw new Error(`expected a command result from ${sql}, got rows`);
  return result;
}

async function rowsResult(sql: string): Promise<RowsResult> {
  const result = (await rat.sql(sql)).at(-1);
  if (result?.kind !== 'rows') throw new Error(`expected rows from ${sql}`);
  return result;
}

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected the statement to fail');
  return error;
}

function current(snapshots: SnapshotInfo[]): SnapshotInfo | undefined {
  return snapshots.find((s) => s.current);
}

/** Runs one DML statement and checks it made exactly one new snapshot, a child of the previous current one. */
async function oneSnapshot(table: string, sql: string): Promise<{ result: CommandResult; snapshot: SnapshotInfo }> {
  const before = await rat.snapshots(table);
  const result = await command(sql);
  const after = await rat.snapshots(table);
  expect(after, `snapshots of ${table} after ${sql}`).toHaveLength(before.length + 1);
  const snapshot = current(after)!;
  expect(snapshot.snapshotId).toBe(after.at(-1)!.snapshotId);
  expect(result.snapshotId).toBe(snapshot.snapshotId);
  expect(snapshot.parentSnapshotId).toBe(current(before)?.snapshotId);
  return { result, snapshot };
}

/** Runs a statement that changes nothing and checks the table has exactly the snapshots and metadata it had. */
async function noSnapshot(table: string, sql: string): Promise<CommandResult> {
  const before = await rat.describeTable(table);
  const result = await command(sql);
  const after = await rat.describeTable(table);
  expect(result.snapshotId).toBeUndefined();
  expect(after.snapshotCount).toBe(before.snapshotCount);
  expect(after.currentSnapshotId).toBe(before.currentSnapshotId);
  expect(after.metadataLocation).toBe(before.metadataLocation);
  return result;
}

/** The live data files of a table's current snapshot: partition values (by partition field name) and record counts. */
async function liveFiles(table: string): Promise<{ partition: Record<string, string | null>; records: number; path: string }[]> {
  const loaded = await rat.loadTable(table);
  const spec = (await rat.describeTable(table)).partitionSpec;
  const { scan } = await rat.executor.reader.plan(loaded);
  rat.takeScanRecords();
  return scan.tasks.map((task) => ({
    partition: Object.fromEntries(
      spec.fields.map((f) => {
        const value = task.dataFile.partition[f.fieldId];
        return [f.name, value === null || value === undefined ? null : String(value)];
      }),
    ),
    records: task.dataFile.recordCount,
    path: task.dataFile.filePath,
  }));
}

function sortedPartitions(files: { partition: Record<string, string | null>; records: number }[]): string[] {
  return files.map((f) => `${JSON.stringify(f.partition)}:${f.records}`).sort();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

it('runs on the metadata DB of this test project (SQLite, or PostgreSQL in the postgres project)', () => {
  expect(isPostgres(rat.metadataDb)).toBe(TEST_DIALECT === 'postgres');
});

describe('namespaces known to a statement', () => {
  it('reads the namespace list only for an unknown qualifier, and sees namespaces another process created or dropped', async () => {
    const other = await openLakehouse({ home, env: {}, threads: 1, ...catalogOptions(home) });
    try {
      await command('CREATE SCHEMA ns_seen');
      await command('CREATE TABLE ns_seen.t AS SELECT 1 AS a');
      const reads = vi.spyOn(rat.catalog, 'listNamespaces');
      // All qualifiers known: no read.
      expect(await rows('SELECT a FROM ns_seen.t')).toEqual([{ a: 1 }]);
      expect(reads).toHaveBeenCalledTimes(0);
      // Created by the other lakehouse: the unknown qualifier makes this one read the list again.
      await other.sql('CREATE SCHEMA ns_elsewhere; CREATE TABLE ns_elsewhere.t AS SELECT 2 AS b');
      expect(await rows('SELECT b FROM ns_elsewhere.t')).toEqual([{ b: 2 }]);
      expect(reads).toHaveBeenCalledTimes(1);
      // Dropped by the other one: `ns_elsewhere.b` is now an alias's column, not a table.
      await other.sql('DROP TABLE ns_elsewhere.t; DROP SCHEMA ns_elsewhere');
      expect(await rows('SELECT ns_elsewhere.b FROM (SELECT 3 AS b) ns_elsewhere')).toEqual([{ b: 3 }]);
      await expect(rat.sql('SELECT * FROM ns_elsewhere.t')).rejects.toThrow(/ns_elsewhere/);
      reads.mockRestore();
    } finally {
      await other.close();
    }
  });
});

describe('INSERT after another process changed the table', () => {
  it('lands on top of the other writer, and runs again on a fresh read when the table was re-created with another schema', async () => {
    const other = await openLakehouse({ home, env: {}, threads: 1, ...catalogOptions(home) });
    try {
      await command('CREATE SCHEMA IF NOT EXISTS ins_other');
      await command('CREATE TABLE ins_other.t (a INTEGER)');
      await command('INSERT INTO ins_other.t VALUES (1)');
      const reads = vi.spyOn(rat.catalog, 'loadTable');
      // This executor remembers the table its INSERT left: the next INSERT reads nothing first.
      await command('INSERT INTO ins_other.t VALUES (2)');
      expect(reads).toHaveBeenCalledTimes(0);
      // Another process appends in between: the compare-and-swap fails, the append re-applies on top.
      await other.sql('INSERT INTO ins_other.t VALUES (3)');
      await command('INSERT INTO ins_other.t VALUES (4)');
      expect(await rows('SELECT a FROM ins_other.t ORDER BY a')).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
      expect((await rat.snapshots('ins_other.t')).length).toBe(4);
      // Dropped and re-created with two columns: the remembered one-column table must not be used.
      await other.sql("DROP TABLE ins_other.t; CREATE TABLE ins_other.t (a INTEGER, b VARCHAR); INSERT INTO ins_other.t VALUES (10, 'x')");
      await command("INSERT INTO ins_other.t VALUES (11, 'y')");
      expect(await rows('SELECT a, b FROM ins_other.t ORDER BY a')).toEqual([{ a: 10, b: 'x' }, { a: 11, b: 'y' }]);
      // Re-created with the columns' field ids swapped but the same schema id: files written for the
      // remembered table would be read by field id as the wrong columns.
      await command('INSERT INTO ins_other.t BY NAME SELECT 12 AS a, CAST(NULL AS VARCHAR) AS b');
      await other.sql('DROP TABLE ins_other.t; CREATE TABLE ins_other.t (b VARCHAR, a INTEGER)');
      await command("INSERT INTO ins_other.t BY NAME SELECT 20 AS a, 'z' AS b");
      expect(await other.query('SELECT a, b FROM ins_other.t')).toEqual([{ a: 20, b: 'z' }]);
      // An independent reader resolves columns by field id only.
      const icebird = await startIcebirdReader(home);
      try {
        const description = await other.describeTable('ins_other.t');
        expect(await icebird.read(description.location, path.basename(description.metadataLocation))).toEqual([{ b: 'z', a: 20 }]);
      } finally {
        await icebird.close();
      }
      expect((await other.snapshots('ins_other.t')).length).toBe(1);
      reads.mockRestore();
    } finally {
      await other.close();
    }
  });
});

describe('CREATE TABLE ... PARTITIONED BY', () => {
  const cases: {
    name: string;
    columns: string;
    partitionBy: string;
    values: string;
    spec: { name: string; transform: string; source: string }[];
    /** Partition values per file (by partition field name) with the file's record count. */
    files: { partition: Record<string, string | null>; records: number }[];
  }[] = [
    {
      name: 'identity',
      columns: 'id INT, region VARCHAR',
      partitionBy: 'region',
      values: "(1, 'eu'), (2, 'eu'), (3, 'us'), (4, NULL)",
      spec: [{ name: 'region', transform: 'identity', source: 'region' }],
      files: [
        { partition: { region: 'eu' }, records: 2 },
        { partition: { region: 'us' }, records: 1 },
        { partition: { region: null }, records: 1 },
      ],
    },
    {
      // Years since 1970 (spec "Partition Transforms").
      name: 'year',
      columns: 'id INT, ts TIMESTAMP',
      partitionBy: 'year(ts)',
      values: "(1, TIMESTAMP '2023-05-01 00:00:00'), (2, TIMESTAMP '2023-12-31 23:59:59.999999'), (3, TIMESTAMP '2024-01-01 00:00:00'), (4, TIMESTAMP '1969-12-31 23:59:59')",
      spec: [{ name: 'ts_year', transform: 'year', source: 'ts' }],
      files: [
        { partition: { ts_year: '53' }, records: 2 },
        { partition: { ts_year: '54' }, records: 1 },
        { partition: { ts_year: '-1' }, records: 1 },
      ],
    },
    {
      name: 'month',
      columns: 'id INT, d DATE',
      partitionBy: 'month(d)',
      values: "(1, DATE '2024-01-01'), (2, DATE '2024-01-31'), (3, DATE '2024-02-01'), (4, DATE '1969-12-15')",
      spec: [{ name: 'd_month', transform: 'month', source: 'd' }],
      files: [
        { partition: { d_month: String((2024 - 1970) * 12) }, records: 2 },
        { partition: { d_month: String((2024 - 1970) * 12 + 1) }, records: 1 },
        { partition: { d_month: '-1' }, records: 1 },
      ],
    },
    {
      name: 'day',
      columns: 'id INT, ts TIMESTAMP',
      partitionBy: 'day(ts)',
      values: "(1, TIMESTAMP '2024-01-01 00:00:00'), (2, TIMESTAMP '2024-01-01 23:59:59'), (3, TIMESTAMP '1970-01-01 12:00:00'), (4, TIMESTAMP '1969-12-31 23:00:00')",
      spec: [{ name: 'ts_day', transform: 'day', source: 'ts' }],
      files: [
        { partition: { ts_day: '19723' }, records: 2 },
        { partition: { ts_day: '0' }, records: 1 },
        { partition: { ts_day: '-1' }, records: 1 },
      ],
    },
    {
      // timestamptz is partitioned by its UTC instant: 12:30+02 is the same hour as 10:30Z.
      name: 'hour',
      columns: 'id INT, ts TIMESTAMPTZ',
      partitionBy: 'hour(ts)',
      values: "(1, TIMESTAMPTZ '2024-01-01 10:30:00+00'), (2, TIMESTAMPTZ '2024-01-01 12:59:59+02'), (3, TIMESTAMPTZ '2024-01-01 11:00:00+00')",
      spec: [{ name: 'ts_hour', transform: 'hour', source: 'ts' }],
      files: [
        { partition: { ts_hour: String(19723 * 24 + 10) }, records: 2 },
        { partition: { ts_hour: String(19723 * 24 + 11) }, records: 1 },
      ],
    },
    {
      // Spec Appendix B: hash(34) = 2017239379 and hash("iceberg") = 1210000089, so buckets of 16 are 3 and 9.
      name: 'bucket',
      columns: 'id INT, s VARCHAR',
      partitionBy: 'bucket(16, id), bucket(16, s)',
      values: "(34, 'iceberg'), (34, 'iceberg'), (NULL, 'iceberg'), (34, NULL)",
      spec: [
        { name: 'id_bucket', transform: 'bucket[16]', source: 'id' },
        { name: 's_bucket', transform: 'bucket[16]', source: 's' },
      ],
      files: [
        { partition: { id_bucket: '3', s_bucket: '9' }, records: 2 },
        { partition: { id_bucket: null, s_bucket: '9' }, records: 1 },
        { partition: { id_bucket: '3', s_bucket: null }, records: 1 },
      ],
    },
    {
      // truncate(W, int) rounds towards negative infinity: -1 -> -10.
      name: 'truncate',
      columns: 'n INT, s VARCHAR',
      partitionBy: 'truncate(10, n), truncate(3, s)',
      values: "(1, 'iceberg'), (9, 'icecream'), (10, 'iceberg'), (-1, 'ab')",
      spec: [
        { name: 'n_trunc', transform: 'truncate[10]', source: 'n' },
        { name: 's_trunc', transform: 'truncate[3]', source: 's' },
      ],
      files: [
        { partition: { n_trunc: '0', s_trunc: 'ice' }, records: 2 },
        { partition: { n_trunc: '10', s_trunc: 'ice' }, records: 1 },
        { partition: { n_trunc: '-10', s_trunc: 'ab' }, records: 1 },
      ],
    },
  ];

  it.each(cases)('$name: the spec is recorded and each partition gets its own data files', async (c) => {
    const table = `bronze.part_${c.name}`;
    await command(`CREATE TABLE ${table} (${c.columns}) PARTITIONED BY (${c.partitionBy})`);
    const created = await rat.describeTable(table);
    const sourceIds = new Map(created.schema.fields.map((f) => [f.name, f.id]));
    expect(created.partitionSpec.fields.map((f) => ({ name: f.name, transform: f.transform, sourceId: f.sourceId }))).toEqual(
      c.spec.map((s) => ({ name: s.name, transform: s.transform, sourceId: sourceIds.get(s.source) })),
    );
    expect(created.snapshotCount).toBe(0);

    const { result, snapshot } = await oneSnapshot(table, `INSERT INTO ${table} VALUES ${c.values}`);
    expect(result.rowCount).toBe(c.files.reduce((n, f) => n + f.records, 0));
    expect(snapshot.summary['added-data-files']).toBe(String(c.files.length));

    const described = await rat.describeTable(table);
    expect(described.dataFileCount).toBe(c.files.length);
    expect(described.recordCount).toBe(result.rowCount);
    const files = await liveFiles(table);
    expect(sortedPartitions(files)).toEqual(sortedPartitions(c.files));
    // Files of one partition sit under their own partition directory.
    expect(new Set(files.map((f) => path.posix.dirname(f.path))).size).toBe(c.files.length);

    // Reading back returns exactly what went in, whatever the layout.
    const expected = await rows(`SELECT * FROM (VALUES ${c.values}) v ORDER BY ALL`);
    const actual = await rows(`SELECT * FROM ${table} ORDER BY ALL`);
    expect(actual.map((r) => Object.values(r))).toEqual(expected.map((r) => Object.values(r)));
  });

  it('identity partition values are read from the files, not parsed back from the `col=value` paths', async () => {
    const table = 'bronze.part_paths';
    const values = "('a b/c=d%20+', 7, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.678'), ('01', NULL, DATE '1969-12-31', NULL)";
    await command(`CREATE TABLE ${table} (s VARCHAR, n INT, d DATE, ts TIMESTAMP) PARTITIONED BY (s, n, d, ts)`);
    await command(`INSERT INTO ${table} VALUES ${values}`);
    const expected = await rowsResult(`SELECT * FROM (VALUES ${values}) v(s, n, d, ts) ORDER BY s`);
    const actual = await rowsResult(`SELECT * FROM ${table} ORDER BY s`);
    expect(actual.columnTypes).toEqual(['VARCHAR', 'INTEGER', 'DATE', 'TIMESTAMP']);
    expect(actual.rows).toEqual(expected.rows);
    expect(actual.rows[1]).toEqual(['a b/c=d%20+', 7, '2024-01-02', '2024-01-02 03:04:05.678']);
    expect(await rows(`SELECT n FROM ${table} WHERE s = 'a b/c=d%20+'`)).toEqual([{ n: 7 }]);
  });
});

describe('CREATE TABLE AS SELECT', () => {
  // Row 1: ordinary values; row 2: edge values; row 3: NULL everywhere.
  const select = `
    SELECT 1::INT AS i, 9007199254740993::BIGINT AS b, 1.5::DOUBLE AS d, 12.34::DECIMAL(10,2) AS dec, DATE '2024-02-29' AS dt,
      TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' AS tstz, 'héllo, wörld'::VARCHAR AS s,
      true AS bo, {'a': 1, 'b': 'x'} AS st, [1, 2, 3] AS l, MAP {'k': 1, 'q': 2} AS m
    UNION ALL
    SELECT (-2147483648)::INT, (-9223372036854775808)::BIGINT, -0.25, -99999999.99, DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.999999',
      TIMESTAMPTZ '2024-06-30 23:00:00-02', '', false, {'a': NULL, 'b': ''}, [], MAP {}
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL`;

  it('stores int, bigint, double, decimal, date, timestamp, timestamptz, varchar, boolean, struct, list and map exactly', async () => {
    const created = await command(`CREATE TABLE bronze.ctas_types AS ${select}`);
    expect(created.message).toBe('CREATE TABLE 3');
    expect(created.rowCount).toBe(3);
    const snapshots = await rat.snapshots('bronze.ctas_types');
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.snapshotId).toBe(created.snapshotId);

    const schema = (await rat.describeTable('bronze.ctas_types')).schema;
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, typeof f.type === 'string' ? f.type : f.type.type]));
    expect(types).toEqual({
      i: 'int',
      b: 'long',
      d: 'double',
      dec: 'decimal(10, 2)',
      dt: 'date',
      ts: 'timestamp',
      tstz: 'timestamptz',
      s: 'string',
      bo: 'boolean',
      st: 'struct',
      l: 'list',
      m: 'map',
    });

    const expected = await rowsResult(`SELECT * FROM (${select}) ORDER BY i NULLS LAST`);
    const stored = await rowsResult('SELECT * FROM bronze.ctas_types ORDER BY i NULLS LAST');
    expect(stored.columnTypes).toEqual(expected.columnTypes);
    expect(stored.rows).toEqual(expected.rows);
    // Spot checks that do not depend on DuckDB's own rendering being right.
    const [first, edge, empty] = await rows('SELECT * FROM bronze.ctas_types ORDER BY i DESC NULLS LAST');
    expect(first).toMatchObject({ i: 1, b: '9007199254740993', dec: '12.34', dt: '2024-02-29', ts: '2024-01-02 03:04:05.123456', tstz: '2024-01-02 03:04:05.123456+00', s: 'héllo, wörld' });
    expect(first!.st).toEqual({ a: 1, b: 'x' });
    expect(first!.l).toEqual([1, 2, 3]);
    expect(edge).toMatchObject({ i: -2147483648, b: '-9223372036854775808', d: -0.25, dec: '-99999999.99', ts: '1969-12-31 23:59:59.999999', tstz: '2024-07-01 01:00:00+00', s: '', bo: false });
    expect(edge!.l).toEqual([]);
    expect(Object.values(empty!).every((v) => v === null)).toBe(true);

    // A CTAS from a catalog table copies it exactly, and so does a second generation.
    await command('CREATE TABLE silver.ctas_copy AS SELECT * FROM bronze.ctas_types');
    const copied = await rowsResult('SELECT * FROM silver.ctas_copy ORDER BY i NULLS LAST');
    expect(copied.columnTypes).toEqual(expected.columnTypes);
    expect(copied.rows).toEqual(expected.rows);
  });

  it('CREATE TABLE with a column list AS SELECT casts to the declared types; CTAS of no rows makes no snapshot', async () => {
    const created = await command("CREATE TABLE bronze.ctas_cast (id BIGINT, label VARCHAR) AS SELECT 7, 'seven'");
    expect(created.rowCount).toBe(1);
    const result = await rowsResult('SELECT * FROM bronze.ctas_cast');
    expect(result.columnTypes).toEqual(['BIGINT', 'VARCHAR']);
    expect(result.rows).toEqual([[7, 'seven']]);

    const empty = await command('CREATE TABLE bronze.ctas_empty AS SELECT 1 AS x WHERE false');
    expect(empty.rowCount).toBe(0);
    expect(empty.snapshotId).toBeUndefined();
    expect(await rat.snapshots('bronze.ctas_empty')).toEqual([]);
    expect(await rows('SELECT * FROM bronze.ctas_empty')).toEqual([]);
  });

  it('CREATE TABLE IF NOT EXISTS leaves an existing table alone; CREATE OR REPLACE swaps it in one commit', async () => {
    await command("CREATE TABLE bronze.replace_me AS SELECT 1 AS a, 'x' AS b");
    const before = await rat.describeTable('bronze.replace_me');
    const skipped = await command('CREATE TABLE IF NOT EXISTS bronze.replace_me (q INT)');
    expect(skipped.message).toBe('CREATE TABLE (already exists)');
    expect((await rat.describeTable('bronze.replace_me')).metadataLocation).toBe(before.metadataLocation);
    expect(await rows('SELECT * FROM bronze.replace_me')).toEqual([{ a: 1, b: 'x' }]);

    const replaced = await command('CREATE OR REPLACE TABLE bronze.replace_me AS SELECT 2.5::DOUBLE AS z UNION ALL SELECT 3.5');
    expect(replaced.rowCount).toBe(2);
    expect(await rows('SELECT * FROM bronze.replace_me ORDER BY z')).toEqual([{ z: 2.5 }, { z: 3.5 }]);
    const after = await rat.describeTable('bronze.replace_me');
    expect(after.schema.fields.map((f) => f.name)).toEqual(['z']);
    expect(after.location).toBe(before.location);
  });
});

describe('INSERT', () => {
  beforeAll(async () => {
    await command('CREATE TABLE bronze.ins (id INT, name VARCHAR, score DOUBLE)');
    await command('CREATE TABLE silver.ins_source (id INT, name VARCHAR, score DOUBLE)');
  });

  it('positionally, by column list (missing columns NULL) and BY NAME, one snapshot each', async () => {
    const positional = await oneSnapshot('bronze.ins', "INSERT INTO bronze.ins VALUES (1, 'a', 1.5), (2, 'b', 2.5)");
    expect(positional.result).toMatchObject({ message: 'INSERT 0 2', rowCount: 2 });
    expect(positional.snapshot.operation).toBe('append');

    const listed = await oneSnapshot('bronze.ins', 'INSERT INTO bronze.ins (score, id) VALUES (3.5, 3)');
    expect(listed.result.rowCount).toBe(1);

    const byName = await oneSnapshot('bronze.ins', "INSERT INTO bronze.ins BY NAME SELECT 'd' AS name, 4 AS id");
    expect(byName.result.rowCount).toBe(1);

    // Values are cast to the column types: '5' is an INT, 6 a DOUBLE.
    await oneSnapshot('bronze.ins', "INSERT INTO bronze.ins VALUES ('5', 'e', 6)");

    expect(await rows('SELECT * FROM bronze.ins ORDER BY id')).toEqual([
      { id: 1, name: 'a', score: 1.5 },
      { id: 2, name: 'b', score: 2.5 },
      { id: 3, name: null, score: 3.5 },
      { id: 4, name: 'd', score: null },
      { id: 5, name: 'e', score: 6 },
    ]);
    const described = await rat.describeTable('bronze.ins');
    expect(described.recordCount).toBe(5);
    expect(described.snapshotCount).toBe(4);
  });

  it('INSERT ... SELECT from another catalog table; an insert of no rows makes no snapshot', async () => {
    await command("INSERT INTO silver.ins_source VALUES (10, 'ten', 10.0), (11, 'eleven', 11.0)");
    const copied = await oneSnapshot('bronze.ins', 'INSERT INTO bronze.ins SELECT * FROM silver.ins_source WHERE id = 11');
    expect(copied.result.rowCount).toBe(1);
    expect(await rows('SELECT * FROM bronze.ins WHERE id >= 10')).toEqual([{ id: 11, name: 'eleven', score: 11 }]);

    const none = await noSnapshot('bronze.ins', 'INSERT INTO bronze.ins SELECT * FROM silver.ins_source WHERE false');
    expect(none).toMatchObject({ message: 'INSERT 0 0', rowCount: 0 });
  });

  it('refuses a date or timestamp of infinity, which Iceberg cannot store, naming the column; nothing is written', async () => {
    await command('CREATE TABLE bronze.ins_inf (id INT, day DATE, ts TIMESTAMPTZ, tags STRUCT(seen TIMESTAMP))');
    await command("INSERT INTO bronze.ins_inf VALUES (1, DATE '2024-01-01', TIMESTAMPTZ '2024-01-01 10:00:00+00', {'seen': TIMESTAMP '2024-01-01'})");
    const before = await rat.describeTable('bronze.ins_inf');
    const files = async () => (await readdir(path.join(home, 'warehouse', 'bronze', 'ins_inf', 'data'), { recursive: true })).filter((f) => f.endsWith('.parquet')).length;
    const filesBefore = await files();
    for (const [sql, message] of [
      ["INSERT INTO bronze.ins_inf VALUES (2, DATE 'infinity', NULL, NULL)", 'column day holds infinity, which an Iceberg date cannot store'],
      ["INSERT INTO bronze.ins_inf VALUES (2, NULL, TIMESTAMPTZ '-infinity', NULL)", 'column ts holds -infinity, which an Iceberg timestamptz cannot store'],
      ["INSERT INTO bronze.ins_inf VALUES (2, NULL, NULL, {'seen': TIMESTAMP 'infinity'})", 'column tags.seen holds infinity, which an Iceberg timestamp cannot store'],
      ["UPDATE bronze.ins_inf SET day = 'infinity' WHERE id = 1", 'column day holds infinity'],
    ] as const) {
      await expect(rat.sql(sql), sql).rejects.toMatchObject({ code: 'VALUE_NOT_STORABLE', message: expect.stringContaining(message) });
    }
    const after = await rat.describeTable('bronze.ins_inf');
    expect(after.currentSnapshotId).toBe(before.currentSnapshotId);
    expect(await files()).toBe(filesBefore);
    expect(await rows('SELECT id, CAST(day AS VARCHAR) AS day FROM bronze.ins_inf')).toEqual([{ id: 1, day: '2024-01-01' }]);
  });

  it('VALUES rows that mix a quoted literal and a number in one column are cast to the column types first', async () => {
    await command('CREATE TABLE bronze.ins_mixed (id INT, d DOUBLE)');
    await oneSnapshot('bronze.ins_mixed', "INSERT INTO bronze.ins_mixed VALUES (1, 'NaN'), (2, 1.5)");
    await oneSnapshot('bronze.ins_mixed', "INSERT INTO bronze.ins_mixed VALUES ('3', 2), (4, [2.5, 3][1])");
    await oneSnapshot('bronze.ins_mixed', "INSERT INTO bronze.ins_mixed (d, id) VALUES ('1e3', 5), (-1, '6')");
    expect(await rows('SELECT id, CAST(d AS VARCHAR) AS d FROM bronze.ins_mixed ORDER BY id')).toEqual([
      { id: 1, d: 'nan' },
      { id: 2, d: '1.5' },
      { id: 3, d: '2.0' },
      { id: 4, d: '2.5' },
      { id: 5, d: '1000.0' },
      { id: 6, d: '-1.0' },
    ]);
    const before = await rat.describeTable('bronze.ins_mixed');
    await expect(rat.sql("INSERT INTO bronze.ins_mixed VALUES (7, 'abc'), (8, 1.5)")).rejects.toMatchObject({
      code: 'TYPE_MISMATCH',
      message: expect.stringMatching(/bronze\.ins_mixed, column d: .*'abc'/),
    });
    expect((await rat.describeTable('bronze.ins_mixed')).currentSnapshotId).toBe(before.currentSnapshotId);
  });

  it('INSERT OVERWRITE replaces every row in one overwrite snapshot', async () => {
    await command('CREATE TABLE bronze.ins_over (k VARCHAR, v INT) PARTITIONED BY (k)');
    await command("INSERT INTO bronze.ins_over VALUES ('a', 1), ('b', 2)");
    await command("INSERT INTO bronze.ins_over VALUES ('c', 3)");
    const { snapshot } = await oneSnapshot('bronze.ins_over', "INSERT OVERWRITE bronze.ins_over VALUES ('z', 26)");
    expect(snapshot.operation).toBe('overwrite');
    expect(snapshot.summary['deleted-data-files']).toBe('3');
    expect(await rows('SELECT * FROM bronze.ins_over')).toEqual([{ k: 'z', v: 26 }]);
    expect((await rat.describeTable('bronze.ins_over')).dataFileCount).toBe(1);
  });
});

describe('UPDATE, DELETE, MERGE on tables whose column names DuckDB also uses', () => {
  // t: the alias an earlier version gave the table; rowid: DuckDB's row-id pseudo-column, hidden by a
  // real column; filename, file_row_number: columns a Parquet scan can add; __rat_hash: rat's own prefix.
  for (const column of ['t', 'rowid', 'filename', 'file_row_number', '__rat_hash']) {
    it(`UPDATE, DELETE and MERGE change exactly the rows they name when a column is called ${column}`, async () => {
      const table = `bronze.dml_named_${column.replaceAll('_', '')}`;
      await command(`CREATE TABLE ${table} ("${column}" BIGINT, v VARCHAR)`);
      await command(`INSERT INTO ${table} VALUES (100, 'a'), (101, 'b')`);
      await command(`INSERT INTO ${table} VALUES (0, 'c'), (1, 'd')`);
      await command(`INSERT INTO ${table} VALUES (7, 'e')`);
      const values = async () => rows(`SELECT "${column}" AS k, v FROM ${table} ORDER BY v`);

      const updated = await oneSnapshot(table, `UPDATE ${table} SET v = 'B' WHERE v = 'b'`);
      expect(updated.result).toMatchObject({ message: 'UPDATE 1' });
      expect(updated.snapshot.summary['deleted-data-files']).toBe('1');
      expect(await values()).toEqual([{ k: 101, v: 'B' }, { k: 100, v: 'a' }, { k: 0, v: 'c' }, { k: 1, v: 'd' }, { k: 7, v: 'e' }]);

      await oneSnapshot(table, `DELETE FROM ${table} WHERE v = 'e'`);
      await oneSnapshot(table, `UPDATE ${table} SET "${column}" = "${column}" + 1 WHERE v = 'c'`);
      await oneSnapshot(table, `MERGE INTO ${table} USING (SELECT 'd' AS v UNION ALL SELECT 'f') s ON ${table.split('.')[1]}.v = s.v WHEN MATCHED THEN UPDATE SET v = 'D' WHEN NOT MATCHED THEN INSERT VALUES (5, s.v)`);
      expect(await values()).toEqual([
        { k: 101, v: 'B' },
        { k: 1, v: 'D' },
        { k: 100, v: 'a' },
        { k: 1, v: 'c' },
        { k: 5, v: 'f' },
      ]);
      expect((await rat.describeTable(table)).recordCount).toBe(5);
    });
  }
});

describe('UPDATE, DELETE, MERGE', () => {
  const table = 'bronze.dml';

  beforeAll(async () => {
    await command(`CREATE TABLE ${table} (id INT, region VARCHAR, v VARCHAR) PARTITIONED BY (region)`);
    await command(`INSERT INTO ${table} VALUES (1, 'eu', 'a'), (2, 'eu', 'b'), (3, 'us', 'c'), (4, 'us', 'd'), (5, 'apac', 'e')`);
    await command('CREATE TABLE silver.dml_lookup (id INT, label VARCHAR)');
    await command("INSERT INTO silver.dml_lookup VALUES (3, 'from-lookup'), (5, 'also-from-lookup'), (99, 'no-match')");
  });

  it('UPDATE rewrites only the files it touches, in one snapshot', async () => {
    const before = await liveFiles(table);
    const { result, snapshot } = await oneSnapshot(table, `UPDATE ${table} SET v = upper(v) WHERE id = 1`);
    expect(result).toMatchObject({ message: 'UPDATE 1', rowCount: 1 });
    expect(snapshot.operation).toBe('overwrite');
    expect(snapshot.summary['deleted-data-files']).toBe('1');
    const after = await liveFiles(table);
    // The us and apac files are the very same files.
    const untouched = before.filter((f) => f.partition.region !== 'eu').map((f) => f.path).sort();
    expect(after.filter((f) => f.partition.region !== 'eu').map((f) => f.path).sort()).toEqual(untouched);
    expect(await rows(`SELECT id, v FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, v: 'A' },
      { id: 2, v: 'b' },
      { id: 3, v: 'c' },
      { id: 4, v: 'd' },
      { id: 5, v: 'e' },
    ]);
  });

  it('UPDATE of the partition column moves the row into the other partition', async () => {
    await oneSnapshot(table, `UPDATE ${table} SET region = 'us' WHERE id = 2`);
    expect(sortedPartitions(await liveFiles(table))).toEqual(
      sortedPartitions([
        { partition: { region: 'eu' }, records: 1 },
        { partition: { region: 'us' }, records: 2 },
        { partition: { region: 'us' }, records: 1 },
        { partition: { region: 'apac' }, records: 1 },
      ]),
    );
    expect(await rows(`SELECT id FROM ${table} WHERE region = 'us' ORDER BY id`)).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }]);
    expect(await rows(`SELECT id FROM ${table} WHERE region = 'eu'`)).toEqual([{ id: 1 }]);
    expect((await rat.describeTable(table)).recordCount).toBe(5);
  });

  it('UPDATE with a subquery on another catalog table', async () => {
    const { result } = await oneSnapshot(
      table,
      `UPDATE ${table} SET v = (SELECT label FROM silver.dml_lookup l WHERE l.id = ${table}.id) WHERE id IN (SELECT id FROM silver.dml_lookup)`,
    );
    expect(result.rowCount).toBe(2);
    expect(await rows(`SELECT id, v FROM ${table} ORDER BY id`)).toEqual([
      { id: 1, v: 'A' },
      { id: 2, v: 'b' },
      { id: 3, v: 'from-lookup' },
      { id: 4, v: 'd' },
      { id: 5, v: 'also-from-lookup' },
    ]);
  });

  it('UPDATE, DELETE and MERGE that change no row make no snapshot', async () => {
    expect(await noSnapshot(table, `UPDATE ${table} SET v = 'never' WHERE id = 404`)).toMatchObject({ message: 'UPDATE 0', rowCount: 0 });
    expect(await noSnapshot(table, `DELETE FROM ${table} WHERE region = 'mars'`)).toMatchObject({ message: 'DELETE 0', rowCount: 0 });
    expect(
      await noSnapshot(table, `MERGE INTO ${table} t USING (SELECT 1 AS id WHERE false) s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'x', 'y')`),
    ).toMatchObject({ message: 'MERGE 0', rowCount: 0 });
    // Setting a column to the value it already has changes no data file either.
    await noSnapshot(table, `UPDATE ${table} SET v = v WHERE id = 1`);
    expect(await rows(`SELECT count(*) AS n FROM ${table}`)).toEqual([{ n: 5 }]);
  });

  it('MERGE updates matched rows and inserts unmatched ones in one snapshot', async () => {
    const { result } = await oneSnapshot(
      table,
      `MERGE INTO ${table} t USING (SELECT 1 AS id, 'merged' AS v UNION ALL SELECT 6, 'new') s ON t.id = s.id
       WHEN MATCHED THEN UPDATE SET v = s.v
       WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'eu', s.v)`,
    );
    expect(result).toMatchObject({ message: 'MERGE 2', rowCount: 2 });
    expect(await rows(`SELECT id, region, v FROM ${table} WHERE id IN (1, 6) ORDER BY id`)).toEqual([
      { id: 1, region: 'eu', v: 'merged' },
      { id: 6, region: 'eu', v: 'new' },
    ]);

    const deleted = await oneSnapshot(table, `MERGE INTO ${table} t USING (SELECT 6 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE`);
    expect(deleted.result.rowCount).toBe(1);
    expect(await rows(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]);
  });

  it('MERGE refuses a target row matched by several source rows, naming the table and the row; nothing is changed', async () => {
    await command('CREATE TABLE bronze.merge_dup (id INT, v INT)');
    await command('INSERT INTO bronze.merge_dup VALUES (6, 0), (6, 0), (7, 0)');
    const before = await rat.describeTable('bronze.merge_dup');
    for (const sql of [
      'MERGE INTO bronze.merge_dup USING (SELECT 6 AS id, 1 AS v UNION ALL SELECT 6, 2) s ON merge_dup.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v',
      'MERGE INTO bronze.merge_dup AS m USING (SELECT 7 AS id UNION ALL SELECT 7) s ON (m.id = s.id) WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 0)',
    ]) {
      await expect(rat.sql(sql), sql).rejects.toMatchObject({ code: 'SQL_ERROR', message: expect.stringMatching(/^cannot merge bronze\.merge_dup: 2 source rows match the target row \{'id': [67], 'v': 0\}.*nothing was changed/) });
    }
    expect((await rat.describeTable('bronze.merge_dup')).currentSnapshotId).toBe(before.currentSnapshotId);
    // Identical target rows each matched once, and duplicates that only insert, are fine.
    await oneSnapshot('bronze.merge_dup', 'MERGE INTO bronze.merge_dup m USING (SELECT 6 AS id, 1 AS v UNION ALL SELECT 8, 2 UNION ALL SELECT 8, 3) s ON m.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)');
    expect(await rows('SELECT id, v FROM bronze.merge_dup ORDER BY id, v')).toEqual([
      { id: 6, v: 1 },
      { id: 6, v: 1 },
      { id: 7, v: 0 },
      { id: 8, v: 2 },
      { id: 8, v: 3 },
    ]);
  });

  it('DELETE some rows, then all rows', async () => {
    const some = await oneSnapshot(table, `DELETE FROM ${table} WHERE region = 'us' AND id <> 3`);
    expect(some.result).toMatchObject({ message: 'DELETE 2', rowCount: 2 });
    expect(await rows(`SELECT id FROM ${table} ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);

    const all = await oneSnapshot(table, `DELETE FROM ${table}`);
    expect(all.result.rowCount).toBe(3);
    expect(all.snapshot.operation).toBe('delete');
    expect(all.snapshot.summary['total-records']).toBe('0');
    expect(await rows(`SELECT * FROM ${table}`)).toEqual([]);
    const described = await rat.describeTable(table);
    expect(described).toMatchObject({ dataFileCount: 0, recordCount: 0 });
    // An empty table still takes inserts.
    await oneSnapshot(table, `INSERT INTO ${table} VALUES (7, 'eu', 'again')`);
    expect(await rows(`SELECT id, v FROM ${table}`)).toEqual([{ id: 7, v: 'again' }]);
  });
});

describe('schema evolution', () => {
  it('add, rename, drop, reorder and widen: files of every older schema are read by field id', async () => {
    const t = 'bronze.evo';
    await command(`CREATE TABLE ${t} (id INT, name VARCHAR, score INT, note VARCHAR)`);
    const v0 = await command(`INSERT INTO ${t} VALUES (1, 'a', 10, 'n1'), (2, 'b', 20, 'n2')`);
    const ids = Object.fromEntries((await rat.describeTable(t)).schema.fields.map((f) => [f.name, f.id]));

    // A renamed column keeps its id; a new column reusing the old name gets a new id and is NULL in old files.
    await command(`ALTER TABLE ${t} RENAME COLUMN name TO label`);
    await command(`ALTER TABLE ${t} ADD COLUMN name VARCHAR`);
    await command(`INSERT INTO ${t} VALUES (3, 'c', 30, 'n3', 'name-3')`);
    await command(`ALTER TABLE ${t} ALTER COLUMN score TYPE BIGINT`);
    await command(`INSERT INTO ${t} VALUES (4, 'd', 5000000000, 'n4', 'name-4')`);
    await command(`ALTER TABLE ${t} DROP COLUMN note`);
    await command(`ALTER TABLE ${t} ALTER COLUMN label FIRST`);
    await command(`ALTER TABLE ${t} ALTER COLUMN name AFTER id`);

    const schema = (await rat.describeTable(t)).schema;
    expect(schema.fields.map((f) => [f.name, f.id, f.type])).toEqual([
      ['label', ids.name, 'string'],
      ['id', ids.id, 'int'],
      ['name', 5, 'string'],
      ['score', ids.score, 'long'],
    ]);
    const result = await rowsResult(`SELECT * FROM ${t} ORDER BY id`);
    expect(result.columns).toEqual(['label', 'id', 'name', 'score']);
    expect(result.columnTypes).toEqual(['VARCHAR', 'INTEGER', 'VARCHAR', 'BIGINT']);
    expect(result.rows).toEqual([
      ['a', 1, null, 10],
      ['b', 2, null, 20],
      ['c', 3, 'name-3', 30],
      ['d', 4, 'name-4', 5000000000],
    ]);
    // A dropped column is gone from reads, and filters on the renamed column see the old files' values.
    await expect(rat.sql(`SELECT note FROM ${t}`)).rejects.toThrow(/note/);
    expect(await rows(`SELECT id FROM ${t} WHERE label = 'b'`)).toEqual([{ id: 2 }]);
    expect(await rows(`SELECT id FROM ${t} WHERE score > 4000000000`)).toEqual([{ id: 4 }]);

    // Time travel reads a snapshot with the schema it was written under.
    const old = await rowsResult(`SELECT * FROM ${t} AT (VERSION => ${v0.snapshotId}) ORDER BY id`);
    expect(old.columns).toEqual(['id', 'name', 'score', 'note']);
    expect(old.rows).toEqual([
      [1, 'a', 10, 'n1'],
      [2, 'b', 20, 'n2'],
    ]);

    // DML over files of mixed schemas rewrites them under the current one.
    await oneSnapshot(t, `UPDATE ${t} SET score = score + 1 WHERE id IN (1, 4)`);
    expect(await rows(`SELECT * FROM ${t} ORDER BY id`)).toEqual([
      { label: 'a', id: 1, name: null, score: 11 },
      { label: 'b', id: 2, name: null, score: 20 },
      { label: 'c', id: 3, name: 'name-3', score: 30 },
      { label: 'd', id: 4, name: 'name-4', score: 5000000001 },
    ]);
    // Dropping and re-adding a column does not bring back the old values.
    await command(`ALTER TABLE ${t} ADD COLUMN note VARCHAR`);
    expect(await rows(`SELECT count(*) AS n FROM ${t} WHERE note IS NULL`)).toEqual([{ n: 4 }]);
  });

  it('float -> double and decimal widening keep old values; DROP NOT NULL admits NULLs; ALTER makes no snapshot', async () => {
    const t = 'bronze.widen';
    await command(`CREATE TABLE ${t} (f FLOAT, dec DECIMAL(9, 2), req INT NOT NULL)`);
    await command(`INSERT INTO ${t} VALUES (1.5, 1234567.89, 1)`);
    const before = await rat.snapshots(t);
    await command(`ALTER TABLE ${t} ALTER COLUMN f TYPE DOUBLE`);
    await command(`ALTER TABLE ${t} ALTER COLUMN dec TYPE DECIMAL(18, 2)`);
    await command(`ALTER TABLE ${t} ALTER COLUMN req DROP NOT NULL`);
    // Schema changes write new metadata but no snapshot.
    expect(await rat.snapshots(t)).toEqual(before);
    await command(`INSERT INTO ${t} VALUES (1e300, 1234567890123456.78, NULL)`);
    const result = await rowsResult(`SELECT * FROM ${t} ORDER BY f`);
    expect(result.columnTypes).toEqual(['DOUBLE', 'DECIMAL(18,2)', 'INTEGER']);
    expect(result.rows).toEqual([
      [1.5, '1234567.89', 1],
      [1e300, '1234567890123456.78', null],
    ]);
    const fields = (await rat.describeTable(t)).schema.fields;
    expect(fields.map((f) => [f.type, f.required])).toEqual([
      ['double', false],
      ['decimal(18, 2)', false],
      ['int', false],
    ]);
  });
});

describe('time travel and rollback', () => {
  const t = 'bronze.travel';
  let s1: SnapshotInfo;
  let s2: SnapshotInfo;
  let s3: SnapshotInfo;

  const sqlTimestamp = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;

  beforeAll(async () => {
    await command(`CREATE TABLE ${t} (id INT)`);
    await command(`INSERT INTO ${t} VALUES (1)`);
    await sleep(15);
    await command(`INSERT INTO ${t} VALUES (2)`);
    await sleep(15);
    await command(`DELETE FROM ${t} WHERE id = 1`);
    [s1, s2, s3] = (await rat.snapshots(t)) as [SnapshotInfo, SnapshotInfo, SnapshotInfo];
  });

  it('AT (VERSION => id) reads each snapshot', async () => {
    expect(await rows(`SELECT id FROM ${t} AT (VERSION => ${s1.snapshotId}) ORDER BY id`)).toEqual([{ id: 1 }]);
    expect(await rows(`SELECT id FROM ${t} AT (VERSION => ${s2.snapshotId}) ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await rows(`SELECT id FROM ${t} AT (VERSION => ${s3.snapshotId}) ORDER BY id`)).toEqual([{ id: 2 }]);
    expect(await rows(`SELECT id FROM ${t}`)).toEqual([{ id: 2 }]);
    // Two versions of one table in one query.
    expect(await rows(`SELECT a.id AS old, b.id AS now FROM ${t} a AT (VERSION => ${s2.snapshotId}) LEFT JOIN ${t} b ON a.id = b.id ORDER BY a.id`)).toEqual([
      { old: 1, now: null },
      { old: 2, now: 2 },
    ]);
    const error = await failure(rat.sql(`SELECT * FROM ${t} AT (VERSION => 12345)`));
    expect(error.code).toBe('CATALOG_SNAPSHOT_NOT_FOUND');
    expect(error.message).toContain('12345');
    expect(error.message).toContain(t);
  });

  it('AT (TIMESTAMP => ...) reads the snapshot current at that time', async () => {
    const at = (ms: number) => rows(`SELECT id FROM ${t} AT (TIMESTAMP => ${sqlTimestamp(ms)}) ORDER BY id`);
    expect(await at(s1.timestamp.getTime())).toEqual([{ id: 1 }]);
    expect(await at(s2.timestamp.getTime() - 1)).toEqual([{ id: 1 }]);
    expect(await at(s2.timestamp.getTime())).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await at(s3.timestamp.getTime() + 60_000)).toEqual([{ id: 2 }]);
    // A zoned timestamp is the same instant.
    const zoned = new Date(s1.timestamp.getTime() + 2 * 3_600_000).toISOString().replace('T', ' ').replace('Z', '+02:00');
    expect(await rows(`SELECT id FROM ${t} AT (TIMESTAMP => TIMESTAMPTZ '${zoned}')`)).toEqual([{ id: 1 }]);
  });

  it('a time before the first snapshot is a clear error', async () => {
    const before = s1.timestamp.getTime() - 1;
    const error = await failure(rat.sql(`SELECT * FROM ${t} AT (TIMESTAMP => ${sqlTimestamp(before)})`));
    expect(error.code).toBe('CATALOG_SNAPSHOT_NOT_FOUND');
    expect(error.message).toContain(t);
    expect(error.message).toContain(new Date(before).toISOString());
  });

  it('UPDATE, DELETE and MERGE read their own table, and others, AT an earlier version', async () => {
    const restore = 'bronze.travel_restore';
    await command(`CREATE TABLE ${restore} (id INT, v VARCHAR)`);
    await command(`INSERT INTO ${restore} VALUES (1, 'one'), (2, 'two')`);
    const [first] = await rat.snapshots(restore);
    await command(`UPDATE ${restore} SET v = 'oops'`);
    await command(`INSERT INTO ${restore} VALUES (3, 'three')`);

    await oneSnapshot(restore, `MERGE INTO ${restore} USING (SELECT * FROM ${restore} AT (VERSION => ${first!.snapshotId})) o ON travel_restore.id = o.id WHEN MATCHED THEN UPDATE SET v = o.v`);
    expect(await rows(`SELECT id, v FROM ${restore} ORDER BY id`)).toEqual([{ id: 1, v: 'one' }, { id: 2, v: 'two' }, { id: 3, v: 'three' }]);
    await oneSnapshot(restore, `UPDATE ${restore} SET v = old.v || '!' FROM ${restore} old AT (VERSION => ${first!.snapshotId}) WHERE travel_restore.id = old.id AND old.id = 2`);
    // ${t} at s1 holds id 1 only.
    await oneSnapshot(restore, `DELETE FROM ${restore} WHERE id NOT IN (SELECT id FROM ${t} AS x AT (VERSION => ${s1.snapshotId}) UNION ALL SELECT id FROM ${restore} AT (VERSION => ${first!.snapshotId}))`);
    expect(await rows(`SELECT id, v FROM ${restore} ORDER BY id`)).toEqual([{ id: 1, v: 'one' }, { id: 2, v: 'two!' }]);
  });

  it('rollback makes an old snapshot current without a new one; later writes build on it', async () => {
    const rolled = await rat.rollback(t, s1.snapshotId);
    expect(rolled).toMatchObject({ snapshotId: s1.snapshotId, current: true });
    const snapshots = await rat.snapshots(t);
    expect(snapshots.map((s) => s.snapshotId)).toEqual([s1.snapshotId, s2.snapshotId, s3.snapshotId]);
    expect(current(snapshots)!.snapshotId).toBe(s1.snapshotId);
    expect(await rows(`SELECT id FROM ${t}`)).toEqual([{ id: 1 }]);

    const { snapshot } = await oneSnapshot(t, `INSERT INTO ${t} VALUES (5)`);
    expect(snapshot.parentSnapshotId).toBe(s1.snapshotId);
    expect(await rows(`SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }, { id: 5 }]);
    // Snapshots rolled back over stay readable.
    expect(await rows(`SELECT id FROM ${t} AT (VERSION => ${s3.snapshotId})`)).toEqual([{ id: 2 }]);

    const error = await failure(rat.rollback(t, 42n));
    expect(error.code).toBe('CATALOG_SNAPSHOT_NOT_FOUND');
    expect(error.message).toContain('42');
  });
});

describe('pruning', () => {
  const t = 'bronze.prune';
  let all: Row[];

  beforeAll(async () => {
    await command(`CREATE TABLE ${t} (id BIGINT, region VARCHAR, v INT) PARTITIONED BY (region)`);
    // Three files whose id ranges do not overlap: eu 1-100, us 101-200, eu 201-300.
    await command(`INSERT INTO ${t} SELECT i, 'eu', i % 7 FROM range(1, 101) r(i)`);
    await command(`INSERT INTO ${t} SELECT i, 'us', i % 7 FROM range(101, 201) r(i)`);
    await command(`INSERT INTO ${t} SELECT i, 'eu', i % 7 FROM range(201, 301) r(i)`);
    all = await rows(`SELECT * FROM ${t} ORDER BY id`);
    expect(all).toHaveLength(300);
    rat.takeScanRecords();
  });

  async function pruned(where: string, keep: (row: Row) => boolean): Promise<{ selected: number; skippedByBounds: number }> {
    rat.takeScanRecords();
    const result = await rows(`SELECT * FROM ${t} WHERE ${where} ORDER BY id`);
    const records = rat.takeScanRecords().filter((r) => r.table === t && r.predicates.length > 0);
    expect(records, `pruned scans for WHERE ${where}`).toHaveLength(1);
    expect(result).toEqual(all.filter(keep));
    return { selected: records[0]!.stats.dataFilesSelected, skippedByBounds: records[0]!.stats.dataFilesSkippedByBounds };
  }

  it('a WHERE on the partition column reads only that partition', async () => {
    expect((await pruned("region = 'us'", (r) => r.region === 'us')).selected).toBe(1);
    expect((await pruned("region = 'eu'", (r) => r.region === 'eu')).selected).toBe(2);
    expect((await pruned("region IN ('us', 'apac')", (r) => r.region === 'us')).selected).toBe(1);
    expect((await pruned("region = 'none'", () => false)).selected).toBe(0);
  });

  it('a WHERE on a column clustered by file skips files by their bounds', async () => {
    expect(await pruned('id > 250', (r) => Number(r.id) > 250)).toEqual({ selected: 1, skippedByBounds: 2 });
    expect(await pruned('id BETWEEN 150 AND 160', (r) => Number(r.id) >= 150 && Number(r.id) <= 160)).toEqual({ selected: 1, skippedByBounds: 2 });
    expect(await pruned('id IN (5, 205)', (r) => r.id === 5 || r.id === 205)).toEqual({ selected: 2, skippedByBounds: 1 });
    expect((await pruned("id > 50 AND region = 'eu' AND v = 3", (r) => Number(r.id) > 50 && r.region === 'eu' && r.v === 3)).selected).toBe(2);
  });

  it('a filter that cannot be used for pruning still returns the right rows', async () => {
    rat.takeScanRecords();
    expect(await rows(`SELECT * FROM ${t} WHERE id + 0 > 295 ORDER BY id`)).toEqual(all.filter((r) => Number(r.id) > 295));
    expect(await rows(`SELECT * FROM ${t} WHERE id > 295 OR region = 'us' ORDER BY id`)).toEqual(all.filter((r) => Number(r.id) > 295 || r.region === 'us'));
  });
});

describe('pruned and time-travel reads as subqueries in the statement text', () => {
  const t = 'bronze.splice';
  let s2: SnapshotInfo;
  let all: Row[];

  beforeAll(async () => {
    await command(`CREATE TABLE ${t} (id BIGINT, v INT)`);
    // Three files whose id ranges do not overlap: 1-100, 101-200, 201-300.
    for (const from of [1, 101, 201]) await command(`INSERT INTO ${t} SELECT i, i % 3 FROM range(${from}, ${from + 100}) r(i)`);
    s2 = (await rat.snapshots(t))[1]!;
    all = await rows(`SELECT * FROM ${t} ORDER BY id`);
  });

  /** Rows of `sql`, the files each pruned or time-travel scan of the table selected, and how many temporary views were made. */
  async function read(sql: string): Promise<{ rows: Row[]; selected: number[]; views: number }> {
    rat.takeScanRecords();
    const spy = vi.spyOn(rat.executor.reader, 'temporaryView');
    try {
      const result = await rows(sql);
      const scans = rat.takeScanRecords().filter((r) => r.table === t && (r.predicates.length > 0 || r.snapshotId !== undefined));
      return { rows: result, selected: scans.map((r) => r.stats.dataFilesSelected), views: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  }

  it('with and without an alias, the table name still qualifying columns', async () => {
    expect(await read(`SELECT count(*) AS n, max(splice.id) AS m FROM ${t} WHERE splice.id > 250`)).toEqual({ rows: [{ n: 50, m: 300 }], selected: [1], views: 0 });
    expect(await read(`SELECT s.id FROM ${t} AS s WHERE s.id BETWEEN 99 AND 101 ORDER BY s.id`)).toEqual({ rows: [{ id: 99 }, { id: 100 }, { id: 101 }], selected: [2], views: 0 });
    expect(await read(`SELECT s.id FROM ${t} s WHERE s.id < 3 ORDER BY 1`)).toEqual({ rows: [{ id: 1 }, { id: 2 }], selected: [1], views: 0 });
    expect(await read(`SELECT '€😀' AS s, count(*) AS n FROM "bronze"."SPLICE" WHERE id > 290`)).toEqual({ rows: [{ s: '€😀', n: 10 }], selected: [1], views: 0 });
  });

  it('AT clauses with an alias (and column aliases) before them', async () => {
    const version = s2.snapshotId;
    expect(await read(`SELECT count(*) AS n FROM ${t} a AT (VERSION => ${version}) WHERE a.id > 150`)).toEqual({ rows: [{ n: 50 }], selected: [1], views: 0 });
    expect(await read(`SELECT max(id) AS m FROM ${t} AT (VERSION => ${version})`)).toEqual({ rows: [{ m: 200 }], selected: [2], views: 0 });
    expect(await read(`SELECT max(x) AS m FROM ${t} AS a(x, y) AT (VERSION => ${version}) WHERE y = 0`)).toEqual({ rows: [{ m: 198 }], selected: [2], views: 0 });
  });

  it('a self-join of the table with a different filter on each side', async () => {
    const result = await read(`SELECT a.id AS a, b.id AS b FROM ${t} a JOIN ${t} b ON a.v = b.v WHERE a.id < 3 AND b.id > 297 ORDER BY a.id, b.id`);
    expect(result).toEqual({ rows: [{ a: 1, b: 298 }, { a: 2, b: 299 }], selected: [1, 1], views: 0 });
  });

  it('a CTE, an IN subquery and a derived table', async () => {
    const cte = await read(`WITH hi AS (SELECT id FROM ${t} WHERE id > 295) SELECT count(*) AS n FROM hi WHERE id IN (SELECT id FROM ${t} WHERE id >= 298)`);
    expect(cte).toEqual({ rows: [{ n: 3 }], selected: [1, 1], views: 0 });
    const derived = await read(`SELECT sum(v) AS s FROM (SELECT * FROM ${t} WHERE id <= 10) x`);
    expect(derived).toEqual({ rows: [{ s: all.filter((r) => Number(r.id) <= 10).reduce((sum, r) => sum + Number(r.v), 0) }], selected: [1], views: 0 });
  });
});

describe('scripts and DROP TABLE', () => {
  it('runs a multi-statement script in order, one result per statement', async () => {
    const results: StatementResult[] = await rat.sql(`
      CREATE SCHEMA lab;
      CREATE TABLE lab.script (x INT, note VARCHAR);
      INSERT INTO lab.script VALUES (1, 'has ; inside'), (2, 'b');
      UPDATE lab.script SET x = x * 10;  -- a comment; with a semicolon
      SELECT * FROM lab.script ORDER BY x;
    `);
    expect(results.map((r) => (r.kind === 'command' ? r.message : 'rows'))).toEqual(['CREATE SCHEMA', 'CREATE TABLE', 'INSERT 0 2', 'UPDATE 2', 'rows']);
    expect((results[4] as RowsResult).rows).toEqual([
      [10, 'has ; inside'],
      [20, 'b'],
    ]);
    expect(await rat.listNamespaces()).toContain('lab');
    expect(await rat.snapshots('lab.script')).toHaveLength(2);
  });

  it('stops a script at the first failing statement: earlier statements stay committed, later ones do not run', async () => {
    const error = await failure(rat.sql(`CREATE TABLE bronze.script_stop (a INT); INSERT INTO bronze.script_stop VALUES (1); INSERT INTO bronze.script_stop VALUES ('x'); INSERT INTO bronze.script_stop VALUES (3)`));
    expect(error.code).toBe('TYPE_MISMATCH');
    expect(await rows('SELECT a FROM bronze.script_stop')).toEqual([{ a: 1 }]);
    expect(await rat.snapshots('bronze.script_stop')).toHaveLength(1);
  });

  it('DROP TABLE frees the name for a new table with another schema', async () => {
    await command("CREATE TABLE bronze.dropme AS SELECT 1 AS a, 'x' AS b");
    expect(await rows('SELECT * FROM bronze.dropme')).toEqual([{ a: 1, b: 'x' }]);
    expect(await command('DROP TABLE bronze.dropme')).toMatchObject({ message: 'DROP TABLE', table: 'bronze.dropme' });
    expect((await rat.listTables('bronze')).map((i) => i.name)).not.toContain('dropme');
    const missing = await failure(rat.sql('SELECT * FROM bronze.dropme'));
    expect(missing.code).toBe('CATALOG_TABLE_NOT_FOUND');
    expect(missing.message).toContain('bronze.dropme');
    expect((await failure(rat.sql('DROP TABLE bronze.dropme'))).code).toBe('CATALOG_TABLE_NOT_FOUND');
    expect(await command('DROP TABLE IF EXISTS bronze.dropme')).toMatchObject({ message: 'DROP TABLE (did not exist)' });

    await command('CREATE TABLE bronze.dropme (z DOUBLE)');
    const fresh = await rat.describeTable('bronze.dropme');
    expect(fresh.schema.fields.map((f) => f.name)).toEqual(['z']);
    expect(fresh.snapshotCount).toBe(0);
    expect(await rows('SELECT * FROM bronze.dropme')).toEqual([]);
    await command('INSERT INTO bronze.dropme VALUES (0.5)');
    expect(await rows('SELECT * FROM bronze.dropme')).toEqual([{ z: 0.5 }]);
  });
});
