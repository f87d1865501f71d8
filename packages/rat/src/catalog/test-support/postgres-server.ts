import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ExternalError } from '../../core/errors.js';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster on 127.0.0.1, for tests. */
export interface PostgresServer {
  /** URL of a database created for the caller (user postgres, no password). */
  readonly url: string;
  /** URL of the cluster's `postgres` maintenance database, for CREATE DATABASE. */
  readonly adminUrl: string;
  readonly port: number;
  /** Stops the cluster at once and removes its files. */
  stop(): Promise<void>;
}

const INSTALL_HINT = "install Debian's postgresql package (apt-get install -y postgresql)";

/** The folder holding initdb, pg_ctl and postgres: Debian's newest /usr/lib/postgresql/<version>/bin, else the ones on PATH. */
export function findPostgresBinaries(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(join(bin, name)))) return bin;
  }
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const initdb = join(dir, 'initdb');
    if (!existsSync(initdb)) continue;
    // /usr/local/bin/initdb may be a link into the real folder that also holds pg_ctl and postgres.
    const bin = dirname(realpathSync(initdb));
    if (existsSync(join(bin, 'pg_ctl')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  throw new ExternalError('METADATA_DB_ERROR', `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under ${root}/*/bin or on PATH: ${INSTALL_HINT}`);
}

/** initdb and postgres refuse to run as root: then they run as the `postgres` OS user Debian's package creates. */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) {
    throw new ExternalError('METADATA_DB_ERROR', `running as root, and there is no "postgres" OS user to run initdb and postgres as: ${INSTALL_HINT}`);
  }
  return { name: 'postgres', uid: Number(fields[2]), gid: Number(fields[3]) };
}

function command(bin: string, tool: string, args: string[], user: { name: string } | undefined): [string, string[]] {
  const file = join(bin, tool);
  return user ? ['runuser', ['-u', user.name, '--', file, ...args]] : [file, args];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

/**
 * initdb's a fresh cluster in a temp dir, starts it on 127.0.0.1 at a free port (its unix socket in
 * the temp dir, durability off: the data is thrown away) and creates a database `rat`.
 * The cluster's default collation is ICU en-US, like most servers and unlike byte order, so tests
 * notice queries whose order depends on the locale.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBinaries();
  const user = serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'rat-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  let started = false;
  const pgCtl = (args: string[]) => command(bin, 'pg_ctl', ['-D', data, ...args], user);
  const stopNow = () => {
    if (started) {
      const [file, args] = pgCtl(['stop', '-m', 'immediate', '-w']);
      spawnSync(file, args, { cwd: dir, stdio: 'ignore' });
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Also when the test run ends without its teardown (an error in the runner, Ctrl-C).
  process.once('exit', stopNow);
  try {
    if (user) await chown(dir, user.uid, user.gid);
    const [initFile, initArgs] = command(
      bin,
      'initdb',
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US', '--no-sync', '--no-instructions'],
      user,
    );
    await run(initFile, initArgs, { cwd: dir }).catch((error: unknown) => {
      throw new ExternalError('METADATA_DB_ERROR', `initdb of a test PostgreSQL cluster in ${data} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`, {
        cause: error,
      });
    });
    let port = 0;
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const options = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
      const [file, args] = pgCtl(['start', '-w', '-t', '60', '-l', log, '-o', options]);
      try {
        await run(file, args, { cwd: dir });
        started = true;
      } catch (error) {
        // Another process may have taken the port between freePort() and the server's bind.
        if (attempt >= 3) {
          throw new ExternalError('METADATA_DB_ERROR', `test PostgreSQL cluster in ${data} did not start on 127.0.0.1:${port}:\n${await tail(log)}`, { cause: error });
        }
      }
    }
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await withClient(adminUrl, (client) => client.query('CREATE DATABASE rat'));
    return {
      url: `postgres://postgres@127.0.0.1:${port}/rat`,
      adminUrl,
      port,
      async stop() {
        process.removeListener('exit', stopNow);
        stopNow();
      },
    };
  } catch (error) {
    process.removeListener('exit', stopNow);
    stopNow();
    throw error;
  }
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
