import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Json } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageConfig } from '../storage/config.js';
import { startS3Server, type S3TestServer } from '../storage/test-support/s3-server.js';
import { type Lakehouse, openLakehouse, type SnapshotInfo } from './lakehouse.js';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';

/**
 * The whole lakehouse on a real S3 server (s3rver): every table file lives in the bucket, the local
 * home holds only the metadata DB and a cache, and a second instance with an empty cache reads the
 * same tables from the bucket alone.
 */

const PREFIX = 'tenant-a';

let server: S3TestServer;
let home: string;
let storage: Extract<StorageConfig, { type: 's3' }>;
let rat: Lakehouse;

/** Every object key in the bucket, read with a client of its own rather than through the store. */
async function bucketKeys(): Promise<string[]> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) keys.push(object.Key!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
  return keys.sort();
}

async function storeKeys(lake: Lakehouse, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of lake.store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

/** Every file under a local directory, relative to it. */
async function localFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

function rows(lake: Lakehouse, sql: string): Promise<Record<string, Json>[]> {
  return lake.query(sql);
}

beforeAll(async () => {
  server = await startS3Server({ bucket: 'rat-lake' });
  home = await mkdtemp(path.join(os.tmpdir(), 'rat-s3-lake-'));
  storage = {
    type: 's3',
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    prefix: PREFIX,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    cacheDir: path.join(home, 'cache'),
    stagingRoot: path.join(home, 'staging'),
  };
  rat = await openLakehouse({ home, storage, env: {}, threads: 2, ...catalogOptions(home) });
});

afterAll(async () => {
  await rat?.close();
  await server?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('a lakehouse on S3', () => {
  const t = 'bronze.trips';
  const original = [
    { id: 1, city: 'paris', fare: '12.50', started: '2024-03-01 08:00:00' },
    { id: 2, city: 'paris', fare: '7.25', started: '2024-03-02 09:30:00' },
    { id: 3, city: 'lyon', fare: '30.00', started: '2024-03-01 18:45:00' },
    { id: 4, city: 'nice', fare: '5.00', started: '2024-03-03 23:59:59' },
  ];
  let created: SnapshotInfo;
  let final: Record<string, Json>[];

  it('creates a partitioned table and inserts into it, with every file in the bucket', async () => {
    await rat.sql(`CREATE TABLE ${t} (id BIGINT, city VARCHAR, fare DECIMAL(8, 2), started TIMESTAMP) PARTITIONED BY (city, day(started))`);
    const values = original.map((r) => `(${r.id}, '${r.city}', ${r.fare}, TIMESTAMP '${r.started}')`).join(', ');
    const [inserted] = await rat.sql(`INSERT INTO ${t} VALUES ${values}`);
    expect(inserted).toMatchObject({ kind: 'command', rowCount: 4 });
    [created] = (await rat.snapshots(t)) as [SnapshotInfo];
    expect(created.summary['added-data-files']).toBe('4');

    const described = await rat.describeTable(t);
    expect(described.location).toBe(`s3://${server.bucket}/${PREFIX}/warehouse/bronze/trips`);
    expect(described.metadataLocation).toMatch(new RegExp(`^s3://${server.bucket}/${PREFIX}/warehouse/bronze/trips/metadata/00001-.+\\.metadata\\.json$`));
    expect(described.partitionSpec.fields.map((f) => f.transform)).toEqual(['identity', 'day']);
    expect(await rows(rat, `SELECT * FROM ${t} ORDER BY id`)).toEqual(original);

    const keys = await storeKeys(rat, 'warehouse/bronze/trips/');
    const dataKeys = keys.filter((k) => k.endsWith('.parquet'));
    expect(dataKeys).toHaveLength(4);
    expect(dataKeys.map((k) => path.posix.dirname(k)).sort()).toEqual([
      'warehouse/bronze/trips/data/city=lyon/started_day=2024-03-01',
      'warehouse/bronze/trips/data/city=nice/started_day=2024-03-03',
      'warehouse/bronze/trips/data/city=paris/started_day=2024-03-01',
      'warehouse/bronze/trips/data/city=paris/started_day=2024-03-02',
    ]);
    expect(keys.filter((k) => k.endsWith('.metadata.json'))).toHaveLength(2);
    expect(keys.some((k) => /\/metadata\/snap-\d+-\d+-.+\.avro$/.test(k))).toBe(true);
    // The store's listing is what is really in the bucket, under the prefix.
    expect((await bucketKeys()).filter((k) => k.startsWith(`${PREFIX}/warehouse/bronze/trips/`))).toEqual(keys.map((k) => `${PREFIX}/${k}`));
  });

  it('updates (also across partitions), deletes and alters, one snapshot per change', async () => {
    await rat.sql(`UPDATE ${t} SET fare = fare + 1 WHERE id = 1`);
    await rat.sql(`UPDATE ${t} SET city = 'lyon' WHERE id = 2`);
    await rat.sql(`DELETE FROM ${t} WHERE id = 4`);
    expect(await rat.snapshots(t)).toHaveLength(4);
    await rat.sql(`ALTER TABLE ${t} ADD COLUMN driver VARCHAR`);
    await rat.sql(`INSERT INTO ${t} VALUES (5, 'nice', 9.90, TIMESTAMP '2024-03-04 10:00:00', 'ana')`);
    expect(await rat.snapshots(t)).toHaveLength(5);
    final = await rows(rat, `SELECT * FROM ${t} ORDER BY id`);
    expect(final).toEqual([
      { id: 1, city: 'paris', fare: '13.50', started: '2024-03-01 08:00:00', driver: null },
      { id: 2, city: 'lyon', fare: '7.25', started: '2024-03-02 09:30:00', driver: null },
      { id: 3, city: 'lyon', fare: '30.00', started: '2024-03-01 18:45:00', driver: null },
      { id: 5, city: 'nice', fare: '9.90', started: '2024-03-04 10:00:00', driver: 'ana' },
    ]);
    const liveDirs = (await rat.executor.reader.plan(await rat.loadTable(t))).scan.tasks.map((task) => task.dataFile.filePath);
    rat.takeScanRecords();
    for (const location of liveDirs) expect(location.startsWith(`s3://${server.bucket}/${PREFIX}/warehouse/bronze/trips/data/`)).toBe(true);
    expect(liveDirs.some((l) => l.includes('/city=lyon/started_day=2024-03-02/'))).toBe(true);
  });

  it('time travels by version and timestamp, and prunes by partition with the same rows', async () => {
    expect(await rows(rat, `SELECT * FROM ${t} AT (VERSION => ${created.snapshotId}) ORDER BY id`)).toEqual(original);
    const at = new Date(created.timestamp.getTime()).toISOString().replace('T', ' ').replace('Z', '');
    expect(await rows(rat, `SELECT id FROM ${t} AT (TIMESTAMP => TIMESTAMP '${at}') ORDER BY id`)).toEqual(original.map((r) => ({ id: r.id })));

    rat.takeScanRecords();
    expect(await rows(rat, `SELECT * FROM ${t} WHERE city = 'lyon' ORDER BY id`)).toEqual(final.filter((r) => r.city === 'lyon'));
    const [record] = rat.takeScanRecords().filter((r) => r.predicates.length > 0);
    expect(record!.stats.dataFilesSelected).toBe(2);
    const total = (await rat.describeTable(t)).dataFileCount;
    expect(total).toBe(4);
    expect(await rows(rat, `SELECT id FROM ${t} WHERE started >= TIMESTAMP '2024-03-04 00:00:00'`)).toEqual([{ id: 5 }]);
  });

  it('CTAS and a second namespace on S3; nothing is written to the local warehouse', async () => {
    await rat.sql(`CREATE TABLE silver.fares AS SELECT city, sum(fare) AS total, count(*) AS trips FROM ${t} GROUP BY city`);
    expect(await rows(rat, 'SELECT * FROM silver.fares ORDER BY city')).toEqual([
      { city: 'lyon', total: '37.25', trips: 2 },
      { city: 'nice', total: '9.90', trips: 1 },
      { city: 'paris', total: '13.50', trips: 1 },
    ]);
    expect((await storeKeys(rat, 'warehouse/silver/fares/')).filter((k) => k.endsWith('.parquet'))).toHaveLength(1);

    expect(existsSync(path.join(home, 'warehouse'))).toBe(false);
    // Locally: the metadata DB and downloaded copies only; staging directories are gone once uploaded.
    expect(await localFiles(path.join(home, 'staging'))).toEqual([]);
    const local = await localFiles(home);
    expect(local.filter((f) => !f.startsWith('rat.db') && !f.startsWith(`cache${path.sep}`))).toEqual([]);
    const bucket = await bucketKeys();
    expect(bucket.every((k) => k.startsWith(`${PREFIX}/warehouse/`))).toBe(true);
    expect(bucket.filter((k) => k.endsWith('.parquet')).length).toBeGreaterThanOrEqual(8);
  });

  it('a second instance with an empty cache reads the same tables from the bucket', async () => {
    const snapshots = await rat.snapshots(t);
    await rat.close();
    await rm(path.join(home, 'cache'), { recursive: true, force: true });

    rat = await openLakehouse({ home, storage, env: {}, threads: 2, ...catalogOptions(home) });
    expect(await rat.snapshots(t)).toEqual(snapshots);
    expect(await rows(rat, `SELECT * FROM ${t} ORDER BY id`)).toEqual(final);
    expect(await rows(rat, `SELECT * FROM ${t} AT (VERSION => ${created.snapshotId}) ORDER BY id`)).toEqual(original);
    expect(await rows(rat, 'SELECT city, trips FROM silver.fares ORDER BY city')).toEqual([
      { city: 'lyon', trips: 2 },
      { city: 'nice', trips: 1 },
      { city: 'paris', trips: 1 },
    ]);
    // Everything it read came from the bucket into the fresh cache.
    expect((await localFiles(path.join(home, 'cache'))).some((f) => f.endsWith('.parquet'))).toBe(true);

    // It writes too, and rollback works on S3.
    await rat.sql(`DELETE FROM ${t} WHERE city = 'lyon'`);
    expect(await rows(rat, `SELECT id FROM ${t} ORDER BY id`)).toEqual([{ id: 1 }, { id: 5 }]);
    await rat.rollback(t, snapshots.at(-1)!.snapshotId);
    expect(await rows(rat, `SELECT * FROM ${t} ORDER BY id`)).toEqual(final);
    expect(existsSync(path.join(home, 'warehouse'))).toBe(false);
  });
});
