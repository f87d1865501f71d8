import { rm, stat } from 'node:fs/promises';
import type { LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { newUuid } from '../core/ids.js';
import { currentSchema } from '../iceberg/metadata.js';
import { applySchemaChange } from '../iceberg/schema-update.js';
import { deferWrites } from '../storage/deferred-writes.js';
import { obviousDelimiter, stageCsvRun } from './csv-reader.js';
import { type ProbedFile, probeFile } from './file-probe.js';
import { AlreadyIngestedError, newRegistryEntry, type RegistryEntry } from './file-registry.js';
import { commitIngest } from './ingest-commit.js';
import { type FileReport, type IngestContext, recordSkip, type SourceFile } from './ingest-file.js';
import type { ResolvedIngestOptions } from './ingest-options.js';
import { quarantineOf } from './quarantine.js';
import { planConform } from './schema-plan.js';
import { dropStaged } from './staged-file.js';

/** Files up to this size may be read together with others; larger ones are read (streamed) on their own. */
const MAX_RUN_FILE_BYTES = 8 * 2 ** 20;
/** Bytes read together at most: the rows of a run are held in one temp table. */
const MAX_RUN_BYTES = 64 * 2 ** 20;

/** What a run did with the files it looked at (a prefix of those it was given). */
export interface RunOutcome {
  /** How many of the given files it took: each has a report here or is in `alone`. */
  taken: number;
  /** Reports of the files it committed or skipped, by index into the files given. */
  reports: Map<number, FileReport>;
  /** Files it leaves to the one-file path, in order (a line DuckDB rejected, no data rows, or the run failed). */
  alone: number[];
}

interface Member {
  index: number;
  probed: ProbedFile;
}

/**
 * Small CSV files of a batch that share a header line and dialect are read together: one sniff, one
 * read_csv over all of them into one temp table (each row tagged with its file), one conversion
 * plan, one Parquet write and one catalog commit whose transaction inserts every file's registry
 * row. A thousand 100-row exports then cost a handful of DuckDB statements per run instead of ten
 * per file, and the table gets a few data files instead of a thousand. Each file is still all or
 * nothing: a file any of whose lines DuckDB rejects is taken out of the run and ingested on its own
 * (with its quarantine), as is every file of a run that fails for any reason, so every error is
 * reported by the path that reports errors for one file.
 *
 * Undefined when no run starts at the first file (the table does not exist yet, the file is not a
 * small CSV, or fewer than two files in a row fit together): the caller ingests that file alone.
 */
export async function ingestCsvRun(ctx: IngestContext, sources: SourceFile[], target: TableIdent, options: ResolvedIngestOptions, maxFiles: number): Promise<RunOutcome | undefined> {
  if (options.parser || options.mode !== 'append' || (options.format !== undefined && options.format !== 'csv')) return undefined;
  const { rat } = ctx;
  const targetName = formatIdent(target);
  // Which files in a row fit together, before anything else: most batches that do not run cost one probe here.
  const candidates: Member[] = [];
  let signature: string | undefined;
  let bytes = 0;
  for (let index = 0; index < sources.length && candidates.length < maxFiles; index++) {
    const source = sources[index]!;
    let probed: ProbedFile;
    try {
      const localPath = await source.localPath();
      // A large file is streamed on its own: do not hash it here.
      if ((await stat(localPath)).size > MAX_RUN_FILE_BYTES) break;
      probed = await probeFile(localPath, source.display, options);
      if (source.unchanged) probed.unchanged = source.unchanged;
    } catch {
      break; // refused by the probe: the one-file path reports why
    }
    const fits = runSignature(probed, options);
    if (fits === undefined || (signature !== undefined && fits !== signature) || bytes + probed.size > MAX_RUN_BYTES) break;
    signature = fits;
    bytes += probed.size;
    candidates.push({ index, probed });
  }
  if (candidates.length < 2) return undefined;
  // Files waiting in the group land first: the run builds on them (and a copy of one is skipped against them).
  const flushed = await ctx.group?.flush();
  const table = flushed ?? ((await rat.catalog.tableExists(target)) ? await rat.catalog.loadTable(target) : undefined);
  if (!table) return undefined;

  const members: Member[] = [];
  const skips: { index: number; entry: RegistryEntry; reason: string }[] = [];
  const seen = new Map<string, string>();
  const quarantine = quarantineOf(rat.catalog, target);
  for (const candidate of candidates) {
    const { probed } = candidate;
    if (options.skipExisting) {
      const earlier = seen.get(probed.hash);
      const decision = earlier
        ? { skip: true, reason: `same content as ${earlier}, earlier in this batch` }
        : ctx.skips
          ? await ctx.skips.decide(table, { path: probed.display, hash: probed.hash }, quarantine)
          : await ctx.registry.decide(table, targetName, { path: probed.display, hash: probed.hash }, options.mode, quarantine);
      if (decision.skip) {
        skips.push({ index: candidate.index, entry: entryOf(probed, targetName, 'skipped', { error: decision.reason }), reason: decision.reason });
        continue;
      }
    }
    seen.set(probed.hash, probed.display);
    members.push(candidate);
  }
  // With fewer than two to read, the run takes only the skipped files before the one to read (which
  // then goes the one-file way, in its place): files are recorded in the order they come.
  const taken = members.length >= 2 ? candidates.length : (members[0]?.index ?? candidates.length);
  if (taken === 0) return undefined;

  const reports = new Map<number, FileReport>();
  const skip = async (index: number, entry: RegistryEntry, reason: string) => {
    await recordSkip(ctx, entry);
    reports.set(index, { ...blankReport(entry.filePath, targetName, entry.fileSize), status: 'skipped', reason, format: 'csv' });
  };
  for (const k of skips.filter((k) => k.index < taken)) await skip(k.index, k.entry, k.reason);
  if (members.length < 2) return { taken, reports, alone: [] };
  const started = Date.now();
  const committed = await commitRun(ctx, table, members, target, options).catch((error: unknown) => (error instanceof AlreadyIngestedError ? error : undefined));
  if (committed instanceof AlreadyIngestedError) {
    // Another writer committed some of these meanwhile: they are skipped, the others go alone (each checked again at its commit).
    const duplicates = new Map(committed.duplicates.map((d) => [d.entry.filePath, d.decision.reason]));
    for (const member of members.filter((m) => duplicates.has(m.probed.display))) {
      const reason = duplicates.get(member.probed.display)!;
      await skip(member.index, entryOf(member.probed, targetName, 'skipped', { error: reason }), reason);
    }
    await ctx.skips?.refresh();
    return { taken, reports, alone: members.filter((m) => !duplicates.has(m.probed.display)).map((m) => m.index) };
  }
  if (!committed) return { taken, reports, alone: members.map((m) => m.index) };
  const durationMs = Math.round((Date.now() - started) / committed.members.length);
  for (const member of committed.members) {
    const rows = committed.rows.get(member.probed.display)!;
    reports.set(member.index, {
      ...blankReport(member.probed.display, targetName, member.probed.size),
      status: 'success',
      format: 'csv',
      rowsIngested: rows,
      snapshotId: committed.snapshotId,
      durationMs,
      renamed: committed.renamed,
      schemaChanges: committed.schemaChanges,
      droppedColumns: committed.droppedColumns,
    });
  }
  const alone = members.filter((m) => !reports.has(m.index)).map((m) => m.index);
  return { taken, reports, alone };
}

/** Stages, plans, writes and commits the members; those it leaves out (rejected lines, no rows) are not in `members` of the result. */
async function commitRun(ctx: IngestContext, table: LoadedTable, all: Member[], target: TableIdent, options: ResolvedIngestOptions) {
  const { rat } = ctx;
  const duck = rat.duck;
  const targetName = formatIdent(target);
  const id = newUuid().replaceAll('-', '');
  const scratchDir = await rat.store.stagingDir();
  const ingestedAt = new Date();
  try {
    const run = await stageCsvRun(
      { duck, id, reserved: ctx.reserved, options, targetSchema: currentSchema(table.metadata), scratchDir, onReadProgress: (work) => work(), onInferProgress: (work) => work() },
      all.map((m) => m.probed),
    );
    if (!run) return undefined;
    // A file with a rejected line goes alone (its quarantine); so does one without data rows (the one-file path says why).
    const members = all.filter((m) => !run.rejected.has(m.probed.display) && (run.rows.get(m.probed.display) ?? 0) > 0);
    if (members.length === 0) return undefined;
    const plan = await planConform({
      duck,
      staged: run.staged,
      ident: target,
      target: table,
      location: table.metadata.location,
      options,
      sourceFile: members[0]!.probed.display,
      ingestedAt,
      file: members[0]!.probed.display,
    });
    // Values to convert would need a quarantine per file: the files go alone.
    if (plan.badRowsSql !== undefined || plan.create) return undefined;
    const writes = deferWrites(rat.store);
    const metadata = plan.changes.reduce((m, change) => applySchemaChange(m, targetName, change), table.metadata);
    const dataFiles = await rat.executor.writer.writeFiles({ ...table, metadata }, plan.rowsSql, writes);
    // A file changed while the run read it: the run fails, and each file goes alone (pinned afresh).
    for (const member of members) await member.probed.unchanged?.();
    const displays = members.map((m) => m.probed.display);
    let recorded: RegistryEntry[] = [];
    const { snapshotId } = await commitIngest(rat, {
      ident: target,
      base: table,
      changes: plan.changes,
      dataFiles,
      mode: 'append',
      keys: [],
      summary: { 'rat.ingest.files': String(members.length), 'rat.ingest.file': displays[0]!, 'rat.ingest.last-file': displays.at(-1)!, 'rat.ingest.rows-rejected': '0' },
      entry: (snapshot) =>
        (recorded = members.map((m) =>
          entryOf(m.probed, targetName, 'success', { rowsIngested: run.rows.get(m.probed.display)!, ingestedAt, ...(snapshot !== undefined ? { snapshotId: snapshot } : {}) }),
        )),
      registry: ctx.registry,
      skipExisting: options.skipExisting,
      writing: (work) => work(),
      writes,
    });
    ctx.group?.forget();
    for (const entry of recorded) ctx.skips?.ingested(entry);
    return {
      members,
      rows: run.rows,
      snapshotId,
      renamed: run.staged.mapping.filter((m) => m.source !== m.name),
      schemaChanges: plan.notes.filter((n) => !n.startsWith('created')),
      droppedColumns: plan.dropped,
    };
  } finally {
    await dropStaged(duck, id);
    await rm(scratchDir, { recursive: true, force: true });
  }
}

/**
 * What files must share to be read together: format (CSV), compression and encoding, a sample that
 * holds the whole header line, an obvious delimiter (or a given one), and that header line itself.
 * Undefined: this file is not read with others.
 */
function runSignature(probed: ProbedFile, options: ResolvedIngestOptions): string | undefined {
  if (probed.format !== 'csv' || !probed.sample || probed.encoding !== 'utf-8' || probed.compression === 'zstd') return undefined;
  const sample = probed.sample.toString('utf8');
  const end = sample.indexOf('\n');
  if (end <= 0) return undefined;
  const delimiter = options.delimiter ?? obviousDelimiter(sample);
  if (delimiter === undefined) return undefined;
  return `${probed.compression}\u0000${delimiter}\u0000${sample.slice(0, end)}`;
}

function entryOf(probed: ProbedFile, targetName: string, status: RegistryEntry['status'], extra: Partial<RegistryEntry>): RegistryEntry {
  return newRegistryEntry({ filePath: probed.display, fileHash: probed.hash, fileSize: probed.size, targetTable: targetName }, status, extra);
}

function blankReport(file: string, target: string, bytes: number): FileReport {
  return { file, target, status: 'failed', rowsIngested: 0, rowsRejected: 0, bytes, durationMs: 0, renamed: [], schemaChanges: [], droppedColumns: [], sampleRejects: [] };
}
