import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import type { Insertable, Selectable } from 'kysely';
import { RatError } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import type { LoadedTable } from '../catalog/catalog.js';
import { lineageIds, loadHistory } from '../iceberg/snapshot-lineage.js';
import type { TableMetadata } from '../iceberg/types.js';
import type { FileRegistryRow, MetadataDb, MetadataTransaction } from '../catalog/metadata-db.js';
import type { DuckDb } from '../engine/duckdb.js';
import type { VirtualTable } from '../engine/sql-executor.js';
import type { IngestMode } from './ingest-options.js';

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
  /** The row of a quarantine replay: it loaded the file's quarantined rows, so it never counts as a load of the file. */
  replay?: true;
  /** The snapshot of the target's quarantine table (`<table>__rejects`) that added the file's bad rows. */
  rejectsSnapshotId?: bigint;
}

/** A new registry entry of one file: nothing ingested yet, dated now, unless `extra` says otherwise. */
export function newRegistryEntry(file: { filePath: string; fileHash: string; fileSize: number; targetTable: string }, status: RegistryStatus, extra: Partial<RegistryEntry> = {}): RegistryEntry {
  return { id: newUuid(), ...file, rowsIngested: 0, rowsRejected: 0, ingestedAt: new Date(), status, ...extra };
}

export type SkipDecision = { skip: false; reason: string } | Skip;
export type Skip = { skip: true; reason: string; match: RegistryEntry };

/** A file another writer committed into the table after this ingest decided to load it. */
export interface Duplicate {
  /** This ingest's entry of the file (as it would have been recorded). */
  entry: RegistryEntry;
  /** Why it is skipped now, naming the other writer's entry. */
  decision: Skip;
}

/**
 * Thrown inside a commit's transaction by `FileRegistry.recordUnlessIngested`: nothing was committed,
 * and the caller drops the duplicates from its commit (they become skipped) and commits the rest.
 */
export class AlreadyIngestedError extends RatError {
  readonly duplicates: readonly Duplicate[];
  constructor(target: string, duplicates: Duplicate[]) {
    const names = duplicates.map((d) => d.entry.filePath);
    super('INGEST_ALREADY_INGESTED', `${target}: another ingest committed ${names.length === 1 ? names[0] : `${names.length} files (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''})`} first; skipped instead of loaded twice`);
    this.duplicates = duplicates;
  }
}

export interface FileRegistry {
  /**
   * Records attempts; inside `trx` they commit or roll back with the table change. A skip replaces the
   * earlier skipped rows of the same file and content in the same table (see `repeatedSkips`).
   */
  record(entries: RegistryEntry | RegistryEntry[], trx?: MetadataTransaction): Promise<void>;
  list(filter?: { target?: string; status?: RegistryStatus; filePath?: string }): Promise<RegistryEntry[]>;
  /**
   * skip-existing at commit time. Runs inside the commit's transaction, which holds the branch's
   * commit lock: no other ingest commits meanwhile, and every one committed before is visible. When
   * another writer committed the content of one of `entries` into `table` (the commit's base) since
   * this ingest decided to load it, throws AlreadyIngestedError naming those (the transaction rolls
   * back); otherwise records `entries` like `record`.
   */
  recordUnlessIngested(entries: RegistryEntry | RegistryEntry[], trx: MetadataTransaction, against: { table: LoadedTable | undefined; rejects?: LoadedTable | undefined; mode: IngestMode }): Promise<void>;
  /**
   * Whether a file (path + content hash) is already in `target`, as loaded in `mode`: see
   * `matchIngested`. A rollback past its snapshot, or a dropped and re-created table, makes the file
   * new again; a changed file under the same name is new; a failed one is retried. `quarantine`
   * gives the target's quarantine table on the same branch, read only for a file whose every row was rejected.
   */
  decide(target: LoadedTable | undefined, targetName: string, file: { path: string; hash: string }, mode: IngestMode, quarantine: Quarantine): Promise<SkipDecision>;
  /** `bronze._file_registry` in SQL: a DuckDB table refreshed from these rows before each statement that reads it. */
  virtualTable(): VirtualTable;
  /**
   * skip-existing for a batch of files into one target: the target's success entries are read once,
   * and skipped entries are written together at the end (`flush`), so a re-run of a large batch costs
   * a hash per file instead of several metadata-DB round trips.
   */
  batch(targetName: string, mode: IngestMode): Promise<BatchSkips>;
}

