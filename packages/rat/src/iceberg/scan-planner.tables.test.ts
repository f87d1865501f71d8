/**
 * Plans real tables written by Spark and PyIceberg (../shared/reference/iceberg/tables, see its
 * EXPECTED.md). Paths in their metadata start with `data/persistent/`, mapped to that folder.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createManifestCache } from './manifest-cache.js';
import { parseTableMetadata } from './metadata.js';
import type { Predicate } from './predicate.js';
import { planScan, type PlannedScan } from './scan-planner.js';

const TABLES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/', import.meta.url));
const PREFIX = 'data/persistent/';

function localPath(location: string): string {
  if (!location.startsWith(PREFIX)) throw new Error(`unexpected location ${location}`);
  return TABLES + location.slice(PREFIX.length);
}

const cache = createManifestCache({ read: async (location) => new Uint8Array(await readFile(localPath(location))) });

async function plan(metadataFile: string, predicates: Predicate[] = [], snapshotId?: bigint): Promise<PlannedScan> {
  const metadata = parseTableMetadata(await readFile(TABLES + metadataFile, 'utf8'), metadataFile);
  return planScan({
    metadata,
    predicates,
    ...(snapshotId === undefined ? {} : { snapshotId }),
    loadManifestList: cache.manifestList,
    loadManifest: cache.manifest,
  });
}

const fileName = (path: string): string => path.split('/').slice(-2).join('/');

/** data file -> its delete files, all by the last two path segments. */
function deletesByFile(scan: PlannedScan): Record<string, { seq: number; positionDeletes: string[]; equalityDeletes: string[] }> {
  return Object.fromEntries(
    scan.tasks.map((task) => [
      fileName(task.dataFile.filePath),
      {
        seq: task.dataSequenceNumber,
        positionDeletes: task.positionDeletes.map((f) => fileName(f.filePath)).sort(),
        equalityDeletes: task.equalityDeletes.map((d) => `${fileName(d.file.filePath)}@${d.sequenceNumber}`).sort(),
      },
    ]),
  );
}

