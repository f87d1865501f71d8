import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBListType, DuckDBTypeId } from '@duckdb/node-api';
import type { LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { ConflictError, describeError, type ErrorCode, isRatError } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import { quoteIdent } from '../engine/duckdb.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { currentSchema } from '../iceberg/metadata.js';
import { deferWrites } from '../storage/deferred-writes.js';
import type { ColumnMapping } from './column-names.js';
import { csvWithOneKindOfLineBreak, fileReadError, readsLikeMixedLineBreaks, stageCsv } from './csv-reader.js';
import { duckDbDecompressionError } from './decompressed.js';
import { type ProbedFile, probeFile, settleHash } from './file-probe.js';
import { csvInUtf8, needsDecoder } from './text-transcode.js';
import {
  AlreadyIngestedError,
  type BatchSkips,
  type FileRegistry,
  INGEST_FILE_KEY,
  INGEST_HASH_KEY,
  INGEST_ID_KEY,
  INGEST_MODE_KEY,
  INGEST_REPLAY_KEY,
  newRegistryEntry,
  type RegistryEntry,
  type RegistryStatus,
} from './file-registry.js';
import type { CommitGroup, GroupTicket } from './commit-group.js';
import { commitIngest, type IngestCommit } from './ingest-commit.js';
import type { ResolvedIngestOptions, SourceFormat } from './ingest-options.js';
import { InputFileError } from './input-file-error.js';
import { stageAvro } from './avro-reader.js';
import { stageJson } from './json-reader.js';
import { fileLinesSql, recordTextsTable } from './json-lines.js';
import { stageParsed } from './custom-parser.js';
import { stageParquet } from './parquet-reader.js';
import { stageXlsx } from './xlsx-reader.js';
import { collectPlanRejects } from './plan-rejects.js';
import { bytesReadReporter, rowsProducedReporter, withDuckDbProgress, withHeartbeat } from './progress.js';
import { driftWith, loadedWith, namedWith, quarantineOf, type QuarantineOptions, rejectsIdent, rejectsSelect } from './quarantine.js';
import { planConform } from './schema-plan.js';
import { writeStreamed } from './streamed-write.js';
import { dropStaged, type StageContext, type StagedFile } from './staged-file.js';

/**
 * A DuckDB error that says it failed to read the source file itself (a corrupt Parquet page found
 * while the rows are written, as a Parquet file is staged as a view over it), as an error about the
 * file; any other error as it is.
 */
function readOfTheFile(probed: ProbedFile, error: unknown): unknown {
  if (error instanceof InputFileError) return error;
  let read: Error | undefined;
  for (let e = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e.message.includes(`Failed to read file ${JSON.stringify(probed.localPath)}`)) read = e;
  }
  return read ? fileReadError(probed, read) : error;
}

/** What happened to one file. */
export interface FileReport {
  file: string;
  target: string;
  status: RegistryStatus;
  rowsIngested: number;
  rowsRejected: number;
  bytes: number;
  durationMs: number;
  /** custom: read by a custom parser. */
  format?: SourceFormat | 'custom';
  snapshotId?: bigint;
  /** failed: the error, naming the file and position. */
  error?: string;
  /** failed: the code of the error (INTERNAL: an error rat did not foresee). */
  errorCode?: ErrorCode | 'INTERNAL';
  /** failed: its `failed` registry row could not be written (the metadata DB refused it too; `error` says why). */
  unrecorded?: true;
  /**
   * failed: the error itself, with its stack: an InputFileError naming the file and position, or for
   * a custom parser's failure a ParserError whose own `cause` is what the parser threw.
   */
  cause?: Error;
  /** skipped: why (same content already ingested, under which name). */
  reason?: string;
  /** Source columns whose table name differs (renamed to safe names or by --rename). */
  renamed: ColumnMapping[];
  /** Schema changes this file made (added or widened columns). */
  schemaChanges: string[];
  /** Columns of the file the table did not take (drift policy ignore). */
  droppedColumns: string[];
  /** The first few quarantined rows: line and reason. */
  sampleRejects: { line: number | null; reason: string }[];
  /** Merge: rows of the file that a later row with the same key replaced (the last row of a key wins). */
  supersededRows?: number;
  /** What the user may have meant: a JSON document read as one row, whose field holds the records (`--records`). */
  hint?: string;
  /** Excel: the sheet read (by default the first visible worksheet). */
  sheet?: string;
}

