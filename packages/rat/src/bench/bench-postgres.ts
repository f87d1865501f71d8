import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { describePostgresUrl, isPostgresUrl } from '../core/config.js';
import { describeError, ExternalError, ValidationError } from '../core/errors.js';
import { findPostgresBinaries, postgresServerUser, startPostgres } from '../catalog/postgres-server.js';

/** The PostgreSQL server a benchmark's metadata DB runs on, or why there is none. */
export type BenchPostgres =
  | {
      kind: 'available';
      /** URL of a fresh, empty database created for this run. */
      url: string;
      /** Where it runs, for the report (never a password). */
      description: string;
      /** `server_version` as the server reports it, e.g. `15.18 (Debian 15.18-0+deb12u1)`. */
      version: string;
      /** `fsync` and `synchronous_commit` as the server reports them. */
      durability: string;
      /** Drops the run's database, or stops and removes the throwaway cluster. */
      release(): Promise<void>;
    }
  | { kind: 'skipped'; reason: string };

/**
 * A PostgreSQL for a benchmark: the server of `url` (--database-url, else RAT_BENCH_POSTGRES_URL)
 * with a new database created on it, or else a throwaway cluster initdb'd from the machine's
 * server binaries under `clusterParent` with PostgreSQL's default durability (fsync and
 * synchronous_commit on), so commit figures include a real WAL flush. Missing binaries skip the
 * PostgreSQL part with the reason; any other failure is an error.
 */
export async function benchPostgres(options: { url: string | undefined; clusterParent: string; progress: (line: string) => void }): Promise<BenchPostgres> {
  if (options.url !== undefined) {
    if (!isPostgresUrl(options.url)) throw new ValidationError('INVALID_ARGUMENT', `--database-url must be a postgres:// URL, got "${describePostgresUrl(options.url)}"`);
    const name = `rat_bench_${randomBytes(6).toString('hex')}`;
    const where = describePostgresUrl(options.url);
    try {
      await withClient(options.url, (client) => client.query(`CREATE DATABASE ${name}`));
    } catch (error) {
      throw new ExternalError('METADATA_DB_ERROR', `cannot create the benchmark database ${name} on ${where} (the user needs CREATEDB): ${describeError(error)}`, { cause: error });
    }
    const url = new URL(options.url);
    url.pathname = `/${name}`;
    options.progress(`postgres: using ${where}, database ${name} (dropped at the end)`);
    return {
      kind: 'available',
      url: url.href,
      description: `server at ${describePostgresUrl(url.href)}`,
      ...(await serverFacts(url.href)),
      release: () => withClient(options.url!, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
    };
  }
  try {
    findPostgresBinaries();
    postgresServerUser();
  } catch (error) {
    return { kind: 'skipped', reason: describeError(error) };
  }
  await mkdir(options.clusterParent, { recursive: true });
  options.progress('postgres: starting a throwaway cluster (initdb)');
  const server = await startPostgres({ durable: true, parentDir: options.clusterParent });
  try {
    return {
      kind: 'available',
      url: server.url,
      description: 'throwaway local cluster (initdb by the benchmark, default settings)',
      ...(await serverFacts(server.url)),
      release: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function serverFacts(url: string): Promise<{ version: string; durability: string }> {
  return withClient(url, async (client) => {
    const setting = async (name: string) => String((await client.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]?.v);
    return {
      version: await setting('server_version'),
      durability: `fsync ${await setting('fsync')}, synchronous_commit ${await setting('synchronous_commit')}`,
    };
  });
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
