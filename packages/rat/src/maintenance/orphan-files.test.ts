import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reachableKeys, removeOrphanFiles } from './orphan-files.js';
import { createLakeFixture, rowsOf } from './test-support/lake-fixture.js';

const fixture = createLakeFixture();
afterEach(() => fixture.cleanup());

async function tableWithRows() {
  const home = await fixture.home();
  const lake = await fixture.open(home);
  await lake.sql('CREATE TABLE bronze.t (id BIGINT, v VARCHAR)');
  await lake.sql("INSERT INTO bronze.t VALUES (1, 'a'), (2, 'b')");
  await lake.sql("INSERT INTO bronze.t VALUES (3, 'c')");
  return { home, lake };
}

describe('removeOrphanFiles', () => {
  it("keeps a crashed write's files within the grace period and removes them after it", async () => {
    const { lake } = await tableWithRows();
    const rows = await rowsOf(lake, 'bronze.t');
    const crashed = ['warehouse/bronze/t/data/00000-crashed.parquet', 'warehouse/bronze/t/metadata/00009-crashed.metadata.json'];
    for (const key of crashed) await lake.store.put(key, 'half a write');

    const within = await removeOrphanFiles(lake.catalog, { graceMs: 3_600_000 });
    expect(within.removed).toEqual([]);
    expect(within.keptInGrace).toBe(2);
    for (const key of crashed) expect(await lake.store.exists(key)).toBe(true);

    const dry = await removeOrphanFiles(lake.catalog, { graceMs: 3_600_000, nowMs: Date.now() + 2 * 3_600_000, dryRun: true });
    expect(dry.removed.map((f) => f.key).sort()).toEqual([...crashed].sort());
    for (const key of crashed) expect(await lake.store.exists(key)).toBe(true);

    const after = await removeOrphanFiles(lake.catalog, { graceMs: 3_600_000, nowMs: Date.now() + 2 * 3_600_000 });
    expect(after.removed.map((f) => f.key).sort()).toEqual([...crashed].sort());
    expect(after.removed.every((f) => f.table === 'bronze.t' && f.size === 'half a write'.length)).toBe(true);
    for (const key of crashed) expect(await lake.store.exists(key)).toBe(false);
    for (const key of await reachableKeys(lake.catalog)) expect(await lake.store.exists(key), key).toBe(true);
    expect(after.reachable).toBe((await reachableKeys(lake.catalog)).size);
    expect(await rowsOf(lake, 'bronze.t')).toEqual(rows);
  });

  it('removes only the named tables’ orphans when given tables', async () => {
    const { lake } = await tableWithRows();
    await lake.sql('CREATE TABLE silver.u (id BIGINT)');
    await lake.store.put('warehouse/bronze/t/data/lost.parquet', 'x');
    await lake.store.put('warehouse/silver/u/data/lost.parquet', 'x');
    const result = await removeOrphanFiles(lake.catalog, { graceMs: 0, tables: ['silver.u'] });
    expect(result.removed.map((f) => f.key)).toEqual(['warehouse/silver/u/data/lost.parquet']);
    expect(await lake.store.exists('warehouse/bronze/t/data/lost.parquet')).toBe(true);
  });

  it('removes the files of a table dropped from every ref, keeping the metadata files catalog commits name', async () => {
    const { lake } = await tableWithRows();
    const location = (await lake.loadTable('bronze.t')).metadataLocation;
    await lake.sql('DROP TABLE bronze.t');
    const result = await removeOrphanFiles(lake.catalog, { graceMs: 0 });
    expect(result.removed.some((f) => f.key.includes('/data/'))).toBe(true);
    expect(await lake.store.exists(lake.store.keyOf(location)!)).toBe(true);
  });

  it('removes staging leftovers older than the grace period only', async () => {
    const { home, lake } = await tableWithRows();
    const old = path.join(home, 'staging', 'stage-old');
    const fresh = path.join(home, 'staging', 'stage-fresh');
    for (const dir of [old, fresh]) {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'part.parquet'), '12345');
    }
    const past = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(old, 'part.parquet'), past, past);
    await utimes(old, past, past);
    const result = await removeOrphanFiles(lake.catalog, { graceMs: 3_600_000, stagingRoot: path.join(home, 'staging') });
    expect(result.stagingDirsRemoved).toBe(1);
    expect(result.stagingBytesRemoved).toBe(5);
    await expect(stat(old)).rejects.toThrow();
    expect((await stat(fresh)).isDirectory()).toBe(true);
  });
});
