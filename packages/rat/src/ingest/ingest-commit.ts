import type { LoadedTable, TableCommit } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import type { MetadataTransaction } from '../catalog/metadata-db.js';
import { RatError, ValidationError } from '../core/errors.js';
import { quoteIdent } from '../engine/duckdb.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { duckDbTypeOf } from '../engine/type-mapping.js';
import { currentSchema } from '../iceberg/metadata.js';
import { applySchemaChange, type SchemaChange } from '../iceberg/schema-update.js';
import type { ScanTask } from '../iceberg/scan-planner.js';
import { produceSnapshot, type SnapshotChange } from '../iceberg/snapshot-producer.js';
import type { DataFile, ManifestFile, TableMetadata } from '../iceberg/types.js';
import { type DeferredWrites, deferWrites } from '../storage/deferred-writes.js';
import { type FileRegistry, INGEST_FILE_KEY, type RegistryEntry } from './file-registry.js';
import type { IngestMode } from './ingest-options.js';
import { newRejectsMetadata } from './quarantine.js';
import { cursorKey, cursorSources, readCursor, sameCursor, type SourceCursor, storedCursor, storedReset } from './source-cursor.js';

/** Everything one file (or one replay) changes, committed at once. */
export interface IngestCommit {
  ident: TableIdent;
  /** The target as the plan was made against it; absent when the ingest creates it (`create`). */
  base?: LoadedTable;
  create?: TableMetadata;
  changes: SchemaChange[];
  /** Rows to add (exactly the evolved table's columns); absent when there are none. */
  rowsSql?: string;
  /** Or the rows already written as data files of the evolved table (append and overwrite only). */
  dataFiles?: DataFile[];
  mode: IngestMode;
  keys: string[];
  summary: Record<string, string>;
  rejects?: {
    ident: TableIdent;
    /** Quarantine rows to add. */
    rowsSql?: string;
    /**
     * Replace every row of this version of the quarantine table, the one a replay read (it adds back
     * the rows that stay): committed only while it is still the current one, so rows another writer
     * added or replayed since are never dropped nor loaded twice.
     */
    replaces?: LoadedTable;
  };
  /** The registry entry (one per file: several when files were read together), completed with the snapshot ids (the target's, the quarantine's) once they are known. */
  entry: (snapshotId: bigint | undefined, rejectsSnapshotId?: bigint) => RegistryEntry | RegistryEntry[];
  registry: FileRegistry;
  /**
   * skip-existing: inside the commit, a file another writer committed since it was decided to load
   * fails the commit with AlreadyIngestedError (FileRegistry.recordUnlessIngested) instead of landing twice.
   */
  skipExisting?: boolean;
  /** Wraps the long write steps (progress reporting). */
  writing<T>(work: () => Promise<T>): Promise<T>;
  /** Where `dataFiles` were written, if so; every file of the commit goes there and is synced just before it. */
  writes?: DeferredWrites;
  /**
   * An incremental source's new cursor, stored with the rows (source-cursor.ts). `expected` is the
   * cursor the run started from: if another run of the source moved it meanwhile, nothing is committed.
   */
  cursor?: { source: string; value: SourceCursor; expected: SourceCursor | undefined };
}

export interface IngestCommitResult {
  snapshotId?: bigint;
  table?: LoadedTable;
}

/**
 * The atomic unit of ingestion. Data files (target rows, quarantine rows) are written first; then
 * one catalog transaction moves the target's pointer (schema changes + snapshot in one new metadata
 * version), the quarantine table's pointer, and inserts the file's registry row. Either all three
 * are visible afterwards or none (a crash or a conflict leaves only unreferenced files behind), so a
 * file is never half-ingested, never ingested without its registry row, and never recorded without
 * its rows. A ConflictError means another writer moved a table first: the caller plans again.
 */
