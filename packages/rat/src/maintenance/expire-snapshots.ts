import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { ConflictError } from '../core/errors.js';
import { nextMetadata } from '../iceberg/snapshot-producer.js';
import { rememberExpiredLoads } from '../iceberg/snapshot-lineage.js';
import type { TableMetadata } from '../iceberg/types.js';
import { tablesOfAllRefs } from './table-scope.js';

export const DEFAULT_RETAIN_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_RETAIN_LAST = 1;
const MAX_ATTEMPTS = 20;

export interface ExpireOptions {
  /** Snapshots younger than this stay (default 7 days). */
  retainMs?: number;
  /** The newest N snapshots stay whatever their age (default 1). */
  retainLast?: number;
  nowMs?: number;
  dryRun?: boolean;
}

export interface ExpireResult {
  branch: string;
  table: string;
  expiredSnapshotIds: bigint[];
  /** The metadata file committed (absent on a dry run or when nothing expired). */
  metadataLocation?: string;
}

/**
 * Snapshot ids of `table` that something outside this branch's history still needs: the current
 * snapshot and every Iceberg ref (spec "Snapshot References") of the table's metadata on every
 * catalog branch and tag.
 */
export async function snapshotsHeldByRefs(catalog: Catalog): Promise<Map<string, Set<bigint>>> {
  const held = new Map<string, Set<bigint>>();
  for (const { table } of await tablesOfAllRefs(catalog)) {
    const key = formatIdent(table.ident);
    const ids = held.get(key) ?? new Set<bigint>();
    held.set(key, ids);
    addHeld(table.metadata, ids);
  }
  return held;
}

function addHeld(metadata: TableMetadata, ids: Set<bigint>): void {
  if (metadata.currentSnapshotId !== undefined) ids.add(metadata.currentSnapshotId);
  for (const ref of Object.values(metadata.refs)) ids.add(ref.snapshotId);
}

/** The snapshots of `metadata` that may go: older than the retention, not held, not among the newest `retainLast`. */
export function expirableSnapshots(metadata: TableMetadata, held: ReadonlySet<bigint>, options: Required<Pick<ExpireOptions, 'retainMs' | 'retainLast' | 'nowMs'>>): bigint[] {
  const keep = new Set(held);
  addHeld(metadata, keep);
  const newestFirst = [...metadata.snapshots].sort((a, b) => b.timestampMs - a.timestampMs || b.sequenceNumber - a.sequenceNumber);
  for (const s of newestFirst.slice(0, Math.max(0, options.retainLast))) keep.add(s.snapshotId);
  const cutoff = options.nowMs - options.retainMs;
  return metadata.snapshots.filter((s) => !keep.has(s.snapshotId) && s.timestampMs < cutoff).map((s) => s.snapshotId);
}

/**
 * The metadata without the expired snapshots and their snapshot-log entries; a new version on top of `base`.
 * The loads among them that were in the current history are remembered (snapshot-lineage.ts): their rows are still there.
 */
export function withoutSnapshots(base: LoadedTable, expired: ReadonlySet<bigint>, nowMs: number): TableMetadata {
  const next = nextMetadata(base.metadata, base.metadataLocation, nowMs);
  return rememberExpiredLoads(base.metadata, {
    ...next,
    snapshots: next.snapshots.filter((s) => !expired.has(s.snapshotId)),
    snapshotLog: next.snapshotLog.filter((e) => !expired.has(e.snapshotId)),
    refs: Object.fromEntries(Object.entries(next.refs).filter(([, ref]) => !expired.has(ref.snapshotId))),
  }, expired);
}

/**
 * Expires old snapshots of one table on one branch as a metadata-only commit. Files are not
 * deleted here: orphan removal deletes what no ref reaches any more. A concurrent commit to the table
 * makes the expiry re-run on the new version (snapshots held by refs are read once per run).
 */
export async function expireSnapshots(catalog: Catalog, branch: string, ident: TableIdent, held: ReadonlySet<bigint>, options: ExpireOptions = {}): Promise<ExpireResult> {
  const settings = { retainMs: options.retainMs ?? DEFAULT_RETAIN_MS, retainLast: options.retainLast ?? DEFAULT_RETAIN_LAST, nowMs: options.nowMs ?? Date.now() };
  const onBranch = catalog.withRef(branch);
  const result: ExpireResult = { branch, table: formatIdent(ident), expiredSnapshotIds: [] };
  for (let attempt = 1; ; attempt++) {
    const base = await onBranch.loadTable(ident);
    const expired = expirableSnapshots(base.metadata, held, settings);
    result.expiredSnapshotIds = expired;
    if (expired.length === 0 || options.dryRun) return result;
    try {
      const committed = await onBranch.commitTable(base, withoutSnapshots(base, new Set(expired), Date.now()));
      return { ...result, metadataLocation: committed.metadataLocation };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      // Another writer committed first: back off a little so a busy appender cannot starve the expiry.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * attempt)));
    }
  }
}
