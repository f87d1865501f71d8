import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { ExternalError } from '../../../core/errors.js';

const run = promisify(execFile);

/** A throwaway MariaDB server on 127.0.0.1 for tests: user `rat` without password, database `rat`. */
export interface MariadbServer {
  /** mysql://rat@127.0.0.1:<port>/rat */
  readonly url: string;
  readonly port: number;
  /** Stops the server at once and removes its files. */
  stop(): Promise<void>;
}

const INSTALL_HINT = "install Debian's mariadb-server package (apt-get install -y mariadb-server), or point RAT_TEST_MARIADB_URL at a server";

function findBinary(names: string[]): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':').filter(Boolean)];
  for (const name of names) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** mariadbd and mariadb-install-db (or their older mysqld / mysql_install_db names). */
export function findMariadbBinaries(): { server: string; installDb: string } {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) throw new ExternalError('SOURCE_DB_ERROR', `MariaDB server binaries (mariadbd, mariadb-install-db) not found in /usr/sbin, /usr/bin or on PATH: ${INSTALL_HINT}`);
  return { server, installDb };
}

/** mariadbd refuses to run as root unless told which user to become: Debian's package creates `mysql`. */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('mysql:'))
    ?.split(':');
  if (!fields || fields.length < 4) throw new ExternalError('SOURCE_DB_ERROR', `running as root, and there is no "mysql" OS user to run mariadbd as: ${INSTALL_HINT}`);
  return { name: 'mysql', uid: Number(fields[2]), gid: Number(fields[3]) };
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
  return (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .slice(-15)
    .join('\n');
}

/**
 * Creates a data directory with mariadb-install-db in a temp dir and starts mariadbd on 127.0.0.1 at
 * a free port (durability off, binary log off, small buffer pool: it starts in a few seconds), with
 * user `rat` (no password, all privileges) and database `rat`. As root it runs as the `mysql` user.
 */
export async function startMariadb(): Promise<MariadbServer> {
  const { server, installDb } = findMariadbBinaries();
  const user = serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'rat-mariadb-'));
  const data = join(dir, 'data');
  const log = join(dir, 'error.log');
  let child: ChildProcess | undefined;
  const stopNow = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopNow);
  try {
    if (user) await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o755);
    await run(installDb, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...(user ? [`--user=${user.name}`] : [])], { cwd: dir }).catch(
      (error: unknown) => {
        throw new ExternalError('SOURCE_DB_ERROR', `mariadb-install-db of a throwaway MariaDB server in ${data} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`, { cause: error });
      },
    );
    const init = join(dir, 'init.sql');
    await writeFile(init, "CREATE USER IF NOT EXISTS 'rat'@'%';\nGRANT ALL PRIVILEGES ON *.* TO 'rat'@'%' WITH GRANT OPTION;\nCREATE DATABASE IF NOT EXISTS rat;\n");
    await chmod(init, 0o644);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${join(dir, 'mysqld.sock')}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--log-error=${log}`,
        `--tmpdir=${dir}`,
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        `--init-file=${init}`,
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        '--max-connections=200',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        ...(user ? [`--user=${user.name}`] : []),
      ];
      const started = spawn(server, args, { cwd: dir, stdio: 'ignore' });
      child = started;
      const exited = once(started, 'exit').then(() => true);
      const url = `mysql://rat@127.0.0.1:${port}/rat`;
      const ready = await waitUntilReady(port, exited);
      if (ready) {
        return {
          url,
          port,
          async stop() {
            process.removeListener('exit', stopNow);
            if (started.exitCode === null && started.signalCode === null) {
              started.kill('SIGKILL');
              await exited;
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      // Another process may have taken the port between freePort() and the server's bind.
      if (attempt >= 3) throw new ExternalError('SOURCE_DB_ERROR', `throwaway MariaDB server in ${data} did not start on 127.0.0.1:${port}:\n${await tail(log)}`);
    }
  } catch (error) {
    process.removeListener('exit', stopNow);
    stopNow();
    throw error;
  }
}

/** Connects until the server answers (true), or it exits first (false); a minute at most. */
async function waitUntilReady(port: number, exited: Promise<boolean>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let tries = 0; tries < 600 && !gone; tries++) {
    try {
      const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'rat', database: 'rat', connectTimeout: 2_000 });
      await connection.end();
      return true;
    } catch {
      await sleep(100);
    }
  }
  return false;
}

export interface TestMariadbDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new empty database `rat_test_<random>` on the server of `serverUrl`. */
export async function createTestMariadbDatabase(serverUrl: string): Promise<TestMariadbDatabase> {
  const name = `rat_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(serverUrl);
  try {
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    async drop() {
      const conn = await mysql.createConnection(serverUrl);
      try {
        await conn.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await conn.end();
      }
    },
  };
}