export async function commitIngest(rat: Lakehouse, commit: IngestCommit): Promise<IngestCommitResult> {
  const { base } = commit;
  const name = formatIdent(commit.ident);
  const writes = commit.writes ?? deferWrites(rat.store);
  const commits: TableCommit[] = [];
  let snapshotId: bigint | undefined;
  let rejectsSnapshotId: bigint | undefined;
  let rejectsBase: LoadedTable | undefined;
  if (commit.cursor) checkCursor(name, base, commit.cursor);
  let metadata: TableMetadata | undefined = base ? commit.changes.reduce((m, change) => applySchemaChange(m, name, change), base.metadata) : commit.create;
  if (metadata) {
    const draft: LoadedTable = { ident: commit.ident, metadataLocation: base?.metadataLocation ?? '', metadata, pathMap: base?.pathMap ?? [] };
    const change = await commit.writing(() => dataChange(rat, draft, base, commit, writes));
    if (commit.cursor) change.summary = { ...change.summary, [cursorKey(commit.cursor.source)]: storedCursor(commit.cursor.value, undefined) };
    // An overwrite by another source (a file, another table or API) removes the rows the cursors of
    // the table's sources stood for: those start over. The writer's own stays (a full reload of it).
    const ended = base && commit.mode === 'overwrite' ? cursorSources(base.metadata).filter((source) => source !== commit.summary[INGEST_FILE_KEY] && source !== commit.cursor?.source) : [];
    for (const source of ended) change.summary = { ...change.summary, [cursorKey(source)]: storedReset(undefined) };
    if (change.addedDataFiles.length > 0 || (change.removedFiles?.size ?? 0) > 0) {
      metadata = await produceSnapshot(metadata, change, produceContext(rat, draft, writes));
      snapshotId = metadata.currentSnapshotId;
    }
    if (commit.cursor) metadata = { ...metadata, properties: { ...metadata.properties, [cursorKey(commit.cursor.source)]: storedCursor(commit.cursor.value, snapshotId) } };
    for (const source of ended) metadata = { ...metadata, properties: { ...metadata.properties, [cursorKey(source)]: storedReset(snapshotId) } };
    if (!base || metadata !== base.metadata) commits.push({ ident: commit.ident, ...(base ? { base } : {}), next: metadata });
  }
  if (commit.rejects) {
    const rejects = commit.rejects;
    rejectsBase = rejects.replaces ?? ((await rat.catalog.tableExists(rejects.ident)) ? await rat.catalog.loadTable(rejects.ident) : undefined);
    const rejectsMetadata = rejectsBase?.metadata ?? newRejectsMetadata(rat.store.uri(`warehouse/${rejects.ident.namespace}/${rejects.ident.name}`));
    const draft: LoadedTable = { ident: rejects.ident, metadataLocation: rejectsBase?.metadataLocation ?? '', metadata: rejectsMetadata, pathMap: rejectsBase?.pathMap ?? [] };
    const added = rejects.rowsSql ? await commit.writing(() => rat.executor.writer.writeFiles(draft, rejects.rowsSql!, writes)) : [];
    const removed = rejects.replaces ? await liveFiles(rat, rejects.replaces) : new Set<string>();
    if (added.length > 0 || removed.size > 0) {
      const next = await produceSnapshot(rejectsMetadata, { operation: removed.size > 0 ? 'overwrite' : 'append', addedDataFiles: added, removedFiles: removed, summary: commit.summary }, produceContext(rat, draft, writes));
      if (rejects.rowsSql) rejectsSnapshotId = next.currentSnapshotId;
      commits.push({ ident: rejects.ident, ...(rejectsBase ? { base: rejectsBase } : {}), next });
    }
  }
  const record = (trx: MetadataTransaction) =>
    commit.skipExisting
      ? commit.registry.recordUnlessIngested(commit.entry(snapshotId, rejectsSnapshotId), trx, { table: base, rejects: rejectsBase, mode: commit.mode })
      : commit.registry.record(commit.entry(snapshotId, rejectsSnapshotId), trx);
  const [table] = await rat.catalog.commitTables(commits, { alsoWrite: record, writes });
  return { ...(snapshotId !== undefined ? { snapshotId } : {}), ...(table && table.ident.name === commit.ident.name ? { table } : {}) };
}

/** Refuses to commit when another run of the same source moved its cursor since this run read it. */
function checkCursor(table: string, base: LoadedTable | undefined, cursor: NonNullable<IngestCommit['cursor']>): void {
  const now = readCursor(base, cursor.source);
  if (sameCursor(now, cursor.expected)) return;
  throw new RatError(
    'COMMIT_CONFLICT',
    `${cursor.source}: another run loaded into ${table} while this one ran (its cursor ${cursor.expected ? `${cursor.expected.field} = ${cursor.expected.value}` : '(none)'} is now ${now ? `${now.field} = ${now.value}` : '(none)'}); nothing was committed; run the source again to load what is new since then`,
  );
}

