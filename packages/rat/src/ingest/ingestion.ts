import { formatIdent, parseTableIdent, type TableIdent } from '../catalog/identifiers.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { createCommitGroup } from './commit-group.js';
import { ingestCsvRun } from './csv-run.js';
import { createFileRegistry, type FileRegistry, newRegistryEntry, type RegistryEntry, type RegistryStatus } from './file-registry.js';
import { type FileReport, ingestFile, type IngestContext, type SourceFile } from './ingest-file.js';
import { type IngestOptions, resolveIngestOptions } from './ingest-options.js';
import type { OptionSpelling } from './option-spelling.js';
import type { IngestProgress } from './progress.js';
import { type LandedFile, type LandingEntry, listLanding, type UploadOptions, uploadToLanding } from './landing-zone.js';
import { isRejectsTable } from './quarantine.js';
import { type ReplayReport, replayRejects } from './rejects-replay.js';
import { ingestRowSource, previousCursor, type RowSource, type SourceReport } from './row-source.js';
import type { SourceCursor } from './source-cursor.js';
import { resolveSources } from './source-files.js';
import { createSourcePins } from './source-pins.js';
import { checkTypeOptions } from './schema-plan.js';

export interface IngestReport {
  target: string;
  files: FileReport[];
  succeeded: number;
  failed: number;
  skipped: number;
  rowsIngested: number;
  rowsRejected: number;
}

/** Plain-append files of one batch per catalog commit (IngestOptions.filesPerCommit). */
export const DEFAULT_FILES_PER_COMMIT = 200;

/** Ingestion on top of a lakehouse: landing zone, file ingest with registry and quarantine. */
export interface Ingestion {
  /**
   * Ingests a local file, folder or glob, or a landing key, prefix or glob, into `target`
   * (`bronze.sales`; created when missing). Each file lands whole with its registry row or not at
   * all; files that are plain appends share catalog commits (up to `filesPerCommit`, default 200),
   * the others commit on their own, in order. A file that fails is reported and recorded as failed,
   * and the others go on. Mode overwrite takes one file (each file replacing the one before would
   * leave the last one's rows only): several are refused before any is read.
   */
  ingest(source: string | string[], target: string | TableIdent, options?: IngestOptions): Promise<IngestReport>;
  /** ingest() over a folder or prefix; with `skipExisting` each new file is ingested once. */
  ingestBatch(source: string, target: string | TableIdent, options?: IngestOptions): Promise<IngestReport>;
  /** Copies local files into the landing zone (`landing/<folder>/`). */
  upload(files: string[], destination: string, options?: UploadOptions): Promise<LandedFile[]>;
  /** Landing files under a prefix (default `landing/`) with their latest ingest status. */
  listLanding(prefix?: string): Promise<LandingEntry[]>;
  /**
   * Parses the quarantined rows of `target` again and moves those that now fit into the table:
   * appended, or merged by the key they were first merged with. Throws when the table does not exist
   * or the mode is overwrite; a group of rows that fails is reported as failed (nothing changed).
   */
  replayRejects(target: string | TableIdent, options?: IngestOptions): Promise<ReplayReport>;
  /**
   * Ingests rows from a non-file source (HTTP API, database; see RowSource) into `target` like one
   * file: registry row, lineage, quarantine, and (with `cursorField`) the new cursor, in one commit.
   */
  ingestRows(source: RowSource, target: string | TableIdent, options?: IngestOptions): Promise<SourceReport>;
  /**
   * Records a run of a non-file source that failed before ingestRows could read a row (options it
   * refused, a missing namespace): a `failed` registry row with the error, as a run failing later gets.
   */
  recordFailedRun(source: string, target: string | TableIdent, error: string): Promise<void>;
  /** Where an incremental source left off in `target` on this branch (undefined: never loaded). */
  sourceCursor(target: string | TableIdent, source: string): Promise<SourceCursor | undefined>;
  /** File registry entries (also `SELECT * FROM bronze._file_registry`). */
  registry(filter?: { target?: string; status?: RegistryStatus; filePath?: string }): Promise<RegistryEntry[]>;
}

