import { join } from 'node:path';
import { parseTableIdent, formatIdent } from '../catalog/identifiers.js';
import { ConflictError, describeError, isRatError, ValidationError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { pruneObjectCache } from '../storage/object-cache.js';
import { compactTable, type CompactionOptions } from './compaction.js';
import { DEFAULT_RETAIN_LAST, DEFAULT_RETAIN_MS, expireSnapshots, snapshotsHeldByRefs } from './expire-snapshots.js';
import { DEFAULT_GRACE_MS, removeOrphanFiles } from './orphan-files.js';
import { branchTables } from './table-scope.js';

export interface MaintainOptions {
  /** Tables to maintain (`ns.t`); default every table on every branch. */
  tables?: readonly string[];
  /** Expire snapshots older than this (default 7 days). */
  retainMs?: number;
  /** Keep at least this many newest snapshots per table and branch (default 1). */
  retainLast?: number;
  /** Unreferenced files younger than this are kept (default 1 hour). */
  graceMs?: number;
  /** Compaction thresholds; `false` skips compaction. */
  compaction?: CompactionOptions | false;
  /** Skip snapshot expiry. */
  expire?: boolean;
  /** Skip orphan removal. */
  orphans?: boolean;
  /** Report what would happen; change and delete nothing. */
  dryRun?: boolean;
  nowMs?: number;
}

/** What maintenance did to one table on one branch. */
export interface BranchTableReport {
  branch: string;
  table: string;
  expiredSnapshots: number;
  filesCompacted: number;
  /** Files compaction wrote (null on a dry run: not known before writing). */
  newFiles: number | null;
  /** Why a step was skipped, e.g. `compaction: COMMIT_CONFLICT (the table changed meanwhile)`. */
  skipped: string[];
}

export interface MaintainReport {
  dryRun: boolean;
  tables: BranchTableReport[];
  orphans: {
    filesRemoved: number;
    bytesRemoved: number;
    /** Unreferenced files kept because they are younger than the grace period. */
    keptInGrace: number;
    /** Removed files and bytes per table folder (`ns.t`, dropped tables included). */
    byTable: Record<string, { files: number; bytes: number }>;
    stagingDirsRemoved: number;
    stagingBytesRemoved: number;
    /** Local copies of S3 objects (`RAT_HOME/cache`) not used within the grace period. */
    cacheFilesRemoved: number;
    cacheBytesRemoved: number;
  } | null;
}

/** A duration like `7d`, `12h`, `30m`, `45s`, `0` (milliseconds) for --retain and --grace. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match) throw new ValidationError('INVALID_ARGUMENT', `${option} "${text}" is not a duration: use e.g. 7d, 12h, 30m, 45s or 0`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(match[2] ?? 'ms') as 'ms'];
  return Math.round(Number(match[1]) * unit);
}

/**
 * Maintenance over every branch: compaction, then snapshot expiry, then orphan removal (last, so it
 * deletes what the first two made unreachable). Safe next to active writers: expiry re-applies on a
 * conflict, compaction gives up on a table that changed (reported as skipped), and the grace period
 * keeps files a writer has not committed yet.
 */
export async function maintain(rat: Lakehouse, options: MaintainOptions = {}): Promise<MaintainReport> {
  const dryRun = options.dryRun ?? false;
  const nowMs = options.nowMs ?? Date.now();
  const only = options.tables?.map((t) => formatIdent(parseTableIdent(t)));
  const catalog = rat.catalog;
  const targets = await branchTables(catalog, only);
  if (only && only.length > 0) {
    for (const name of only) if (!targets.some((t) => formatIdent(t.ident) === name)) await catalog.loadTable(parseTableIdent(name));
  }
  const reports: BranchTableReport[] = targets.map((t) => ({ branch: t.branch, table: formatIdent(t.ident), expiredSnapshots: 0, filesCompacted: 0, newFiles: dryRun ? null : 0, skipped: [] }));

  if (options.compaction !== false) {
    for (const [i, target] of targets.entries()) {
      try {
        const result = await compactTable(catalog, rat.duck, rat.executor.reader, target.branch, target.ident, { ...(options.compaction ?? {}), dryRun });
        reports[i]!.filesCompacted = result.filesCompacted;
        if (result.newFiles !== undefined) reports[i]!.newFiles = result.newFiles;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        reports[i]!.skipped.push(`compaction: ${error.code} (the table changed while it was compacted; run maintain again)`);
      }
    }
  }

  if (options.expire !== false) {
    const held = await snapshotsHeldByRefs(catalog);
    for (const [i, target] of targets.entries()) {
      try {
        const result = await expireSnapshots(catalog, target.branch, target.ident, held.get(formatIdent(target.ident)) ?? new Set(), {
          retainMs: options.retainMs ?? DEFAULT_RETAIN_MS,
          retainLast: options.retainLast ?? DEFAULT_RETAIN_LAST,
          nowMs,
          dryRun,
        });
        reports[i]!.expiredSnapshots = result.expiredSnapshotIds.length;
      } catch (error) {
        // Dropped meanwhile, or still conflicting after every retry: nothing of it was changed.
        if (!isRatError(error) || (error.code !== 'COMMIT_CONFLICT' && error.code !== 'CATALOG_TABLE_NOT_FOUND')) throw error;
        reports[i]!.skipped.push(`expire: ${error.code} (${describeError(error)})`);
      }
    }
  }

  let orphans: MaintainReport['orphans'] = null;
  if (options.orphans !== false) {
    const result = await removeOrphanFiles(catalog, {
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      // Grace counts from now, not from a caller's clock: a file written a moment ago must survive.
      nowMs: Date.now(),
      dryRun,
      ...(only && only.length > 0 ? { tables: only } : {}),
      stagingRoot: join(rat.home, 'staging'),
    });
    // The cache is not per table: it is pruned when every table is maintained, like staging leftovers.
    const cache = only && only.length > 0 ? { files: 0, bytes: 0 } : await pruneObjectCache(join(rat.home, 'cache'), Date.now() - (options.graceMs ?? DEFAULT_GRACE_MS), dryRun);
    const byTable: Record<string, { files: number; bytes: number }> = {};
    for (const file of result.removed) {
      const entry = (byTable[file.table ?? '(other)'] ??= { files: 0, bytes: 0 });
      entry.files += 1;
      entry.bytes += file.size;
    }
    orphans = {
      filesRemoved: result.removed.length,
      bytesRemoved: result.removed.reduce((n, f) => n + f.size, 0),
      keptInGrace: result.keptInGrace,
      byTable,
      stagingDirsRemoved: result.stagingDirsRemoved,
      stagingBytesRemoved: result.stagingBytesRemoved,
      cacheFilesRemoved: cache.files,
      cacheBytesRemoved: cache.bytes,
    };
  }
  return { dryRun, tables: reports, orphans };
}