/** The snapshot change of one ingest: new files, and for overwrite and merge the files they replace. */
async function dataChange(rat: Lakehouse, draft: LoadedTable, base: LoadedTable | undefined, commit: IngestCommit, writes: DeferredWrites): Promise<SnapshotChange> {
  const { writer, reader } = rat.executor;
  const summary = commit.summary;
  const { dataFiles, rowsSql } = commit;
  const written = () => dataFiles ?? writer.writeFiles(draft, rowsSql!, writes);
  if (!rowsSql && !dataFiles) {
    // An overwrite with no rows (a parser's empty period, an emptied source table) leaves the table empty, as it says; appending nothing changes nothing.
    if (commit.mode === 'overwrite' && base && base.metadata.currentSnapshotId !== undefined) return { operation: 'overwrite', addedDataFiles: [], removedFiles: await liveFiles(rat, base), summary };
    return { operation: 'append', addedDataFiles: [], summary };
  }
  if (commit.mode === 'append' || !base || base.metadata.currentSnapshotId === undefined) {
    return { operation: 'append', addedDataFiles: await written(), summary };
  }
  if (commit.mode === 'overwrite') {
    const removedFiles = await liveFiles(rat, base);
    return { operation: 'overwrite', addedDataFiles: await written(), removedFiles, summary };
  }
  if (!rowsSql) throw new ValidationError('INVALID_ARGUMENT', `${formatIdent(commit.ident)}: a merge needs the rows as SQL, not written files`);
  // merge: files holding a row whose key comes again are rewritten without those rows (copy-on-write).
  const keys = commit.keys.map((k) => quoteIdent(k.toLowerCase())).join(', ');
  const incoming = `__rat_merge_keys_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  const duck = rat.duck;
  await duck.run(`CREATE TEMP TABLE ${incoming} AS SELECT DISTINCT ${keys} FROM (${rowsSql})`);
  try {
    const { scan } = await reader.plan(base);
    const evolved = currentSchema(draft.metadata);
    const baseSchema = currentSchema(base.metadata);
    const projection = evolved.fields
      .map((f) => {
        const old = baseSchema.fields.find((b) => b.id === f.id);
        return `CAST(${old ? `t.${quoteIdent(old.name)}` : 'NULL'} AS ${duckDbTypeOf(f.type)}) AS ${quoteIdent(f.name)}`;
      })
      .join(', ');
    const removedFiles = new Set<string>();
    const kept: string[] = [];
    for (const task of scan.tasks) {
      const taskSql = await reader.sqlFor(base, { ...scan, tasks: [task] });
      const hit = await duck.rows(`SELECT 1 FROM (${taskSql}) t SEMI JOIN ${incoming} USING (${keys}) LIMIT 1`);
      if (hit.length === 0) continue;
      removedFiles.add(task.dataFile.filePath);
      kept.push(`SELECT ${projection} FROM (${taskSql}) t ANTI JOIN ${incoming} USING (${keys})`);
    }
    for (const path of deletesOnlyFor(scan.tasks, removedFiles)) removedFiles.add(path);
    const allRowsSql = [rowsSql, ...kept].map((q) => `(${q})`).join(' UNION ALL ');
    const added: DataFile[] = await writer.writeFiles(draft, allRowsSql, writes);
    return { operation: removedFiles.size > 0 ? 'overwrite' : 'append', addedDataFiles: added, removedFiles, summary };
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${incoming}`);
  }
}

/**
 * The delete files that apply to no data file but the rewritten ones, which the commit may drop with
 * them. A delete file applies to many data files (an unpartitioned equality delete to every older
 * one, a Spark position delete file to several): dropped while one of those stays, it would bring
 * that file's deleted rows back. Delete files left behind never touch the rewritten rows: those are
 * in new files, with a higher sequence number and a new path.
 */
function deletesOnlyFor(tasks: ScanTask[], rewritten: Set<string>): Set<string> {
  const only = new Set<string>();
  const kept = new Set<string>();
  for (const task of tasks) {
    const into = rewritten.has(task.dataFile.filePath) ? only : kept;
    for (const d of task.positionDeletes) into.add(d.filePath);
    for (const d of task.equalityDeletes) into.add(d.file.filePath);
  }
  for (const path of kept) only.delete(path);
  return only;
}

async function liveFiles(rat: Lakehouse, table: LoadedTable): Promise<Set<string>> {
  const files = new Set<string>();
  if (table.metadata.currentSnapshotId === undefined) return files;
  const { scan } = await rat.executor.reader.plan(table);
  for (const task of scan.tasks) {
    files.add(task.dataFile.filePath);
    for (const d of task.positionDeletes) files.add(d.filePath);
    for (const d of task.equalityDeletes) files.add(d.file.filePath);
  }
  return files;
}

function produceContext(rat: Lakehouse, draft: LoadedTable, writes: DeferredWrites) {
  const cache = rat.executor.reader.manifestCache(draft.pathMap);
  return {
    store: writes.store,
    locationKey: rat.store.keyOf(rat.catalog.writeLocation(draft))!,
    baseMetadataLocation: draft.metadataLocation,
    loadManifestList: (location: string) => cache.manifestList(location),
    loadManifest: (location: string) => cache.manifest(location),
    rememberManifestList: (location: string, manifests: ManifestFile[]) => cache.rememberManifestList(location, manifests),
  };
}
