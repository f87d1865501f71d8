import type { LoadedTable } from '../catalog/catalog.js';
import { RatError } from '../core/errors.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { applySchemaChange } from '../iceberg/schema-update.js';
import type { DataFile } from '../iceberg/types.js';
import type { DeferredWrites } from '../storage/deferred-writes.js';
import type { ResolvedIngestOptions } from './ingest-options.js';
import type { ConformPlan } from './schema-plan.js';
import type { StagedFile } from './staged-file.js';

/** DuckDB errors of reading a CSV file (rather than of writing Parquet). */
const READ_ERROR = /CSV|unicode|encoding|gzip|zstd|decompress|line:? \d/i;

/** The target's data files, written and uploaded but not committed yet, and how many rows they hold. */
export interface StreamedRows {
  dataFiles: DataFile[];
  rows: number;
}

export interface StreamedWriteInput {
  rat: Lakehouse;
  ident: TableIdent;
  /** The target as the plan was made against it (absent when the ingest creates it). */
  table?: LoadedTable;
  plan: ConformPlan;
  staged: StagedFile;
  options: ResolvedIngestOptions;
  /** Whether the rows may be read once only: not for merge (it reads them twice) or a replay (its lines are mapped). */
  streamable: boolean;
  /** Wraps the one statement that reads the file and writes the rows (progress reporting). */
  reading<T>(work: () => Promise<T>): Promise<T>;
  /** Where the data files go: durable when the commit given the same `writes` syncs them. */
  writes: DeferredWrites;
}

/**
 * For a file staged lazily (a CSV whose rows are not read yet): reads it once, straight from
 * read_csv into the table's Parquet files, the way DuckDB's own `COPY (FROM read_csv(...)) TO` does,
 * instead of holding every row in a temp table, counting it, and writing it from there. The rows are
 * counted from the written files' footers; the rejects of that same read are collected afterwards.
 *
 * Returns undefined when the rows are in a temp table instead (the plan needs them more than once:
 * merge, a replay, values to convert; a line was too long for the first read, or the read stopped at
 * a value that needs the quarantine): then the caller
 * goes on as for any staged file. With `--on-error fail` and bad rows, the written files are removed
 * and none are returned; `staged.rejected` says why, and the caller refuses the file.
 */
export async function writeStreamed(input: StreamedWriteInput): Promise<StreamedRows | undefined> {
  const { rat, staged, plan, table } = input;
  const lazy = staged.lazy;
  if (!lazy) return undefined;
  if (!input.streamable || plan.badRowsSql !== undefined || staged.columns.length === 0) {
    await lazy.materialize();
    return undefined;
  }
  // The table as commitIngest will evolve it, so the files carry the field ids it will commit.
  const metadata = table ? plan.changes.reduce((m, change) => applySchemaChange(m, formatIdent(input.ident), change), table.metadata) : plan.create!;
  const draft: LoadedTable = { ident: input.ident, metadataLocation: table?.metadataLocation ?? '', metadata, pathMap: table?.pathMap ?? [] };
  let dataFiles: DataFile[];
  await lazy.beforeRead();
  try {
    dataFiles = await input.reading(() => rat.executor.writer.writeFiles(draft, plan.rowsSql, input.writes));
  } catch (error) {
    // A value that needs the quarantine: nothing was uploaded (a failed COPY or refused write leaves no file), the rows go through a temp table.
    const infinite = error instanceof RatError && error.code === 'VALUE_NOT_STORABLE';
    if (infinite) staged.infiniteTemporal = true;
    if (infinite || lazy.stoppedAtValue?.(error)) {
      await lazy.materialize();
      return undefined;
    }
    // The write is also the read of the file: a failure to read it is about the file, as when staging it.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && READ_ERROR.test(cause.message)) throw lazy.fileError(cause);
    throw error;
  }
  const rows = dataFiles.reduce((n, f) => n + f.recordCount, 0);
  let rejected: number | undefined;
  try {
    rejected = await lazy.collectRejects(rows);
  } catch (error) {
    await discard(rat, input.writes, dataFiles);
    throw error;
  }
  if (rejected === undefined) {
    await discard(rat, input.writes, dataFiles);
    await lazy.materialize();
    return undefined;
  }
  if (rejected > 0 && input.options.onError === 'fail') {
    await discard(rat, input.writes, dataFiles);
    return { dataFiles: [], rows: 0 };
  }
  return { dataFiles, rows };
}

/** Removes uploaded data files that will not be committed (nothing references them yet), and from the files the commit syncs. */
async function discard(rat: Lakehouse, writes: DeferredWrites, files: readonly DataFile[]): Promise<void> {
  for (const file of files) {
    const key = rat.store.keyOf(file.filePath);
    if (key !== undefined) await writes.store.delete(key);
  }
}
