import { afterEach, describe, expect, it } from 'vitest';
import { isRatError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { maintain, parseDuration } from './maintain.js';
import { reachableKeys } from './orphan-files.js';
import { createLakeFixture, rowsOf } from './test-support/lake-fixture.js';

const fixture = createLakeFixture();
afterEach(() => fixture.cleanup());

/** mulberry32: a small seeded PRNG, so a failing history can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows of every table on every branch and tag, keyed `ref ns.t`. */
async function everyRefsRows(home: string, main: Lakehouse): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const ref of await main.catalog.refs.list()) {
    const lake = await fixture.open(home, ref.name);
    for (const table of await lake.listTables()) out.set(`${ref.name} ${table.namespace}.${table.name}`, await rowsOf(lake, `${table.namespace}.${table.name}`));
    await fixture.close(lake);
  }
  return out;
}

describe('maintain', () => {
  it.each([1, 7, 42])('keeps every ref readable and every reachable file after a random history (seed %i)', async (seed) => {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const home = await fixture.home();
    const main = await fixture.open(home);
    const lakes = new Map<string, Lakehouse>([['main', main]]);
    const tables = ['bronze.a', 'silver.b', 'gold.c'].slice(0, 2 + Math.floor(next() * 2));
    for (const table of tables) await main.sql(`CREATE TABLE ${table} (id BIGINT, v VARCHAR)`);
    let id = 0;
    let refCount = 0;
    for (let step = 0; step < 30; step++) {
      const branch = pick([...lakes.keys()]);
      const lake = lakes.get(branch)!;
      const table = pick(tables);
      const op = next();
      try {
        if (op < 0.4) {
          const rows = Array.from({ length: 1 + Math.floor(next() * 3) }, () => `(${++id}, 'i${id}')`);
          await lake.sql(`INSERT INTO ${table} VALUES ${rows.join(', ')}`);
        } else if (op < 0.5) await lake.sql(`UPDATE ${table} SET v = 'u${step}' WHERE id % 3 = ${Math.floor(next() * 3)}`);
        else if (op < 0.6) await lake.sql(`DELETE FROM ${table} WHERE id % 4 = ${Math.floor(next() * 4)}`);
        else if (op < 0.65) await lake.sql(`INSERT OVERWRITE ${table} SELECT * FROM ${table} WHERE id % 2 = 0`);
        else if (op < 0.75 && lakes.size < 3) {
          const name = `b${++refCount}`;
          await main.catalog.refs.create('branch', name, branch);
          lakes.set(name, await fixture.open(home, name));
        } else if (op < 0.85) await main.catalog.refs.create('tag', `t${++refCount}`, branch);
        else if (branch !== 'main') await main.catalog.refs.merge(branch, 'main');
      } catch (error) {
        if (!(isRatError(error) && error.code === 'MERGE_CONFLICT')) throw error;
      }
    }
    await main.store.put(`warehouse/${tables[0]!.replace('.', '/')}/data/crashed.parquet`, 'a killed writer');

    const before = await everyRefsRows(home, main);
    const report = await maintain(main, { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000 });
    expect(report.tables.reduce((n, t) => n + t.expiredSnapshots, 0), `seed ${seed}: snapshots expired`).toBeGreaterThan(0);
    expect(report.tables.reduce((n, t) => n + t.filesCompacted, 0), `seed ${seed}: files compacted`).toBeGreaterThan(0);
    expect(report.orphans!.filesRemoved, `seed ${seed}: orphans removed`).toBeGreaterThan(0);
    expect(report.orphans!.byTable[tables[0]!]!.files).toBeGreaterThan(0);
    expect(await main.store.exists(`warehouse/${tables[0]!.replace('.', '/')}/data/crashed.parquet`)).toBe(false);

    expect(await everyRefsRows(home, main)).toEqual(before);
    const missing: string[] = [];
    for (const key of await reachableKeys(main.catalog)) if (!(await main.store.exists(key))) missing.push(key);
    expect(missing).toEqual([]);

    // A second run finds nothing more to do with the same settings but compaction's own leftovers.
    const again = await maintain(main, { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000, compaction: false });
    expect(await everyRefsRows(home, main)).toEqual(before);
    expect(again.tables.every((t) => t.filesCompacted === 0)).toBe(true);
  });

  it('runs next to an active writer without losing a commit or a file the writer needs', async () => {
    const home = await fixture.home();
    const main = await fixture.open(home);
    const writer = await fixture.open(home);
    await main.sql('CREATE TABLE bronze.t (id BIGINT)');
    for (let i = 0; i < 10; i++) await main.sql(`INSERT INTO bronze.t VALUES (${i})`);
    // Older than the grace period below; the writer's files stay younger than it while they are in flight.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    let writing = true;
    const written: number[] = [];
    const appends = (async () => {
      for (let i = 100; writing || i < 105; i++) {
        await writer.sql(`INSERT INTO bronze.t VALUES (${i})`);
        written.push(i);
      }
    })();
    // Real time (no nowMs shift): files the writer makes while maintain runs are younger than the grace period.
    const report = await maintain(main, { retainMs: 0, graceMs: 2_000 });
    writing = false;
    await appends;

    const context = JSON.stringify(report);
    expect(report.tables[0]!.expiredSnapshots, context).toBeGreaterThan(0);
    expect(report.orphans!.filesRemoved, context).toBeGreaterThan(0);
    for (const t of report.tables) for (const reason of t.skipped) expect(reason).toMatch(/COMMIT_CONFLICT/);
    const ids = (await main.query<{ id: number }>('SELECT id FROM bronze.t ORDER BY id')).map((r) => Number(r.id));
    expect(ids).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...written]);
    for (const key of await reachableKeys(main.catalog)) expect(await main.store.exists(key), key).toBe(true);
  });

  it('changes and deletes nothing on a dry run, and restricts itself to the named table', async () => {
    const home = await fixture.home();
    const lake = await fixture.open(home);
    await lake.sql('CREATE TABLE bronze.t (id BIGINT)');
    await lake.sql('CREATE TABLE bronze.u (id BIGINT)');
    for (let i = 0; i < 3; i++) await lake.sql(`INSERT INTO bronze.t VALUES (${i}); INSERT INTO bronze.u VALUES (${i})`);
    await lake.store.put('warehouse/bronze/t/data/lost.parquet', 'x');
    const locations = [(await lake.loadTable('bronze.t')).metadataLocation, (await lake.loadTable('bronze.u')).metadataLocation];

    const dry = await maintain(lake, { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000, dryRun: true });
    expect(dry.tables.map((t) => [t.table, t.expiredSnapshots, t.filesCompacted, t.newFiles])).toEqual([
      ['bronze.t', 2, 3, null],
      ['bronze.u', 2, 3, null],
    ]);
    expect(dry.orphans!.filesRemoved).toBe(1);
    expect(await lake.store.exists('warehouse/bronze/t/data/lost.parquet')).toBe(true);
    expect([(await lake.loadTable('bronze.t')).metadataLocation, (await lake.loadTable('bronze.u')).metadataLocation]).toEqual(locations);

    const only = await maintain(lake, { tables: ['bronze.u'], retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000 });
    expect(only.tables.map((t) => t.table)).toEqual(['bronze.u']);
    expect(only.tables[0]).toMatchObject({ expiredSnapshots: 3, filesCompacted: 3, newFiles: 1 });
    expect((await lake.loadTable('bronze.t')).metadataLocation).toBe(locations[0]);
    expect(await lake.store.exists('warehouse/bronze/t/data/lost.parquet')).toBe(true);
    await expect(maintain(lake, { tables: ['bronze.missing'] })).rejects.toMatchObject({ code: 'CATALOG_TABLE_NOT_FOUND' });
  });

  /** bronze.a and bronze.c with two small files each on main, branch dev from there. */
  async function forkedLake(): Promise<{ main: Lakehouse; dev: Lakehouse }> {
    const home = await fixture.home();
    const main = await fixture.open(home);
    await main.sql('CREATE TABLE bronze.a (id INT); CREATE TABLE bronze.c (id INT)');
    await main.sql('INSERT INTO bronze.a VALUES (1); INSERT INTO bronze.a VALUES (2); INSERT INTO bronze.c VALUES (1); INSERT INTO bronze.c VALUES (2)');
    await main.catalog.refs.create('branch', 'dev');
    return { main, dev: await fixture.open(home, 'dev') };
  }

  const ids = async (lake: Lakehouse, table: string): Promise<number[]> => (await lake.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).map((r) => Number(r.id));

  it.each([
    ['defaults', {}],
    ['--retain 0 --grace 0', { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000 }],
  ])('leaves branches mergeable: a table only maintained on one side takes the other side (%s)', async (_name, options) => {
    const { main, dev } = await forkedLake();
    await dev.sql('INSERT INTO bronze.a VALUES (100)');
    const report = await maintain(main, options);
    // Every table on both branches was compacted (and expired), so every pointer moved on both sides.
    expect(report.tables.map((t) => [t.branch, t.table, t.filesCompacted])).toEqual([
      ['dev', 'bronze.a', 3],
      ['dev', 'bronze.c', 2],
      ['main', 'bronze.a', 2],
      ['main', 'bronze.c', 2],
    ]);
    const devA = (await dev.loadTable('bronze.a')).metadataLocation;
    const mainC = (await main.loadTable('bronze.c')).metadataLocation;

    const merged = await main.catalog.refs.merge('dev', 'main');
    expect(merged).toMatchObject({ kind: 'merge', tables: ['bronze.a'] });
    expect((await main.loadTable('bronze.a')).metadataLocation).toBe(devA);
    expect((await main.loadTable('bronze.c')).metadataLocation).toBe(mainC);
    expect(await ids(main, 'bronze.a')).toEqual([1, 2, 100]);
    expect(await ids(main, 'bronze.c')).toEqual([1, 2]);

    // The merge commit has dev's head as a parent: dev catches up by fast-forward.
    expect(await main.catalog.refs.merge('main', 'dev')).toMatchObject({ kind: 'fast-forward', tables: ['bronze.c'] });
    // With dev gone, maintenance must keep what main took from it.
    await main.catalog.refs.delete('branch', 'dev');
    await maintain(main, { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000 });
    expect(await ids(main, 'bronze.a')).toEqual([1, 2, 100]);
    expect(await ids(main, 'bronze.c')).toEqual([1, 2]);
    for (const key of await reachableKeys(main.catalog)) expect(await main.store.exists(key), key).toBe(true);
  });

  it('still reports a conflict after maintenance when both sides changed a table', async () => {
    const { main, dev } = await forkedLake();
    await dev.sql('INSERT INTO bronze.a VALUES (100)');
    await main.sql('INSERT INTO bronze.a VALUES (200)');
    await main.sql('ALTER TABLE bronze.c ADD COLUMN note VARCHAR');
    await dev.sql('INSERT INTO bronze.c VALUES (300)');
    await maintain(main, { retainMs: 0, graceMs: 0, nowMs: Date.now() + 60_000 });

    // bronze.c: a schema change is not maintenance, even with the same snapshot.
    await expect(main.catalog.refs.merge('dev', 'main')).rejects.toMatchObject({ code: 'MERGE_CONFLICT', tables: ['bronze.a', 'bronze.c'] });
    expect(await ids(main, 'bronze.a')).toEqual([1, 2, 200]);
    expect(await ids(main, 'bronze.c')).toEqual([1, 2]);
  });

  it('parses durations', () => {
    expect(parseDuration('7d', '--retain')).toBe(7 * 86_400_000);
    expect(parseDuration('1.5h', '--grace')).toBe(5_400_000);
    expect(parseDuration('0', '--grace')).toBe(0);
    expect(() => parseDuration('soon', '--grace')).toThrow(/--grace "soon" is not a duration/);
  });
});
