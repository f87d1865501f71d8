import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, type Generated, SqliteDialect, sql } from 'kysely';
import { ExternalError } from '../core/errors.js';

/** Rows of the metadata DB, one interface per table (Kysely's typing). */
export interface NamespaceRow {
  name: string;
  properties: string;
  created_at: number;
}

export interface TableRow {
  namespace: string;
  name: string;
  metadata_location: string;
  version: Generated<number>;
  /** JSON PathMap[] for tables registered from elsewhere. */
  path_map: Generated<string>;
  updated_at: number;
}

export interface MigrationRow {
  version: number;
  name: string;
  applied_at: number;
}

export interface MetadataSchema {
  rat_namespaces: NamespaceRow;
  rat_tables: TableRow;
  rat_migrations: MigrationRow;
}

export type MetadataDb = Kysely<MetadataSchema>;

interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
}

/** Versioned schema migrations; each runs once, in order, inside a transaction. */
const migrations: Migration[] = [
  {
    version: 1,
    name: 'catalog namespaces and tables',
    async up(db) {
      await db.schema
        .createTable('rat_namespaces')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('rat_tables')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('metadata_location', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('path_map', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('rat_tables_pk', ['namespace', 'name'])
        .execute();
    },
  },
];

export async function openMetadataDb(path: string): Promise<MetadataDb> {
  mkdirSync(dirname(path), { recursive: true });
  let database: Database.Database;
  try {
    database = new Database(path);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 30000');
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new ExternalError('METADATA_DB_ERROR', `cannot open metadata DB ${path}: ${(error as Error).message}`, { cause: error });
  }
  const db = new Kysely<MetadataSchema>({ dialect: new SqliteDialect({ database }) });
  await migrate(db as unknown as Kysely<unknown>, database);
  return db;
}

async function migrate(db: Kysely<unknown>, database: Database.Database): Promise<void> {
  database.exec('CREATE TABLE IF NOT EXISTS rat_migrations (version integer primary key, name text not null, applied_at bigint not null)');
  for (const migration of migrations) {
    // BEGIN IMMEDIATE: two processes starting at once must not both apply a migration.
    database.exec('BEGIN IMMEDIATE');
    try {
      const done = database.prepare('SELECT 1 FROM rat_migrations WHERE version = ?').get(migration.version);
      if (!done) {
        await migration.up(db);
        database.prepare('INSERT INTO rat_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      }
      database.exec('COMMIT');
    } catch (error) {
      database.exec('ROLLBACK');
      throw new ExternalError('METADATA_DB_ERROR', `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

export { sql };
