import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { loadPg } from '../core/drivers.js';
import { ExternalError } from '../core/errors.js';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster on 127.0.0.1, for tests and benchmarks. */
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

/** initdb and postgres refuse to run as root: then they run as the `postgres` OS user Debian's package creates (undefined when not root). */
export function postgresServerUser(): { uid: number; gid: number; name: string } | undefined {
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

export interface StartPostgresOptions {
  /**
   * Keep PostgreSQL's default durability (fsync, synchronous_commit, full_page_writes on), as a
   * real server runs: for benchmarks. Default false: tests throw the data away, so they skip it.
   */
  durable?: boolean;
  /** Parent of the cluster's temp dir (default os.tmpdir(); a benchmark wants the disk under test, not a tmpfs). */
  parentDir?: string;
}

/**
 * initdb's a fresh cluster in a temp dir, starts it on 127.0.0.1 at a free port (its unix socket in
 * the temp dir; durability off unless `durable`) and creates a database `rat`.
 * The cluster's default collation is ICU en-US, like most servers and unlike byte order, so tests
 * notice queries whose order depends on the locale.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgresBinaries();
  const user = postgresServerUser();
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'rat-pg-'));
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
      throw new ExternalError('METADATA_DB_ERROR', `initdb of a throwaway PostgreSQL cluster in ${data} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`, {
        cause: error,
      });
    });
    let port = 0;
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const durability = options.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
      const serverOptions = `-h 127.0.0.1 -p ${port} -k ${dir}${durability} -c max_connections=200`;
      const [file, args] = pgCtl(['start', '-w', '-t', '60', '-l', log, '-o', serverOptions]);
      try {
        await run(file, args, { cwd: dir });
        started = true;
      } catch (error) {
        // Another process may have taken the port between freePort() and the server's bind.
        if (attempt >= 3) {
          throw new ExternalError('METADATA_DB_ERROR', `throwaway PostgreSQL cluster in ${data} did not start on 127.0.0.1:${port}:\n${await tail(log)}`, { cause: error });
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
  const client = new (loadPg().Client)({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
