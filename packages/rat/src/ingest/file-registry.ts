import { newUuid } from '../core/ids.js';
import type { LoadedTable } from '../catalog/catalog.js';
import type { TableMetadata } from '../iceberg/types.js';
import type { FileRegistryRow, MetadataDb, MetadataTransaction } from '../catalog/metadata-db.js';
import { type DuckDb, quoteString } from '../engine/duckdb.js';
import type { VirtualTable } from '../engine/sql-executor.js';

export type RegistryStatus = 'success' | 'failed' | 'skipped';

/** One ingest attempt of one file into one table, as the SDK returns it. */
export interface RegistryEntry {
  id: string;
  filePath: string;
  fileHash: string;
  fileSize: number;
  targetTable: string;
  rowsIngested: number;
  rowsRejected: number;
  ingestedAt: Date;
  status: RegistryStatus;
  error?: string;
  snapshotId?: bigint;
}

/** A new registry entry of one file: nothing ingested yet, dated now, unless `extra` says otherwise. */
export function newRegistryEntry(file: { filePath: string; fileHash: string; fileSize: number; targetTable: string }, status: RegistryStatus, extra: Partial<RegistryEntry> = {}): RegistryEntry {
  return { id: newUuid(), ...file, rowsIngested: 0, rowsRejected: 0, ingestedAt: new Date(), status, ...extra };
}

export type SkipDecision = { skip: false; reason: string } | { skip: true; reason: string; match: RegistryEntry };

export interface FileRegistry {
  /** Records attempts; inside `trx` they commit or roll back with the table change. */
  record(entries: RegistryEntry | RegistryEntry[], trx?: MetadataTransaction): Promise<void>;
  list(filter?: { target?: string; status?: RegistryStatus; filePath?: string }): Promise<RegistryEntry[]>;
  /**
   * Whether a file (path + content hash) is already in `target`: a success entry with the same hash
   * whose snapshot is still in the table's current history (a rollback past it, or a dropped and
   * re-created table, makes the file new again). A changed file under the same name is new; a
   * failed one is retried.
   */
  decide(target: LoadedTable | undefined, targetName: string, file: { path: string; hash: string }): Promise<SkipDecision>;
  /** `bronze._file_registry` in SQL: a DuckDB table refreshed from these rows before each statement that reads it. */
  virtualTable(): VirtualTable;
  /**
   * skip-existing for a batch of files into one target: the target's success entries are read once,
   * and skipped entries are written together at the end (`flush`), so a re-run of a large batch costs
   * a hash per file instead of several metadata-DB round trips.
   */
  batch(targetName: string): Promise<BatchSkips>;
}

/** See FileRegistry.batch. Decisions match `decide`, plus the files ingested earlier in the same batch. */
export interface BatchSkips {
  /** The target as of the batch's last ingest (loaded with `load` once, and again after each file this batch ingests). */
  target(load: () => Promise<LoadedTable | undefined>): Promise<LoadedTable | undefined>;
  decide(target: LoadedTable | undefined, file: { path: string; hash: string }): Promise<SkipDecision>;
  /** A file of this batch was ingested: later files with the same content are skipped. */
  ingested(entry: RegistryEntry): void;
  /** Records a skip (written by `flush`). */
  skipped(entry: RegistryEntry): void;
  flush(): Promise<void>;
}

/** Registry rows per multi-row INSERT: 11 columns each stays below both dialects' parameter limits. */
const ROWS_PER_INSERT = 200;

export const REGISTRY_NAMESPACE = 'bronze';
export const REGISTRY_TABLE = '_file_registry';