export interface IngestContext {
  rat: Lakehouse;
  registry: FileRegistry;
  /** skip-existing decisions for a batch of files into one target (FileRegistry.batch). */
  skips?: BatchSkips;
  reserved: ReadonlySet<string>;
  /** Files of a batch that are plain appends wait here and commit several at a time (commit-group.ts). */
  group?: CommitGroup;
}

/** A file as the ingest reads it: its name in the registry and lineage, and a local copy for DuckDB. */
export interface SourceFile {
  display: string;
  localPath(): Promise<string>;
  /** Throws when the file `localPath()` gave changed since (source-pins.ts): checked once its rows are read, before the commit. */
  unchanged?(): Promise<void>;
}

/**
 * How a replay differs from a first ingest: its own lineage name and hash, and the quarantine rows it
 * replaces. A failed replay leaves no registry row: the file's rows are loaded already, and its
 * status stays what its ingest made it.
 */
export interface ReplayInput {
  probed: ProbedFile;
  parse: QuarantineOptions;
  /**
   * The quarantine table as the replay read it: the commit replaces its rows with `keepRejectsSql`
   * (read from this version too), and fails with a ConflictError, for the replay to read the quarantine
   * again, if another writer moved it since.
   */
  rejects: LoadedTable;
  /** The quarantine rows that stay (every row not being replayed). */
  keepRejectsSql: string;
  /** Temp table (tmp BIGINT, line BIGINT) from the replay file's line numbers to the original ones. */
  lineMap: string;
  fileHash: string;
  /** The source file's size as its ingest recorded it: the registry row's, not that of the replay's own file. */
  fileSize: number;
}

const MAX_ATTEMPTS = 20;

/**
 * Ingests one file into one table: probe (hash, compression, encoding, format), registry check
 * (skip-existing), stage the rows with DuckDB, plan the schema against the table, and commit rows,
 * quarantine and registry row atomically; on a concurrent commit, plan and write again. Any failure
 * is recorded in the registry as failed and returned, never thrown: a batch goes on with the next file.
 */
