import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MergeConflictError, type RatError } from '../core/errors.js';
import { newTableMetadata } from '../iceberg/metadata.js';
import type { TableMetadata } from '../iceberg/types.js';
import { createLocalStore } from '../storage/local-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type Catalog, createCatalog } from './catalog.js';
import type { TableIdent } from './identifiers.js';
import { type MetadataDbConnection, openMetadataDb } from './metadata-db.js';
import { dialectFixtures, type FreshDatabase } from './test-support/metadata-db-fixtures.js';

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

const orders: TableIdent = { namespace: 'bronze', name: 'orders' };
const users: TableIdent = { namespace: 'bronze', name: 'users' };

function tableMetadata(location: string): TableMetadata {
  return newTableMetadata({
    location,
    schema: { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'id', required: false, type: 'long' }] },
    lastUpdatedMs: 1_700_000_000_000,
  });
}

/** Changes a table on the catalog's ref by one new metadata version (a property stands in for data). */
async function touch(catalog: Catalog, ident: TableIdent, value: string): Promise<string> {
  const base = await catalog.loadTable(ident);
  return (await catalog.commitTable(base, { ...base.metadata, properties: { ...base.metadata.properties, mark: value } })).metadataLocation;
}

async function mark(catalog: Catalog, ident: TableIdent): Promise<string | undefined> {
  return (await catalog.loadTable(ident)).metadata.properties.mark;
}

