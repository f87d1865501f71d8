import { describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { readManifestList } from '../iceberg/manifest-list.js';
import { suiteLake } from './test-support/lake-home.js';

/**
 * A commit keeps the manifest list it wrote in the reader's cache, so the next commit does not read
 * it back. What is kept must be exactly what a reader parses from the file: checked after appends,
 * a partitioned write, an overwrite that rewrites manifests, a delete and a schema change.
 */
describe('the manifest list a commit remembers', () => {
  const suite = suiteLake('sqlite', 'rat-remembered-');

  async function expectRememberedEqualsFile(name: string): Promise<void> {
    const table = await suite.lake.catalog.loadTable(parseTableIdent(name));
    const snapshot = table.metadata.snapshots.find((s) => s.snapshotId === table.metadata.currentSnapshotId)!;
    const cache = suite.lake.executor.reader.manifestCache(table.pathMap);
    const before = cache.stats();
    const remembered = await cache.manifestList(snapshot.manifestList);
    // It was a hit: the commit put it there.
    expect(cache.stats().hits).toBe(before.hits + 1);
    const key = suite.lake.store.keyOf(snapshot.manifestList)!;
    expect(remembered).toStrictEqual(readManifestList(await suite.lake.store.get(key), snapshot.manifestList));
  }

  it.each([
    ['an append to a new table', 'CREATE TABLE bronze.p (id BIGINT, day DATE, v VARCHAR) PARTITIONED BY (month(day)); INSERT INTO bronze.p VALUES (1, DATE \'2026-01-05\', \'a\')'],
    ['an append across partitions', `INSERT INTO bronze.p SELECT range, DATE '2026-01-01' + CAST(range * 20 AS INTEGER), 'x' || range FROM range(2, 40)`],
    ['an update rewriting files', `UPDATE bronze.p SET v = 'changed' WHERE id < 10`],
    ['a delete', 'DELETE FROM bronze.p WHERE id > 30'],
    ['an insert overwrite', `INSERT OVERWRITE bronze.p SELECT range, DATE '2026-03-01', 'new' FROM range(5)`],
    ['an append after a schema change', `ALTER TABLE bronze.p ADD COLUMN w DOUBLE; INSERT INTO bronze.p VALUES (99, DATE '2026-04-01', 'w', 1.5)`],
  ])('after %s', async (_, sql) => {
    await suite.lake.sql(sql);
    await expectRememberedEqualsFile('bronze.p');
  });
});
