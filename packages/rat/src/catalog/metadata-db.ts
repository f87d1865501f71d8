import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import {
  type ColumnDataType,
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Expression,
  type Generated,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  type PostgresPool,
  type QueryResult,
  SqliteDialect,
  sql,
  type Transaction,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { loadPg } from '../core/drivers.js';
import { type DatabaseConfig, databaseConfigFromString, describePostgresUrl, postgresDriverUrl, postgresSchemaOf } from '../core/config.js';
import { describeError, ExternalError, isRatError } from '../core/errors.js';
import { newCommitId } from '../core/ids.js';

/** Rows of the metadata DB, one interface per table (Kysely's typing). */
export interface NamespaceRow {
  name: string;
  properties: string;
  created_at: number;
}

/** A table pointer on one ref (branch or tag): each ref holds its own rows, so a read is one lookup. */
export interface TableRow {
  /** The branch or tag this pointer belongs to. */
  ref: Generated<string>;
  namespace: string;
  name: string;
  metadata_location: string;
  version: Generated<number>;
  /** JSON PathMap[] for tables registered from elsewhere. */
  path_map: Generated<string>;
  updated_at: number;
}

/** A branch or tag: a name pointing at a catalog commit. */
export interface RefRow {
  name: string;
  /** branch | tag */
  type: string;
  head: string;
  created_at: number;
}

/** A catalog commit: one atomic change of one or more table pointers on a branch. */
export interface CommitRow {
  id: string;
  parent_id: string | null;
  /** The source branch's head, on a merge commit. */
  merge_parent_id: string | null;
  /** Commit order across the catalog: a table's state at a commit is its change with the highest seq among the commit's ancestors. */
  seq: number;
  author: string;
  message: string;
  created_at: number;
}

/** A table key a commit changed, with its new metadata location (null: dropped). */
export interface CommitChangeRow {
  commit_id: string;
  namespace: string;
  name: string;
  metadata_location: string | null;
  path_map: Generated<string>;
}

export interface MigrationRow {
  version: number;
  name: string;
  applied_at: number;
}

/** One ingest attempt of one file into one table (ingest/file-registry.ts); `bronze._file_registry` in SQL. */
export interface FileRegistryRow {
  id: string;
  file_path: string;
  /** sha256 of the file's bytes as stored (compressed files hash compressed). */
  file_hash: string;
  file_size: number;
  target_table: string;
  rows_ingested: number;
  rows_rejected: number;
  ingested_at: number;
  /** success | failed | skipped */
  status: string;
  error: string | null;
  /** The table snapshot that holds the file's rows (decimal text: snapshot ids are 64-bit). */
  snapshot_id: string | null;
  /** 1 for the row of a quarantine replay (it loaded quarantined rows, not the file), else 0. */
  replay: Generated<number>;
  /** The quarantine table's snapshot that holds the file's bad rows (decimal text), when it had any. */
  rejects_snapshot_id: Generated<string | null>;
}

export interface MetadataSchema {
  rat_namespaces: NamespaceRow;
  rat_tables: TableRow;
  rat_refs: RefRow;
  rat_commits: CommitRow;
  rat_commit_changes: CommitChangeRow;
  rat_migrations: MigrationRow;
  rat_file_registry: FileRegistryRow;
}

export type MetadataDb = Kysely<MetadataSchema>;

/** A metadata-DB transaction: writes through it commit or roll back together. */
export type MetadataTransaction = Transaction<MetadataSchema>;

export type MetadataDialect = DatabaseConfig['kind'];

/** An open metadata DB: queries go through `db`; `dialect` is for the few statements that differ. */
export interface MetadataDbConnection {
  readonly db: MetadataDb;
  readonly dialect: MetadataDialect;
  /** Where it lives, for messages (a SQLite path, or user@host:port/database without the password). */
  readonly description: string;
  /** Closes the SQLite file or ends the PostgreSQL pool; queries after it fail. */
  close(): Promise<void>;
}

export interface OpenMetadataDbOptions {
  /** How long to wait for PostgreSQL to accept a connection before failing (default 5000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for another process's migration lock on SQLite (default 30000 ms). */
  lockTimeoutMs?: number;
  /**
   * Called before every statement sent to the database, BEGIN, COMMIT and ROLLBACK included; what it
   * throws fails that statement as a database error would (for instrumentation and fault-injection tests).
   */
  beforeStatement?: BeforeMetadataStatement;
}

/** See OpenMetadataDbOptions.beforeStatement; `sql` is the statement's text as sent. */
export type BeforeMetadataStatement = (sql: string) => void | Promise<void>;

interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>, types: ColumnTypes, dialect: MetadataDialect): Promise<void>;
}

