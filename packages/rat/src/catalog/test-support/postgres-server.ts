import { randomBytes } from 'node:crypto';
import pg from 'pg';

// The cluster itself is product code (benchmarks start one too); tests keep importing it from here.
export { findPostgresBinaries, type PostgresServer, startPostgres } from '../postgres-server.js';

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

/** A new empty database `rat_test_<random>` on the server of `serverUrl`, so each test starts from nothing. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `rat_test_${randomBytes(6).toString('hex')}`;
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  await withClient(admin.href, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    drop: () => withClient(admin.href, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs one query on the database at `url` with a short-lived client (to look at rows directly in tests). */
export async function queryPostgres<R extends Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(text, values)).rows);
}
