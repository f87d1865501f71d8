import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { RatError } from '../core/errors.js';
import { openLakehouse } from '../engine/lakehouse.js';
import { newTableMetadata } from '../iceberg/metadata.js';
import type { TableMetadata } from '../iceberg/types.js';
import { createLocalStore } from '../storage/local-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type Catalog, createCatalog, type LoadedTable } from './catalog.js';
import type { TableIdent } from './identifiers.js';
import { type MetadataDbConnection, openMetadataDb } from './metadata-db.js';
import { dialectFixtures, type FreshDatabase } from './test-support/metadata-db-fixtures.js';
import { createTestDatabase, queryPostgres, type TestDatabase } from './test-support/postgres-server.js';

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

const orders: TableIdent = { namespace: 'bronze', name: 'orders' };

function tableMetadata(location: string): TableMetadata {
  return newTableMetadata({
    location,
    schema: { type: 'struct', schemaId: 0, fields: [{ id: 1, name: 'id', required: false, type: 'long' }] },
    lastUpdatedMs: 1_700_000_000_000,
  });
}

function withProperty(table: LoadedTable, key: string, value: string): TableMetadata {
  return { ...table.metadata, properties: { ...table.metadata.properties, [key]: value } };
}

/** The catalog contract: the same behaviour on every metadata DB dialect. */
describe.each(dialectFixtures)('catalog on $dialect', (fixture) => {
  let fresh: FreshDatabase;
  let dir: string;
  let store: ObjectStore;
  let connections: MetadataDbConnection[];
  let catalog: Catalog;

  /** Another process's view: its own connection (pool or SQLite handle) to the same metadata DB and store. */
  async function otherCatalog(): Promise<{ catalog: Catalog; connection: MetadataDbConnection }> {
    const connection = await openMetadataDb(fresh.target);
    connections.push(connection);
    return { catalog: createCatalog(connection.db, store), connection };
  }

  beforeEach(async () => {
    fresh = await fixture.fresh();
    dir = await mkdtemp(join(tmpdir(), 'rat-catalog-'));
    store = createLocalStore({ root: join(dir, 'store') });
    connections = [];
    catalog = (await otherCatalog()).catalog;
  });

  afterEach(async () => {
    for (const connection of connections) await connection.close();
    await fresh.remove();
    await rm(dir, { recursive: true, force: true });
  });

  describe('namespaces', () => {
    it('creates, lists in byte order, finds and drops namespaces', async () => {
      // Byte order puts digits before "_" before letters; a locale collation (en-US) would not.
      for (const name of ['ab', 'a_b', 'a1', 'aa', 'B_upper']) await catalog.createNamespace(name);
      expect(await catalog.listNamespaces()).toEqual(['a1', 'a_b', 'aa', 'ab', 'b_upper']);
      expect(await catalog.namespaceExists('B_UPPER')).toBe(true);
      expect(await catalog.namespaceExists('zz')).toBe(false);
      await catalog.dropNamespace('aa');
      expect(await catalog.listNamespaces()).toEqual(['a1', 'a_b', 'ab', 'b_upper']);
    });

    it('refuses an existing name unless ifNotExists, and a missing one on drop unless ifExists', async () => {
      await catalog.createNamespace('bronze');
      expect((await failure(catalog.createNamespace('bronze'))).code).toBe('CATALOG_NAMESPACE_EXISTS');
      await catalog.createNamespace('bronze', { ifNotExists: true });
      expect((await failure(catalog.dropNamespace('silver'))).code).toBe('CATALOG_NAMESPACE_NOT_FOUND');
      await catalog.dropNamespace('silver', { ifExists: true });
      expect(await catalog.listNamespaces()).toEqual(['bronze']);
    });

    it('refuses to drop a namespace that holds tables', async () => {
      await catalog.createNamespace('bronze');
      await catalog.createTable(orders, tableMetadata);
      const error = await failure(catalog.dropNamespace('bronze'));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('"bronze" is not empty');
    });

    it('lets exactly one of two connections create the same namespace at once', async () => {
      const other = await otherCatalog();
      const results = await Promise.allSettled([catalog.createNamespace('gold'), other.catalog.createNamespace('gold')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect((rejected?.reason as RatError).code).toBe('CATALOG_NAMESPACE_EXISTS');
    });
  });

  describe('tables', () => {
    beforeEach(async () => {
      await catalog.createNamespace('bronze');
      await catalog.createNamespace('silver');
    });

    it('creates a table, loads it back and lists it', async () => {
      const created = await catalog.createTable(orders, tableMetadata);
      expect(created.metadataLocation).toMatch(/\/warehouse\/bronze\/orders\/metadata\/00000-[0-9a-f-]+\.metadata\.json$/);
      await catalog.createTable({ namespace: 'silver', name: 'a_b' }, tableMetadata);
      await catalog.createTable({ namespace: 'silver', name: 'a1' }, tableMetadata);
      const loaded = await catalog.loadTable(orders);
      expect(loaded.metadataLocation).toBe(created.metadataLocation);
      expect(loaded.metadata.tableUuid).toBe(created.metadata.tableUuid);
      expect(loaded.pathMap).toEqual([]);
      expect(await catalog.listTables()).toEqual([orders, { namespace: 'silver', name: 'a1' }, { namespace: 'silver', name: 'a_b' }]);
      expect(await catalog.listTables('silver')).toEqual([
        { namespace: 'silver', name: 'a1' },
        { namespace: 'silver', name: 'a_b' },
      ]);
      expect(await catalog.tableExists(orders)).toBe(true);
    });

    it('names the missing table or namespace', async () => {
      expect((await failure(catalog.loadTable({ namespace: 'bronze', name: 'nope' }))).code).toBe('CATALOG_TABLE_NOT_FOUND');
      expect((await failure(catalog.loadTable({ namespace: 'gold', name: 'nope' }))).code).toBe('CATALOG_NAMESPACE_NOT_FOUND');
      expect((await failure(catalog.createTable({ namespace: 'gold', name: 't' }, tableMetadata))).code).toBe('CATALOG_NAMESPACE_NOT_FOUND');
      expect((await failure(catalog.listTables('gold'))).code).toBe('CATALOG_NAMESPACE_NOT_FOUND');
    });

    it('refuses to create a table twice', async () => {
      await catalog.createTable(orders, tableMetadata);
      const error = await failure(catalog.createTable(orders, tableMetadata));
      expect(error.code).toBe('CATALOG_TABLE_EXISTS');
      expect(error.message).toContain('bronze.orders');
    });

    it('lets exactly one of two connections create the same table at once', async () => {
      const other = await otherCatalog();
      const results = await Promise.allSettled([catalog.createTable(orders, tableMetadata), other.catalog.createTable(orders, tableMetadata)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const winner = results.find((r): r is PromiseFulfilledResult<LoadedTable> => r.status === 'fulfilled')!.value;
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect((rejected?.reason as RatError).code).toBe('CATALOG_TABLE_EXISTS');
      expect((await catalog.loadTable(orders)).metadataLocation).toBe(winner.metadataLocation);
    });

    it('drops a table, and a missing one only with ifExists', async () => {
      await catalog.createTable(orders, tableMetadata);
      expect(await catalog.dropTable(orders)).toBe(true);
      expect(await catalog.tableExists(orders)).toBe(false);
      expect((await failure(catalog.dropTable(orders))).code).toBe('CATALOG_TABLE_NOT_FOUND');
      expect(await catalog.dropTable(orders, { ifExists: true })).toBe(false);
      await catalog.dropNamespace('bronze');
    });

    it('registers a table from an existing metadata file with its path map', async () => {
      const source = await catalog.createTable(orders, tableMetadata);
      const pathMap = [{ from: 's3://elsewhere/orders', to: source.metadata.location }];
      const ident = { namespace: 'silver', name: 'adopted' };
      const registered = await catalog.registerTable(ident, source.metadataLocation, pathMap);
      expect(registered.metadata.tableUuid).toBe(source.metadata.tableUuid);
      const loaded = await catalog.loadTable(ident);
      expect(loaded.metadataLocation).toBe(source.metadataLocation);
      expect(loaded.pathMap).toEqual(pathMap);
      expect((await failure(catalog.registerTable(ident, source.metadataLocation))).code).toBe('CATALOG_TABLE_EXISTS');
    });
  });

  describe('commits', () => {
    let base: LoadedTable;

    beforeEach(async () => {
      await catalog.createNamespace('bronze');
      base = await catalog.createTable(orders, tableMetadata);
    });

    async function rowVersion(db: MetadataDbConnection['db']): Promise<{ version: number; updated_at: number }> {
      return db.selectFrom('rat_tables').select(['version', 'updated_at']).where('namespace', '=', 'bronze').where('name', '=', 'orders').executeTakeFirstOrThrow();
    }

    it('swaps the pointer to a new metadata file and counts versions', async () => {
      const before = Date.now();
      const first = await catalog.commitTable(base, withProperty(base, 'step', '1'));
      const second = await catalog.commitTable(first, withProperty(first, 'step', '2'));
      expect(second.metadataLocation).toMatch(/\/metadata\/00002-[0-9a-f-]+\.metadata\.json$/);
      const loaded = await (await otherCatalog()).catalog.loadTable(orders);
      expect(loaded.metadataLocation).toBe(second.metadataLocation);
      expect(loaded.metadata.properties.step).toBe('2');
      const row = await rowVersion(connections[0]!.db);
      expect(row.version).toBe(3);
      expect(typeof row.updated_at).toBe('number');
      expect(row.updated_at).toBeGreaterThanOrEqual(before);
    });

    it('refuses a commit on a stale base with COMMIT_CONFLICT and keeps the winner', async () => {
      const winner = await catalog.commitTable(base, withProperty(base, 'by', 'first'));
      const error = await failure(catalog.commitTable(base, withProperty(base, 'by', 'second')));
      expect(error.code).toBe('COMMIT_CONFLICT');
      expect(error.message).toContain('bronze.orders');
      expect((await catalog.loadTable(orders)).metadataLocation).toBe(winner.metadataLocation);
    });

    it('says the table was dropped when the base no longer exists', async () => {
      await catalog.dropTable(orders);
      expect((await failure(catalog.commitTable(base, withProperty(base, 'late', 'yes')))).code).toBe('CATALOG_TABLE_NOT_FOUND');
    });

    it('lets exactly one of many concurrent commits from two connections win', async () => {
      const other = await otherCatalog();
      const writers = [catalog, other.catalog, catalog, other.catalog, catalog, other.catalog];
      const results = await Promise.allSettled(writers.map((writer, i) => writer.commitTable(base, withProperty(base, 'writer', String(i)))));
      const won = results.filter((r): r is PromiseFulfilledResult<LoadedTable> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as RatError).code).toBe('COMMIT_CONFLICT');
      const loaded = await other.catalog.loadTable(orders);
      expect(loaded.metadataLocation).toBe(won[0]!.value.metadataLocation);
      expect((await rowVersion(other.connection.db)).version).toBe(2);
    });
  });
});

describe('lakehouse with its catalog in PostgreSQL', () => {
  let home: string;
  let database: TestDatabase;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-pg-lakehouse-'));
    database = await createTestDatabase(inject('ratTestPostgresUrl'));
  });

  afterEach(async () => {
    await database.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('runs CREATE TABLE, INSERT and SELECT with RAT_DATABASE_URL, the catalog rows landing in PostgreSQL', async () => {
    const rat = await openLakehouse({ home, env: { RAT_DATABASE_URL: database.url }, threads: 1 });
    try {
      await rat.sql('CREATE TABLE bronze.orders (id BIGINT, amount DOUBLE)');
      await rat.sql('INSERT INTO bronze.orders VALUES (1, 2.5), (2, 4.0)');
      expect(await rat.query('SELECT count(*)::INTEGER AS n, sum(amount) AS total FROM bronze.orders')).toEqual([{ n: 2, total: 6.5 }]);
      const table = await rat.loadTable('bronze.orders');
      const rows = await queryPostgres<{ namespace: string; name: string; metadata_location: string; version: number }>(
        database.url,
        'SELECT namespace, name, metadata_location, version FROM rat_tables',
      );
      expect(rows).toEqual([{ namespace: 'bronze', name: 'orders', metadata_location: table.metadataLocation, version: 2 }]);
      const namespaces = await queryPostgres<{ name: string }>(database.url, 'SELECT name FROM rat_namespaces ORDER BY name');
      expect(namespaces.map((n) => n.name)).toEqual(['bronze', 'gold', 'silver']);
    } finally {
      await rat.close();
    }
    expect(existsSync(join(home, 'rat.db'))).toBe(false);
  });

  it('takes the URL as an option too, and a second lakehouse sees the first one\'s table', async () => {
    const first = await openLakehouse({ home, databaseUrl: database.url, env: {}, threads: 1 });
    try {
      await first.sql('CREATE TABLE silver.events AS SELECT range AS id FROM range(5)');
    } finally {
      await first.close();
    }
    const second = await openLakehouse({ home, databaseUrl: database.url, env: {}, threads: 1 });
    try {
      expect(await second.query('SELECT count(*)::INTEGER AS n FROM silver.events')).toEqual([{ n: 5 }]);
      expect(await second.listTables('silver')).toEqual([{ namespace: 'silver', name: 'events' }]);
    } finally {
      await second.close();
    }
  });

  it('fails to open with METADATA_DB_ERROR when the PostgreSQL database is missing', async () => {
    const url = new URL(database.url);
    url.pathname = '/rat_missing_db';
    const error = await failure(openLakehouse({ home, env: { RAT_DATABASE_URL: url.href }, threads: 1 }));
    expect(error.code).toBe('METADATA_DB_ERROR');
    expect(error.message).toContain('rat_missing_db');
  });
});
