import type { Json } from '@duckdb/node-api';
import { createCatalog, type Catalog, DEFAULT_NAMESPACES, type LoadedTable } from '../catalog/catalog.js';
import type { PathMap } from '../catalog/file-io.js';
import { formatIdent, parseTableIdent, type TableIdent } from '../catalog/identifiers.js';
import { type BeforeMetadataStatement, type MetadataDb, openMetadataDb } from '../catalog/metadata-db.js';
import { MAIN_BRANCH, validateRefName } from '../catalog/ref-name.js';
import { resolveConfig, type UserConfig } from '../core/config.js';
import { isRatError, NotFoundError, ValidationError } from '../core/errors.js';
import { currentGitBranch, dataBranchForGit } from '../core/git-branch.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata.js';
import { nextMetadata } from '../iceberg/snapshot-producer.js';
import type { PlannedScan } from '../iceberg/scan-planner.js';
import type { PartitionSpec, Schema, Snapshot } from '../iceberg/types.js';
import { createObjectStore, type StorageConfig, storageConfigFromEnv } from '../storage/config.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type DuckDb, openDuckDb } from './duckdb.js';
import { createSqlExecutor, type RowStream, type SqlExecutor, type StatementResult, type StreamOptions } from './sql-executor.js';
import type { ScanRecord } from './table-reader.js';

export interface LakehouseOptions extends UserConfig {
  storage?: StorageConfig;
  env?: NodeJS.ProcessEnv;
  /** DuckDB threads (default: all cores). */
  threads?: number;
  /**
   * The branch (or tag, or commit id: read-only) every read and write goes to. Default: $RAT_BRANCH,
   * else with git sync on, the data branch of the current git branch (created from main on first use),
   * else main.
   */
  branch?: string;
  /** Where git sync looks for the git repository (default: the process's working directory). */
  cwd?: string;
  /** Wraps the object store every read and write goes through (instrumentation, fault-injection tests). */
  wrapStore?: (store: ObjectStore) => ObjectStore;
  /** Called before every metadata-DB statement; what it throws fails that statement (see OpenMetadataDbOptions). */
  beforeMetadataStatement?: BeforeMetadataStatement;
}

export interface TableDescription {
  name: string;
  location: string;
  metadataLocation: string;
  formatVersion: number;
  schema: Schema;
  partitionSpec: PartitionSpec;
  currentSnapshotId?: bigint;
  snapshotCount: number;
  dataFileCount: number;
  deleteFileCount: number;
  /** Records in the data files (their record counts), before delete files hide any. */
  recordCount: number;
  /**
   * Rows the table reads as: `recordCount` without delete files; with them, counted by reading the
   * table. Absent when a table with delete files cannot be read (its reads say why).
   */
  rowCount?: number;
  properties: Record<string, string>;
}

export interface SnapshotInfo {
  snapshotId: bigint;
  parentSnapshotId?: bigint;
  sequenceNumber: number;
  timestamp: Date;
  operation: string;
  summary: Record<string, string>;
  current: boolean;
}

/** The statements of one `Lakehouse.transaction`: their table changes land together or not at all. */
export interface LakehouseTransaction {
  sql(sql: string): Promise<StatementResult[]>;
  query<T extends Record<string, Json> = Record<string, Json>>(sql: string): Promise<T[]>;
}

/** The SDK: every operation the `rat` CLI offers, as a typed API over one RAT_HOME. */
export interface Lakehouse {
  readonly home: string;
  /** The branch, tag or commit this lakehouse reads and writes. */
  readonly branch: string;
  readonly catalog: Catalog;
  readonly store: ObjectStore;
  readonly executor: SqlExecutor;
  /** The DuckDB instance SQL runs in (for layers that stage data next to catalog tables, e.g. ingest). */
  readonly duck: DuckDb;
  /** The metadata DB the catalog lives in (for records that must commit with a table change, e.g. the file registry). */
  readonly metadataDb: MetadataDb;
  /** Runs one or more SQL statements; each result is complete in memory. */
  sql(sql: string): Promise<StatementResult[]>;
  /** Rows of the last statement as objects (JSON-friendly values: bigints beyond 2^53 as strings). */
  query<T extends Record<string, Json> = Record<string, Json>>(sql: string): Promise<T[]>;
  /**
   * Runs `work` as one transaction: its statements read each other's changes, and when it returns
   * every table it changed lands in one catalog commit (ConflictError COMMIT_CONFLICT, nothing
   * written, when another writer changed one of them meanwhile); when it throws, nothing lands.
   * DROP TABLE and CREATE/DROP SCHEMA are refused inside.
   */
  transaction<T>(work: (tx: LakehouseTransaction) => Promise<T>): Promise<T>;
  /** Like sql(), but the last statement's rows arrive in batches. */
  stream(sql: string, options?: StreamOptions): Promise<{ results: StatementResult[]; last: RowStream | StatementResult | undefined }>;
  listNamespaces(): Promise<string[]>;
  createNamespace(name: string, options?: { ifNotExists?: boolean }): Promise<void>;
  listTables(namespace?: string): Promise<TableIdent[]>;
  loadTable(name: string | TableIdent): Promise<LoadedTable>;
  /** The table as the lakehouse's ref has it, or as `ref` (a branch, tag or commit id) has it. */
  describeTable(name: string | TableIdent, options?: { ref?: string }): Promise<TableDescription>;
  snapshots(name: string | TableIdent): Promise<SnapshotInfo[]>;
  /** Makes an earlier snapshot current again (a new metadata version; no data is copied or deleted). */
  rollback(name: string | TableIdent, snapshotId: bigint): Promise<SnapshotInfo>;
  /** Adopts an Iceberg table written elsewhere, in place, without copying files. */
  registerTable(name: string | TableIdent, metadataLocation: string, options?: { pathMap?: PathMap[] }): Promise<TableDescription>;
  /** Scans planned since the last call: files selected and skipped per table read. */
  takeScanRecords(): ScanRecord[];
  close(): Promise<void>;
}

