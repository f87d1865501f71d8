/**
 * Interoperability, both ways:
 * - tables the platform writes are read by icebird (an independent pure-JS Iceberg reader) as the
 *   same rows our SQL returns: partitioned, renamed and added columns, copy-on-write UPDATE/DELETE,
 *   older snapshots, and position deletes built by hand per spec "Position Delete Files";
 * - tables Spark and PyIceberg wrote (../shared/reference/iceberg/tables, see its EXPECTED.md) are
 *   registered through the `rat` CLI and read with SQL as exactly the rows EXPECTED.md lists.
 * Needs `npm run build` (the CLI runs from packages/rat/dist).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IcebergType, Schema } from '../iceberg/types.js';
import { openDuckDb, quoteString } from './duckdb.js';
import { openLakehouse, type Lakehouse } from './lakehouse.js';
import { startIcebirdReader, type IcebirdReader } from './test-support/icebird-reader.js';
import { commitPositionDeletes } from './test-support/position-deletes.js';
import { catalogOptions, catalogEnv } from '../catalog/test-support/test-catalog.js';

const BIN = resolve(import.meta.dirname, '../../bin/rat.js');
const TABLES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/', import.meta.url));

interface SelectResult {
  columns: string[];
  columnTypes: string[];
  rows: Record<string, unknown>[];
}

async function select(rat: Lakehouse, sql: string): Promise<SelectResult> {
  const last = (await rat.sql(sql)).at(-1);
  if (last?.kind !== 'rows') throw new Error(`expected rows from: ${sql}`);
  return { columns: last.columns, columnTypes: last.columnTypes, rows: last.rows.map((row) => Object.fromEntries(last.columns.map((c, i) => [c, row[i]]))) };
}

/**
 * One comparable form for a value of an Iceberg type, whichever reader produced it: integers as
 * decimal text (bigint, number or string), decimals at their scale, dates as YYYY-MM-DD, timestamps
 * as ISO-8601 UTC (naive ones read as UTC), maps as [key, value] pairs, missing values as null.
 */
function canonical(type: IcebergType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof type !== 'string') {
    switch (type.type) {
      case 'struct': {
        const record = value as Record<string, unknown>;
        return Object.fromEntries(type.fields.map((f) => [f.name, canonical(f.type, record[f.name])]));
      }
      case 'list':
        return (value as unknown[]).map((element) => canonical(type.element, element));
      case 'map':
        return (value as { key: unknown; value: unknown }[]).map((entry) => [canonical(type.key, entry.key), canonical(type.value, entry.value)]);
    }
  }
  const decimal = /^decimal\(\d+,\s*(\d+)\)$/.exec(type);
  if (decimal) return Number(value).toFixed(Number(decimal[1]));
  switch (type) {
    case 'int':
    case 'long':
      return String(value);
    case 'float':
    case 'double':
      return Number(value);
    case 'date':
      return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
    case 'timestamp':
    case 'timestamptz': {
      if (value instanceof Date) return value.toISOString();
      const text = String(value).replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00');
      return new Date(/[Z+-]\d{2}:\d{2}$|Z$/.test(text) ? text : `${text}Z`).toISOString();
    }
    default:
      return value;
  }
}

/** Rows as arrays in schema order, canonical values, sorted: equal sets compare equal. */
function canonicalRows(schema: Schema, rows: Record<string, unknown>[]): unknown[][] {
  return rows.map((row) => schema.fields.map((f) => canonical(f.type, row[f.name]))).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Runs the built CLI with --json and returns its parsed stdout. */
function ratCli(home: string, args: string[]): Promise<unknown> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, '--home', home, '--json', ...args], { env: { ...process.env, ...catalogEnv(home) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) fail(new Error(`rat ${args.join(' ')} exited ${code}: ${stderr}`));
      else done(JSON.parse(stdout));
    });
  });
}

