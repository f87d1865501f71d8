import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb, quoteString } from '../engine/duckdb.js';
import { commitPositionDeletes } from '../engine/test-support/position-deletes.js';
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

  it('keeps a position delete file naming several data files until every one of them is rewritten', async () => {
    await fx.rat.sql('CREATE TABLE bronze.merge_positions (id BIGINT, name VARCHAR)');
    await fx.rat.sql(`INSERT INTO bronze.merge_positions VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    await fx.rat.sql(`INSERT INTO bronze.merge_positions VALUES (4, 'd'), (5, 'e'), (6, 'f')`);
    await fx.rat.sql(`INSERT INTO bronze.merge_positions VALUES (7, 'g'), (8, 'h'), (9, 'i')`);
    const base = await fx.rat.loadTable('bronze.merge_positions');
    const { scan } = await fx.rat.executor.reader.plan(base);
    const db = await openDuckDb({ threads: 1 });
    try {
      // One file, as Spark writes it, deleting id 2 from the first data file and ids 5 and 8 from the others.
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
    expect(await rowsOf('bronze.merge_positions')).toEqual(['1 a', '3 c', '4 d', '6 f', '7 g', '9 i']);

    const merge = { mode: 'merge' as const, keys: ['id'], lineage: false };
    await fx.ingestion.ingest(await fx.file('positions-1.csv', 'id,name\n1,A\n'), 'bronze.merge_positions', merge);
    expect(await rowsOf('bronze.merge_positions')).toEqual(['1 A', '3 c', '4 d', '6 f', '7 g', '9 i']);
    expect((await fx.rat.describeTable('bronze.merge_positions')).deleteFileCount).toBe(1);

    await fx.ingestion.ingest(await fx.file('positions-2.csv', 'id,name\n4,D\n7,G\n'), 'bronze.merge_positions', merge);
    expect(await rowsOf('bronze.merge_positions')).toEqual(['1 A', '3 c', '4 D', '6 f', '7 G', '9 i']);
    // Every data file it named is rewritten now: nothing left for it to apply to.
    expect((await fx.rat.describeTable('bronze.merge_positions')).deleteFileCount).toBe(0);
  });
});