export async function ingestFile(ctx: IngestContext, source: SourceFile, target: TableIdent, options: ResolvedIngestOptions, replay?: ReplayInput, cursor?: IngestCommit['cursor']): Promise<FileReport> {
  const started = Date.now();
  const targetName = formatIdent(target);
  const report: FileReport = { file: source.display, target: targetName, status: 'failed', rowsIngested: 0, rowsRejected: 0, bytes: 0, durationMs: 0, renamed: [], schemaChanges: [], droppedColumns: [], sampleRejects: [] };
  let probed: ProbedFile | undefined = replay?.probed;
  let localPath: string | undefined;
  const entry = (status: RegistryStatus, extra: Partial<RegistryEntry> = {}): RegistryEntry =>
    newRegistryEntry({ filePath: source.display, fileHash: replay?.fileHash ?? probed?.hash ?? '', fileSize: replay?.fileSize ?? probed?.size ?? 0, targetTable: targetName }, status, { ...(replay ? { replay: true as const } : {}), ...extra });
  try {
    localPath = await source.localPath();
    // Without skip-existing nothing needs the hash before the rows are read: it is computed alongside.
    probed ??= await probeFile(localPath, source.display, options, options.onProgress, !options.skipExisting);
    if (source.unchanged) probed.unchanged = source.unchanged;
    report.bytes = probed.size;
    report.format = probed.format;
    if (options.skipExisting) {
      // A copy of a file still waiting in the group is decided once that one is committed.
      if (ctx.group?.holds(probed.hash)) await ctx.group.flush();
      const load = async () => ((await ctx.rat.catalog.tableExists(target)) ? ctx.rat.catalog.loadTable(target) : undefined);
      const table = ctx.skips ? await ctx.skips.target(load) : await load();
      const file = { path: source.display, hash: probed.hash };
      const quarantine = quarantineOf(ctx.rat.catalog, target);
      const decision = ctx.skips ? await ctx.skips.decide(table, file, quarantine) : await ctx.registry.decide(table, targetName, file, options.mode, quarantine);
      if (decision.skip) {
        await recordSkip(ctx, entry('skipped', { error: decision.reason }));
        return { ...report, status: 'skipped', reason: decision.reason, durationMs: Date.now() - started };
      }
    }
    // A grouped file whose group meets another writer's schema change is ingested again on its own.
    const alone = () => ingestFile(withoutGroup(ctx), source, target, options);
    const { ticket, ...outcome } = await stageAndCommit(ctx, probed, target, options, entry, alone, replay, cursor);
    // A grouped file is in the registry, and settled (snapshot id or failure), once its group commits.
    if (!ticket) ctx.skips?.ingested(entry('success', { rowsIngested: outcome.rowsIngested ?? 0, ...(outcome.snapshotId !== undefined ? { snapshotId: outcome.snapshotId } : {}) }));
    const done: FileReport = { ...report, ...outcome, status: 'success', durationMs: Date.now() - started };
    ticket?.bind(done);
    return done;
  } catch (thrown) {
    let error = thrown;
    if (error instanceof AlreadyIngestedError) {
      // Another writer committed the same content while this file was read: the commit dropped it.
      const { reason } = error.duplicates[0]!.decision;
      await recordSkip(ctx, entry('skipped', { error: reason }));
      await ctx.skips?.refresh();
      return { ...report, status: 'skipped', reason, durationMs: Date.now() - started };
    }
    if (!probed && localPath) {
      // The probe refused the file before hashing it (empty, unreadable): hash it here for the registry.
      const bytes = await readFile(localPath).catch(() => undefined);
      if (bytes) probed = { localPath, display: source.display, size: bytes.length, hash: createHash('sha256').update(bytes).digest('hex'), compression: 'none', format: 'csv', encoding: 'utf-8' };
    }
    if (probed) await settleHash(probed).catch(() => undefined);
    if (probed) error = readOfTheFile(probed, error);
    const failure = (probed && duckDbDecompressionError(probed.display, probed.compression, error)) ?? error;
    const message = describeError(failure);
    let unrecorded: { error: string; unrecorded: true } | undefined;
    // The registry row goes to the metadata DB the failed commit used: when that refuses it too (a full
    // disk), the file is still reported failed, with both reasons, and the batch goes on, as a group's files do.
    if (!replay) await ctx.registry.record(entry('failed', { error: message })).catch((recordError: unknown) => (unrecorded = { error: `${message}; its failed registry row could not be written either: ${describeError(recordError)}`, unrecorded: true }));
    return { ...report, status: 'failed', error: message, ...unrecorded, errorCode: isRatError(failure) ? failure.code : 'INTERNAL', ...(failure instanceof Error ? { cause: failure } : {}), bytes: probed?.size ?? 0, durationMs: Date.now() - started };
  }
}

function withoutGroup(ctx: IngestContext): IngestContext {
  const alone = { ...ctx };
  delete alone.group;
  return alone;
}

/** Records a skipped file: with the batch's other skips at its end, or now. */
export async function recordSkip(ctx: IngestContext, entry: RegistryEntry): Promise<void> {
  if (ctx.skips) ctx.skips.skipped(entry);
  else await ctx.registry.record(entry);
}

