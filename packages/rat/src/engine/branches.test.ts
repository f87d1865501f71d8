import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RatError } from '../core/errors.js';
import { type Lakehouse, type LakehouseOptions, openLakehouse } from './lakehouse.js';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

describe('SQL on data branches', () => {
  let home: string;
  const open: Lakehouse[] = [];

  /** A lakehouse outside any git repository unless `cwd` says otherwise, with git sync on as by default. */
  async function lakehouse(options: LakehouseOptions = {}): Promise<Lakehouse> {
    const lake = await openLakehouse({ home, threads: 1, cwd: home, env: { RAT_GIT_SYNC: '1' }, ...catalogOptions(home), ...options });
    open.push(lake);
    return lake;
  }

  const count = async (lake: Lakehouse, table: string) => (await lake.query<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM ${table}`))[0]!.n;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-branches-'));
  });

  afterEach(async () => {
    for (const lake of open.splice(0)) await lake.close();
    await rm(home, { recursive: true, force: true });
  });

  it('keeps CREATE, INSERT and DROP on dev invisible on main until merged', async () => {
    const main = await lakehouse();
    expect(main.branch).toBe('main');
    await main.sql('CREATE TABLE bronze.orders (id BIGINT); INSERT INTO bronze.orders VALUES (1), (2)');
    await main.sql('CREATE TABLE bronze.old (id BIGINT)');
    await main.catalog.refs.create('branch', 'dev');
    const dev = await lakehouse({ branch: 'dev' });
    await dev.sql('INSERT INTO bronze.orders VALUES (3); CREATE TABLE bronze.fresh AS SELECT 42 AS x; DROP TABLE bronze.old');
    expect(await count(dev, 'bronze.orders')).toBe(3);
    expect(await count(main, 'bronze.orders')).toBe(2);
    expect((await main.listTables('bronze')).map((t) => t.name)).toEqual(['old', 'orders']);
    expect((await dev.listTables('bronze')).map((t) => t.name)).toEqual(['fresh', 'orders']);
    expect((await failure(main.sql('SELECT * FROM bronze.fresh'))).message).toContain('bronze.fresh');

    await main.catalog.refs.merge('dev', 'main');
    const after = await lakehouse();
    expect(await count(after, 'bronze.orders')).toBe(3);
    expect(await after.query('SELECT x FROM bronze.fresh')).toEqual([{ x: 42 }]);
    expect((await after.listTables('bronze')).map((t) => t.name)).toEqual(['fresh', 'orders']);
  });

  it('reads at a tag and at a commit, and refuses writes there', async () => {
    const main = await lakehouse();
    await main.sql('CREATE TABLE bronze.t (id BIGINT); INSERT INTO bronze.t VALUES (1)');
    await main.catalog.refs.create('tag', 'v1');
    const [commit] = await main.catalog.refs.log('main', { limit: 1 });
    await main.sql('INSERT INTO bronze.t VALUES (2)');
    const tag = await lakehouse({ branch: 'v1' });
    expect(await count(tag, 'bronze.t')).toBe(1);
    const atCommit = await lakehouse({ branch: commit!.id });
    expect(await count(atCommit, 'bronze.t')).toBe(1);
    expect((await failure(tag.sql('INSERT INTO bronze.t VALUES (3)'))).code).toBe('REF_NOT_A_BRANCH');
    expect((await failure(atCommit.sql('DROP TABLE bronze.t'))).code).toBe('REF_NOT_A_BRANCH');
    expect(await count(tag, 'bronze.t')).toBe(1);
    expect(await count(main, 'bronze.t')).toBe(2);
    expect((await failure(lakehouse({ branch: 'missing' }))).code).toBe('CATALOG_REF_NOT_FOUND');
    // RAT_BRANCH is the SDK's environment equivalent of --branch.
    expect((await lakehouse({ env: { RAT_BRANCH: 'v1' } })).branch).toBe('v1');
  });

  it('lets appends to one table from two SDK instances on one branch both land, and writers to different tables never conflict', async () => {
    const setup = await lakehouse();
    await setup.sql('CREATE TABLE bronze.a (id BIGINT); CREATE TABLE bronze.b (id BIGINT)');
    await setup.catalog.refs.create('branch', 'dev');
    const [one, two] = [await lakehouse({ branch: 'dev' }), await lakehouse({ branch: 'dev' })];
    const inserts = (lake: Lakehouse, table: string, from: number) =>
      Promise.all(Array.from({ length: 5 }, (_, i) => lake.sql(`INSERT INTO ${table} VALUES (${from + i})`)));
    await Promise.all([inserts(one, 'bronze.a', 0), inserts(two, 'bronze.a', 100)]);
    expect(await count(one, 'bronze.a')).toBe(10);
    expect((await one.snapshots('bronze.a')).length).toBe(10);
    await Promise.all([inserts(one, 'bronze.a', 200), inserts(two, 'bronze.b', 300)]);
    expect(await count(two, 'bronze.a')).toBe(15);
    expect(await count(two, 'bronze.b')).toBe(5);
    expect(await count(setup, 'bronze.a')).toBe(0);
    const log = await setup.catalog.refs.log('dev');
    expect(log.filter((c) => c.message === 'update bronze.a')).toHaveLength(15);
    expect(log.filter((c) => c.message === 'update bronze.b')).toHaveLength(5);
  });

  it('follows the git branch: a data branch per git branch, created from main; main/master map to main; --branch wins', async () => {
    const repo = path.join(home, 'repo');
    await mkdir(path.join(repo, '.git'), { recursive: true });
    const checkout = (branch: string) => writeFile(path.join(repo, '.git', 'HEAD'), `ref: refs/heads/${branch}\n`);
    const sub = path.join(repo, 'pipelines');
    await mkdir(sub);

    await checkout('master');
    const onMaster = await lakehouse({ cwd: sub });
    expect(onMaster.branch).toBe('main');
    await onMaster.sql('CREATE TABLE bronze.g (id BIGINT); INSERT INTO bronze.g VALUES (1)');

    await checkout('feature/load');
    const onFeature = await lakehouse({ cwd: sub });
    expect(onFeature.branch).toBe('feature/load');
    await onFeature.sql('INSERT INTO bronze.g VALUES (2)');
    expect(await count(onFeature, 'bronze.g')).toBe(2);
    expect(await count(onMaster, 'bronze.g')).toBe(1);
    expect((await onMaster.catalog.refs.list()).map((r) => r.name)).toEqual(['feature/load', 'main']);

    expect((await lakehouse({ cwd: sub, branch: 'main' })).branch).toBe('main');
    expect((await lakehouse({ cwd: sub, env: { RAT_GIT_SYNC: '0' } })).branch).toBe('main');
    await checkout('main');
    expect((await lakehouse({ cwd: sub })).branch).toBe('main');
    await checkout('bad..name');
    expect((await failure(lakehouse({ cwd: sub }))).code).toBe('REF_INVALID');
  });
});