export function createFileRegistry(db: MetadataDb): FileRegistry {
  /** Why a file that is not skipped counts as new: its path's last attempt. */
  async function whyNew(targetName: string, file: { path: string; hash: string }): Promise<SkipDecision> {
    const previous = await db
      .selectFrom('rat_file_registry')
      .select(['status', 'file_hash'])
      .where('target_table', '=', targetName)
      .where('file_path', '=', file.path)
      .where('status', '<>', 'skipped')
      .orderBy('ingested_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!previous) return { skip: false, reason: 'new file' };
    if (previous.status === 'failed') return { skip: false, reason: 'retrying a failed file' };
    if (previous.file_hash !== file.hash) return { skip: false, reason: 'content changed' };
    return { skip: false, reason: 'its rows are no longer in the table' };
  }

  const registry: FileRegistry = {
    async record(entries, trx) {
      const rows = (Array.isArray(entries) ? entries : [entries]).map(toRow);
      const write = async (conn: MetadataDb | MetadataTransaction) => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await conn.insertInto('rat_file_registry').values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
      };
      if (trx || rows.length <= ROWS_PER_INSERT) await write(trx ?? db);
      else await db.transaction().execute(write);
    },
    async list(filter = {}) {
      let query = db.selectFrom('rat_file_registry').selectAll();
      if (filter.target !== undefined) query = query.where('target_table', '=', filter.target);
      if (filter.status !== undefined) query = query.where('status', '=', filter.status);
      if (filter.filePath !== undefined) query = query.where('file_path', '=', filter.filePath);
      const rows = await query.orderBy('ingested_at').orderBy('id').execute();
      return rows.map(fromRow);
    },
    async decide(target, targetName, file) {
      const rows = await db
        .selectFrom('rat_file_registry')
        .selectAll()
        .where('target_table', '=', targetName)
        .where('file_hash', '=', file.hash)
        .where('status', '=', 'success')
        .orderBy('ingested_at', 'desc')
        .execute();
      return matchSuccess(target, file, rows.map(fromRow)) ?? whyNew(targetName, file);
    },
    async batch(targetName) {
      const byHash = new Map<string, RegistryEntry[]>();
      const add = (entry: RegistryEntry) => {
        const list = byHash.get(entry.fileHash);
        if (list) list.unshift(entry);
        else byHash.set(entry.fileHash, [entry]);
      };
      const rows = await db.selectFrom('rat_file_registry').selectAll().where('target_table', '=', targetName).where('status', '=', 'success').orderBy('ingested_at').execute();
      for (const row of rows) add(fromRow(row));
      const pending: RegistryEntry[] = [];
      let target: Promise<LoadedTable | undefined> | undefined;
      return {
        target(load) {
          return (target ??= load());
        },
        async decide(table, file) {
          return matchSuccess(table, file, byHash.get(file.hash) ?? []) ?? whyNew(targetName, file);
        },
        ingested(entry) {
          add(entry);
          target = undefined;
        },
        skipped(entry) {
          pending.push(entry);
        },
        async flush() {
          const entries = pending.splice(0);
          if (entries.length > 0) await registry.record(entries);
        },
      };
    },
    virtualTable() {
      return {
        namespace: REGISTRY_NAMESPACE,
        name: REGISTRY_TABLE,
        refresh: async (duck: DuckDb) => {
          const entries = await registry.list();
          const name = `${REGISTRY_NAMESPACE}.${REGISTRY_TABLE}`;
          await duck.run(`CREATE SCHEMA IF NOT EXISTS ${REGISTRY_NAMESPACE}; CREATE OR REPLACE TABLE ${name} (
            file_path VARCHAR, file_hash VARCHAR, file_size BIGINT, target_table VARCHAR, rows_ingested BIGINT, rows_rejected BIGINT,
            ingested_at TIMESTAMPTZ, status VARCHAR, error VARCHAR, snapshot_id BIGINT)`);
          for (let i = 0; i < entries.length; i += 500) {
            const values = entries.slice(i, i + 500).map((e) =>
              `(${quoteString(e.filePath)}, ${quoteString(e.fileHash)}, ${e.fileSize}, ${quoteString(e.targetTable)}, ${e.rowsIngested}, ${e.rowsRejected}, ` +
              `make_timestamptz(${e.ingestedAt.getTime() * 1000}), ${quoteString(e.status)}, ${e.error === undefined ? 'NULL' : quoteString(e.error)}, ${e.snapshotId ?? 'NULL'})`,
            );
            await duck.run(`INSERT INTO ${name} VALUES ${values.join(', ')}`);
          }
        },
      };
    },
  };
  return registry;
}

/**
 * The newest success entry (entries are newest first) whose rows the table still holds: its snapshot is
 * in the current history, or it added no rows (every row rejected) and the table exists.
 */
function matchSuccess(target: LoadedTable | undefined, file: { path: string; hash: string }, entries: RegistryEntry[]): SkipDecision | undefined {
  if (entries.length === 0) return undefined;
  const history = target ? ancestry(target) : new Set<string>();
  const live = entries.find((e) => (e.snapshotId === undefined ? false : history.has(e.snapshotId.toString())));
  const empty = entries.find((e) => e.snapshotId === undefined && target !== undefined);
  const match = live ?? empty;
  if (!match) return undefined;
  const when = match.ingestedAt.toISOString();
  return { skip: true, match, reason: match.filePath === file.path ? `already ingested (same content) at ${when}` : `same content as ${match.filePath}, ingested at ${when}` };
}

const ancestries = new WeakMap<TableMetadata, Set<string>>();

/** Snapshot ids from the current snapshot back through its parents: the rows the table holds now. */
function ancestry(table: LoadedTable): Set<string> {
  const cached = ancestries.get(table.metadata);
  if (cached) return cached;
  const ids = walkAncestry(table);
  ancestries.set(table.metadata, ids);
  return ids;
}

function walkAncestry(table: LoadedTable): Set<string> {
  const byId = new Map(table.metadata.snapshots.map((s) => [s.snapshotId, s]));
  const ids = new Set<string>();
  let id = table.metadata.currentSnapshotId;
  while (id !== undefined && !ids.has(id.toString())) {
    ids.add(id.toString());
    id = byId.get(id)?.parentSnapshotId;
  }
  return ids;
}

function toRow(entry: RegistryEntry): FileRegistryRow {
  return {
    id: entry.id,
    file_path: entry.filePath,
    file_hash: entry.fileHash,
    file_size: entry.fileSize,
    target_table: entry.targetTable,
    rows_ingested: entry.rowsIngested,
    rows_rejected: entry.rowsRejected,
    ingested_at: entry.ingestedAt.getTime(),
    status: entry.status,
    error: entry.error ?? null,
    snapshot_id: entry.snapshotId?.toString() ?? null,
  };
}

function fromRow(row: FileRegistryRow): RegistryEntry {
  return {
    id: row.id,
    filePath: row.file_path,
    fileHash: row.file_hash,
    fileSize: Number(row.file_size),
    targetTable: row.target_table,
    rowsIngested: Number(row.rows_ingested),
    rowsRejected: Number(row.rows_rejected),
    ingestedAt: new Date(Number(row.ingested_at)),
    status: row.status as RegistryStatus,
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.snapshot_id !== null ? { snapshotId: BigInt(row.snapshot_id) } : {}),
  };
}
