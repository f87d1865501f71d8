import type { LoadedTable } from '../catalog/catalog.js';
import { ConflictError, describeError, isRatError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import type { DataFile } from '../iceberg/types.js';
import { type DeferredWrites, deferWrites } from '../storage/deferred-writes.js';
import { AlreadyIngestedError, type BatchSkips, type FileRegistry, type RegistryEntry } from './file-registry.js';
import type { FileReport } from './ingest-file.js';

/** A file whose rows are written and wait in a group for its commit. */
export interface GroupedFile {
  display: string;
  hash: string;
  bytes: number;
  dataFiles: DataFile[];
  /** Where they were written, not synced yet: the group's commit syncs them. */
  writes: DeferredWrites;
  /** Its registry entry once the snapshot id is known (success), the group failed (failed), or another writer committed its content first (skipped). */
  entry(outcome: { snapshotId: bigint } | { error: string } | { skipped: string }): RegistryEntry;
  /**
   * Ingests the file again on its own, read and planned against the table as it is now (its registry
   * row and report are that ingest's): after another writer changed the table's schema under the group.
   */
  alone(): Promise<FileReport>;
}

/** Where the caller's report of a grouped file is, once it has made it (the group settles it at its commit). */
export interface GroupTicket {
  bind(report: FileReport): void;
}

/**
 * Commits of a batch of files into one table, several files at a time. A file that needs nothing
 * but an append (its table exists, its columns fit, no bad rows) has its data files written and
 * then waits here; the group commits the waiting files as one append snapshot whose commit also
 * inserts each file's registry row. Each file stays atomic (its rows and its registry row land
 * together or not at all), but a thousand small files cost a few catalog commits instead of a
 * thousand, and the table's history a few snapshots. A file that needs more (a new column, a
 * quarantine) commits on its own after `flush()`: files land in the order they came.
 */
export interface CommitGroup {
  /** The table the waiting files were planned against (after a flush: as the group committed it). */
  readonly base: LoadedTable | undefined;
  /** Whether a waiting file has this content (a later copy must see it committed before it can be skipped). */
  holds(hash: string): boolean;
  /** Adds a file planned against `table` (which must be `base` when files are waiting); commits the group when it is full. */
  add(table: LoadedTable, file: GroupedFile): Promise<GroupTicket>;
  /** Commits the waiting files; returns the table as committed, or undefined when nothing was waiting or the commit failed. */
  flush(): Promise<LoadedTable | undefined>;
  /** Another commit moved the table (a file that went alone, after a flush): the next file reads it afresh. */
  forget(): void;
}

export interface CommitGroupOptions {
  /** Files per commit (default 200). */
  maxFiles?: number;
  /** Source bytes per commit (default 256 MiB): a crash loses at most this much work. */
  maxBytes?: number;
}

type Settlement = { snapshotId: bigint } | { status: 'failed'; error: string; errorCode: string } | { status: 'skipped'; reason: string } | { alone: FileReport };

interface Slot {
  file: GroupedFile;
  report?: FileReport;
  settled?: Settlement;
}

function settle(report: FileReport, settled: Settlement): void {
  if ('snapshotId' in settled) report.snapshotId = settled.snapshotId;
  else if ('alone' in settled) Object.assign(report, settled.alone);
  else if (settled.status === 'skipped') Object.assign(report, { status: 'skipped', rowsIngested: 0, reason: settled.reason });
  else Object.assign(report, { status: 'failed', rowsIngested: 0, error: settled.error, errorCode: settled.errorCode });
}

/**
 * With `skips` (skip-existing) each commit checks the registry again inside its transaction: a file
 * another writer committed meanwhile is dropped from the commit and reported skipped.
 */
export function createCommitGroup(rat: Lakehouse, registry: FileRegistry, skips: BatchSkips | undefined, options: CommitGroupOptions = {}): CommitGroup {
  const maxFiles = options.maxFiles ?? 200;
  const maxBytes = options.maxBytes ?? 256 * 2 ** 20;
  let writes = deferWrites(rat.store);
  let base: LoadedTable | undefined;
  let waiting: Slot[] = [];
  let bytes = 0;

  async function commit(files: GroupedFile[], groupWrites: DeferredWrites, planned: LoadedTable): Promise<{ table: LoadedTable; snapshotId: bigint }> {
    // Each file's data files become durable with the commit that references them, in one sync.
    for (const file of files) groupWrites.absorb(file.writes);
    const summary = { 'rat.ingest.files': String(files.length), 'rat.ingest.file': files[0]!.display, 'rat.ingest.last-file': files.at(-1)!.display, 'rat.ingest.rows-rejected': '0' };
    return rat.executor.writer.appendFiles(
      planned,
      files.flatMap((f) => f.dataFiles),
      {
        writes: groupWrites,
        summary,
        alsoWrite: (snapshotId, trx, table) => {
          const entries = files.map((f) => f.entry({ snapshotId }));
          return skips ? registry.recordUnlessIngested(entries, trx, { table, mode: 'append' }) : registry.record(entries, trx);
        },
      },
    );
  }

  /**
   * Commits the slots; those another writer committed first (found inside the commit's transaction,
   * which then rolled back) are settled skipped and left out of the next try. Undefined: every slot was skipped.
   */
  async function commitFresh(slots: Slot[], groupWrites: DeferredWrites, planned: LoadedTable): Promise<{ table: LoadedTable; snapshotId: bigint; slots: Slot[] } | undefined> {
    for (let rest = slots; rest.length > 0; ) {
      try {
        return { ...(await commit(rest.map((s) => s.file), groupWrites, planned)), slots: rest };
      } catch (error) {
        if (!(error instanceof AlreadyIngestedError)) throw error;
        const duplicates = new Map(error.duplicates.map((d) => [d.entry.fileHash, d.decision.reason]));
        const skipped = rest.filter((s) => duplicates.has(s.file.hash));
        for (const slot of skipped) {
          const reason = duplicates.get(slot.file.hash)!;
          settleAll([slot], { status: 'skipped', reason });
          const entry = slot.file.entry({ skipped: reason });
          if (skips) skips.skipped(entry);
          else await registry.record(entry);
        }
        await skips?.refresh();
        rest = rest.filter((s) => !duplicates.has(s.file.hash));
      }
    }
    return undefined;
  }

  function settleAll(slots: Slot[], settled: Settlement): void {
    for (const slot of slots) {
      slot.settled = settled;
      if (slot.report) settle(slot.report, settled);
    }
  }

  const group: CommitGroup = {
    get base() {
      return base;
    },
    holds(hash) {
      return waiting.some((w) => w.file.hash === hash);
    },
    async add(table, file) {
      let committed: LoadedTable | undefined;
      if (waiting.length > 0 && table.metadataLocation !== base?.metadataLocation) committed = await group.flush();
      // Right after the group's own commit its table is newer than the one the file was planned
      // against, with the same schema (a group only appends): build on it.
      if (waiting.length === 0) base = committed ?? table;
      const slot: Slot = { file };
      waiting.push(slot);
      bytes += file.bytes;
      if (waiting.length >= maxFiles || bytes >= maxBytes) await group.flush();
      return {
        bind(report) {
          slot.report = report;
          if (slot.settled) settle(report, slot.settled);
        },
      };
    },
    forget() {
      if (waiting.length === 0) base = undefined;
    },
    async flush() {
      if (waiting.length === 0) return undefined;
      const slots = waiting;
      const groupWrites = writes;
      const planned = base!;
      waiting = [];
      bytes = 0;
      writes = deferWrites(rat.store);
      try {
        const committed = await commitFresh(slots, groupWrites, planned);
        if (!committed) {
          base = undefined;
          return undefined;
        }
        const { table, snapshotId } = committed;
        base = table;
        settleAll(committed.slots, { snapshotId });
        for (const slot of committed.slots) skips?.ingested(slot.file.entry({ snapshotId }));
        return table;
      } catch (error) {
        base = undefined;
        const failed = slots.filter((s) => !s.settled);
        if (error instanceof ConflictError) {
          // Another writer changed the schema (or re-created the table) after these files were planned:
          // each is read and planned again against the table as it is now, on its own, as a file that
          // is not grouped is on a conflict; with skip-existing, one the other writer loaded is skipped.
          // The data files written for the group stay unreferenced.
          await skips?.refresh();
          for (const slot of failed) settleAll([slot], { alone: await slot.file.alone() });
          return undefined;
        }
        const message = describeError(error);
        settleAll(failed, { status: 'failed', error: message, errorCode: isRatError(error) ? error.code : 'INTERNAL' });
        // The failed commit recorded nothing: each file gets its failed row now (retried by the next batch).
        await registry.record(failed.map((s) => s.file.entry({ error: message }))).catch(() => undefined);
        return undefined;
      }
    },
  };
  return group;
}