describe.each(dialectFixtures)('catalog branches on $dialect', (fixture) => {
  let fresh: FreshDatabase;
  let dir: string;
  let store: ObjectStore;
  let connections: MetadataDbConnection[];
  let main: Catalog;

  async function connect(ref?: string): Promise<Catalog> {
    const connection = await openMetadataDb(fresh.target);
    connections.push(connection);
    return createCatalog(connection.db, store, ref ? { ref } : {});
  }

  beforeEach(async () => {
    fresh = await fixture.fresh();
    dir = await mkdtemp(join(tmpdir(), 'rat-refs-'));
    store = createLocalStore({ root: join(dir, 'store') });
    connections = [];
    main = await connect();
    await main.createNamespace('bronze');
    await main.createTable(orders, tableMetadata);
  });

  afterEach(async () => {
    for (const connection of connections) await connection.close();
    await fresh.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with main, and records every commit with its parent, author, message and tables', async () => {
    expect((await main.refs.list()).map((r) => [r.name, r.type])).toEqual([['main', 'branch']]);
    await touch(main, orders, 'a');
    const log = await main.refs.log('main');
    expect(log.map((c) => c.message)).toEqual(['update bronze.orders', 'create bronze.orders', 'init']);
    expect(log[0]!.parentId).toBe(log[1]!.id);
    expect(log[0]!.changes).toEqual([{ table: 'bronze.orders', metadataLocation: (await main.loadTable(orders)).metadataLocation }]);
    expect(log[0]!.author).toBeTruthy();
    expect((await main.refs.resolve('main')).kind).toBe('ref');
  });

  it('isolates a branch: create, change and drop on dev leave main untouched', async () => {
    await touch(main, orders, 'main-1');
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    expect(await mark(dev, orders)).toBe('main-1');
    await touch(dev, orders, 'dev-1');
    await dev.createTable(users, tableMetadata);
    expect(await mark(dev, orders)).toBe('dev-1');
    expect(await mark(main, orders)).toBe('main-1');
    expect(await main.tableExists(users)).toBe(false);
    expect((await main.listTables()).map((t) => t.name)).toEqual(['orders']);
    expect((await dev.listTables()).map((t) => t.name)).toEqual(['orders', 'users']);
    await dev.dropTable(orders);
    expect(await dev.tableExists(orders)).toBe(false);
    expect(await mark(main, orders)).toBe('main-1');
  });

  it('fast-forwards main to dev, and a dry run changes nothing', async () => {
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    await touch(dev, orders, 'dev-1');
    await dev.createTable(users, tableMetadata);
    const headBefore = (await main.refs.resolve('main')) as { head: string };

    const dry = await main.refs.merge('dev', 'main', { dryRun: true });
    expect(dry).toMatchObject({ kind: 'fast-forward', tables: ['bronze.orders', 'bronze.users'], dryRun: true, head: headBefore.head });
    expect(await mark(main, orders)).toBeUndefined();
    expect(await main.tableExists(users)).toBe(false);
    expect(await main.refs.resolve('main')).toEqual(headBefore);

    const merged = await main.refs.merge('dev', 'main');
    expect(merged.kind).toBe('fast-forward');
    expect(await mark(main, orders)).toBe('dev-1');
    expect(await main.tableExists(users)).toBe(true);
    expect(merged.head).toBe(((await main.refs.resolve('dev')) as { head: string }).head);
    expect((await main.refs.merge('dev', 'main')).kind).toBe('up-to-date');
  });

  it('fast-forwards a drop too, rewriting only the pointer rows that changed; finds ancestors through merge parents', async () => {
    const events: TableIdent = { namespace: 'bronze', name: 'events' };
    await main.createTable(users, tableMetadata);
    await main.createTable(events, tableMetadata);
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    await touch(dev, orders, 'dev-1');
    await dev.dropTable(users);
    const db = connections[0]!.db;
    const eventsRow = () => db.selectFrom('rat_tables').selectAll().where('ref', '=', 'main').where('name', '=', 'events').executeTakeFirstOrThrow();
    const before = await eventsRow();

    expect(await main.refs.merge('dev', 'main')).toMatchObject({ kind: 'fast-forward', tables: ['bronze.orders', 'bronze.users'] });
    expect(await mark(main, orders)).toBe('dev-1');
    expect(await main.tableExists(users)).toBe(false);
    expect(await eventsRow()).toEqual(before);

    // A three-way merge into main makes dev's head an ancestor of main through the merge parent.
    await touch(dev, orders, 'dev-2');
    await touch(main, events, 'main-1');
    expect((await main.refs.merge('dev', 'main')).kind).toBe('merge');
    expect((await main.refs.merge('dev', 'main')).kind).toBe('up-to-date');
    expect(await main.refs.merge('main', 'dev')).toMatchObject({ kind: 'fast-forward', tables: ['bronze.events'] });
  });

  it('merges three-way when each side changed different tables, with a merge commit', async () => {
    await main.createTable(users, tableMetadata);
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    await touch(dev, orders, 'dev-1');
    await touch(main, users, 'main-1');

    const merged = await main.refs.merge('dev', 'main');
    expect(merged).toMatchObject({ kind: 'merge', tables: ['bronze.orders'] });
    expect(await mark(main, orders)).toBe('dev-1');
    expect(await mark(main, users)).toBe('main-1');
    expect(await mark(dev, users)).toBeUndefined();
    const [mergeCommit] = await main.refs.log('main', { limit: 1 });
    expect(mergeCommit).toMatchObject({ message: 'merge dev into main', mergeParentId: ((await main.refs.resolve('dev')) as { head: string }).head });
    expect(mergeCommit!.changes.map((c) => c.table)).toEqual(['bronze.orders']);
    // The merge commit's resolved state equals main's pointer rows.
    const atCommit = main.withRef(mergeCommit!.id);
    expect(await mark(atCommit, orders)).toBe('dev-1');
    expect(await mark(atCommit, users)).toBe('main-1');
    // A drop on dev after the merge travels too.
    await dev.dropTable(orders);
    expect((await main.refs.merge('dev', 'main')).tables).toEqual(['bronze.orders']);
    expect(await main.tableExists(orders)).toBe(false);
  });

  /** Branch dev changes orders and users, main changes orders: orders changed on both sides. */
  async function forkWithConflict() {
    await main.createTable(users, tableMetadata);
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    await touch(dev, orders, 'dev-1');
    await touch(dev, users, 'dev-1');
    await touch(main, orders, 'main-1');
    return { dev, headBefore: await main.refs.resolve('main') };
  }

  it('refuses a merge where one table changed on both sides, naming it, and merges nothing', async () => {
    const { headBefore } = await forkWithConflict();

    for (const dryRun of [true, false]) {
      const error = await failure(main.refs.merge('dev', 'main', { dryRun }));
      expect(error).toBeInstanceOf(MergeConflictError);
      expect(error.code).toBe('MERGE_CONFLICT');
      expect((error as MergeConflictError).tables).toEqual(['bronze.orders']);
      expect(error.message).toContain('bronze.orders');
    }
    expect(await mark(main, orders)).toBe('main-1');
    expect(await mark(main, users)).toBeUndefined();
    expect(await main.refs.resolve('main')).toEqual(headBefore);
  });

  it('settles tables changed on both sides by a strategy: source-wins takes the source\'s version, dest-wins keeps the target\'s; the merge commit records the merge', async () => {
    const { dev, headBefore } = await forkWithConflict();

    const error = await failure(main.refs.merge('dev', 'main'));
    expect(error.message).toContain('merge with strategy source-wins');
    expect((await failure(main.refs.merge('dev', 'main', { strategy: 'theirs' as never }))).message).toBe('merge strategy "theirs" is not one of fail, source-wins, dest-wins');

    const dry = await main.refs.merge('dev', 'main', { strategy: 'dest-wins', dryRun: true });
    expect(dry).toMatchObject({ kind: 'merge', tables: ['bronze.users'], conflicts: ['bronze.orders'], dryRun: true });
    expect(await main.refs.resolve('main')).toEqual(headBefore);

    const kept = await main.refs.merge('dev', 'main', { strategy: 'dest-wins' });
    expect(kept).toMatchObject({ kind: 'merge', tables: ['bronze.users'], conflicts: ['bronze.orders'] });
    expect(await mark(main, orders)).toBe('main-1');
    expect(await mark(main, users)).toBe('dev-1');
    // The merge commit records the merge: dev is now merged, and a table dev changes next merges from there.
    expect(await main.refs.merge('dev', 'main')).toMatchObject({ kind: 'up-to-date', conflicts: [] });
    await touch(dev, users, 'dev-2');
    expect(await main.refs.merge('dev', 'main')).toMatchObject({ kind: 'merge', tables: ['bronze.users'], conflicts: [] });
    expect(await mark(main, users)).toBe('dev-2');

    // source-wins, with a table dropped on the source and changed on the target: the drop is taken.
    await main.refs.create('branch', 'dev2');
    const dev2 = main.withRef('dev2');
    await dev2.dropTable(users);
    await touch(dev2, orders, 'dev2-1');
    await touch(main, users, 'main-2');
    await touch(main, orders, 'main-2');
    const taken = await main.refs.merge('dev2', 'main', { strategy: 'source-wins' });
    expect(taken).toMatchObject({ kind: 'merge', tables: ['bronze.orders', 'bronze.users'], conflicts: ['bronze.orders', 'bronze.users'] });
    expect(await mark(main, orders)).toBe('dev2-1');
    expect(await main.tableExists(users)).toBe(false);
  });

  it('keeps tags immutable and readable; commits are readable by id', async () => {
    await touch(main, orders, 'v1');
    await main.refs.create('tag', 'v1');
    const [atV1] = await main.refs.log('main', { limit: 1 });
    await touch(main, orders, 'v2');
    const tag = main.withRef('v1');
    expect(await mark(tag, orders)).toBe('v1');
    expect(await mark(main.withRef(atV1!.id), orders)).toBe('v1');
    expect(await mark(main.withRef(atV1!.id.slice(0, 8)), orders)).toBe('v1');
    const commitToTag = await failure(touch(tag, orders, 'nope'));
    expect(commitToTag.code).toBe('REF_NOT_A_BRANCH');
    expect(commitToTag.message).toContain('v1');
    expect((await failure(tag.createTable(users, tableMetadata))).code).toBe('REF_NOT_A_BRANCH');
    expect((await failure(main.withRef(atV1!.id).dropTable(orders))).code).toBe('REF_NOT_A_BRANCH');
    expect(await mark(tag, orders)).toBe('v1');
    // A branch from a tag starts where the tag is.
    await main.refs.create('branch', 'fix', 'v1');
    expect(await mark(main.withRef('fix'), orders)).toBe('v1');
  });

  it('diffs two refs: added, removed and changed tables with snapshot counts', async () => {
    await main.createTable(users, tableMetadata);
    await main.refs.create('branch', 'dev');
    const dev = main.withRef('dev');
    await touch(dev, orders, 'x');
    await dev.dropTable(users);
    await dev.createTable({ namespace: 'bronze', name: 'events' }, tableMetadata);
    const diff = await main.diff('main', 'dev');
    expect(diff.map((d) => [d.table, d.change])).toEqual([
      ['bronze.events', 'added'],
      ['bronze.orders', 'changed'],
      ['bronze.users', 'removed'],
    ]);
    expect(diff[0]).toMatchObject({ fromSnapshots: 0, toSnapshots: 0, fromRecords: 0, toRecords: 0 });
    expect(await main.diff('main', 'main')).toEqual([]);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    await main.refs.create('branch', 'dev');
    await main.refs.create('tag', 'v1');
    const refsBefore = await main.refs.list();
    const cases: [() => Promise<unknown>, string, string][] = [
      [() => main.refs.merge('dev', 'dev'), 'INVALID_ARGUMENT', 'into itself'],
      [() => main.refs.merge('dev', 'v1'), 'REF_NOT_A_BRANCH', 'v1'],
      [() => main.refs.merge('nope', 'main'), 'CATALOG_REF_NOT_FOUND', 'nope'],
      [() => main.refs.delete('branch', 'main'), 'INVALID_ARGUMENT', 'main'],
      [() => main.refs.delete('branch', 'v1'), 'CATALOG_REF_NOT_FOUND', 'v1'],
      [() => main.refs.create('branch', 'dev'), 'CATALOG_REF_EXISTS', 'dev'],
      [() => main.refs.create('branch', 'x', 'nope'), 'CATALOG_REF_NOT_FOUND', 'nope'],
      ...['a..b', '/lead', 'trail/', '.hidden', 'end.', 'sp ace', 'x.lock', 'a//b', ''].map(
        (name) => [() => main.refs.create('branch', name), 'REF_INVALID', `"${name}"`] as [() => Promise<unknown>, string, string],
      ),
    ];
    for (const [run, code, text] of cases) {
      const error = await failure(run());
      expect(error.code, error.message).toBe(code);
      expect(error.message).toContain(text);
    }
    expect(await main.refs.list()).toEqual(refsBefore);
    for (const name of ['feature/x-1', 'v1.2.3', 'user_a/fix.2']) expect((await main.refs.create('branch', name)).name).toBe(name);
    await main.refs.delete('branch', 'dev');
    expect((await failure(main.withRef('dev').loadTable(orders))).code).toBe('CATALOG_REF_NOT_FOUND');
  });

  it('never conflicts writers to different tables on one branch; same-table writers conflict per table', async () => {
    await main.createTable(users, tableMetadata);
    const other = await connect();
    const [a, b] = await Promise.all([touch(main, orders, 'a'), touch(other, users, 'b')]);
    expect((await main.loadTable(orders)).metadataLocation).toBe(a);
    expect((await main.loadTable(users)).metadataLocation).toBe(b);
    const stale = await main.loadTable(orders);
    await touch(other, orders, 'winner');
    const error = await failure(main.commitTable(stale, stale.metadata));
    expect(error.code).toBe('COMMIT_CONFLICT');
    expect(await mark(main, orders)).toBe('winner');
    // Both landed as separate commits on main.
    expect((await main.refs.log('main')).filter((c) => c.message.startsWith('update')).length).toBe(3);
  });
});