export async function openLakehouse(options: LakehouseOptions = {}): Promise<Lakehouse> {
  const env = options.env ?? process.env;
  const config = resolveConfig(options, env);
  const baseStore = await createObjectStore(options.storage ?? storageConfigFromEnv(env, config.home));
  const store = options.wrapStore ? options.wrapStore(baseStore) : baseStore;
  const metadataDb = await openMetadataDb(config.database, options.beforeMetadataStatement ? { beforeStatement: options.beforeMetadataStatement } : {});
  let catalog: Catalog;
  let duck: DuckDb;
  try {
    const branch = await resolveBranch(createCatalog(metadataDb.db, store), options, env);
    catalog = createCatalog(metadataDb.db, store, { ref: branch });
    for (const ns of DEFAULT_NAMESPACES) await catalog.createNamespace(ns, { ifNotExists: true });
    duck = await openDuckDb({ ...(options.threads ? { threads: options.threads } : {}) });
  } catch (error) {
    // An open PostgreSQL pool would keep the process alive.
    await metadataDb.close().catch(() => undefined);
    throw error;
  }
  const executor = createSqlExecutor(catalog, duck);
  const ident = (name: string | TableIdent): TableIdent => (typeof name === 'string' ? parseTableIdent(name) : name);

  async function describe(table: LoadedTable): Promise<TableDescription> {
    const metadata = table.metadata;
    // From the manifests alone: a data file the table's reads would refuse (name-mapping.ts) does not stop its description.
    const scan = await executor.reader.planOnly(table);
    const deleteFiles = new Set<string>();
    for (const task of scan.tasks) {
      for (const d of task.positionDeletes) deleteFiles.add(d.filePath);
      for (const d of task.equalityDeletes) deleteFiles.add(d.file.filePath);
    }
    executor.reader.takeScanRecords();
    const recordCount = scan.tasks.reduce((n, t) => n + t.dataFile.recordCount, 0);
    const rowCount = deleteFiles.size === 0 ? recordCount : await countRows(table, scan);
    return {
      name: formatIdent(table.ident),
      location: metadata.location,
      metadataLocation: table.metadataLocation,
      formatVersion: metadata.formatVersion,
      schema: currentSchema(metadata),
      partitionSpec: defaultSpec(metadata),
      ...(metadata.currentSnapshotId !== undefined ? { currentSnapshotId: metadata.currentSnapshotId } : {}),
      snapshotCount: metadata.snapshots.length,
      dataFileCount: scan.tasks.length,
      deleteFileCount: deleteFiles.size,
      recordCount,
      ...(rowCount !== undefined ? { rowCount } : {}),
      properties: metadata.properties,
    };
  }

  /** The rows of a table with delete files, which hide rows its data files still count. */
  async function countRows(table: LoadedTable, scan: PlannedScan): Promise<number | undefined> {
    try {
      const [row] = await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM (${await executor.reader.sqlFor(table, scan)})`);
      return Number(row!.n);
    } catch (error) {
      // A description must not fail on a file the table's reads refuse: the row count is then unknown.
      if (isRatError(error)) return undefined;
      throw error;
    } finally {
      executor.reader.takeScanRecords();
    }
  }

  function snapshotInfo(snapshot: Snapshot, currentId: bigint | undefined): SnapshotInfo {
    const { operation, ...rest } = snapshot.summary;
    return {
      snapshotId: snapshot.snapshotId,
      ...(snapshot.parentSnapshotId !== undefined ? { parentSnapshotId: snapshot.parentSnapshotId } : {}),
      sequenceNumber: snapshot.sequenceNumber,
      timestamp: new Date(snapshot.timestampMs),
      operation,
      summary: rest,
      current: snapshot.snapshotId === currentId,
    };
  }

  function rowsOf<T extends Record<string, Json>>(results: StatementResult[]): T[] {
    const last = results.at(-1);
    if (!last || last.kind !== 'rows') return [];
    return last.rows.map((row) => Object.fromEntries(last.columns.map((c, i) => [c, row[i]!])) as T);
  }

  return {
    home: config.home,
    branch: catalog.ref,
    catalog,
    store,
    executor,
    duck,
    metadataDb: metadataDb.db,
    sql: (sql) => executor.execute(sql),
    async query<T extends Record<string, Json>>(sql: string) {
      return rowsOf<T>(await executor.execute(sql));
    },
    async transaction(work) {
      const tx = executor.transaction();
      let result;
      try {
        result = await work({
          sql: (sql) => tx.execute(sql),
          query: async <T extends Record<string, Json>>(sql: string) => rowsOf<T>(await tx.execute(sql)),
        });
      } catch (error) {
        tx.rollback();
        throw error;
      }
      await tx.commit();
      return result;
    },
    stream: (sql, streamOptions) => executor.stream(sql, streamOptions),
    listNamespaces: () => catalog.listNamespaces(),
    createNamespace: (name, opts) => catalog.createNamespace(name, opts),
    listTables: (namespace) => catalog.listTables(namespace),
    loadTable: (name) => catalog.loadTable(ident(name)),
    async describeTable(name, options = {}) {
      return describe(await (options.ref === undefined ? catalog : catalog.withRef(options.ref)).loadTable(ident(name)));
    },
    async snapshots(name) {
      const table = await catalog.loadTable(ident(name));
      return table.metadata.snapshots.map((s) => snapshotInfo(s, table.metadata.currentSnapshotId));
    },
    async rollback(name, snapshotId) {
      const id = ident(name);
      const outcome = await executor.writer.commitMetadata(id, (base) => {
        const target = base.metadata.snapshots.find((s) => s.snapshotId === snapshotId);
        if (!target) {
          throw new NotFoundError('CATALOG_SNAPSHOT_NOT_FOUND', `table ${formatIdent(id)} has no snapshot ${snapshotId}; list them with: rat snapshots ${formatIdent(id)}`);
        }
        const now = Date.now();
        const next = nextMetadata(base.metadata, base.metadataLocation, now);
        return {
          ...next,
          currentSnapshotId: snapshotId,
          currentSchemaId: target.schemaId ?? next.currentSchemaId,
          snapshotLog: [...next.snapshotLog, { timestampMs: now, snapshotId }],
          refs: { ...next.refs, main: { snapshotId, type: 'branch' } },
        };
      });
      executor.reader.forgetView(id.namespace, id.name);
      const snapshot = outcome.table.metadata.snapshots.find((s) => s.snapshotId === snapshotId)!;
      return snapshotInfo(snapshot, snapshotId);
    },
    async registerTable(name, metadataLocation, opts = {}) {
      const table = await catalog.registerTable(ident(name), metadataLocation, opts.pathMap ?? []);
      return describe(table);
    },
    takeScanRecords: () => executor.reader.takeScanRecords(),
    async close() {
      duck.close();
      await metadataDb.close();
    },
  };
}

/** RAT_GIT_SYNC is on unless set to 0, false, off or no. */
export function gitSyncEnabled(env: NodeJS.ProcessEnv): boolean {
  return !/^(0|false|off|no)$/i.test(env.RAT_GIT_SYNC?.trim() ?? '');
}

/**
 * The ref a lakehouse works on: an explicit branch (option, then RAT_BRANCH) must exist; otherwise,
 * inside a git repository with git sync on, the data branch named after the git branch, created from
 * main on first use (git main/master are main); otherwise main.
 */
async function resolveBranch(catalog: Catalog, options: LakehouseOptions, env: NodeJS.ProcessEnv): Promise<string> {
  const explicit = options.branch ?? (env.RAT_BRANCH?.trim() || undefined);
  if (explicit !== undefined) {
    await catalog.refs.resolve(explicit);
    return explicit;
  }
  if (!gitSyncEnabled(env)) return MAIN_BRANCH;
  const gitBranch = currentGitBranch(options.cwd ?? process.cwd());
  if (gitBranch === undefined) return MAIN_BRANCH;
  const branch = dataBranchForGit(gitBranch);
  if (branch === MAIN_BRANCH) return branch;
  try {
    validateRefName('branch', branch);
  } catch (error) {
    throw new ValidationError('REF_INVALID', `git branch "${gitBranch}" cannot name a data branch (${(error as Error).message}); pass --branch or set RAT_GIT_SYNC=0`, { cause: error });
  }
  try {
    await catalog.refs.resolve(branch);
  } catch (error) {
    if (!(isRatError(error) && error.code === 'CATALOG_REF_NOT_FOUND')) throw error;
    try {
      await catalog.refs.create('branch', branch, MAIN_BRANCH);
    } catch (createError) {
      // Another process following the same git branch created it first.
      if (!(isRatError(createError) && createError.code === 'CATALOG_REF_EXISTS')) throw createError;
    }
  }
  return branch;
}