/** Reports a batch's files done (of `total`) and rows ingested so far, as `batch` progress events. */
function batchReporter(report: ((event: IngestProgress) => void) | undefined, target: string, total: number): ((files: FileReport[], done?: boolean) => void) | undefined {
  if (!report) return undefined;
  return (files, done = false) => {
    const rowsDone = files.reduce((sum, file) => sum + file.rowsIngested, 0);
    // The batch ends with its last commit, after its last file is read.
    report({ file: target, phase: 'batch', bytesDone: done ? total : Math.min(files.length, total - 1), bytesTotal: total, filesDone: files.length, filesTotal: total, rowsDone });
  };
}

/** Wires ingestion to a lakehouse, and makes `bronze._file_registry` readable in its SQL. */
export function createIngestion(rat: Lakehouse): Ingestion {
  const registry: FileRegistry = createFileRegistry(rat.metadataDb);
  rat.executor.registerVirtualTable(registry.virtualTable());
  let reserved: Set<string> | undefined;

  async function context(): Promise<IngestContext> {
    // Reserved keywords, and those DuckDB parses as part of its syntax where a column name may stand
    // (`type_function`: `at`, `by`, `left`, `like`, `join`...): `SELECT at FROM t` fails, so they are not names that need no quoting.
    reserved ??= new Set((await rat.duck.rows<{ k: string }>(`SELECT keyword_name AS k FROM duckdb_keywords() WHERE keyword_category IN ('reserved', 'type_function')`)).map((r) => r.k.toLowerCase()));
    return { rat, registry, reserved };
  }

  async function targetOf(target: string | TableIdent): Promise<TableIdent> {
    const ident = typeof target === 'string' ? parseTableIdent(target) : target;
    if (isRejectsTable(ident)) throw new ValidationError('INVALID_ARGUMENT', `${ident.namespace}.${ident.name} is a quarantine table; ingest into its table and replay with: rat ingest --replay-rejects ${ident.namespace}.${ident.name.replace(/__rejects$/, '')}`);
    if (ident.name.startsWith('_')) throw new ValidationError('INVALID_IDENTIFIER', `table names starting with _ are reserved for rat (${ident.name})`);
    // A tag or a commit takes no change: said once before any file is read, not after reading each one.
    const ref = await rat.catalog.refs.resolve(rat.branch);
    if (ref.kind === 'commit' || ref.type !== 'branch') {
      const why = ref.kind === 'commit' ? `commit ${rat.branch}: a commit is read-only` : `tag "${rat.branch}": tags are immutable`;
      throw new ValidationError('REF_NOT_A_BRANCH', `cannot ingest into ${formatIdent(ident)} on ${why}; nothing was read; branch from it with: rat branch create <name> --from ${rat.branch}`);
    }
    if (!(await rat.catalog.namespaceExists(ident.namespace))) {
      throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${ident.namespace}" does not exist; create it with: rat sql "CREATE SCHEMA ${ident.namespace}"`);
    }
    return ident;
  }

  const ingestion: Ingestion = {
    async ingest(source, target, options = {}) {
      const resolved = resolveIngestOptions(options);
      await checkTypeOptions(rat.duck, resolved.types, resolved.spelling);
      const ident = await targetOf(target);
      const specs = Array.isArray(source) ? source : [source];
      const targetName = `${ident.namespace}.${ident.name}`;
      const ingestedFrom = async (prefix: string) => (await registry.list({ target: targetName })).some((entry) => entry.filePath.startsWith(prefix));
      const pins = createSourcePins(rat.store);
      const sources = (await Promise.all(specs.map((spec) => resolveSources(rat.store, spec, { ingestedFrom, pins })))).flat();
      if (resolved.mode === 'overwrite' && sources.length > 1) {
        await pins.release();
        throw overwriteOfSeveral(targetName, sources, resolved.spelling);
      }
      const base = await context();
      const skips = resolved.skipExisting && sources.length > 1 ? await base.registry.batch(targetName, resolved.mode) : undefined;
      const filesPerCommit = resolved.filesPerCommit ?? DEFAULT_FILES_PER_COMMIT;
      const group = sources.length > 1 && filesPerCommit > 1 && resolved.mode === 'append' ? createCommitGroup(rat, base.registry, skips, { maxFiles: filesPerCommit }) : undefined;
      const ctx: IngestContext = { ...base, ...(skips ? { skips } : {}), ...(group ? { group } : {}) };
      const files: FileReport[] = [];
      // A batch's own progress: files done of the batch and rows so far, told after each file or run (a
      // batch of small files has no step long enough to show, and would otherwise be silent to its end).
      const batchDone = sources.length > 1 ? batchReporter(resolved.onProgress, targetName, sources.length) : undefined;
      batchDone?.(files);
      try {
        for (let i = 0; i < sources.length; ) {
          // Small CSVs alike are read and committed together; the files a run leaves go alone, in order.
          const run = group ? await ingestCsvRun(ctx, sources.slice(i, i + filesPerCommit), ident, resolved, filesPerCommit) : undefined;
          if (!run) {
            files.push(await ingestFile(ctx, sources[i]!, ident, resolved));
            i++;
            batchDone?.(files);
            continue;
          }
          const alone = new Set(run.alone);
          for (let k = 0; k < run.taken; k++) {
            files.push(alone.has(k) ? await ingestFile(ctx, sources[i + k]!, ident, resolved) : run.reports.get(k)!);
            if (alone.has(k)) batchDone?.(files);
          }
          i += run.taken;
          batchDone?.(files);
        }
        // The last files waiting for a commit; their reports are settled by it.
        await group?.flush();
        batchDone?.(files, true);
      } finally {
        await ctx.skips?.flush();
        await pins.release();
      }
      const report: IngestReport = { target: targetName, files, succeeded: 0, failed: 0, skipped: 0, rowsIngested: 0, rowsRejected: 0 };
      for (const result of files) {
        if (result.status === 'success') report.succeeded++;
        else if (result.status === 'failed') report.failed++;
        else report.skipped++;
        report.rowsIngested += result.rowsIngested;
        report.rowsRejected += result.rowsRejected;
      }
      return report;
    },
    ingestBatch(source, target, options = {}) {
      return ingestion.ingest(source, target, options);
    },
    upload(files, destination, options = {}) {
      return uploadToLanding(rat.store, files, destination, options);
    },
    listLanding(prefix) {
      return listLanding(rat.store, registry, prefix);
    },
    async replayRejects(target, options = {}) {
      const ident = await targetOf(target);
      const resolved = resolveIngestOptions(options);
      await checkTypeOptions(rat.duck, resolved.types, resolved.spelling);
      return replayRejects(await context(), ident, resolved, { modeGiven: options.mode !== undefined });
    },
    async ingestRows(source, target, options = {}) {
      const resolved = resolveIngestOptions(options);
      await checkTypeOptions(rat.duck, resolved.types, resolved.spelling);
      const ident = await targetOf(target);
      return ingestRowSource(await context(), source, ident, resolved);
    },
    async recordFailedRun(source, target, error) {
      const targetTable = typeof target === 'string' ? target : formatIdent(target);
      await registry.record(newRegistryEntry({ filePath: source, fileHash: '', fileSize: 0, targetTable }, 'failed', { error }));
    },
    async sourceCursor(target, source) {
      const ident = typeof target === 'string' ? parseTableIdent(target) : target;
      return previousCursor(await context(), ident, source);
    },
    registry(filter) {
      return registry.list(filter);
    },
  };
  return ingestion;
}

/**
 * Each file of a batch commits on its own, so an overwrite per file would leave the table holding the
 * last file's rows only, the others reported loaded: refused before any file is read.
 */
function overwriteOfSeveral(table: string, sources: readonly SourceFile[], spelling: OptionSpelling): ValidationError {
  const shown = sources.slice(0, 3).map((s) => s.display);
  const listed = `${shown.join(', ')}${sources.length > shown.length ? `, ... (${sources.length - shown.length} more)` : ''}`;
  return new ValidationError(
    'INVALID_ARGUMENT',
    `${spelling.mode('overwrite')} replaces every row of ${table} with the rows of one file, and the batch has ${sources.length} files (${listed}): each would replace the rows of the one before, leaving only the last file's; nothing was done. Ingest one file with ${spelling.mode('overwrite')} and the others with ${spelling.mode('append')}, or merge them by a key (${spelling.mode('merge')})`,
  );
}
