import { afterEach, describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import type { RatError } from '../core/errors.js';
import type { TableReader } from '../engine/table-reader.js';
import type { ScanTask } from '../iceberg/scan-planner.js';
import { compactionGroups, compactTable } from './compaction.js';
import { createLakeFixture, rowsOf } from './test-support/lake-fixture.js';

const fixture = createLakeFixture();
afterEach(() => fixture.cleanup());

async function smallInserts(ddl: string, count: number, row: (i: number) => string) {
  const home = await fixture.home();
  const lake = await fixture.open(home);
  await lake.sql(ddl);
  for (let i = 0; i < count; i++) await lake.sql(`INSERT INTO bronze.t VALUES ${row(i)}`);
  return lake;
}

describe('compactTable', () => {
  it('rewrites 20 small INSERT files into fewer files as a replace snapshot with the same rows', async () => {
    const lake = await smallInserts('CREATE TABLE bronze.t (id BIGINT, name VARCHAR, ts TIMESTAMP)', 20, (i) => `(${i}, 'n${i}', TIMESTAMP '2026-01-01 00:00:00' + INTERVAL ${i} HOUR)`);
    const before = await rowsOf(lake, 'bronze.t');
    expect((await lake.describeTable('bronze.t')).dataFileCount).toBe(20);

    const result = await compactTable(lake.catalog, lake.duck, lake.executor.reader, 'main', parseTableIdent('bronze.t'));
    expect(result).toMatchObject({ filesCompacted: 20, newFiles: 1 });

    const described = await lake.describeTable('bronze.t');
    expect(described.dataFileCount).toBe(1);
    expect(described.recordCount).toBe(20);
    expect(await rowsOf(lake, 'bronze.t')).toEqual(before);
    const snapshots = await lake.snapshots('bronze.t');
    expect(snapshots.at(-1)).toMatchObject({ operation: 'replace', current: true, snapshotId: result.snapshotId });
    expect(snapshots.at(-1)!.summary['total-records']).toBe('20');
    expect(snapshots.at(-1)!.summary['deleted-data-files']).toBe('20');
    // Time travel to before the compaction still reads the old files.
    const old = await lake.query(`SELECT count(*)::INTEGER AS n FROM bronze.t AT (VERSION => ${snapshots.at(-2)!.snapshotId})`);
    expect(old[0]!.n).toBe(20);
  });

  it('compacts per partition and leaves large files and single files alone', async () => {
    const lake = await smallInserts('CREATE TABLE bronze.t (id BIGINT, kind VARCHAR) PARTITIONED BY (kind)', 9, (i) => `(${i}, '${['a', 'b', 'c'][i % 3]}')`);
    await lake.sql("INSERT INTO bronze.t VALUES (100, 'd')");
    const before = await rowsOf(lake, 'bronze.t');
    const result = await compactTable(lake.catalog, lake.duck, lake.executor.reader, 'main', parseTableIdent('bronze.t'));
    expect(result).toMatchObject({ filesCompacted: 9, newFiles: 3 });
    expect((await lake.describeTable('bronze.t')).dataFileCount).toBe(4);
    expect(await rowsOf(lake, 'bronze.t')).toEqual(before);

    const none = await compactTable(lake.catalog, lake.duck, lake.executor.reader, 'main', parseTableIdent('bronze.t'), { smallFileBytes: 1 });
    expect(none).toMatchObject({ filesCompacted: 0 });
    expect((await lake.snapshots('bronze.t')).at(-1)!.operation).toBe('replace');
  });

  it('compacts a branch without touching main, and reports nothing new on a dry run', async () => {
    const lake = await smallInserts('CREATE TABLE bronze.t (id BIGINT)', 3, (i) => `(${i})`);
    await lake.catalog.refs.create('branch', 'dev');
    const dry = await compactTable(lake.catalog, lake.duck, lake.executor.reader, 'dev', parseTableIdent('bronze.t'), { dryRun: true });
    expect(dry).toMatchObject({ filesCompacted: 3 });
    expect(dry.newFiles).toBeUndefined();
    await compactTable(lake.catalog, lake.duck, lake.executor.reader, 'dev', parseTableIdent('bronze.t'));
    expect((await lake.describeTable('bronze.t')).dataFileCount).toBe(3);
    const dev = await lake.catalog.withRef('dev').loadTable(parseTableIdent('bronze.t'));
    expect(dev.metadata.snapshots.at(-1)!.summary.operation).toBe('replace');
  });

  it('fails with COMMIT_CONFLICT when the table changed while it was compacted', async () => {
    const lake = await smallInserts('CREATE TABLE bronze.t (id BIGINT)', 3, (i) => `(${i})`);
    const inner = lake.executor.reader;
    let interfered = false;
    const reader: TableReader = {
      ...inner,
      async sqlFor(table, scan) {
        if (!interfered) {
          interfered = true;
          await lake.sql('INSERT INTO bronze.t VALUES (99)');
        }
        return inner.sqlFor(table, scan);
      },
    };
    const error = (await compactTable(lake.catalog, lake.duck, reader, 'main', parseTableIdent('bronze.t')).catch((e: unknown) => e)) as RatError;
    expect(error.code).toBe('COMMIT_CONFLICT');
    expect(await rowsOf(lake, 'bronze.t')).toHaveLength(4);
    expect((await lake.snapshots('bronze.t')).at(-1)!.operation).toBe('append');
  });
});

describe('compactionGroups', () => {
  const task = (path: string, size: number, extra: Partial<ScanTask> = {}): ScanTask => ({
    dataFile: { content: 0, filePath: path, fileFormat: 'PARQUET', partition: { 1000: 7n }, recordCount: 1, fileSizeInBytes: size },
    dataSequenceNumber: 1,
    specId: 0,
    positionDeletes: [],
    equalityDeletes: [],
    ...extra,
  });

  it('skips files with delete files attached, files of an older spec and lone files', () => {
    const deletes = { ...task('d', 1).dataFile, content: 1 as const };
    const groups = compactionGroups(
      [task('a', 10), task('b', 10), task('c', 10, { positionDeletes: [deletes] }), task('e', 10, { specId: 1 }), task('f', 100), task('g', 10, { dataFile: { ...task('g', 10).dataFile, partition: { 1000: 8n } } })],
      0,
      50,
    );
    expect(groups.map((g) => g.map((t) => t.dataFile.filePath))).toEqual([['a', 'b']]);
  });
});
