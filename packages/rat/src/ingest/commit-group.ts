import type { LoadedTable } from '../catalog/catalog.js';
import { describeError, isRatError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import type { DataFile } from '../iceberg/types.js';
import { type DeferredWrites, deferWrites } from '../storage/deferred-writes.js';
import type { BatchSkips, FileRegistry, RegistryEntry } from './file-registry.js';
import type { FileReport } from './ingest-file.js';

/** A file whose rows are written and wait in a group for its commit. */
export interface GroupedFile {
  display: string;
  hash: string;
  bytes: number;
  dataFiles: DataFile[];
  /** Where they were written, not synced yet: the group's commit syncs them. */
  writes: DeferredWrites;
  /** Its registry entry once the snapshot id is known (success) or the group failed (failed). */
  entry(outcome: { snapshotId: bigint } | { error: string }): RegistryEntry;
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

type Settlement = { snapshotId: bigint } | { status: 'failed'; error: string; errorCode: string };

interface Slot {
  file: GroupedFile;
  report?: FileReport;
  settled?: Settlement;
}

function settle(report: FileReport, settled: Settlement): void {
  if ('snapshotId' in settled) report.snapshotId = settled.snapshotId;
  else Object.assign(report, { status: 'failed', rowsIngested: 0, error: settled.error, errorCode: settled.errorCode });
}

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
      { writes: groupWrites, summary, alsoWrite: (snapshotId, trx) => registry.record(files.map((f) => f.entry({ snapshotId })), trx) },
    );
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
        const { table, snapshotId } = await commit(
          slots.map((s) => s.file),
          groupWrites,
          planned,
        );
        base = table;
        settleAll(slots, { snapshotId });
        for (const slot of slots) skips?.ingested(slot.file.entry({ snapshotId }));
        return table;
      } catch (error) {
        base = undefined;
        const message = describeError(error);
        settleAll(slots, { status: 'failed', error: message, errorCode: isRatError(error) ? error.code : 'INTERNAL' });
        // The failed commit recorded nothing: each file gets its failed row now (retried by the next batch).
        await registry.record(slots.map((s) => s.file.entry({ error: message }))).catch(() => undefined);
        return undefined;
      }
    },
  };
  return group;
}
