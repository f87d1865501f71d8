import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../core/config.js';
import type { RatError } from '../core/errors.js';
import { METADATA_SCHEMA_VERSION, type MetadataDbConnection, openMetadataDb } from './metadata-db.js';
import { dialectFixtures, type FreshDatabase } from './test-support/metadata-db-fixtures.js';
import { createTestDatabase } from './test-support/postgres-server.js';

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

describe.each(dialectFixtures)('metadata DB on $dialect', (fixture) => {
  let fresh: FreshDatabase;
  const opened: MetadataDbConnection[] = [];
  const open = async (): Promise<MetadataDbConnection> => {
    const connection = await openMetadataDb(fresh.target);
    opened.push(connection);
    return connection;
  };

  beforeEach(async () => {
    fresh = await fixture.fresh();
  });

  afterEach(async () => {
    for (const connection of opened.splice(0)) await connection.close();
    await fresh.remove();
  });

  it('reports its dialect and migrates a new database to the current schema version', async () => {
    const { db, dialect } = await open();
    expect(dialect).toBe(fixture.dialect);
    const migrations = await db.selectFrom('rat_migrations').select(['version', 'name']).orderBy('version').execute();
    expect(migrations.map((m) => m.version)).toEqual(Array.from({ length: METADATA_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(await db.selectFrom('rat_tables').selectAll().execute()).toEqual([]);
  });

  it('applies each migration once: opening again changes nothing', async () => {
    const first = await open();
    const before = await first.db.selectFrom('rat_migrations').selectAll().orderBy('version').execute();
    await first.db.insertInto('rat_namespaces').values({ name: 'kept', properties: '{}', created_at: 1 }).execute();
    await first.close();
    opened.splice(0);
    const second = await open();
    expect(await second.db.selectFrom('rat_migrations').selectAll().orderBy('version').execute()).toEqual(before);
    expect(await second.db.selectFrom('rat_namespaces').select('name').execute()).toEqual([{ name: 'kept' }]);
  });

  it('lets several processes start at once: exactly one applies the migrations, all can use the schema', async () => {
    const connections = await Promise.all(Array.from({ length: 4 }, () => open()));
    const rows = await connections[0]!.db.selectFrom('rat_migrations').select('version').execute();
    expect(rows).toHaveLength(METADATA_SCHEMA_VERSION);
    await Promise.all(
      connections.map((c, i) => c.db.insertInto('rat_namespaces').values({ name: `ns${i}`, properties: '{}', created_at: i }).execute()),
    );
    expect(await connections[3]!.db.selectFrom('rat_namespaces').select('name').orderBy('name').execute()).toHaveLength(4);
  });

  it('reads bigint columns and counts as numbers', async () => {
    const { db } = await open();
    const createdAt = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    await db.insertInto('rat_namespaces').values({ name: 'bronze', properties: '{}', created_at: createdAt }).execute();
    const row = await db.selectFrom('rat_namespaces').select('created_at').executeTakeFirstOrThrow();
    expect(row.created_at).toBe(createdAt);
    const count = await db.selectFrom('rat_namespaces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
  });

  it('refuses a database migrated by a newer rat', async () => {
    const first = await open();
    await first.db.insertInto('rat_migrations').values({ version: METADATA_SCHEMA_VERSION + 7, name: 'from the future', applied_at: 1 }).execute();
    const error = await failure(openMetadataDb(fresh.target));
    expect(error.code).toBe('METADATA_DB_ERROR');
    expect(error.message).toContain(`schema version ${METADATA_SCHEMA_VERSION + 7}, newer than this rat's ${METADATA_SCHEMA_VERSION}`);
  });
});

describe('metadata DB on an unreachable or wrong PostgreSQL', () => {
  let silent: Server | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
    silent = undefined;
  });

  /** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (typeof address !== 'object' || !address) throw new Error('no port');
    return address.port;
  }

  it('fails fast with METADATA_DB_ERROR naming host and port, without the password', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await failure(openMetadataDb(`postgres://rat:s3cret-pw@127.0.0.1:${port}/ratdb`));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error.code).toBe('METADATA_DB_ERROR');
    expect(error.message).toContain(`rat@127.0.0.1:${port}/ratdb`);
    expect(error.message).toContain('check that PostgreSQL is running');
    expect(error.message).not.toContain('s3cret-pw');
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('gives up after the connect timeout when the server accepts but never answers', async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const error = await failure(openMetadataDb(`postgres://rat@127.0.0.1:${port}/ratdb`, { connectTimeoutMs: 300 }));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(error.code).toBe('METADATA_DB_ERROR');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('no answer within 300 ms');
  });

  it('says to create the database when it does not exist', async () => {
    const url = new URL(inject('ratTestPostgresUrl'));
    url.pathname = '/rat_no_such_database';
    const error = await failure(openMetadataDb(url.href));
    expect(error.code).toBe('METADATA_DB_ERROR');
    expect(error.message).toContain('rat_no_such_database');
    expect(error.message).toContain('create the database');
  });
});

describe('choosing the metadata DB', () => {
  it('is the SQLite file <home>/rat.db unless RAT_DATABASE_URL is set', () => {
    expect(resolveConfig({ home: '/srv/rat' }, {}).database).toEqual({ kind: 'sqlite', path: '/srv/rat/rat.db' });
    expect(resolveConfig({ home: '/srv/rat' }, { RAT_DATABASE_URL: '' }).database.kind).toBe('sqlite');
  });

  it('is PostgreSQL for a postgres:// or postgresql:// RAT_DATABASE_URL, and the option wins over the env', () => {
    expect(resolveConfig({ home: '/srv/rat' }, { RAT_DATABASE_URL: 'postgresql://u:p@db:5433/rat' }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://u:p@db:5433/rat',
    });
    expect(resolveConfig({ home: '/srv/rat', databaseUrl: 'postgres://a@b/c' }, { RAT_DATABASE_URL: 'postgres://x@y/z' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://a@b/c',
    });
  });

  it('rejects a URL of another database, without echoing its password', () => {
    let error: RatError | undefined;
    try {
      resolveConfig({ home: '/srv/rat' }, { RAT_DATABASE_URL: 'mysql://root:hunter2@db/rat' });
    } catch (e) {
      error = e as RatError;
    }
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toContain('mysql://root:***@db/rat');
    expect(error?.message).not.toContain('hunter2');
    // A password holding `/` (which ends a URL's authority) is hidden whole, in every RAT_DATABASE_URL message.
    for (const url of ['mysql://root:hunt/er2@db/rat', 'postgres://app:Tops3cret/42@db.internal:5432/rat?schema=Bad']) {
      let leaked: RatError | undefined;
      try {
        resolveConfig({ home: '/srv/rat' }, { RAT_DATABASE_URL: url });
      } catch (e) {
        leaked = e as RatError;
      }
      expect(leaked?.code, url).toBe('CONFIG_INVALID');
      expect(leaked?.message).not.toMatch(/hunt|er2|Tops3cret|\/42/);
    }
  });

  it('opens a URL string as PostgreSQL', async () => {
    const database = await createTestDatabase(inject('ratTestPostgresUrl'));
    try {
      const connection = await openMetadataDb(database.url);
      expect(connection.dialect).toBe('postgres');
      expect(connection.description).toBe(`postgres@127.0.0.1:${new URL(database.url).port}/${database.name}`);
      await connection.close();
    } finally {
      await database.drop();
    }
  });
});