/** See FileRegistry.batch. Decisions match `decide`, plus the files ingested earlier in the same batch. */
export interface BatchSkips {
  /** The target as of the batch's last ingest (loaded with `load` once, and again after each file this batch ingests). */
  target(load: () => Promise<LoadedTable | undefined>): Promise<LoadedTable | undefined>;
  decide(target: LoadedTable | undefined, file: { path: string; hash: string }, quarantine: Quarantine): Promise<SkipDecision>;
  /** A file of this batch was ingested: later files with the same content are skipped. */
  ingested(entry: RegistryEntry): void;
  /** Another writer committed into the target meanwhile (AlreadyIngestedError): read its success entries and the table again. */
  refresh(): Promise<void>;
  /** Records a skip (written by `flush`). */
  skipped(entry: RegistryEntry): void;
  flush(): Promise<void>;
}

/** The target's quarantine table (`<table>__rejects`) on the branch the decision is for, if it exists. */
export type Quarantine = () => Promise<LoadedTable | undefined>;

/** Registry rows per multi-row INSERT: 13 columns each stays below both dialects' parameter limits. */
const ROWS_PER_INSERT = 200;

/** Snapshot summary keys of an ingest commit (ingest-file.ts, commit-group.ts, csv-run.ts): which file, its content, the mode. */
export const INGEST_FILE_KEY = 'rat.ingest.file';
export const INGEST_HASH_KEY = 'rat.ingest.file-hash';
export const INGEST_MODE_KEY = 'rat.ingest.mode';
/** Set on the commit of a quarantine replay: it added a file's quarantined rows, it did not load the file. */
export const INGEST_REPLAY_KEY = 'rat.ingest.replay';
/** The ingest's id, as its quarantine rows hold it (`ingest_id`). */
export const INGEST_ID_KEY = 'rat.ingest.id';

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
    return newBecause(previous, file.hash);
  }

  /**
   * The last attempt (not a skip) of each path into the target, for a batch's files that are not skipped.
   * One read for the batch: the registry has no index on paths, so `whyNew` reads every row of the
   * target per file, and a first batch over a folder of 20,000 files would read the registry 20,000 times.
   */
  async function lastAttempts(targetName: string): Promise<Map<string, Attempt>> {
    const rows = await db
      .selectFrom('rat_file_registry')
      .select(['file_path', 'status', 'file_hash'])
      .where('target_table', '=', targetName)
      .where('status', '<>', 'skipped')
      .orderBy('ingested_at')
      .execute();
    return new Map(rows.map((row) => [row.file_path, row]));
  }

  /**
   * The target's success entries that loaded a file, newest first, of every content or of the given
   * ones. A replay's entry is left out: its rows came from the quarantine, so after a rollback past
   * the file's ingest, or on a branch the ingest never reached, the file's other rows are not there.
   */
  async function successEntries(conn: MetadataDb | MetadataTransaction, targetName: string, hashes?: string[]): Promise<Map<string, RegistryEntry[]>> {
    let query = conn.selectFrom('rat_file_registry').selectAll().where('target_table', '=', targetName).where('status', '=', 'success').where('replay', '=', 0);
    if (hashes) query = query.where('file_hash', 'in', hashes);
    const byHash = new Map<string, RegistryEntry[]>();
    for (const row of await query.orderBy('ingested_at', 'desc').execute()) {
      const entry = fromRow(row);
      const list = byHash.get(entry.fileHash);
      if (list) list.push(entry);
      else byHash.set(entry.fileHash, [entry]);
    }
    return byHash;
  }

  const registry: FileRegistry = {
    async recordUnlessIngested(entries, trx, against) {
      const list = Array.isArray(entries) ? entries : [entries];
      if (list.length === 0) return;
      const targetName = list[0]!.targetTable;
      const byHash = await successEntries(trx, targetName, [...new Set(list.map((e) => e.fileHash))]);
      const duplicates: Duplicate[] = [];
      const quarantine = async () => against.rejects;
      for (const entry of list) {
        const decision = await matchIngested(against.table, against.mode, { path: entry.filePath, hash: entry.fileHash }, byHash.get(entry.fileHash) ?? [], quarantine);
        if (decision) duplicates.push({ entry, decision });
      }
      if (duplicates.length > 0) throw new AlreadyIngestedError(targetName, duplicates);
      await registry.record(list, trx);
    },
    async record(entries, trx) {
      const list = Array.isArray(entries) ? entries : [entries];
      const rows = list.map(toRow);
      const write = async (conn: MetadataDb | MetadataTransaction) => {
        const replaced = await repeatedSkips(conn, list);
        for (let i = 0; i < replaced.length; i += ROWS_PER_INSERT) await conn.deleteFrom('rat_file_registry').where('id', 'in', replaced.slice(i, i + ROWS_PER_INSERT)).execute();
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await conn.insertInto('rat_file_registry').values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
      };
      // A skip replaces rows: the delete and the insert commit together, or a crash between them would lose the file's row.
      if (trx || (rows.length <= ROWS_PER_INSERT && !list.some((e) => e.status === 'skipped'))) await write(trx ?? db);
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
    async decide(target, targetName, file, mode, quarantine) {
      const byHash = await successEntries(db, targetName, [file.hash]);
      return (await matchIngested(target, mode, file, byHash.get(file.hash) ?? [], quarantine)) ?? whyNew(targetName, file);
    },
    async batch(targetName, mode) {
      let byHash = await successEntries(db, targetName);
      let attempts: Promise<Map<string, Attempt>> | undefined;
      const pending: RegistryEntry[] = [];
      let target: Promise<LoadedTable | undefined> | undefined;
      return {
        target(load) {
          return (target ??= load());
        },
        async decide(table, file, quarantine) {
          return (await matchIngested(table, mode, file, byHash.get(file.hash) ?? [], quarantine)) ?? newBecause((await (attempts ??= lastAttempts(targetName))).get(file.path), file.hash);
        },
        ingested(entry) {
          const list = byHash.get(entry.fileHash);
          if (list) list.unshift(entry);
          else byHash.set(entry.fileHash, [entry]);
          target = undefined;
        },
        async refresh() {
          byHash = await successEntries(db, targetName);
          attempts = undefined;
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
        description: "rat's ingest file registry, kept in the metadata DB and written by ingests only",
        refresh: async (duck: DuckDb) => {
          const entries = await registry.list();
          await duck.run(`CREATE SCHEMA IF NOT EXISTS ${REGISTRY_NAMESPACE}; CREATE OR REPLACE TABLE ${REGISTRY_NAMESPACE}.${REGISTRY_TABLE} (
            file_path VARCHAR, file_hash VARCHAR, file_size BIGINT, target_table VARCHAR, rows_ingested BIGINT, rows_rejected BIGINT,
            ingested_at TIMESTAMPTZ, status VARCHAR, error VARCHAR, snapshot_id BIGINT)`);
          await appendEntries(duck, entries);
        },
      };
    },
  };
  return registry;
}

/** A file's last attempt into a table (a skip aside), as the registry holds it. */
type Attempt = { status: string; file_hash: string };

/** Why a file that is not skipped counts as new, from its path's last attempt. */
function newBecause(previous: Attempt | undefined, hash: string): SkipDecision {
  if (!previous) return { skip: false, reason: 'new file' };
  if (previous.status === 'failed') return { skip: false, reason: 'retrying a failed file' };
  if (previous.file_hash !== hash) return { skip: false, reason: 'content changed' };
  return { skip: false, reason: 'its rows are no longer in the table' };
}

/**
 * The ids of earlier `skipped` rows of the files `entries` records as skipped again: same target, path
 * and content. A scheduled `--skip-existing` batch over a folder skips every file it loaded before, on
 * every run; one row per run and file would grow the registry by the folder's size each run (5,000
 * files every 5 minutes: 1.4 million rows a day), and every batch, `rat landing` and SQL read of the
 * registry reads them all. The latest skip replaces the earlier ones instead: its row keeps the file's
 * last check (`ingested_at`), which is what `rat landing` compares the file's modification time with.
 */
async function repeatedSkips(conn: MetadataDb | MetadataTransaction, entries: readonly RegistryEntry[]): Promise<string[]> {
  const skips = entries.filter((e) => e.status === 'skipped');
  if (skips.length === 0) return [];
  const fileKey = (target: string, path: string, hash: string) => JSON.stringify([target, path, hash]);
  const wanted = new Set(skips.map((e) => fileKey(e.targetTable, e.filePath, e.fileHash)));
  const hashesByTarget = new Map<string, Set<string>>();
  for (const e of skips) hashesByTarget.set(e.targetTable, (hashesByTarget.get(e.targetTable) ?? new Set()).add(e.fileHash));
  const ids: string[] = [];
  for (const [target, hashSet] of hashesByTarget) {
    const hashes = [...hashSet];
    for (let i = 0; i < hashes.length; i += ROWS_PER_INSERT) {
      const rows = await conn
        .selectFrom('rat_file_registry')
        .select(['id', 'file_path', 'file_hash'])
        .where('target_table', '=', target)
        .where('file_hash', 'in', hashes.slice(i, i + ROWS_PER_INSERT))
        .where('status', '=', 'skipped')
        .execute();
      for (const row of rows) if (wanted.has(fileKey(target, row.file_path, row.file_hash))) ids.push(row.id);
    }
  }
  return ids;
}

/**
 * The rows go through DuckDB's appender, never SQL text: a registry string holds whatever a file name
 * or an error message held (a NUL from an API's body once made every later query of the table fail to
 * parse), and the appender takes any string as a value.
 */
async function appendEntries(duck: DuckDb, entries: RegistryEntry[]): Promise<void> {
  const appender = await duck.connection.createAppender(REGISTRY_TABLE, REGISTRY_NAMESPACE);
  try {
    for (const e of entries) {
      appender.appendVarchar(e.filePath);
      appender.appendVarchar(e.fileHash);
      appender.appendBigInt(BigInt(e.fileSize));
      appender.appendVarchar(e.targetTable);
      appender.appendBigInt(BigInt(e.rowsIngested));
      appender.appendBigInt(BigInt(e.rowsRejected));
      appender.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(e.ingestedAt.getTime()) * 1000n));
      appender.appendVarchar(e.status);
      if (e.error === undefined) appender.appendNull();
      else appender.appendVarchar(e.error);
      if (e.snapshotId === undefined) appender.appendNull();
      else appender.appendBigInt(e.snapshotId);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Control characters (but tab and newline) and lone UTF-16 surrogates; the `u` flag makes \p{Cs} match only unpaired ones. */
const INVISIBLE = /(?![\t\n])[\p{Cc}\p{Cs}]/gu;

/**
 * An error text as the registry stores it: control characters and lone surrogates written as visible
 * `\u0000` escapes. Messages quote what a source sent (V8's JSON errors quote the bad bytes); a raw NUL
 * is refused by PostgreSQL text columns and unreadable in a terminal, and a lone surrogate has no UTF-8.
 */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Whether `target` holds a file's content already, from the success entries of that content (newest
 * first), by what "holds" means for the mode it is loaded in:
 * - append: an entry whose snapshot is in the current history, or that added no rows (every row
 *   rejected) and whose quarantine snapshot is in the quarantine table's current history, so on
 *   another branch, or once that branch is deleted, the file is new. Rows deleted since stay
 *   deleted: loading the file again would bring them back.
 * - overwrite: the newest ingest in the current history was an overwrite with this content, so the
 *   table's rows are that content (as later SQL edits left it). An older load of it was replaced.
 * - merge: an entry of the same path whose snapshot is in the current history. A file is merged once;
 *   the same content under another name is a new delivery (an export that went back to earlier
 *   values) and is merged again, since its rows are the newest state of their keys.
 */
async function matchIngested(target: LoadedTable | undefined, mode: IngestMode, file: { path: string; hash: string }, entries: RegistryEntry[], quarantine: Quarantine): Promise<Skip | undefined> {
  if (!target || entries.length === 0) return undefined;
  const match = mode === 'overwrite' ? lastOverwrite(target, file.hash, entries) : await liveEntry(target, mode === 'merge' ? entries.filter((e) => e.filePath === file.path) : entries, quarantine);
  if (!match) return undefined;
  const when = match.ingestedAt.toISOString();
  return { skip: true, match, reason: match.filePath === file.path ? `already ingested (same content) at ${when}` : `same content as ${match.filePath}, ingested at ${when}` };
}

/**
 * The newest entry whose rows the table still holds: its snapshot is in the current history; or it
 * added no rows, and its bad rows are in the quarantine's current history (an entry recorded before
 * rat kept the quarantine snapshot, or of a file without rows, counts while the table exists).
 */
async function liveEntry(target: LoadedTable, entries: RegistryEntry[], quarantine: Quarantine): Promise<RegistryEntry | undefined> {
  const history = ancestry(target);
  const loaded = entries.find((e) => e.snapshotId !== undefined && history.has(e.snapshotId.toString()));
  if (loaded) return loaded;
  const rowless = entries.filter((e) => e.snapshotId === undefined);
  if (rowless.length === 0) return undefined;
  const rejectedOnly = rowless.filter((e) => e.rejectsSnapshotId !== undefined);
  const quarantined = rejectedOnly.length > 0 ? await quarantine() : undefined;
  const held = quarantined ? ancestry(quarantined) : new Set<string>();
  return rowless.find((e) => e.rejectsSnapshotId === undefined || held.has(e.rejectsSnapshotId.toString()));
}

/** The entry of the overwrite the table's rows come from, when it loaded `hash`. */
function lastOverwrite(target: LoadedTable, hash: string, entries: RegistryEntry[]): RegistryEntry | undefined {
  // Snapshots of SQL statements and maintenance (deletes, compaction) are not loads: the newest ingest is.
  const latest = loadHistory(target.metadata).find((s) => s.summary[INGEST_FILE_KEY] !== undefined && s.summary[INGEST_REPLAY_KEY] === undefined);
  if (!latest || latest.summary[INGEST_MODE_KEY] !== 'overwrite' || latest.summary[INGEST_HASH_KEY] !== hash) return undefined;
  return entries.find((e) => e.snapshotId === latest.snapshotId);
}

const ancestries = new WeakMap<TableMetadata, Set<string>>();

/** Snapshot ids of the current snapshot's history, expired loads included: the rows the table holds now. */
function ancestry(table: LoadedTable): Set<string> {
  const cached = ancestries.get(table.metadata);
  if (cached) return cached;
  const ids = lineageIds(table.metadata);
  ancestries.set(table.metadata, ids);
  return ids;
}

function toRow(entry: RegistryEntry): Insertable<FileRegistryRow> {
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
    error: entry.error === undefined ? null : visibleText(entry.error),
    snapshot_id: entry.snapshotId?.toString() ?? null,
    replay: entry.replay ? 1 : 0,
    rejects_snapshot_id: entry.rejectsSnapshotId?.toString() ?? null,
  };
}

function fromRow(row: Selectable<FileRegistryRow>): RegistryEntry {
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
    ...(Number(row.replay) === 1 ? { replay: true as const } : {}),
    ...(row.rejects_snapshot_id !== null ? { rejectsSnapshotId: BigInt(row.rejects_snapshot_id) } : {}),
  };
}
