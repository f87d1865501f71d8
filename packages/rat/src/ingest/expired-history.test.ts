import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maintain } from '../maintenance/maintain.js';
import { ingestDatabase } from './database/ingest-database.js';
import { openSqliteSource } from './database/test-support/source-databases.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeEach(async () => {
  fx = await openIngestFixture();
});
afterEach(async () => {
  await fx.close();
});

const count = async (table: string) => (await fx.rat.query<{ n: number; ids: number }>(`SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids FROM ${table}`))[0]!;

/** Expires every snapshot but the current one of `table`, as `rat maintain --retain 0` does. */
async function expireAll(table: string): Promise<number> {
  const report = await maintain(fx.rat, { tables: [table], retainMs: 0, compaction: false, orphans: false });
  return report.tables.reduce((sum, t) => sum + t.expiredSnapshots, 0);
}

describe('loads whose snapshots maintenance expired', () => {
  it('skip-existing keeps skipping their files (append and merge): expiry removes no rows, so nothing is loaded twice', async () => {
    await fx.file('exp-a.csv', 'id,amount\n1,10\n2,20\n');
    await fx.file('exp-b.csv', 'id,amount\n3,30\n');
    const batch = join(fx.dir, 'exp-?.csv');
    await fx.ingestion.ingestBatch(batch, 'bronze.expired', { skipExisting: true, filesPerCommit: 1 });
    await fx.ingestion.ingest(await fx.file('merge-exp.csv', 'id,amount\n2,21\n'), 'bronze.expired', { skipExisting: true, mode: 'merge', keys: ['id'] });
    await fx.rat.sql(`INSERT INTO bronze.expired (id, amount) VALUES (4, 40)`);
    expect(await expireAll('bronze.expired')).toBe(3);

    const again = await fx.ingestion.ingestBatch(batch, 'bronze.expired', { skipExisting: true });
    expect(again.files.map((f) => f.status)).toEqual(['skipped', 'skipped']);
    const merged = await fx.ingestion.ingest(join(fx.dir, 'merge-exp.csv'), 'bronze.expired', { skipExisting: true, mode: 'merge', keys: ['id'] });
    expect(merged.files[0]).toMatchObject({ status: 'skipped' });
    expect(await count('bronze.expired')).toEqual({ n: 4, ids: 4 });

    // A second expiry keeps the loads the first one remembered.
    await fx.ingestion.ingest(await fx.file('exp-c.csv', 'id,amount\n5,50\n'), 'bronze.expired', { skipExisting: true });
    await fx.rat.sql(`INSERT INTO bronze.expired (id, amount) VALUES (6, 60)`);
    expect(await expireAll('bronze.expired')).toBeGreaterThan(0);
    const third = await fx.ingestion.ingestBatch(batch, 'bronze.expired', { skipExisting: true });
    expect(third.files.map((f) => f.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(await count('bronze.expired')).toEqual({ n: 6, ids: 6 });
  });

  it('a file whose load was rolled back is loaded again, also after its snapshot expired', async () => {
    await fx.ingestion.ingest(await fx.file('undo-a.csv', 'id\n1\n'), 'bronze.undone', { skipExisting: true });
    const b = await fx.file('undo-b.csv', 'id\n2\n');
    await fx.ingestion.ingest(b, 'bronze.undone', { skipExisting: true });
    const history = await fx.rat.snapshots('bronze.undone');
    await fx.rat.rollback('bronze.undone', history[0]!.snapshotId);
    await fx.rat.sql(`INSERT INTO bronze.undone (id) VALUES (3)`);
    expect(await expireAll('bronze.undone')).toBe(2);
    const redo = await fx.ingestion.ingest(b, 'bronze.undone', { skipExisting: true });
    expect(redo.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await count('bronze.undone')).toEqual({ n: 3, ids: 3 });
  });

  it('overwrite: the table still comes from the expired overwrite, so skip-existing skips its file and SQL edits since stay', async () => {
    const day = await fx.file('day.csv', 'id,name\n1,a\n2,b\n');
    await fx.ingestion.ingest(day, 'bronze.daily', { mode: 'overwrite', skipExisting: true });
    await fx.rat.sql(`UPDATE bronze.daily SET name = 'fixed' WHERE id = 2`);
    expect(await expireAll('bronze.daily')).toBe(1);
    const again = await fx.ingestion.ingest(day, 'bronze.daily', { mode: 'overwrite', skipExisting: true });
    expect(again.files[0]).toMatchObject({ status: 'skipped' });
    expect(await fx.rat.query('SELECT id, name FROM bronze.daily ORDER BY id')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'fixed' },
    ]);
  });

  it('a replay leaves rows quarantined before an overwrite whose snapshot expired', async () => {
    await fx.ingestion.ingest(await fx.file('feb-exp.csv', 'id,day\n1,05/02/2024\n2,2024-02-02\n'), 'bronze.months', { mode: 'overwrite', types: { day: 'DATE' } });
    await fx.ingestion.ingest(await fx.file('mar-exp.csv', 'id,day\n3,2024-03-03\n'), 'bronze.months', { mode: 'overwrite' });
    await fx.rat.sql(`INSERT INTO bronze.months (id, day) VALUES (4, DATE '2024-03-04')`);
    expect(await expireAll('bronze.months')).toBe(2);
    expect(await fx.ingestion.replayRejects('bronze.months', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 0, stillRejected: 1, outdated: 1 });
    expect(await fx.rat.query<{ id: number }>('SELECT id FROM bronze.months ORDER BY id')).toEqual([{ id: 3 }, { id: 4 }]);
  });

  it('an incremental database source goes on from its cursor: the run after expiry reads only the new rows', async () => {
    const source = await openSqliteSource();
    try {
      await source.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO orders VALUES (1, 'a'), (2, 'b')`);
      const options = { url: source.url, table: 'orders', target: 'bronze.orders', cursor: 'id' };
      await ingestDatabase(fx.ingestion, options);
      await fx.rat.sql(`INSERT INTO bronze.orders (id, v) VALUES (100, 'by hand')`);
      expect(await expireAll('bronze.orders')).toBe(1);
      await source.exec(`INSERT INTO orders VALUES (3, 'c')`);
      const next = await ingestDatabase(fx.ingestion, options);
      expect([next.cursor?.previous, next.cursor?.value, next.rowsIngested]).toEqual([2, 3, 1]);
      expect(await count('bronze.orders')).toEqual({ n: 4, ids: 4 });
    } finally {
      await source.close();
    }
  });
});