describe('icebird reads what the platform writes', () => {
  let home: string;
  let rat: Lakehouse;
  let icebird: IcebirdReader;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-interop-'));
    rat = await openLakehouse({ home, threads: 2, ...catalogOptions(home) });
    icebird = await startIcebirdReader(home);
  });
  afterAll(async () => {
    await icebird?.close();
    await rat?.close();
    await rm(home, { recursive: true, force: true });
  });

  /** The table's current rows by our SQL and by icebird, canonical, plus the schema. */
  async function bothReads(table: string): Promise<{ sql: unknown[][]; icebird: unknown[][]; schema: Schema; icebirdColumns: string[] }> {
    const description = await rat.describeTable(table);
    const sql = await select(rat, `SELECT * FROM ${table}`);
    const rows = await icebird.read(description.location, basename(description.metadataLocation));
    return {
      sql: canonicalRows(description.schema, sql.rows),
      icebird: canonicalRows(description.schema, rows),
      schema: description.schema,
      icebirdColumns: Object.keys(rows[0] ?? {}),
    };
  }

  /**
   * For every snapshot of the table, the metadata file that first made it current (written by its
   * commit, so its current schema is the snapshot's schema), oldest first.
   */
  async function snapshotMetadataFiles(table: string): Promise<{ snapshotId: bigint; metadataFileName: string }[]> {
    const { metadataLocation } = await rat.describeTable(table);
    const current = await readFile(fileURLToPath(metadataLocation), 'utf8');
    const log = (JSON.parse(current) as { 'metadata-log': { 'metadata-file': string }[] })['metadata-log'].map((e) => e['metadata-file']);
    const found: { snapshotId: bigint; metadataFileName: string }[] = [];
    for (const location of [...log, metadataLocation]) {
      // Snapshot ids are read as text: JSON.parse would round ids beyond 2^53.
      const id = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(await readFile(fileURLToPath(location), 'utf8'))?.[1];
      if (id === undefined || id === '-1') continue;
      if (found.at(-1)?.snapshotId === BigInt(id)) continue;
      found.push({ snapshotId: BigInt(id), metadataFileName: basename(location) });
    }
    return found;
  }

  /** icebird on each snapshot's metadata file equals SQL `AT (VERSION => id)`, column names included. */
  async function expectTimeTravelAgrees(table: string): Promise<number> {
    const { metadata } = await rat.loadTable(table);
    const versions = await snapshotMetadataFiles(table);
    for (const { snapshotId, metadataFileName } of versions) {
      const sql = await select(rat, `SELECT * FROM ${table} AT (VERSION => ${snapshotId})`);
      const rows = await icebird.read(metadata.location, metadataFileName);
      const schemaId = metadata.snapshots.find((snap) => snap.snapshotId === snapshotId)!.schemaId;
      const schema = metadata.schemas.find((s) => s.schemaId === schemaId)!;
      expect(sql.columns, `columns at snapshot ${snapshotId}`).toEqual(schema.fields.map((f) => f.name));
      expect(canonicalRows(schema, rows), `rows at snapshot ${snapshotId}`).toEqual(canonicalRows(schema, sql.rows));
    }
    return versions.length;
  }

  it('a table partitioned by day(ts) and bucket(4, id), after three inserts', async () => {
    await rat.sql(`CREATE TABLE bronze.events (id BIGINT, ts TIMESTAMP, kind VARCHAR, amount DECIMAL(10, 2), d DATE, score DOUBLE, ok BOOLEAN)
      PARTITIONED BY (day(ts), bucket(4, id))`);
    await rat.sql(`INSERT INTO bronze.events VALUES
      (1, TIMESTAMP '2024-03-01 08:15:00', 'click', 12.50, DATE '2024-03-01', 0.25, true),
      (2, TIMESTAMP '2024-03-01 23:59:59.999', 'view', NULL, DATE '2024-02-29', -1.5, false),
      (3, TIMESTAMP '2024-03-02 00:00:00', NULL, 100.00, NULL, NULL, NULL)`);
    await rat.sql(`INSERT INTO bronze.events VALUES
      (4, TIMESTAMP '2024-03-02 12:00:00.123', 'buy', 9999999.99, DATE '1969-12-31', 1e10, true),
      (5, TIMESTAMP '2023-12-31 23:00:00', 'click', -0.01, DATE '2023-12-31', 3.0, false)`);
    await rat.sql(`INSERT INTO bronze.events SELECT i, TIMESTAMP '2024-03-03 00:00:00' + to_minutes(i), 'gen', i / 4, DATE '2024-03-03', i, i % 2 = 0 FROM range(10, 40) t(i)`);
    const reads = await bothReads('bronze.events');
    expect(reads.sql).toHaveLength(35);
    expect(reads.icebird).toEqual(reads.sql);
    expect(reads.sql).toContainEqual(['2', '2024-03-01T23:59:59.999Z', 'view', null, '2024-02-29', -1.5, false]);
    expect(reads.sql).toContainEqual(['4', '2024-03-02T12:00:00.123Z', 'buy', '9999999.99', '1969-12-31', 1e10, true]);
    // Partitioning really split the rows: several files across days and buckets.
    expect((await rat.describeTable('bronze.events')).dataFileCount).toBeGreaterThan(4);
    expect(icebird.requests.some((path) => path.endsWith('.parquet'))).toBe(true);
  });

  it('identity partitions keep the stored values and types, whatever the partition path looks like', async () => {
    await rat.sql('CREATE TABLE bronze.labels (id INTEGER, label VARCHAR, price DECIMAL(8, 4), n INTEGER) PARTITIONED BY (label, n)');
    await rat.sql(`INSERT INTO bronze.labels VALUES (1, 'a b', 42.563, 7), (2, 'x/y=z', 1.23, -1), (3, 'null', NULL, NULL), (4, NULL, 0, 0), (5, 'a%20b', 1234.5432, 2147483647)`);
    expect((await select(rat, 'SELECT * FROM bronze.labels')).columnTypes).toEqual(['INTEGER', 'VARCHAR', 'DECIMAL(8,4)', 'INTEGER']);
    const reads = await bothReads('bronze.labels');
    const expected = [
      ['1', 'a b', '42.5630', '7'],
      ['2', 'x/y=z', '1.2300', '-1'],
      ['3', 'null', null, null],
      ['4', null, '0.0000', '0'],
      ['5', 'a%20b', '1234.5432', '2147483647'],
    ];
    expect(reads.sql).toEqual(expected);
    expect(reads.icebird).toEqual(expected);

    // A decimal partition value is an Avro fixed in the manifest (spec "Avro" type mapping), which
    // icebird's Avro reader does not support ("unsupported type: fixed"): checked with SQL only.
    await rat.sql('CREATE TABLE bronze.prices (id INTEGER, price DECIMAL(8, 4)) PARTITIONED BY (price)');
    await rat.sql('INSERT INTO bronze.prices VALUES (1, 42.563), (2, -1.5), (3, NULL)');
    const prices = await select(rat, 'SELECT * FROM bronze.prices ORDER BY id');
    expect(prices.columnTypes).toEqual(['INTEGER', 'DECIMAL(8,4)']);
    expect(canonicalRows((await rat.describeTable('bronze.prices')).schema, prices.rows)).toEqual([
      ['1', '42.5630'],
      ['2', '-1.5000'],
      ['3', null],
    ]);
  });

  it('a renamed column (files written before and after) and an added column, by field id', async () => {
    await rat.sql('CREATE TABLE bronze.people (id INTEGER, name VARCHAR, score DOUBLE)');
    await rat.sql(`INSERT INTO bronze.people VALUES (1, 'ann', 1.5), (2, 'bob', NULL)`);
    await rat.sql('ALTER TABLE bronze.people RENAME COLUMN name TO full_name');
    await rat.sql(`INSERT INTO bronze.people VALUES (3, 'cat', 3.5)`);
    await rat.sql('ALTER TABLE bronze.people ADD COLUMN city VARCHAR');
    await rat.sql(`INSERT INTO bronze.people VALUES (4, 'dan', 4.5, 'oslo'), (5, NULL, 5.5, 'rome')`);
    const reads = await bothReads('bronze.people');
    const expected = [
      ['1', 'ann', 1.5, null],
      ['2', 'bob', null, null],
      ['3', 'cat', 3.5, null],
      ['4', 'dan', 4.5, 'oslo'],
      ['5', null, 5.5, 'rome'],
    ];
    expect(reads.sql).toEqual(expected);
    expect(reads.icebird).toEqual(expected);
    expect(reads.icebirdColumns).toEqual(['id', 'full_name', 'score', 'city']);
  });

  it('copy-on-write UPDATE and DELETE: rewritten files, DELETED manifest entries', async () => {
    await rat.sql('CREATE TABLE bronze.orders (id BIGINT, status VARCHAR, qty INTEGER) PARTITIONED BY (bucket(2, id))');
    await rat.sql(`INSERT INTO bronze.orders SELECT i, 'new', i FROM range(1, 7) t(i)`);
    await rat.sql(`INSERT INTO bronze.orders SELECT i, 'new', i FROM range(7, 10) t(i)`);
    await rat.sql(`UPDATE bronze.orders SET status = 'shipped', qty = qty * 10 WHERE id IN (2, 7)`);
    await rat.sql('DELETE FROM bronze.orders WHERE id IN (3, 8)');
    const reads = await bothReads('bronze.orders');
    const expected = [
      ['1', 'new', '1'],
      ['2', 'shipped', '20'],
      ['4', 'new', '4'],
      ['5', 'new', '5'],
      ['6', 'new', '6'],
      ['7', 'shipped', '70'],
      ['9', 'new', '9'],
    ];
    expect(reads.sql).toEqual(expected);
    expect(reads.icebird).toEqual(expected);

    const description = await rat.describeTable('bronze.orders');
    const entries = await icebird.manifestEntries(description.location, basename(description.metadataLocation));
    // The DELETE rewrote the files holding ids 3 and 8: they are DELETED entries of this snapshot.
    const deleted = entries.filter((e) => e.status === 2);
    expect(deleted.length).toBeGreaterThan(0);
    const live = entries.filter((e) => e.status !== 2);
    expect(live.every((e) => e.content === 0)).toBe(true);
    expect(live.reduce((n, e) => n + e.recordCount, 0)).toBe(7);
    expect(new Set(live.map((e) => e.filePath)).size).toBe(live.length);
    for (const entry of deleted) expect(live.map((e) => e.filePath)).not.toContain(entry.filePath);
  });

  it('time travel: icebird on each older metadata file equals AT (VERSION => id)', async () => {
    // bronze.orders: two appends, an UPDATE and a DELETE; bronze.people: rename and add between appends.
    expect(await expectTimeTravelAgrees('bronze.orders')).toBe(4);
    expect(await expectTimeTravelAgrees('bronze.people')).toBe(3);
    const first = (await snapshotMetadataFiles('bronze.people'))[0]!;
    const rows = await icebird.read((await rat.describeTable('bronze.people')).location, first.metadataFileName);
    expect(rows.map((r) => [r.id, r.name]).sort()).toEqual([
      [1, 'ann'],
      [2, 'bob'],
    ]);
  });

  it('a position delete file written per spec hides rows from SQL and icebird, and survives an UPDATE', async () => {
    await rat.sql('CREATE TABLE bronze.positions (id BIGINT, name VARCHAR)');
    await rat.sql(`INSERT INTO bronze.positions VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')`);
    await rat.sql(`INSERT INTO bronze.positions VALUES (5, 'e'), (6, 'f'), (7, 'g')`);
    await rat.sql(`INSERT INTO bronze.positions VALUES (8, 'h'), (9, 'i')`);
    const base = await rat.loadTable('bronze.positions');
    const { scan } = await rat.executor.reader.plan(base);
    expect(scan.tasks).toHaveLength(3);

    const db = await openDuckDb({ threads: 1 });
    try {
      // Positions of ids 2 and 4 in the first file and of id 6 in the second, read from the files themselves.
      const targets: { location: string; pos: number; id: number }[] = [];
      for (const task of scan.tasks) {
        const path = await rat.store.localPath(rat.store.keyOf(task.dataFile.filePath)!);
        const rows = await db.rows<{ id: number; pos: number }>(
          `SELECT CAST(id AS INTEGER) AS id, CAST(file_row_number AS INTEGER) AS pos FROM read_parquet(${quoteString(path)}, file_row_number=true)`,
        );
        for (const row of rows) if ([2, 4, 6].includes(row.id)) targets.push({ location: task.dataFile.filePath, pos: row.pos, id: row.id });
      }
      expect(targets.map((t) => t.id).sort()).toEqual([2, 4, 6]);
      expect((await commitPositionDeletes(rat, db, base, targets)).recordCount).toBe(3);
    } finally {
      db.close();
    }

    const afterDelete = [
      ['1', 'a'],
      ['3', 'c'],
      ['5', 'e'],
      ['7', 'g'],
      ['8', 'h'],
      ['9', 'i'],
    ];
    const described = await rat.describeTable('bronze.positions');
    expect(described.deleteFileCount).toBe(1);
    const reads = await bothReads('bronze.positions');
    expect(reads.sql).toEqual(afterDelete);
    expect(reads.icebird).toEqual(afterDelete);
    expect((await select(rat, 'SELECT count(*) AS n FROM bronze.positions WHERE id <= 4')).rows.map((r) => String(r.n))).toEqual(['2']);

    // Rewrites the first two files (ids 3 and 5): the deleted rows must not come back.
    await rat.sql(`UPDATE bronze.positions SET name = upper(name) WHERE id IN (3, 5)`);
    const afterUpdate = [
      ['1', 'a'],
      ['3', 'C'],
      ['5', 'E'],
      ['7', 'g'],
      ['8', 'h'],
      ['9', 'i'],
    ];
    const updated = await bothReads('bronze.positions');
    expect(updated.sql).toEqual(afterUpdate);
    expect(updated.icebird).toEqual(afterUpdate);
  });
});