describe('planScan on tables written by other engines', () => {
  const mytable = 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json';

  it('equality_deletes/mytable: every Spark equality delete applies to the older data file only', async () => {
    const scan = await plan(mytable);
    expect(scan.snapshotId).toBe(1916084761853986166n);
    expect(deletesByFile(scan)).toEqual({
      'data/00000-9-8b7ad7ff-1bf1-4522-9b6b-da181d84a8d6-0-00001.parquet': {
        seq: 1,
        positionDeletes: [],
        equalityDeletes: [
          'data/delete-242a4468-1e89-489f-aa1b-eafd83a379db.parquet@3',
          'data/delete-2ca427ee-335e-412b-85d9-cb2ffd9ecfde.parquet@6',
          'data/delete-6b31fafe-0aa5-4197-b4e8-052dbc2afa98.parquet@4',
          'data/delete-93d19556-6cbf-4720-a9a3-3cd5004ad532.parquet@2',
        ],
      },
      'data/00000-12-3ac0d3a9-e19f-4bef-a39a-30030476b8aa-0-00001.parquet': {
        seq: 5,
        positionDeletes: [],
        equalityDeletes: ['data/delete-2ca427ee-335e-412b-85d9-cb2ffd9ecfde.parquet@6'],
      },
    });
    expect(scan.stats).toEqual({
      manifestsTotal: 6,
      manifestsSkipped: 0,
      dataFilesTotal: 2,
      dataFilesSkippedByPartition: 0,
      dataFilesSkippedByBounds: 0,
      dataFilesSelected: 2,
      deleteFilesSelected: 4,
    });
  });

  it('equality_deletes/mytable: time travel to snapshot 3 sees the deletes of that time only', async () => {
    const scan = await plan(mytable, [], 1584331123492059582n);
    expect(deletesByFile(scan)).toEqual({
      'data/00000-9-8b7ad7ff-1bf1-4522-9b6b-da181d84a8d6-0-00001.parquet': {
        seq: 1,
        positionDeletes: [],
        equalityDeletes: ['data/delete-242a4468-1e89-489f-aa1b-eafd83a379db.parquet@3', 'data/delete-93d19556-6cbf-4720-a9a3-3cd5004ad532.parquet@2'],
      },
    });
  });

  it('equality_deletes/mytable: bounds prune the data files of ids outside the predicate', async () => {
    const scan = await plan(mytable, [{ kind: 'compare', op: 'gte', fieldId: 1, value: 5 }]);
    expect(scan.tasks.map((task) => fileName(task.dataFile.filePath))).toEqual(['data/00000-12-3ac0d3a9-e19f-4bef-a39a-30030476b8aa-0-00001.parquet']);
    expect(scan.stats.dataFilesSkippedByBounds).toBe(1);
  });

  it('equality_deletes/mytable_partitioned: deletes stay in their identity(name) partition', async () => {
    const scan = await plan('equality_deletes/warehouse/mydb/mytable_partitioned/metadata/v6.metadata.json');
    const deletes = deletesByFile(scan);
    expect(Object.fromEntries(Object.entries(deletes).map(([path, d]) => [path.split('/')[0], d.equalityDeletes.map((e) => e.split('/')[1])]))).toEqual({
      'name=a': [],
      'name=b': ['delete-07681bdb-b7a0-4bbc-a7ea-db5e51918b3d.parquet@2'],
      'name=c': ['delete-1929bcb5-210d-4b3d-9989-a10234740545.parquet@3'],
      'name=d': [],
      'name=e': [],
      'name=f': ['delete-ad683036-fbdb-4976-b0d3-2d1fc4525299.parquet@5'],
    });
  });

  it('equality_deletes/mytable_partitioned: a name predicate prunes manifests and partitions', async () => {
    const scan = await plan('equality_deletes/warehouse/mydb/mytable_partitioned/metadata/v6.metadata.json', [{ kind: 'compare', op: 'eq', fieldId: 2, value: 'e' }]);
    expect(scan.tasks.map((task) => fileName(task.dataFile.filePath))).toEqual(['name=e/00001-1760585154163-9544d795-f42e-4c94-863f-422e5a11b63e-00001.parquet']);
    // The a..d manifest is excluded by its partition summary; f by its partition value.
    expect(scan.stats).toMatchObject({ manifestsSkipped: 1, dataFilesTotal: 2, dataFilesSkippedByPartition: 1, dataFilesSelected: 1 });
  });

  it('equality_delete_cross_partition: the delete of partition 0 does not reach partition 1', async () => {
    const scan = await plan('equality_delete_cross_partition/warehouse/ns/t/metadata/vfinal.metadata.json');
    expect(scan.snapshotId).toBe(9876543210123456789n);
    const deletes = deletesByFile(scan);
    expect(deletes['part=0/00000-0-9867a76c-2dc8-4660-9641-15188ad8ee9b.parquet']?.equalityDeletes).toEqual(['part=0/eq-delete-71f65611-0c65-4565-9173-c885638427c1.parquet@2']);
    expect(deletes['part=1/00000-1-9867a76c-2dc8-4660-9641-15188ad8ee9b.parquet']?.equalityDeletes).toEqual([]);
  });

  it('partition_decimal_integer: partition_col = 42.5630 selects exactly one data file', async () => {
    const scan = await plan('partition_decimal_integer/metadata/v2.metadata.json', [{ kind: 'compare', op: 'eq', fieldId: 1, value: 425630n }]);
    expect(scan.tasks.map((task) => fileName(task.dataFile.filePath))).toEqual(['partition_col=42.5630/00000-3-c764af9f-0b20-4fb0-b5f4-0222acfd95f8-00001.parquet']);
    expect(scan.stats).toMatchObject({ dataFilesTotal: 3, dataFilesSkippedByPartition: 2, dataFilesSelected: 1 });
  });

  it('partition_timestamp: an identity timestamp partition selects one file', async () => {
    const value = BigInt(Date.parse('2023-05-15T14:30:45Z')) * 1000n;
    const scan = await plan('partition_timestamp/default.db/partition_timestamp/metadata/00001-0c9938a5-103e-4185-b46d-331368ae4db7.metadata.json', [
      { kind: 'compare', op: 'eq', fieldId: 1, value },
    ]);
    expect(scan.tasks.map((task) => fileName(task.dataFile.filePath))).toEqual(['partition_col=2023-05-15T14%3A30%3A45/00000-0-6b55fc2b-ce03-407e-9585-336c4675e611.parquet']);
  });

  describe('null_stats', () => {
    const nullStats = 'null_stats/default/test_nulls/metadata/00003-9d6a621e-8a72-4190-a880-f6ca02e32b86.metadata.json';
    const idsFile1 = 'data/00000-0-9a932c99-3823-49c8-b9a2-ccbb8959f8d9.parquet'; // ids 1..3, flag true, false, true
    const idsFile2 = 'data/00000-0-c6e04a5f-6a7c-49e3-bb8b-cc0af0a46080.parquet'; // ids 4..6, flag NULL, NULL, true
    const idsFile3 = 'data/00000-0-2aeec77d-bbe8-4b0a-8105-3093ce4ea02a.parquet'; // ids 7..9, flag NULL x3

    it('flag IS NULL keeps the files holding ids 4, 5, 7, 8, 9', async () => {
      const scan = await plan(nullStats, [{ kind: 'isNull', fieldId: 4 }]);
      const files = scan.tasks.map((task) => fileName(task.dataFile.filePath));
      expect(files).toContain(idsFile2);
      expect(files).toContain(idsFile3);
      // PyIceberg wrote no null counts: nothing proves that file 1 has no nulls.
      expect(files).toHaveLength(3);
    });

    it('a file without bounds for an all-null column is never pruned on missing stats', async () => {
      const scan = await plan(nullStats, [{ kind: 'compare', op: 'eq', fieldId: 4, value: false }]);
      expect(scan.tasks.map((task) => fileName(task.dataFile.filePath)).sort()).toEqual([idsFile3, idsFile1].sort());
      const notNull = await plan(nullStats, [{ kind: 'notNull', fieldId: 4 }]);
      expect(notNull.tasks).toHaveLength(3);
    });

    it('id bounds select the file of one id', async () => {
      const scan = await plan(nullStats, [{ kind: 'compare', op: 'eq', fieldId: 1, value: 5 }]);
      expect(scan.tasks.map((task) => fileName(task.dataFile.filePath))).toEqual([idsFile2]);
    });
  });

  it('reads each manifest file once through the cache', () => {
    const { hits, misses } = cache.stats();
    expect(misses).toBeGreaterThan(0);
    expect(hits).toBeGreaterThan(misses);
  });
});