async function stageAndCommit(
  ctx: IngestContext,
  probed: ProbedFile,
  target: TableIdent,
  options: ResolvedIngestOptions,
  entry: (status: RegistryStatus, extra?: Partial<RegistryEntry>) => RegistryEntry,
  alone: () => Promise<FileReport>,
  replay: ReplayInput | undefined,
  cursor: IngestCommit['cursor'],
): Promise<Partial<FileReport> & { ticket?: GroupTicket }> {
  const { rat } = ctx;
  const duck = rat.duck;
  const targetName = formatIdent(target);
  const scratchDir = await rat.store.stagingDir();
  const id = newUuid().replaceAll('-', '');
  const ingestedAt = new Date();
  // A custom parser's file is read by the parser: the steps after it are counted in its rows.
  let parsedRows: number | undefined;
  const progress = (phase: 'reading' | 'writing') => <T>(work: () => Promise<T>) =>
    withDuckDbProgress(
      duck,
      options.onProgress,
      {
        file: probed.display,
        phase,
        bytesTotal: probed.size,
        ...(phase === 'reading' && probed.compression !== 'none' && probed.format !== 'custom' ? { compressed: true as const } : {}),
        ...(parsedRows !== undefined ? { rowsTotal: parsedRows } : {}),
      },
      work,
    );
  try {
    let checkInfinite = false;
    /** The file read as the probed one: itself, or a UTF-8 copy of a CSV file in an encoding DuckDB's reader lacks (csvInUtf8). */
    let decoded = probed.format === 'csv' && needsDecoder(probed.encoding) ? await csvInUtf8(probed, probed.encoding, join(scratchDir, `${id}-utf-8.csv`)) : probed;
    /** The file the rows are read from: `decoded`, or a copy of it with one kind of line break (normalizeLineBreaks). */
    let source = decoded;
    for (let attempt = 1; ; attempt++) {
      try {
        // Files waiting in the group were planned against its table; the group's commit catches a stale one.
        const grouped = attempt === 1 ? ctx.group?.base : undefined;
        const table = grouped ?? ((await rat.catalog.tableExists(target)) ? await rat.catalog.loadTable(target) : undefined);
        const stageContext: StageContext = {
          duck,
          id,
          reserved: ctx.reserved,
          options,
          ...(table ? { targetSchema: currentSchema(table.metadata) } : {}),
          scratchDir,
          onReadProgress: progress('reading'),
          onInferProgress: (work, how) => withHeartbeat(options.onProgress, { file: probed.display, phase: 'inferring', bytesTotal: probed.size, ...how }, work),
        };
        const onBytesRead = bytesReadReporter(options.onProgress, { file: probed.display, phase: 'reading', bytesTotal: probed.size });
        if (onBytesRead) stageContext.onBytesRead = onBytesRead;
        const onRowsProduced = rowsProducedReporter(options.onProgress, { file: probed.display, bytesTotal: probed.size });
        if (onRowsProduced) {
          stageContext.onRowsProduced = (rows, done) => {
            if (done) parsedRows = rows;
            onRowsProduced(rows, done);
          };
        }
        const staged = await stage(stageContext, source);
        refuseMissingKeys(options, staged, probed.display);
      if (checkInfinite) staged.infiniteTemporal = true;
        const makePlan = () =>
          planConform({
            duck,
            staged,
            ident: target,
            ...(table ? { target: table } : {}),
            location: rat.store.uri(`warehouse/${target.namespace}/${target.name}`),
            options,
            sourceFile: probed.display,
            ingestedAt,
            file: probed.display,
          });
        // The plan may read the rows (whether a value needs a wider column): a lazy CSV read stops at a value that needs the quarantine, which the staged rows then hold.
        let plan = await makePlan().catch(async (error: unknown) => {
          if (!staged.lazy?.stoppedAtValue?.(error)) throw error;
          await staged.lazy.materialize();
          return makePlan();
        });
        // A CSV or JSON file is read only now, once: straight into the table's files when the plan allows it.
        const writes = deferWrites(rat.store);
        const numbered = staged.hasLine;
        const streamed = await writeStreamed({ rat, ident: target, ...(table ? { table } : {}), plan, staged, options, streamable: options.mode !== 'merge' && !replay, reading: progress('reading'), writes });
        // Staged after all, the rows now carry their record numbers: the plan names them in bad rows and orders merges by them.
        if (!streamed && (staged.hasLine !== numbered || staged.infiniteTemporal)) plan = await makePlan();
        const planRejects = plan.badRowsSql ? await collectPlanRejects(duck, staged, plan.badRowsSql, `${staged.rejects}_plan`) : undefined;
        const conversionRejects = planRejects?.count ?? 0;
        const rejected = staged.rejected + conversionRejects;
        const parseRejects = `(SELECT line, reason, raw FROM ${quoteIdent(staged.rejects)})`;
        const allRejects = planRejects ? `(${parseRejects} UNION ALL (${planRejects.sql}))` : parseRejects;
        // Rows numbered by record (NDJSON): their lines in the file, found only now that some are bad.
        const shifts = rejected > 0 && staged.lineShifts ? await staged.lineShifts() : undefined;
        const fileLines = (sql: string) => (shifts ? fileLinesSql(sql, shifts) : sql);
        // A replay's rows are numbered in its temporary file: the quarantine's lines are those of the source file.
        const mapLine = (sql: string, inFile = fileLines) =>
          replay
            ? `SELECT CASE WHEN m.tmp IS NULL THEN r.line ELSE m.line END AS line, r.reason, r.raw FROM (${inFile(sql)}) r LEFT JOIN ${quoteIdent(replay.lineMap)} m ON m.tmp = r.line`
            : inFile(sql);
        // Rows the plan quarantines keep their record as the file wrote it, where a line holds it (NDJSON), not rebuilt from their typed values.
        const texts = planRejects && planRejects.count > 0 && staged.recordLines ? await recordTexts(duck, staged, fileLines(planRejects.sql)) : undefined;
        // With those lines: the rows whose record a line holds, that line as their raw (`written`), or the others as rebuilt.
        const written = (kept: boolean) => (sql: string) =>
          `SELECT r.line, r.reason, ${kept ? 't.raw' : 'r.raw'} AS raw FROM (${fileLines(sql)}) r LEFT JOIN ${quoteIdent(texts!)} t ON t.line = r.line WHERE t.raw IS ${kept ? 'NOT ' : ''}NULL`;
        // Where a failure names the first bad row: a custom parser's rows and a sheet's are rows (as the parser's own errors and cells say), not lines.
        const positionOf = (first: { line: number | bigint | null }) => (first.line === null ? {} : probed.format === 'custom' || probed.format === 'xlsx' ? { row: Number(first.line) } : options.spelling.position(Number(first.line)));
        const sampleRejects = rejected > 0 ? await duck.rows<{ line: number | bigint | null; reason: string }>(`SELECT line, reason FROM (${mapLine(`SELECT * FROM ${allRejects}`)}) ORDER BY line NULLS LAST LIMIT 5`) : [];
        if (rejected > 0 && options.onError === 'fail') {
          const first = sampleRejects[0]!;
          throw new InputFileError(
            'INGEST_BAD_ROWS',
            probed.display,
            positionOf(first),
            `${first.reason} (${rejected} bad row${rejected === 1 ? '' : 's'} in all; with ${options.spelling.onError('fail')} ${options.spelling.input} is refused and the table is unchanged)`,
          );
        }
        // Records with no fields (`{}` only) bring no columns: into a table they are rows of NULLs, as among other records; they cannot create one.
        const fieldless = staged.columns.length === 0 && staged.rows > 0;
        if (fieldless && !table) {
          throw new InputFileError('INGEST_FILE_INVALID', probed.display, {}, `its ${staged.rows} record${staged.rows === 1 ? ' has' : 's have'} no fields ({}): there are no columns to create ${targetName} from`);
        }
        const rows = streamed ? streamed.rows : staged.columns.length > 0 || fieldless ? Number((await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM (${plan.rowsSql})`))[0]!.n) : 0;
        const superseded = plan.duplicateKeysSql && staged.columns.length > 0 ? Number((await duck.rows<{ n: bigint }>(plan.duplicateKeysSql))[0]!.n) : 0;
        if (options.mode === 'overwrite' && rows === 0 && rejected > 0 && !replay && table) {
          // Replacing the table with nothing because every row was bad would pass for a load: the file is refused instead.
          const first = sampleRejects[0]!;
          throw new InputFileError(
            'INGEST_BAD_ROWS',
            probed.display,
            positionOf(first),
            `${first.reason} (every row of ${options.spelling.input}, ${rejected}, is bad; with ${options.spelling.mode('overwrite')} that would empty ${targetName}, so ${options.spelling.input} is refused and the table is unchanged: fix ${options.spelling.input} or the options, e.g. ${options.spelling.typeAdvice}, and ingest it again)`,
          );
        }
        await probed.unchanged?.();
        await settleHash(probed);
        const origin = { filePath: probed.display, fileHash: replay?.fileHash ?? probed.hash, ingestId: id, at: ingestedAt };
        // Rows of a merge keep its mode and keys, so that a replay merges them too; every row keeps the table it was refused by.
        const tableUuid = table?.metadata.tableUuid ?? plan.create?.tableUuid;
        const loaded = { ...loadedWith(options.mode, options.keys), ...(tableUuid ? { table: tableUuid } : {}) };
        const fileParse: QuarantineOptions = { ...(replay?.parse ?? staged.parse), ...namedWith(options), ...loaded };
        const parsePart = staged.rejected > 0 ? rejectsSelect(`(${mapLine(`SELECT * FROM ${parseRejects}`)})`, { ...origin, parse: fileParse }) : undefined;
        // Rows found in the file keep its text (a CSV line, an NDJSON record), read again as the file was; the others
        // are JSON objects of their values under the table's names, read as those names.
        const rebuilt: QuarantineOptions = { format: 'json', ...driftWith(options), tableNames: true, ...loaded };
        const select = (sql: string, parse: QuarantineOptions) => rejectsSelect(`(${sql})`, { ...origin, parse });
        const conversionParts = (planRejects?.parts ?? []).flatMap((part) =>
          part.raw === 'file'
            ? [select(mapLine(part.sql), fileParse)]
            : texts
              ? [select(mapLine(part.sql, written(true)), fileParse), select(mapLine(part.sql, written(false)), rebuilt)]
              : [select(mapLine(part.sql), rebuilt)],
        );
        const rejectParts = [replay?.keepRejectsSql, parsePart, ...conversionParts].filter((p): p is string => p !== undefined);
        const renamed = staged.mapping.filter((m) => m.source !== m.name);
        // A file whose every row went to the quarantine brought nothing the table must fit: its columns
        // stay as they are (a replay plans again for the rows that then fit).
        const keepsSchema = table !== undefined && rows === 0;
        const changes = keepsSchema ? [] : plan.changes;
        const schemaChanges = keepsSchema ? [] : plan.notes.filter((n) => !n.startsWith('created'));
        if (ctx.group && table && rows > 0 && rejected === 0 && plan.changes.length === 0 && !replay && !cursor && options.mode === 'append') {
          // Rows staged in a temp table (not streamed) are written now: they wait in the group as data files.
          const dataFiles = streamed ? streamed.dataFiles : await progress('writing')(() => rat.executor.writer.writeFiles(table, plan.rowsSql, writes));
          const ticket = await ctx.group.add(table, {
            display: probed.display,
            hash: origin.fileHash,
            bytes: probed.size,
            dataFiles,
            writes,
            // Recorded at the group's commit, but dated like the rows' _ingested_at: files keep their order in the registry.
            entry: (result) =>
              'snapshotId' in result
                ? entry('success', { rowsIngested: rows, rowsRejected: 0, snapshotId: result.snapshotId, ingestedAt })
                : 'skipped' in result
                  ? entry('skipped', { error: result.skipped })
                  : entry('failed', { error: result.error, ingestedAt }),
            alone,
          });
          return { rowsIngested: rows, rowsRejected: 0, renamed, schemaChanges, droppedColumns: plan.dropped, sampleRejects: [], ticket, ...readNotes(probed, options, staged, rows) };
        }
        // Files waiting in the group land first, in order; this file builds on their commit (they only appended).
        const base = (await ctx.group?.flush()) ?? table;
        const summary = {
          [INGEST_FILE_KEY]: probed.display,
          [INGEST_HASH_KEY]: origin.fileHash,
          [INGEST_MODE_KEY]: options.mode,
          [INGEST_ID_KEY]: id,
          'rat.ingest.rows-rejected': String(rejected),
          ...(replay ? { [INGEST_REPLAY_KEY]: 'true' } : {}),
        };
        try {
          const committed = await commitIngest(rat, {
            ident: target,
            ...(base ? { base } : {}),
            ...(plan.create && staged.columns.length > 0 ? { create: plan.create } : {}),
            changes,
            ...(rows > 0 ? (streamed ? { dataFiles: streamed.dataFiles } : { rowsSql: plan.rowsSql }) : {}),
            mode: options.mode,
            keys: options.keys,
            summary,
            ...(rejectParts.length > 0 || replay ? { rejects: { ident: rejectsIdent(target), ...(rejectParts.length > 0 ? { rowsSql: rejectParts.map((p) => `(${p})`).join(' UNION ALL ') } : {}), ...(replay ? { replaces: replay.rejects } : {}) } } : {}),
            // Dated like the rows' _ingested_at, so the two join.
            entry: (snapshotId, rejectsSnapshotId) =>
              entry('success', { rowsIngested: rows, rowsRejected: rejected, ingestedAt, ...(snapshotId !== undefined ? { snapshotId } : {}), ...(rejectsSnapshotId !== undefined ? { rejectsSnapshotId } : {}) }),
            registry: ctx.registry,
            skipExisting: options.skipExisting && !replay,
            writing: progress('writing'),
            writes,
            ...(cursor ? { cursor } : {}),
          });
          ctx.group?.forget();
          return {
            rowsIngested: rows,
            rowsRejected: rejected,
            ...(committed.snapshotId !== undefined ? { snapshotId: committed.snapshotId } : {}),
            renamed,
            schemaChanges,
            droppedColumns: plan.dropped,
            sampleRejects: sampleRejects.map((r) => ({ line: r.line === null ? null : Number(r.line), reason: r.reason })),
            ...(superseded > 0 ? { supersededRows: superseded } : {}),
            ...readNotes(probed, options, staged, rows),
          };
        } catch (error) {
          // A replay's rows and the quarantine rows it keeps were read from one version of the quarantine: the replay reads it again.
          if (!(error instanceof ConflictError) || attempt >= MAX_ATTEMPTS || replay) {
            if (error instanceof ConflictError && replay) throw error;
            if (error instanceof ConflictError) throw new ConflictError('COMMIT_CONFLICT', `${probed.display}: ${targetName} kept changing under ${MAX_ATTEMPTS} attempts to commit; try again`, { cause: error });
            throw error;
          }
          // Another writer moved the table: stage the file again against it (the outer finally drops the last staging).
          await dropStaged(duck, id);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * attempt)));
        }
      } catch (error) {
        // A date or timestamp of infinity found by the write (VALUE_NOT_STORABLE, data-writer.ts) where
        // the rows were not streamed (a merge, a replay, a format read whole): stage the file again, its
        // plan checking every date and timestamp column, so such rows go to the quarantine.
        if (!checkInfinite && isRatError(error) && error.code === 'VALUE_NOT_STORABLE') {
          checkInfinite = true;
          await dropStaged(duck, id);
          continue;
        }
        if (probed.format !== 'csv') throw error;
        const refused = notInEncoding(probed, source, options, error);
        if (refused === 'windows-1252') {
          // Detected as Latin-1 by its first bytes, with a byte from 0x80 to 0x9F further down: Windows-1252, read through a UTF-8 copy.
          decoded = await csvInUtf8(probed, refused, join(scratchDir, `${id}-utf-8.csv`));
          source = decoded;
          await dropStaged(duck, id);
          continue;
        }
        if (refused) throw refused;
        // A CSV file whose lines end some with CR LF and some with LF, which DuckDB's reader cannot read: read a copy with LF throughout
        // (none is made for a file with one kind of line break: its error stands).
        if (source !== decoded || !readsLikeMixedLineBreaks(error)) throw error;
        const copy = await csvWithOneKindOfLineBreak(duck, decoded, options, join(scratchDir, `${id}-line-breaks.csv`));
        if (!copy) throw error;
        source = copy;
        await dropStaged(duck, id);
      }
    }
  } finally {
    await dropStaged(duck, id);
    await rm(scratchDir, { recursive: true, force: true });
  }
}

/**
 * DuckDB's refusal of a CSV file's bytes as not in the encoding it was read with (`File is not
 * latin-1 encoded`), which names neither the file nor a byte: `windows-1252` for a file taken for
 * Latin-1 by its first bytes (the caller reads it as that), else the error naming the file and what
 * to do. Undefined for any other error.
 */
function notInEncoding(probed: ProbedFile, source: ProbedFile, options: ResolvedIngestOptions, error: unknown): 'windows-1252' | InputFileError | undefined {
  const refusal = error instanceof Error ? /File is not ([\w-]+) encoded/i.exec(error.message) : null;
  if (!refusal) return undefined;
  if (source.encoding === 'latin-1' && options.encoding === undefined) return 'windows-1252';
  const latin = source.encoding === 'latin-1';
  return new InputFileError(
    'INGEST_FILE_INVALID',
    probed.display,
    {},
    `the file is not ${refusal[1]} text, the encoding it was read as (DuckDB's reader does not say at which byte)${latin ? ': Latin-1 has no characters for the bytes 0x80 to 0x9F, which Windows-1252 uses (€ is 0x80, “ ” are 0x93 0x94)' : ''}; ` +
      `ingest it with its encoding: --encoding ${latin ? 'windows-1252' : 'utf-8, utf-16le, utf-16be, latin-1 or windows-1252'}`,
    { cause: error },
  );
}

/** A temp table (line, raw) of the file's lines that hold the records of `rejectsSql`'s rows (StagedFile.recordLines). */
async function recordTexts(duck: Lakehouse['duck'], staged: StagedFile, rejectsSql: string): Promise<string> {
  const name = `${staged.rejects}_texts`;
  const rows = await duck.rows<{ line: bigint }>(`SELECT DISTINCT line FROM (${rejectsSql}) WHERE line >= 1 ORDER BY line`);
  await recordTextsTable(duck, name, staged.recordLines!.path, staged.recordLines!.compression, rows.map((r) => Number(r.line)));
  return name;
}

/**
 * A JSON file that came to one row, with a field holding a list of objects (GeoJSON's `features`, an
 * API dump's `data`): the user most likely wanted those as the rows, which `--records` does.
 */
/** What the report says of how the file was read: the Excel sheet, a CSV date format not applied, and a hint for a JSON document read as one row. */
function readNotes(probed: ProbedFile, options: ResolvedIngestOptions, staged: StagedFile, rows: number): { sheet?: string; hint?: string } {
  const hints = [...(staged.notes ?? []), ...Object.values(recordsHint(probed, options, staged, rows))];
  return { ...(staged.sheet !== undefined ? { sheet: staged.sheet } : {}), ...(hints.length > 0 ? { hint: hints.join('; ') } : {}) };
}

function recordsHint(probed: ProbedFile, options: ResolvedIngestOptions, staged: StagedFile, rows: number): { hint?: string } {
  if (probed.format !== 'json' || options.records !== undefined || rows !== 1) return {};
  // Newline-delimited by name or option: one line is one record, whatever it holds.
  if (options.jsonFormat === 'newline_delimited' || /\.(ndjson|jsonl)(\.(gz|gzip|zst|zstd))?$/i.test(probed.display)) return {};
  const lists = staged.columns.filter((c) => !c.source.includes('.') && c.type.typeId === DuckDBTypeId.LIST && (c.type as DuckDBListType).valueType.typeId === DuckDBTypeId.STRUCT);
  if (lists.length === 0) return {};
  const field = lists[0]!.source;
  return { hint: `the file is one JSON record, and its field "${field}" holds a list of records: to load each as a row, ingest it with --records ${field} (SDK: records: '${field}')` };
}

/** A merge matches rows by their key: a file without a key column has nothing to match (every row's key would be NULL). */
function refuseMissingKeys(options: ResolvedIngestOptions, staged: StagedFile, file: string): void {
  if (options.mode !== 'merge') return;
  const names = staged.columns.map((c) => c.name);
  const missing = options.keys.filter((key) => !names.some((name) => name.toLowerCase() === key.toLowerCase()));
  if (missing.length === 0) return;
  throw new InputFileError(
    'COLUMN_NOT_FOUND',
    file,
    {},
    `merge key ${missing.join(', ')} ${missing.length === 1 ? 'is not a column' : 'are not columns'} of the file (columns: ${names.join(', ')})`,
  );
}

function stage(ctx: StageContext, probed: ProbedFile): Promise<StagedFile> {
  if (ctx.options.records !== undefined && probed.format !== 'json') {
    throw new InputFileError('INVALID_ARGUMENT', probed.display, {}, `records "${ctx.options.records}" selects records in a JSON document, but this file is read as ${probed.format === 'custom' ? 'a custom parser\'s rows' : probed.format}`);
  }
  switch (probed.format) {
    case 'csv':
      return stageCsv(ctx, probed);
    case 'json':
      return stageJson(ctx, probed);
    case 'parquet':
      return stageParquet(ctx, probed);
    case 'xlsx':
      return stageXlsx(ctx, probed);
    case 'arrow':
      // The Arrow library takes about 0.1 s to load: only for Arrow files, not on every command's start.
      return import('./arrow-reader.js').then(({ stageArrow }) => stageArrow(ctx, probed));
    case 'avro':
      return stageAvro(ctx, probed);
    case 'custom':
      return stageParsed(ctx, probed);
  }
}