/** Column types whose spelling differs by dialect. */
interface ColumnTypes {
  /**
   * Text compared and ordered byte-wise on both dialects. SQLite's default collation already is;
   * PostgreSQL's is the database's locale (en_US orders `a_b` before `a1`), so keys use "C".
   */
  key: ColumnDataType | Expression<unknown>;
}

const columnTypes: Record<MetadataDialect, ColumnTypes> = {
  sqlite: { key: 'text' },
  postgres: { key: sql`text collate "C"` },
};

/** Versioned schema migrations: each runs once, in order, all of one start in one locked transaction. */
const migrations: Migration[] = [
  {
    version: 1,
    name: 'catalog namespaces and tables',
    async up(db, types) {
      await db.schema
        .createTable('rat_namespaces')
        .addColumn('name', types.key, (c) => c.primaryKey())
        .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('rat_tables')
        .addColumn('namespace', types.key, (c) => c.notNull())
        .addColumn('name', types.key, (c) => c.notNull())
        .addColumn('metadata_location', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('path_map', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('rat_tables_pk', ['namespace', 'name'])
        .execute();
    },
  },
  {
    version: 2,
    name: 'ingest file registry',
    async up(db, types) {
      await db.schema
        .createTable('rat_file_registry')
        .addColumn('id', types.key, (c) => c.primaryKey())
        .addColumn('file_path', 'text', (c) => c.notNull())
        .addColumn('file_hash', types.key, (c) => c.notNull())
        .addColumn('file_size', 'bigint', (c) => c.notNull())
        .addColumn('target_table', types.key, (c) => c.notNull())
        .addColumn('rows_ingested', 'bigint', (c) => c.notNull())
        .addColumn('rows_rejected', 'bigint', (c) => c.notNull())
        .addColumn('ingested_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('snapshot_id', 'text')
        .execute();
      await db.schema.createIndex('rat_file_registry_target_hash').on('rat_file_registry').columns(['target_table', 'file_hash']).execute();
    },
  },
  {
    version: 3,
    name: 'catalog refs, commits and table pointers per ref',
    async up(untyped, types) {
      const db = untyped as unknown as Kysely<MetadataSchema>;
      await db.schema
        .createTable('rat_commits')
        .addColumn('id', types.key, (c) => c.primaryKey())
        .addColumn('parent_id', types.key)
        .addColumn('merge_parent_id', types.key)
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('rat_commit_changes')
        .addColumn('commit_id', types.key, (c) => c.notNull())
        .addColumn('namespace', types.key, (c) => c.notNull())
        .addColumn('name', types.key, (c) => c.notNull())
        .addColumn('metadata_location', 'text')
        .addColumn('path_map', 'text', (c) => c.notNull().defaultTo('[]'))
        .addPrimaryKeyConstraint('rat_commit_changes_pk', ['commit_id', 'namespace', 'name'])
        .execute();
      await db.schema
        .createTable('rat_refs')
        .addColumn('name', types.key, (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('head', types.key, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // The primary key gains the ref: SQLite cannot alter a primary key, so the table is rebuilt (same way on both dialects).
      await db.schema
        .createTable('rat_tables_by_ref')
        .addColumn('ref', types.key, (c) => c.notNull().defaultTo('main'))
        .addColumn('namespace', types.key, (c) => c.notNull())
        .addColumn('name', types.key, (c) => c.notNull())
        .addColumn('metadata_location', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('path_map', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('rat_tables_by_ref_pk', ['ref', 'namespace', 'name'])
        .execute();
      await sql`insert into rat_tables_by_ref (ref, namespace, name, metadata_location, version, path_map, updated_at)
        select 'main', namespace, name, metadata_location, version, path_map, updated_at from rat_tables`.execute(db);
      await db.schema.dropTable('rat_tables').execute();
      await db.schema.alterTable('rat_tables_by_ref').renameTo('rat_tables').execute();
      // `main` exists from the start; its first commit records the tables that were there before branches.
      const root = newCommitId();
      const now = Date.now();
      await db.insertInto('rat_commits').values({ id: root, parent_id: null, merge_parent_id: null, seq: 1, author: 'rat', message: 'init', created_at: now }).execute();
      const tables = await db.selectFrom('rat_tables').select(['namespace', 'name', 'metadata_location', 'path_map']).execute();
      for (const t of tables) {
        await db
          .insertInto('rat_commit_changes')
          .values({ commit_id: root, namespace: t.namespace, name: t.name, metadata_location: t.metadata_location, path_map: t.path_map })
          .execute();
      }
      await db.insertInto('rat_refs').values({ name: 'main', type: 'branch', head: root, created_at: now }).execute();
    },
  },
  {
    version: 4,
    name: 'one-statement catalog commit on PostgreSQL',
    async up(db, _types, dialect) {
      // (An index on rat_commits.seq would make max(seq) cheap, but PostgreSQL then walks it in the
      // ancestry queries of a merge: a three-way merge of 1,000 tables went from 26 to 151 ms.)
      if (dialect === 'postgres') await sql.raw(POSTGRES_COMMIT_FUNCTION).execute(db);
    },
  },
  {
    version: 5,
    name: 'file registry: rows of quarantine replays, and the quarantine snapshot of a file',
    async up(db) {
      // A replay's success row is not a load of its file, and a file whose every row was rejected is
      // loaded only where its quarantine snapshot is: --skip-existing tells them so (file-registry.ts).
      await db.schema.alterTable('rat_file_registry').addColumn('replay', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('rat_file_registry').addColumn('rejects_snapshot_id', 'text').execute();
    },
  },
];

/**
 * A whole catalog commit as one PostgreSQL statement (refs.ts): lock the branch row, compare-and-swap
 * each table pointer, record the commit and its changes, move the head. Every statement of a
 * commit transaction is a network round trip; this is one. Each statement inside a (volatile)
 * function reads a fresh snapshot under READ COMMITTED, so the max(seq) taken after the branch lock
 * sees the commit that held the lock before. Refusals raise SQLSTATE class RA with the index of the
 * change at fault (1-based) as the message; refs.ts turns them into rat's errors, and the failed
 * statement leaves nothing behind.
 */
export const POSTGRES_COMMIT_FUNCTION = `
create or replace function rat_commit(
  p_branch text, p_id text, p_author text, p_message text, p_now bigint, p_merge_parent text,
  p_kinds text[], p_namespaces text[], p_names text[], p_bases text[], p_locations text[], p_path_maps text[]
) returns void language plpgsql volatile as $rat$
declare
  v_type text;
  v_head text;
begin
  select r.type, r.head into v_type, v_head from rat_refs r where r.name = p_branch for update;
  if not found then raise exception using errcode = 'RA001', message = '0'; end if;
  if v_type <> 'branch' then raise exception using errcode = 'RA002', message = '0'; end if;
  for i in 1 .. coalesce(array_length(p_kinds, 1), 0) loop
    if p_kinds[i] = 'update' then
      update rat_tables t set metadata_location = p_locations[i], updated_at = p_now, version = t.version + 1
        where t.ref = p_branch and t.namespace = p_namespaces[i] and t.name = p_names[i] and t.metadata_location = p_bases[i];
      if not found then
        perform 1 from rat_tables t where t.ref = p_branch and t.namespace = p_namespaces[i] and t.name = p_names[i];
        if not found then raise exception using errcode = 'RA003', message = i::text; end if;
        raise exception using errcode = 'RA004', message = i::text;
      end if;
    elsif p_kinds[i] = 'create' then
      insert into rat_tables (ref, namespace, name, metadata_location, path_map, updated_at)
        values (p_branch, p_namespaces[i], p_names[i], p_locations[i], p_path_maps[i], p_now)
        on conflict (ref, namespace, name) do nothing;
      if not found then raise exception using errcode = 'RA005', message = i::text; end if;
    else
      delete from rat_tables t where t.ref = p_branch and t.namespace = p_namespaces[i] and t.name = p_names[i];
      if not found then raise exception using errcode = 'RA006', message = i::text; end if;
    end if;
  end loop;
  insert into rat_commits (id, parent_id, merge_parent_id, seq, author, message, created_at)
    select p_id, v_head, p_merge_parent, coalesce(max(c.seq), 0) + 1, p_author, p_message, p_now from rat_commits c;
  insert into rat_commit_changes (commit_id, namespace, name, metadata_location, path_map)
    select p_id, c.ns, c.nm, c.loc, c.pm from unnest(p_namespaces, p_names, p_locations, p_path_maps) as c(ns, nm, loc, pm);
  update rat_refs set head = p_id where name = p_branch;
end
$rat$`;

/** The schema version this build of rat writes. */
export const METADATA_SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version));

/** Key of the transaction-scoped PostgreSQL advisory lock that serializes migrations ("rat_mig" in ASCII). */
const MIGRATION_LOCK_KEY = '32195299790121319';

/** An opened DB before migration, with its dialect's way of keeping two migrating processes apart. */
interface OpenedDb {
  connection: MetadataDbConnection;
  /** Runs `work` in one transaction that no other process runs at the same time. */
  withMigrationLock(work: (db: MetadataDb) => Promise<void>): Promise<void>;
}

/**
 * Opens the metadata DB and brings its schema up to date. A string is a PostgreSQL URL
 * (`postgres://`, `postgresql://`) or else a SQLite file path.
 */
export async function openMetadataDb(target: DatabaseConfig | string, options: OpenMetadataDbOptions = {}): Promise<MetadataDbConnection> {
  const config = typeof target === 'string' ? databaseConfigFromString(target) : target;
  const opened = config.kind === 'sqlite' ? openSqlite(config.path, options) : openPostgres(config.url, options);
  try {
    await migrate(opened);
  } catch (error) {
    await opened.connection.close().catch(() => undefined);
    if (isRatError(error)) throw error;
    throw new ExternalError('METADATA_DB_ERROR', `cannot migrate the metadata DB ${opened.connection.description}: ${(error as Error).message}`, { cause: error });
  }
  return opened.connection;
}

function openSqlite(path: string, options: OpenMetadataDbOptions): OpenedDb {
  let database: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    database = new Database(path, { timeout: 30_000 });
    const db = database;
    // Switching to WAL needs the file to itself: SQLite answers SQLITE_BUSY at once, without waiting,
    // while other processes open the same new file. Opening is synchronous, so is the retry.
    whileBusy(() => db.pragma('journal_mode = WAL'), options.lockTimeoutMs ?? 30_000);
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new ExternalError('METADATA_DB_ERROR', `cannot open the metadata DB SQLite file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const db = new Kysely<MetadataSchema>({ dialect: reportingDialect(new ImmediateSqliteDialect(database, options.lockTimeoutMs ?? 30_000, path), path, options.beforeStatement) });
  const connection: MetadataDbConnection = { db, dialect: 'sqlite', description: path, close: () => db.destroy() };
  return {
    connection,
    // BEGIN IMMEDIATE takes the write lock up front, so a second process waits instead of both migrating.
    withMigrationLock: (work) =>
      db.connection().execute(async (conn) => {
        await beginImmediate(() => sql`begin immediate`.execute(conn), database, options.lockTimeoutMs ?? 30_000, path);
        try {
          await work(conn);
          await sql`commit`.execute(conn);
        } catch (error) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw error;
        }
      }),
  };
}

function openPostgres(url: string, options: OpenMetadataDbOptions): OpenedDb {
  const description = describePostgresUrl(url);
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const schema = postgresSchemaOf(url);
  const pool = new (loadPg().Pool)({
    connectionString: postgresDriverUrl(url),
    connectionTimeoutMillis: connectTimeoutMs,
    types: int8AsNumber(),
    allowExitOnIdle: true,
    // Every connection resolves rat's tables in the URL's schema (created by the first migration).
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener that ends
  // the process. The next query takes a new client and reports the failure to its caller.
  pool.on('error', () => undefined);
  const wrapped: PostgresPool = {
    async connect() {
      try {
        return await pool.connect();
      } catch (error) {
        throw postgresConnectError(error, description, connectTimeoutMs);
      }
    },
    end: () => pool.end(),
  };
  const db = new Kysely<MetadataSchema>({ dialect: reportingDialect(new PostgresDialect({ pool: wrapped }), description, options.beforeStatement) });
  const connection: MetadataDbConnection = { db, dialect: 'postgres', description, close: () => db.destroy() };
  return {
    connection,
    // A transaction-scoped advisory lock: released by COMMIT or ROLLBACK, also when the process dies.
    withMigrationLock: (work) =>
      db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(trx);
        if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
        await work(trx);
      }),
  };
}

/**
 * Timestamps are bigint milliseconds; pg returns int8 as a string by default. Parsed to numbers here,
 * for this pool only (pg's global parsers stay untouched for other users of the driver).
 */
function int8AsNumber(): pg.CustomTypesConfig {
  const driver = loadPg();
  const overrides = new driver.TypeOverrides();
  overrides.setTypeParser(driver.types.builtins.INT8, (text: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new RangeError(`metadata DB returned the bigint ${text}, beyond 2^53: it cannot be read as a number`);
    return value;
  });
  return overrides;
}

function postgresConnectError(error: unknown, description: string, timeoutMs: number): ExternalError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  let hint: string;
  if (code === '28P01' || code === '28000') hint = "check the user and password in RAT_DATABASE_URL and the server's pg_hba.conf";
  else if (code === '3D000') hint = 'create the database (createdb) or fix its name in RAT_DATABASE_URL';
  else if (/timeout/i.test(message)) hint = `no answer within ${timeoutMs} ms: check that PostgreSQL is running there and that no firewall drops the connection`;
  else hint = 'check that PostgreSQL is running and accepts TCP connections there (listen_addresses, port) and that RAT_DATABASE_URL is right';
  return new ExternalError('METADATA_DB_ERROR', `cannot connect to the metadata DB PostgreSQL at ${description}: ${message}; ${hint}`, { cause: error });
}

async function migrate(opened: OpenedDb): Promise<void> {
  const { connection } = opened;
  const types = columnTypes[connection.dialect];
  await opened.withMigrationLock(async (db) => {
    await db.schema
      .createTable('rat_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const applied = new Set((await db.selectFrom('rat_migrations').select('version').execute()).map((r) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > METADATA_SCHEMA_VERSION) {
      throw new ExternalError(
        'METADATA_DB_ERROR',
        `metadata DB ${connection.description} has schema version ${newest}, newer than this rat's ${METADATA_SCHEMA_VERSION}: upgrade rat`,
      );
    }
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      try {
        await migration.up(db as unknown as Kysely<unknown>, types, connection.dialect);
      } catch (error) {
        throw new ExternalError(
          'METADATA_DB_ERROR',
          `migration ${migration.version} (${migration.name}) of the metadata DB ${connection.description} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await db.insertInto('rat_migrations').values({ version: migration.version, name: migration.name, applied_at: Date.now() }).execute();
    }
  });
}

function whileBusy<T>(work: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      return work();
    } catch (error) {
      if (!(error as { code?: string }).code?.startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error;
      Atomics.wait(sleeper, 0, 0, wait);
    }
  }
}

/**
 * better-sqlite3 waits for a busy database synchronously, which would freeze this process's event
 * loop while another connection of the same process holds the lock. So the wait is done here, with
 * the busy timeout off and async sleeps between tries.
 */
async function beginImmediate(begin: () => Promise<unknown>, database: Database.Database, timeoutMs: number, description: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const busyTimeout = database.pragma('busy_timeout', { simple: true }) as number;
  database.pragma('busy_timeout = 0');
  try {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        await begin();
        return;
      } catch (error) {
        // The migration lock's BEGIN goes through the reporting driver, which wraps the driver's error.
        const driverError = (isRatError(error) ? error.cause : error) as { code?: string } | undefined;
        // Extended codes too: a BEGIN during another process's WAL recovery (a new or reopened file) is SQLITE_BUSY_RECOVERY.
        if (!driverError?.code?.startsWith('SQLITE_BUSY')) throw error;
        if (Date.now() >= deadline) {
          throw new ExternalError('METADATA_DB_ERROR', `metadata DB ${description} stayed locked by another writer for ${timeoutMs} ms`, { cause: error });
        }
        await delay(wait);
      }
    }
  } finally {
    database.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

/**
 * Every SQLite transaction (db.transaction()) starts with BEGIN IMMEDIATE: a plain BEGIN reads first
 * and fails with SQLITE_BUSY when it later tries to write while another connection writes, where
 * IMMEDIATE waits for the write lock up front (without blocking the event loop, see beginImmediate).
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: Database.Database;
  readonly #timeoutMs: number;
  readonly #description: string;
  constructor(database: Database.Database, timeoutMs: number, description: string) {
    super({ database });
    this.#database = database;
    this.#timeoutMs = timeoutMs;
    this.#description = description;
  }
  override createDriver(): Driver {
    const driver = super.createDriver();
    const database = this.#database;
    const timeoutMs = this.#timeoutMs;
    const description = this.#description;
    driver.beginTransaction = (connection: DatabaseConnection) =>
      beginImmediate(() => connection.executeQuery(CompiledQuery.raw('begin immediate')), database, timeoutMs, description);
    return driver;
  }
}

/**
 * The driver's errors name neither the database nor what was being done ("disk I/O error",
 * "Connection terminated unexpectedly"): every statement's failure becomes an ExternalError
 * METADATA_DB_ERROR naming both, at this one edge. A ROLLBACK that fails after a failed statement
 * reports both failures (Kysely would otherwise throw only the rollback's).
 */
function reportingDialect(dialect: Dialect, description: string, beforeStatement: BeforeMetadataStatement | undefined): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => new ReportingDriver(dialect.createDriver(), description, beforeStatement),
  };
}

/** `update rat_tables`, `insert rat_commits`, `commit`: what a statement does, for messages. */
function statementLabel(text: string): string {
  const flat = text.trim().replace(/\s+/g, ' ');
  const verb = /^\w+/.exec(flat)?.[0].toLowerCase() ?? 'statement';
  const table = /\b(?:from|into|update|table)\s+"?(\w+)"?/i.exec(flat)?.[1];
  if (table) return `${verb} ${table}`;
  const call = /^select (\w+)\(/i.exec(flat)?.[1];
  return call ? `${verb} ${call}` : verb;
}

/** A failure of these may hide a change that landed (the answer was lost): COMMIT and the one-statement catalog commit. */
const COMMITTING = new Set(['commit', 'select rat_commit']);

class ReportingDriver implements Driver {
  readonly #inner: Driver;
  readonly #description: string;
  readonly #before: BeforeMetadataStatement | undefined;
  /** The driver's own connection behind each one handed out (the driver may rely on its identity). */
  readonly #raw = new WeakMap<DatabaseConnection, DatabaseConnection>();
  /** The last failure on a connection inside its transaction, reported again if the ROLLBACK fails too. */
  readonly #failed = new WeakMap<DatabaseConnection, ExternalError>();

  constructor(inner: Driver, description: string, before: BeforeMetadataStatement | undefined) {
    this.#inner = inner;
    this.#description = description;
    this.#before = before;
  }

  async #run<T>(connection: DatabaseConnection, text: string, work: () => Promise<T>): Promise<T> {
    try {
      await this.#before?.(text);
      return await work();
    } catch (error) {
      if (isRatError(error)) throw error;
      const label = statementLabel(text);
      // A COMMIT whose answer was lost may have landed: running the command again blindly could apply it twice.
      const next = COMMITTING.has(label) ? 'the change may or may not have landed: check with rat log before running the command again' : 'run the command again';
      const failure = new ExternalError(
        'METADATA_DB_ERROR',
        `metadata DB ${this.#description}: ${label} failed: ${describeError(error)}; check that the database is reachable and writable, then ${next}`,
        { cause: error },
      );
      this.#failed.set(connection, failure);
      throw failure;
    }
  }

  #rawOf(connection: DatabaseConnection): DatabaseConnection {
    return this.#raw.get(connection) ?? connection;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const raw = await this.#inner.acquireConnection();
    const connection: DatabaseConnection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> => this.#run(connection, query.sql, () => raw.executeQuery<R>(query)),
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => raw.streamQuery<R>(query, chunkSize),
    };
    this.#raw.set(connection, raw);
    return connection;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    this.#failed.delete(connection);
    return this.#run(connection, 'begin', () => this.#inner.beginTransaction(this.#rawOf(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#run(connection, 'commit', () => this.#inner.commitTransaction(this.#rawOf(connection)));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const earlier = this.#failed.get(connection);
    try {
      await this.#run(connection, 'rollback', () => this.#inner.rollbackTransaction(this.#rawOf(connection)));
    } catch (error) {
      if (!earlier) throw error;
      throw new ExternalError('METADATA_DB_ERROR', `${earlier.message}; the rollback after it failed too: ${describeError(error)}`, { cause: earlier });
    }
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#rawOf(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

/** True on PostgreSQL (row locks with FOR UPDATE); SQLite write transactions lock the whole file instead. */
export function isPostgres(db: MetadataDb | MetadataTransaction): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export { sql };