describe('tables written by Spark and PyIceberg, registered with the rat CLI', () => {
  let home: string;
  let rat: Lakehouse;
  const tables: Record<string, string> = {
    'bronze.mytable': 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json',
    'bronze.mytable_partitioned': 'equality_deletes/warehouse/mydb/mytable_partitioned/metadata/v6.metadata.json',
    'bronze.cross_partition': 'equality_delete_cross_partition/warehouse/ns/t/metadata/vfinal.metadata.json',
    'bronze.column_mapping': 'column_mapping/warehouse/default.db/my_table/metadata/00001-75643dae-a7a7-46ae-ab30-ea80d3793f3f.metadata.json',
    'bronze.partition_decimal': 'partition_decimal_integer/metadata/v2.metadata.json',
    'bronze.partition_timestamp': 'partition_timestamp/default.db/partition_timestamp/metadata/00001-0c9938a5-103e-4185-b46d-331368ae4db7.metadata.json',
    'bronze.null_stats': 'null_stats/default/test_nulls/metadata/00003-9d6a621e-8a72-4190-a880-f6ca02e32b86.metadata.json',
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-interop-ref-'));
    for (const [name, metadata] of Object.entries(tables)) {
      const registered = (await ratCli(home, ['table', 'register', name, TABLES + metadata, '--map-path', `data/persistent/=${TABLES}`])) as { name: string; formatVersion: number };
      expect(registered).toMatchObject({ name, formatVersion: 2 });
    }
    rat = await openLakehouse({ home, threads: 2, ...catalogOptions(home) });
  });
  afterAll(async () => {
    await rat?.close();
    await rm(home, { recursive: true, force: true });
  });

  async function rowsOf(table: string, sql = `SELECT * FROM ${table}`): Promise<unknown[][]> {
    const { schema } = await rat.describeTable(table);
    const result = await select(rat, sql);
    const fields = result.columns.map((c) => schema.fields.find((f) => f.name === c)!);
    return canonicalRows({ ...schema, fields }, result.rows);
  }

  it('equality_deletes/mytable at each of its 6 snapshots (ids from rat snapshots)', async () => {
    const listed = (await ratCli(home, ['snapshots', 'bronze.mytable'])) as { snapshot_id: string; seq: number }[];
    expect(listed.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const idsAfter: Record<number, number[]> = { 1: [1, 2, 3, 4], 3: [3, 4], 4: [4], 5: [4, 5, 6], 6: [4, 5] };
    for (const snapshot of listed) {
      const read = select(rat, `SELECT id FROM bronze.mytable AT (VERSION => ${snapshot.snapshot_id}) ORDER BY id`);
      if (snapshot.seq === 2) {
        // EXPECTED: ids 1,3,4. But the reference folder lacks this snapshot's manifest list: the metadata names
        // snap-7342794868382145167-1-34f7dec7-...avro and only an attempt-3 file of another run (sequence
        // number 4, parent snapshot 3) is there. Nothing can be read; the error must name the missing file.
        await expect(read).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND', message: expect.stringContaining('snap-7342794868382145167-1-34f7dec7') });
        continue;
      }
      expect((await read).rows.map((r) => r.id), `snapshot ${snapshot.seq} (${snapshot.snapshot_id})`).toEqual(idsAfter[snapshot.seq]);
    }
    expect(await rowsOf('bronze.mytable')).toEqual([
      ['4', 'd', '2025-01-04'],
      ['5', 'e', '2025-01-05'],
    ]);
  });

  it('equality_deletes/mytable_partitioned: deletes within identity(name) partitions', async () => {
    expect(await rowsOf('bronze.mytable_partitioned')).toEqual([
      ['1', 'a', '2025-01-01'],
      ['4', 'd', '2025-01-04'],
      ['5', 'e', '2025-01-05'],
    ]);
  });

  it('equality_delete_cross_partition: a snapshot id above 2^63-1 loads, and the delete applies across partitions', async () => {
    const description = await rat.describeTable('bronze.cross_partition');
    expect(description.currentSnapshotId).toBe(9876543210123456789n);
    expect(description.currentSnapshotId! > 2n ** 63n - 1n).toBe(true);
    const expected = [
      ['0', '999', 'p0-k999'],
      ['1', '100', 'p1-k100'],
      ['1', '888', 'p1-k888'],
    ];
    expect(await rowsOf('bronze.cross_partition')).toEqual(expected);
    expect(await rowsOf('bronze.cross_partition', 'SELECT * FROM bronze.cross_partition AT (VERSION => 9876543210123456789)')).toEqual(expected);
    const listed = (await ratCli(home, ['snapshots', 'bronze.cross_partition'])) as { snapshot_id: string; current: boolean }[];
    expect(listed.find((s) => s.current)?.snapshot_id).toBe('9876543210123456789');
  });

  it('column_mapping: nested struct, list and map values by field id', async () => {
    const result = await select(rat, 'SELECT * FROM bronze.column_mapping ORDER BY id');
    expect(result.columns).toEqual(['id', 'name', 'age', 'attributes', 'scores', 'profile']);
    expect(await rowsOf('bronze.column_mapping')).toEqual([
      ['1', 'Alice', '25', [['height', '5.5'], ['weight', '130']], ['85', '90'], { email: 'alice@example.com', verified: true }],
      ['2', 'Bob', '30', [['height', '6.0'], ['weight', '180']], ['78', '82', '88'], { email: 'bob@example.com', verified: false }],
      ['3', 'Charlie', '35', [['height', '5.8'], ['weight', '160']], ['92'], { email: 'charlie@example.com', verified: true }],
    ]);
  });

  it('partition_decimal_integer: decimal identity partition; the equality predicate reads one data file', async () => {
    const all = await select(rat, 'SELECT * FROM bronze.partition_decimal');
    expect(all.columnTypes).toEqual(['DECIMAL(8,4)', 'BIGINT', 'VARCHAR']);
    expect(await rowsOf('bronze.partition_decimal')).toEqual([
      ['1.2300', '67890', 'purchase'],
      ['1234.5432', '111213', 'delete'],
      ['42.5630', '12345', 'click'],
    ]);
    rat.takeScanRecords();
    const { rows } = await select(rat, 'SELECT user_id FROM bronze.partition_decimal WHERE partition_col = 42.5630');
    expect(rows.map((r) => String(r.user_id))).toEqual(['12345']);
    const records = rat.takeScanRecords();
    expect(records).toHaveLength(1);
    expect(records[0]!.stats.dataFilesSelected).toBe(1);
    expect(records[0]!.stats.dataFilesTotal).toBe(3);
  });

  it('partition_timestamp: timestamp identity partition (PyIceberg), with a WHERE on it', async () => {
    const all = await select(rat, 'SELECT * FROM bronze.partition_timestamp');
    expect(all.columnTypes).toEqual(['TIMESTAMP', 'BIGINT', 'VARCHAR']);
    expect(await rowsOf('bronze.partition_timestamp')).toEqual([
      ['2023-05-15T14:30:45.000Z', '12345', 'click'],
      ['2023-08-22T09:15:20.000Z', '67890', 'purchase'],
    ]);
    const { rows } = await select(rat, `SELECT user_id FROM bronze.partition_timestamp WHERE partition_col = '2023-05-15T14:30:45'`);
    expect(rows.map((r) => String(r.user_id))).toEqual(['12345']);
  });

  it('null_stats: all 9 rows, and IS NULL is not pruned away by null counts', async () => {
    const letters = 'abcdefghi';
    const flags = [true, false, true, null, null, true, null, null, null];
    // 2024-03-01 13:33:20 UTC, then every 100000 s (1 d 3 h 46 min 40 s).
    const expected = flags.map((flag, i) => [String(i + 1), letters[i], new Date((1_709_300_000 + i * 100_000) * 1000).toISOString(), flag]);
    expect(await rowsOf('bronze.null_stats')).toEqual(expected);
    const { rows } = await select(rat, 'SELECT id FROM bronze.null_stats WHERE flag IS NULL ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([4, 5, 7, 8, 9]);
  });
});
