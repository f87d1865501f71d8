import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { openDuckDb, quoteString } from '../engine/duckdb.js';
import { commitPositionDeletes } from '../engine/test-support/position-deletes.js';
import { compactTable } from '../maintenance/compaction.js';
import type { IngestOptions } from './ingest-options.js';
import { openIngestFixture, REFERENCE_TABLES, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** The table's rows as `id name`, by id. */
async function rowsOf(table: string): Promise<string[]> {
  return (await fx.rat.query<{ row: string }>(`SELECT id || ' ' || name AS row FROM ${table} ORDER BY id`)).map((r) => r.row);
}

describe('a merge ingest into a table with delete files', () => {
  it('keeps the equality deletes Spark wrote for the data files it does not rewrite', async () => {
    // A copy: the merge writes its files under the table's location.
    const copy = join(fx.dir, 'spark');
    await cp(join(REFERENCE_TABLES, 'equality_deletes'), join(copy, 'equality_deletes'), { recursive: true });
    await fx.rat.registerTable('bronze.spark_eq', join(copy, 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json'), { pathMap: [{ from: 'data/persistent/', to: `${copy}/` }] });
    expect(await rowsOf('bronze.spark_eq')).toEqual(['4 d', '5 e']);
    expect((await fx.rat.describeTable('bronze.spark_eq')).deleteFileCount).toBe(4);

    // id 4 is in the first data file (a,b,c,d); 'f' is in the second (e,f), deleted by `name = 'f'`,
    // the one delete file that applies to both.
    const report = await fx.ingestion.ingest(await fx.file('spark-eq.csv', 'id,name,bir\n4,D,2025-02-04\n'), 'bronze.spark_eq', { mode: 'merge', keys: ['id'], lineage: false });
    expect(report.files[0]).toMatchObject({ status: 'success' });
    expect(await rowsOf('bronze.spark_eq')).toEqual(['4 D', '5 e']);
    // The three deletes older than the second file applied only to the rewritten one: they go with it.
    expect((await fx.rat.describeTable('bronze.spark_eq')).deleteFileCount).toBe(1);
  });

  /**
   * Ids 1-9 (names a-i) in three data files, and one position delete file, as Spark writes it,
   * deleting id 2 from the first data file and ids 5 and 8 from the others.
   */
  async function withPositionDeletes(table: string): Promise<void> {
    await fx.rat.sql(`CREATE TABLE ${table} (id BIGINT, name VARCHAR, day DATE)`);
    for (const ids of [[1, 2, 3], [4, 5, 6], [7, 8, 9]]) {
      await fx.rat.sql(`INSERT INTO ${table} (id, name) VALUES ${ids.map((id) => `(${id}, '${String.fromCharCode(96 + id)}')`).join(', ')}`);
    }
    const base = await fx.rat.loadTable(table);
    const { scan } = await fx.rat.executor.reader.plan(base);
    const db = await openDuckDb({ threads: 1 });
    try {
      const targets: { location: string; pos: number }[] = [];
      for (const task of scan.tasks) {
        const path = await fx.rat.store.localPath(fx.rat.store.keyOf(task.dataFile.filePath)!);
        const rows = await db.rows<{ id: number; pos: number }>(`SELECT id::INT AS id, file_row_number::INT AS pos FROM read_parquet(${quoteString(path)}, file_row_number=true)`);
        for (const row of rows) if ([2, 5, 8].includes(row.id)) targets.push({ location: task.dataFile.filePath, pos: row.pos });
      }
      expect(targets).toHaveLength(3);
      await commitPositionDeletes(fx.rat, db, base, targets);
    } finally {
      db.close();
    }
    expect(await rowsOf(table)).toEqual(['1 a', '3 c', '4 d', '6 f', '7 g', '9 i']);
  }

  it('keeps a position delete file naming several data files until every one of them is rewritten', async () => {
    await withPositionDeletes('bronze.merge_positions');
    const merge = { mode: 'merge' as const, keys: ['id'], lineage: false };
    await fx.ingestion.ingest(await fx.file('positions-1.csv', 'id,name\n1,A\n'), 'bronze.merge_positions', merge);
    expect(await rowsOf('bronze.merge_positions')).toEqual(['1 A', '3 c', '4 d', '6 f', '7 g', '9 i']);
    expect((await fx.rat.describeTable('bronze.merge_positions')).deleteFileCount).toBe(1);

    await fx.ingestion.ingest(await fx.file('positions-2.csv', 'id,name\n4,D\n7,G\n'), 'bronze.merge_positions', merge);
    expect(await rowsOf('bronze.merge_positions')).toEqual(['1 A', '3 c', '4 D', '6 f', '7 G', '9 i']);
    // Every data file it named is rewritten now: nothing left for it to apply to.
    expect((await fx.rat.describeTable('bronze.merge_positions')).deleteFileCount).toBe(0);
  });

  it('keeps them when a replay merges the rows a merge quarantined', async () => {
    await withPositionDeletes('bronze.replay_positions');
    // Id 1's day, written day first, is refused: the row goes to the quarantine with the merge's key,
    // and the merge rewrites no file (id 10 is new).
    const text = 'id,name,day\n1,A,05/02/2024\n10,j,2024-01-10\n';
    const report = await fx.ingestion.ingest(await fx.file('replay-positions.csv', text), 'bronze.replay_positions', { mode: 'merge', keys: ['id'] });
    expect(report.files[0]).toMatchObject({ rowsIngested: 1, rowsRejected: 1 });
    // Id 1 was written by SQL (no _ingested_at): the replay is told to merge over it.
    const replay = await fx.ingestion.replayRejects('bronze.replay_positions', { dateFormat: '%d/%m/%Y', mode: 'merge', keys: ['id'] });
    expect(replay).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await rowsOf('bronze.replay_positions')).toEqual(['1 A', '3 c', '4 d', '6 f', '7 g', '9 i', '10 j']);
    expect((await fx.rat.describeTable('bronze.replay_positions')).deleteFileCount).toBe(1);
  });
});

describe('a table whose partition source column was widened', () => {
  // Old manifests hold the values as the narrower type; each of these rewrites or merges them.
  it('takes appends with manifest merging, merge, DELETE, UPDATE, compaction and overwrite after an ingest widened int to long', async () => {
    const lineage = { lineage: false };
    const ingest = async (table: string, text: string, options: IngestOptions = {}) => {
      const report = await fx.ingestion.ingest(await fx.file(`${table}-${Date.now()}.csv`, `k,n\n${text}`), table, { ...lineage, ...options });
      expect(report.files[0], `${table}: ${text}`).toMatchObject({ status: 'success' });
    };
    const rows = async (table: string) => (await fx.rat.query<{ row: string }>(`SELECT k || ' ' || n AS row FROM ${table} ORDER BY k`)).map((r) => r.row);
    const before = ['1 5', '2 6', '3 7', '4 9', '5 9', '6 3000000000'];
    const cases: { name: string; change: (table: string) => Promise<unknown>; after: string[] }[] = [
      {
        name: 'append',
        change: async (table) => {
          await fx.rat.sql(`ALTER TABLE ${table} SET TBLPROPERTIES ('commit.manifest.min-count-to-merge' = '2')`);
          await ingest(table, '7,10\n');
        },
        after: [...before, '7 10'],
      },
      { name: 'merge', change: (table) => ingest(table, '1,11\n', { mode: 'merge', keys: ['k'] }), after: ['1 11', ...before.slice(1)] },
      { name: 'delete', change: (table) => fx.rat.sql(`DELETE FROM ${table} WHERE k = 2`), after: before.filter((r) => r !== '2 6') },
      { name: 'update', change: (table) => fx.rat.sql(`UPDATE ${table} SET n = 8 WHERE k = 3`), after: before.map((r) => (r === '3 7' ? '3 8' : r)) },
      // The two small files of n = 9, one written before the widening, become one.
      { name: 'compaction', change: (table) => compactTable(fx.rat.catalog, fx.rat.duck, fx.rat.executor.reader, fx.rat.branch, parseTableIdent(table)), after: before },
      { name: 'overwrite', change: (table) => ingest(table, '1,5\n', { mode: 'overwrite' }), after: ['1 5'] },
    ];
    for (const { name, change, after } of cases) {
      const table = `bronze.widened_${name}`;
      await ingest(table, '1,5\n2,6\n3,7\n4,9\n', { types: { n: 'INTEGER' }, partitionBy: ['n'] });
      await ingest(table, '5,9\n6,3000000000\n');
      expect((await fx.rat.describeTable(table)).schema.fields.find((f) => f.name === 'n')?.type, table).toBe('long');
      await change(table);
      expect(await rows(table), table).toEqual(after);
      // Partition values written as int still prune and match.
      expect(await rows(`(SELECT * FROM ${table} WHERE n = 5 OR n = 9)`), table).toEqual(after.filter((r) => / (5|9)$/.test(r)));
    }
    expect((await fx.rat.describeTable('bronze.widened_compaction')).dataFileCount).toBe(5);
  });

  it('rewrites manifests after ALTER COLUMN widened an identity float and a truncated int partition column', async () => {
    const table = 'bronze.altered_partition';
    await fx.rat.sql(`CREATE TABLE ${table} (k INT, n INT, f FLOAT) PARTITIONED BY (truncate(10, n), f)`);
    await fx.rat.sql(`INSERT INTO ${table} VALUES (1, 15, 1.5)`);
    await fx.rat.sql(`INSERT INTO ${table} VALUES (2, 27, 2.5)`);
    await fx.rat.sql(`ALTER TABLE ${table} ALTER COLUMN n TYPE BIGINT`);
    await fx.rat.sql(`ALTER TABLE ${table} ALTER COLUMN f TYPE DOUBLE`);
    await fx.rat.sql(`DELETE FROM ${table} WHERE k = 1`);
    await fx.rat.sql(`INSERT INTO ${table} VALUES (3, 5000000000, 0.1)`);
    expect(await fx.rat.query(`SELECT k, n::VARCHAR AS n, f FROM ${table} ORDER BY k`)).toEqual([
      { k: 2, n: '27', f: 2.5 },
      { k: 3, n: '5000000000', f: 0.1 },
    ]);
    expect(await fx.rat.query(`SELECT k FROM ${table} WHERE n = 27 AND f = 2.5`)).toEqual([{ k: 2 }]);
  });
});
