import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import type { Lakehouse } from './lakehouse.js';
import { startIcebirdReader } from './test-support/icebird-reader.js';
import { suiteLake } from './test-support/lake-home.js';

/**
 * Every commit adds a manifest; once the manifests carried over reach
 * commit.manifest.min-count-to-merge (100 by default, lowered here), the small ones are merged.
 * The table must read the same before and after, with each file's snapshot and sequence numbers
 * kept, and every older snapshot must still read as it did.
 */
describe('manifest merging', () => {
  const suite = suiteLake('sqlite', 'rat-merge-');

  async function manifestsOf(lake: Lakehouse, name: string) {
    const table = await lake.catalog.loadTable(parseTableIdent(name));
    const snapshot = table.metadata.snapshots.find((s) => s.snapshotId === table.metadata.currentSnapshotId)!;
    return lake.executor.reader.manifestCache(table.pathMap).manifestList(snapshot.manifestList);
  }

  /** Each live data file with the sequence numbers and snapshot a scan sees for it. */
  async function filesOf(lake: Lakehouse, name: string) {
    const table = await lake.catalog.loadTable(parseTableIdent(name));
    const { scan } = await lake.executor.reader.plan(table);
    return scan.tasks.map((t) => `${t.dataFile.filePath} seq=${String(t.dataSequenceNumber)}`).sort();
  }

  it('merges the carried manifests past the minimum count, keeping rows, sequence numbers and history', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.m (id BIGINT, day DATE) PARTITIONED BY (day)');
    await lake.executor.writer.commitMetadata(parseTableIdent('bronze.m'), (base) => ({ ...base.metadata, properties: { ...base.metadata.properties, 'commit.manifest.min-count-to-merge': '5' } }));
    const counts: number[] = [];
    const history: { snapshotId: bigint; rows: string }[] = [];
    for (let i = 1; i <= 12; i++) {
      await lake.sql(`INSERT INTO bronze.m VALUES (${i}, DATE '2026-01-0${(i % 3) + 1}')`);
      counts.push((await manifestsOf(lake, 'bronze.m')).length);
      const table = await lake.catalog.loadTable(parseTableIdent('bronze.m'));
      history.push({ snapshotId: table.metadata.currentSnapshotId!, rows: JSON.stringify(await lake.query(`SELECT id FROM bronze.m ORDER BY id`)) });
    }
    // 1..5 manifests, then the 5 carried ones merge into one (+ the new one), and so on.
    expect(counts).toEqual([1, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4]);
    const beforeDelete = await filesOf(lake, 'bronze.m');
    expect(beforeDelete).toHaveLength(12);
    // Sequence numbers are the ones each file was added with (the INSERTs are sequence numbers 1..12), none rewritten.
    expect(beforeDelete.map((f) => Number(/seq=(\d+)/.exec(f)![1])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const merged = (await manifestsOf(lake, 'bronze.m')).filter((m) => m.existingFilesCount > 0);
    expect(merged).toHaveLength(1);
    // The second merge took the first merged manifest (5 files) and the 4 added after it.
    expect(merged[0]!.existingFilesCount).toBe(9);
    // Every snapshot still reads as it did when it was made.
    for (const { snapshotId, rows } of history) {
      expect(JSON.stringify(await lake.query(`SELECT id FROM bronze.m AT (VERSION => ${snapshotId}) ORDER BY id`))).toBe(rows);
    }
    // An independent reader reads the merged manifests (EXISTING entries with explicit sequence numbers) the same.
    const icebird = await startIcebirdReader(suite.home.home);
    try {
      const description = await lake.describeTable('bronze.m');
      const rows = await icebird.read(description.location, basename(description.metadataLocation));
      expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      const entries = await icebird.manifestEntries(description.location, basename(description.metadataLocation));
      expect(entries.filter((e) => e.status === 0)).toHaveLength(9);
    } finally {
      await icebird.close();
    }
    // A delete on top of merged manifests removes exactly its rows.
    await lake.sql('DELETE FROM bronze.m WHERE id IN (2, 7)');
    expect((await lake.query<{ id: number }>('SELECT id::INT AS id FROM bronze.m ORDER BY id')).map((r) => r.id)).toEqual([1, 3, 4, 5, 6, 8, 9, 10, 11, 12]);
  });

  it('leaves manifests alone with merging off, and names a bad setting', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.n (id BIGINT)');
    const ident = parseTableIdent('bronze.n');
    await lake.executor.writer.commitMetadata(ident, (base) => ({ ...base.metadata, properties: { 'commit.manifest-merge.enabled': 'false', 'commit.manifest.min-count-to-merge': '2' } }));
    for (let i = 0; i < 4; i++) await lake.sql(`INSERT INTO bronze.n VALUES (${i})`);
    expect(await manifestsOf(lake, 'bronze.n')).toHaveLength(4);
    await lake.executor.writer.commitMetadata(ident, (base) => ({ ...base.metadata, properties: { 'commit.manifest.min-count-to-merge': 'ten' } }));
    await expect(lake.sql('INSERT INTO bronze.n VALUES (9)')).rejects.toThrow(/table property commit\.manifest\.min-count-to-merge of \S+ is "ten": use a whole number of at least 1/);
    expect(await lake.query('SELECT count(*)::INT AS n FROM bronze.n')).toEqual([{ n: 4 }]);
  });
});
