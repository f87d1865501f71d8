import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { createTestDatabase, queryPostgres } from '../../../catalog/test-support/postgres-server.js';
import { createTestMariadbDatabase } from './mariadb-server.js';

/** A fresh, empty source database of one engine, with a way to run statements on it directly. */
export interface TestSourceDatabase {
  engine: 'postgres' | 'mariadb' | 'sqlite';
  url: string;
  /** The engine's name for a microsecond timestamp column type. */
  timestampType: string;
  /** Runs statements (separated by `;\n`). */
  exec(sql: string): Promise<void>;
  /** Ends the server connection(s) a source read holds (not for SQLite). */
  killReaders?(): Promise<number>;
  close(): Promise<void>;
}

export async function openPostgresSource(serverUrl: string): Promise<TestSourceDatabase> {
  const db = await createTestDatabase(serverUrl);
  return {
    engine: 'postgres',
    url: db.url,
    timestampType: 'TIMESTAMP',
    async exec(sql) {
      await queryPostgres(db.url, sql);
    },
    async killReaders() {
      const killed = await queryPostgres<{ pid: number }>(db.url, `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_stat_activity WHERE application_name = 'rat ingest-db' AND datname = $1`, [db.name]);
      return killed.length;
    },
    close: () => db.drop(),
  };
}

export async function openMariadbSource(serverUrl: string): Promise<TestSourceDatabase> {
  const db = await createTestMariadbDatabase(serverUrl);
  const withConnection = async <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => {
    const connection = await mysql.createConnection({ uri: db.url, multipleStatements: true, timezone: 'Z' });
    try {
      await connection.query(`SET time_zone = '+00:00'`);
      return await work(connection);
    } finally {
      await connection.end();
    }
  };
  return {
    engine: 'mariadb',
    url: db.url,
    timestampType: 'DATETIME(6)',
    exec: (sql) => withConnection(async (c) => void (await c.query(sql))),
    killReaders: () =>
      withConnection(async (c) => {
        // The reader is the other connection to this database running a SELECT.
        const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID() AND command = 'Query'`, [db.name]);
        for (const row of rows) await c.query(`KILL CONNECTION ${Number(row.id)}`);
        return rows.length;
      }),
    close: () => db.drop(),
  };
}

export async function openSqliteSource(): Promise<TestSourceDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'rat-sqlite-source-'));
  const path = join(dir, 'shop.db');
  new Database(path).close();
  return {
    engine: 'sqlite',
    url: `sqlite:${path}`,
    timestampType: 'TIMESTAMP',
    async exec(sql) {
      const db = new Database(path);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A port on 127.0.0.1 nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
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
