import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import { duckDbTypeOf } from '../engine/type-mapping.js';
import { currentSchema } from '../iceberg/metadata.js';
import type { LoadedTable } from '../catalog/catalog.js';
import type { IcebergType, Schema } from '../iceberg/types.js';
import type { FileReport, IngestContext } from './ingest-file.js';
import { ingestFile } from './ingest-file.js';
import type { ResolvedIngestOptions } from './ingest-options.js';
import { probeFile } from './file-probe.js';
import { loadHistory } from '../iceberg/snapshot-lineage.js';
import { INGEST_FILE_KEY, INGEST_ID_KEY, INGEST_MODE_KEY, INGEST_REPLAY_KEY } from './file-registry.js';
import { type QuarantineOptions, rejectsIdent, type RejectRow, STRAY_BYTES_MATCH } from './quarantine.js';
import { LINEAGE_COLUMNS, mapColumnNames } from './column-names.js';

export interface ReplayReport {
  target: string;
  /** One report per group of quarantined rows (same source file and parse options). */
  groups: FileReport[];
  replayed: number;
  stillRejected: number;
  /**
   * Rows left in the quarantine because their file, read as UTF-8, has bytes there that are not UTF-8,
   * kept in their raw text as Latin-1 characters (STRAY_BYTES_REASON): which encoding they are is a
   * guess only the user can make. A replay given `encoding: 'latin-1'` loads them as that text.
   */
  strayBytes: number;
  /**
   * Rows left in the quarantine because their raw text lost bytes their file's encoding does not
   * allow (DuckDB's `?` for each, where the file could not be read again): replayed, they would load
   * the `?`. No replay loads them: the row must be corrected and ingested on its own.
   */
  encodingLost: number;
  /**
   * Rows left in the quarantine because they hold a value no table column can store: a date or
   * timestamp of infinity (from any source), or a custom parser's NaN, Infinity, function, Map or
   * invalid Date, whose raw text only describes it (`"NaN"`, `{}`) and would load as that stand-in.
   * The source must change (a parser return plain values), and the file be ingested again.
   */
  unstorable: number;
  /**
   * Rows quarantined by a merge whose key a later load has updated since (the table's row for it has
   * a newer `_ingested_at` than the row's `rejected_at`): merged by default they would replace newer
   * data with older. They stay, with that reason, until replayed with an explicit --mode.
   */
  superseded: number;
  /**
   * Rows left in the quarantine because the table no longer holds their delivery: a later --mode
   * overwrite load replaced its rows after they were quarantined, or they were refused by an earlier
   * table of the same name (dropped since). Replayed, they would mix old data into newer.
   */
  outdated: number;
}

/** How the replay was asked to load the rows: an explicit mode wins over the one the rows were loaded with. */
export interface ReplayRequest {
  /** Whether `mode` (and `keys`) were given to the replay rather than defaulted. */
  modeGiven: boolean;
}

/**
 * DuckDB's reason for a CSV row whose bytes are not in the file's encoding; its raw text has `?` for
 * them. RE2 and JavaScript read the pattern alike: the replay matches it in SQL too.
 */
const ENCODING_LOST = '(?i)invalid unicode';
/**
 * Reasons staged-rows.ts and custom-parser.ts give for a parser's value that cannot be stored
 * (encodeValue), or a row that is not an object; and temporal-infinity.ts's for a date or timestamp
 * of infinity, which no table column can take either.
 */
const UNSTORABLE =
  '^(?:column ".*": (?:.* is not a number that can be stored|an? [^ ]+ cannot be stored|an invalid Date|a nested value cannot be stored)|row [0-9]+ is not an object of column values|column .*: -?infinity cannot be stored as .*: an Iceberg date or timestamp has no infinity$)';

/** Whether a row is left in the quarantine, and why; `latin1`: the replay was told that bytes that are not UTF-8 are Latin-1. */
function kept(reason: string, latin1: boolean): 'strayBytes' | 'encodingLost' | 'unstorable' | undefined {
  if (reason.includes(STRAY_BYTES_MATCH)) return latin1 ? undefined : 'strayBytes';
  if (/invalid unicode/i.test(reason)) return 'encodingLost';
  if (new RegExp(UNSTORABLE).test(reason)) return 'unstorable';
  return undefined;
}

/**
 * Parses quarantined rows again, after the table (e.g. ALTER TABLE ... ALTER COLUMN TYPE) or the
 * options (e.g. --date-format) were fixed. Per source file: its raw rows are written back
 * into a file of their format (CSV with the original header and dialect, or NDJSON) and ingested like
 * any file; rows that now parse go into the table, rows that still fail replace their old quarantine
 * rows (with the new reason), in the same commit, so a row is always in exactly one of the two.
 *
 * A replay adds rows to the table as they were loaded: appended, or merged by the key of the merge
 * that quarantined them; never an overwrite, which would drop every other row of the table. The
 * table must exist (a dropped table is not made again from its quarantine), and keeps its lineage
 * choice: the rows get _source_file and _ingested_at only when the table has them.
 */
export async function replayRejects(ctx: IngestContext, target: TableIdent, options: ResolvedIngestOptions, request: ReplayRequest = { modeGiven: false }): Promise<ReplayReport> {
  const { rat } = ctx;
  const rejects = rejectsIdent(target);
  const targetName = formatIdent(target);
  const report: ReplayReport = { target: targetName, groups: [], replayed: 0, stillRejected: 0, strayBytes: 0, encodingLost: 0, unstorable: 0, superseded: 0, outdated: 0 };
  if (options.mode === 'overwrite') {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `a replay adds the quarantined rows of ${targetName} to the table and never replaces it: --mode overwrite would leave only the replayed rows. Replay without --mode (rows of a merge are merged by their key again)`,
    );
  }
  if (options.encoding !== undefined && options.encoding !== 'latin-1') {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `a replay reads the quarantined rows of ${targetName} from their raw text, so its only encoding is latin-1 (rows whose bytes were not UTF-8 load as their Latin-1 characters), got --encoding ${options.encoding}`,
    );
  }
  const latin1 = options.encoding === 'latin-1';
  const hasRejects = await rat.catalog.tableExists(rejects);
  if (!(await rat.catalog.tableExists(target))) {
    throw new NotFoundError(
      'CATALOG_TABLE_NOT_FOUND',
      hasRejects
        ? `table ${targetName} does not exist, so its quarantined rows (in ${formatIdent(rejects)}) have nowhere to go; a replay does not create the table from them: ingest the files into ${targetName} again, or drop ${formatIdent(rejects)}`
        : `table ${targetName} does not exist: nothing to replay (see the tables with: rat tables)`,
    );
  }
  if (!hasRejects) return report;
  const scratch = await rat.store.stagingDir();
  const unique = `${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  const keptRows = `__rat_replay_kept_${unique}`;
  const lineMap = `__rat_replay_lines_${unique}`;
  // Groups replayed (or left whole in the quarantine), by groupKey: each is read, and counted, once.
  const done = new Set<string>();
  let rereads = 0;
  try {
    for (let index = 1; ; index++) {
      // Each group is replayed from the quarantine as read just before, and commits only while it is
      // still that version: a group whose commit finds it moved (another replay, an ingest's rejects) is read again.
      const read = await readQuarantine(ctx, rejects);
      const table = await rat.catalog.loadTable(target);
      const schema = currentSchema(table.metadata);
      if (index === 1) refuseMergesWithoutLineage(read.groups, schema, options, request, targetName, latin1);
      const next = [...read.groups].find(([key]) => !done.has(key));
      if (!next) break;
      const [groupKey, all] = next;
      const first = all[0]!;
      const parse = JSON.parse(first.parse_options) as QuarantineOptions;
      const load = loadOf(parse, options, request);
      const groupOptions = replayOptions(options, parse, load, LINEAGE_COLUMNS.every((name) => schema.fields.some((f) => f.name === name)));
      const candidates = all.filter((row) => kept(row.reason, latin1) === undefined);
      const old = outdated(table, targetName, parse, candidates);
      const fresh = candidates.filter((row) => !old.has(row));
      const later = load.byDefault ? await laterLoads(ctx, table, schema, fresh, load.keys, groupOptions) : new Map<RejectRow, string>();
      const stays = new Map([...old, ...later]);
      if (await keepWithReasons(ctx, rejects, read, keptRows, stays)) {
        // The reasons changed in the quarantine: read it again, to replay from the version that holds them.
        if (++rereads > MAX_REREADS) throw tooBusy(targetName);
        index--;
        continue;
      }
      const left = fresh.filter((row) => !later.has(row));
      const settle = (result?: FileReport) => {
        done.add(groupKey);
        for (const row of all) {
          const reason = kept(row.reason, latin1);
          if (reason) report[reason]++;
        }
        report.outdated += old.size;
        report.superseded += later.size;
        report.stillRejected += all.length - left.length;
        if (!result) return;
        report.groups.push(result);
        if (result.status === 'success') {
          report.replayed += result.rowsIngested;
          report.stillRejected += result.rowsRejected;
        } else report.stillRejected += left.length;
      };
      if (left.length === 0) {
        settle();
        continue;
      }
      const path = join(scratch, `replay-${index}.${parse.format === 'csv' ? 'csv' : 'ndjson'}`);
      const header = parse.format === 'csv' ? [csvHeader(parse)] : [];
      await writeFile(path, `${[...header, ...left.map((r) => r.raw.replace(/\r?\n$/, ''))].join('\n')}\n`, 'utf8');
      const offset = header.length + 1;
      await rat.duck.run(`CREATE OR REPLACE TEMP TABLE ${lineMap} (tmp BIGINT, line BIGINT)`);
      for (let i = 0; i < left.length; i += 500) {
        const values = left.slice(i, i + 500).map((r, k) => `(${i + k + offset}, ${r.line ?? 'NULL'})`);
        await rat.duck.run(`INSERT INTO ${lineMap} VALUES ${values.join(', ')}`);
      }
      const same = `file_path = ${quoteString(first.file_path)} AND file_hash = ${quoteString(first.file_hash)} AND format = ${quoteString(first.format)} AND parse_options = ${quoteString(first.parse_options)}`;
      // Rows whose text lost bytes, or that hold a stand-in for a value, stay as they are (not replayed, see strayBytes, encodingLost, unstorable), as do rows kept with a reason (superseded, outdated).
      const keepStaysSql = stays.size > 0 ? ` OR EXISTS (SELECT 1 FROM ${keptRows} s WHERE ${KEPT_MATCH})` : '';
      const lostSql = `regexp_matches(reason, ${quoteString(ENCODING_LOST)})${latin1 ? ` AND NOT contains(reason, ${quoteString(STRAY_BYTES_MATCH)})` : ''}`;
      const keepRejectsSql = `SELECT * FROM (${read.sql}) r WHERE NOT (${same}) OR (${lostSql}) OR regexp_matches(reason, ${quoteString(UNSTORABLE)})${keepStaysSql}`;
      const probed = await probeFile(path, first.file_path, groupOptions);
      const result = await ingestFile(ctx, { display: first.file_path, localPath: async () => path }, target, groupOptions, {
        probed,
        parse,
        rejects: read.table,
        keepRejectsSql,
        lineMap,
        fileHash: first.file_hash,
        fileSize: await ingestedSize(ctx, targetName, first),
      });
      if (result.status === 'failed' && result.cause instanceof ConflictError) {
        if (++rereads > MAX_REREADS) throw tooBusy(targetName, result.cause);
        index--;
        continue;
      }
      settle(result);
    }
  } finally {
    await rat.duck.run(`DROP TABLE IF EXISTS ${keptRows}`);
    await rat.duck.run(`DROP TABLE IF EXISTS ${lineMap}`);
    await rm(scratch, { recursive: true, force: true });
  }
  return report;
}

/** The size of the rows' file as the registry recorded it when they were quarantined (0 if it holds no row of it, as for a database or API source). */
async function ingestedSize(ctx: IngestContext, targetName: string, row: RejectRow): Promise<number> {
  const entries = await ctx.registry.list({ target: targetName, filePath: row.file_path });
  return entries.findLast((entry) => entry.fileHash === row.file_hash)?.fileSize ?? 0;
}

/** How often a replay reads the quarantine again because another writer moved it (or the target) first. */
const MAX_REREADS = 20;

function tooBusy(target: string, cause?: Error): ConflictError {
  return new ConflictError('COMMIT_CONFLICT', `${target}: its quarantine kept changing under ${MAX_REREADS} attempts to replay it (other ingests or replays committed first); the rows replayed so far are in the table, the others still quarantined: try again`, cause ? { cause } : undefined);
}

/** One version of the quarantine table, and its rows grouped by source file and parse options, oldest rejections first. */
interface QuarantineRead {
  table: LoadedTable;
  /** SELECT of this version's rows. */
  sql: string;
  groups: Map<string, RejectRow[]>;
}

async function readQuarantine(ctx: IngestContext, rejects: TableIdent): Promise<QuarantineRead> {
  const table = await ctx.rat.catalog.loadTable(rejects);
  const { sql } = await ctx.rat.executor.reader.plan(table);
  // Oldest rejections first: where rows of several files are merged by one key, the latest one wins.
  const rows = await ctx.rat.duck.rows<RejectRow & { line: bigint | number | null }>(
    `SELECT file_path, file_hash, line, reason, raw, format, parse_options, ingest_id, CAST(rejected_at AS VARCHAR) AS rejected_at, epoch_ms(rejected_at) AS rejected_ms
     FROM (${sql}) ORDER BY rejected_at NULLS FIRST, file_path, format, parse_options, line NULLS LAST`,
  );
  const groups = new Map<string, RejectRow[]>();
  for (const found of rows) {
    const row: RejectRow = { ...found, line: found.line === null ? null : Number(found.line), rejected_ms: found.rejected_ms === null ? null : Number(found.rejected_ms) };
    const key = JSON.stringify([row.file_path, row.file_hash, row.format, row.parse_options]);
    // Pushed, not copied: a copy per row made reading a file's 40,000 quarantined rows take seconds (quadratic).
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return { table, sql, groups };
}

/** Rows of a merge are merged by default only where the table can tell a newer row (see laterLoads): else the replay must be told how. */
function refuseMergesWithoutLineage(groups: Map<string, RejectRow[]>, schema: Schema, options: ResolvedIngestOptions, request: ReplayRequest, targetName: string, latin1: boolean): void {
  if (schema.fields.some((f) => f.name === INGESTED_AT)) return;
  const merges = [...groups.values()].map((group) => ({ group, load: loadOf(JSON.parse(group[0]!.parse_options) as QuarantineOptions, options, request) })).filter(({ load }) => load.byDefault);
  if (merges.length === 0) return;
  const keys = [...new Set(merges.flatMap(({ load }) => load.keys))].join(',');
  const count = merges.reduce((n, { group }) => n + group.filter((row) => kept(row.reason, latin1) === undefined).length, 0);
  if (count === 0) return;
  throw new ValidationError(
    'INVALID_ARGUMENT',
    `${count} quarantined row${count === 1 ? ' of' : 's of'} ${targetName} came from a --mode merge --key ${keys} ingest, and the table has no ${INGESTED_AT} column (it was ingested with --no-lineage), so a replay cannot tell whether a later load has updated ${count === 1 ? 'its key' : 'their keys'} since: merged again, ${count === 1 ? 'it' : 'they'} could replace newer rows with older ones. Say how to load ${count === 1 ? 'it' : 'them'}: --mode merge --key ${keys} (replaces whatever ${targetName} holds for ${count === 1 ? 'that key' : 'those keys'}) or --mode append (adds ${count === 1 ? 'it' : 'them'} as new rows)`,
  );
}

/**
 * The options a group's rows are read and loaded with: the replay's, with the rows' own mode, keys
 * and format; and the ingest's drift policy and, for rows kept as the file's text, its names (a
 * --rename given to the replay wins for its column). JSON records rebuilt from their values keep the
 * table's column names they hold (named again, a keyword such as `order` would become `order_`).
 */
function replayOptions(options: ResolvedIngestOptions, parse: QuarantineOptions, load: GroupLoad, lineage: boolean): ResolvedIngestOptions {
  return {
    ...options,
    mode: load.mode,
    keys: load.keys,
    lineage,
    // Quarantined rows are raw CSV lines or JSON records, whatever read the file first (Excel, a custom parser).
    parser: undefined,
    records: undefined,
    format: parse.format === 'csv' ? 'csv' : 'json',
    skipExisting: false,
    ...(parse.schemaDrift ? { schemaDrift: parse.schemaDrift } : {}),
    rename: { ...parse.rename, ...options.rename },
    ...(parse.safeNames === false ? { safeNames: false } : {}),
    ...(parse.format === 'csv'
      ? {
          delimiter: parse.delimiter ?? ',',
          quote: parse.quote ?? '"',
          escape: parse.escape ?? '"',
          header: true,
          encoding: 'utf-8' as const,
          // A format or separator given to the replay wins over the one the first read used (or sniffed): it is how such rows get fixed.
          ...replayWins(options, parse, 'dateFormat'),
          ...replayWins(options, parse, 'timestampFormat'),
          ...replayWins(options, parse, 'decimalSeparator'),
        }
      : {
          // Written back as UTF-8, whatever --encoding the replay got (latin-1 only tells it to load the rows with stray bytes).
          jsonFormat: 'newline_delimited' as const,
          encoding: 'utf-8' as const,
          flatten: parse.tableNames ? false : (parse.flatten ?? options.flatten ?? false),
          ...(parse.tableNames ? { tableNames: true } : {}),
        }),
    // The replay's file holds some of the ingest's records: a column the ingest renamed may be in none of them.
    optionalRenames: Object.keys(parse.rename ?? {}).filter((from) => !Object.hasOwn(options.rename, from)),
  };
}

/**
 * Rows whose data the table no longer holds, with why: rows refused by an earlier table of this name
 * (dropped since; `parse.table` is its table-uuid), and rows quarantined before a later --mode
 * overwrite load replaced the table's rows. Replayed, they would mix an old delivery into a newer one.
 */
function outdated(table: LoadedTable, targetName: string, parse: QuarantineOptions, rows: RejectRow[]): Map<RejectRow, string> {
  if (parse.table !== undefined && parse.table !== table.metadata.tableUuid) {
    const reason = `quarantined for an earlier table named ${targetName}, dropped since (the table now under that name was made later), so it was not replayed into it; ingest its file into ${targetName} again if its rows belong there`;
    return new Map(rows.map((row) => [row, reason]));
  }
  // Newest first; an overwrite's own snapshot does not outdate the rows it quarantined.
  const overwrites = loadHistory(table.metadata).filter((s) => s.summary[INGEST_MODE_KEY] === 'overwrite' && s.summary[INGEST_REPLAY_KEY] === undefined);
  const result = new Map<RejectRow, string>();
  for (const row of rows) {
    const later = overwrites.find((s) => s.summary[INGEST_ID_KEY] !== row.ingest_id && row.rejected_ms !== null && s.timestampMs > row.rejected_ms);
    if (!later) continue;
    result.set(
      row,
      `a later --mode overwrite load (${later.summary[INGEST_FILE_KEY] ?? 'unknown file'}, ${new Date(later.timestampMs).toISOString()}) replaced the rows of ${targetName} after this row was quarantined, so it was not replayed into the newer data; ingest its file again if its rows belong there`,
    );
  }
  return result;
}

const INGESTED_AT = '_ingested_at';
const SOURCE_FILE = '_source_file';
/** A quarantine row `r` is one of the rows of `s` (what a quarantine row holds that tells it apart). */
const KEPT_MATCH = [
  's.file_path = r.file_path',
  's.file_hash = r.file_hash',
  's.format = r.format',
  's.parse_options = r.parse_options',
  's.line IS NOT DISTINCT FROM r.line',
  's.raw = r.raw',
  's.ingest_id = r.ingest_id',
].join(' AND ');

interface GroupLoad {
  mode: ResolvedIngestOptions['mode'];
  keys: string[];
  /** Merged by the key the rows were quarantined with, without the replay being told to. */
  byDefault: boolean;
}

/** Rows of a merge are merged by its key again, unless the replay was given a mode; older rows carry no mode and are appended. */
function loadOf(parse: QuarantineOptions, options: ResolvedIngestOptions, request: ReplayRequest): GroupLoad {
  if (request.modeGiven) return { mode: options.mode, keys: options.keys, byDefault: false };
  if (parse.mode === 'merge' && parse.keys?.length) return { mode: 'merge', keys: parse.keys, byDefault: true };
  return { mode: 'append', keys: [], byDefault: false };
}

/**
 * The rows of `group` (quarantined by a merge by `keys`) whose key the table holds in a row loaded
 * after they were quarantined (`_ingested_at` later than their `rejected_at`), by the same load from
 * the same file (the same `_ingested_at` and `_source_file`: the file's last row of a key wins, and
 * the table does not record whether that row came after this one), or written outside an ingest (no
 * `_ingested_at`): merging them could replace newer data with older. With the reason each stays in
 * the quarantine for. A row whose key cannot be read from its raw text is left to the
 * replay, which quarantines it again when it cannot read it either.
 */
async function laterLoads(ctx: IngestContext, table: LoadedTable, schema: Schema, group: RejectRow[], keys: string[], options: ResolvedIngestOptions): Promise<Map<RejectRow, string>> {
  const { rat } = ctx;
  if (group.length === 0) return new Map();
  const columns = keys.map((key) => schema.fields.find((f) => f.name.toLowerCase() === key.toLowerCase()));
  // A key the table does not have fails the merge itself, with its own error.
  if (columns.some((c) => c === undefined)) return new Map();
  const first = group[0]!;
  const parse = JSON.parse(first.parse_options) as QuarantineOptions;
  const read = keyReader(first.file_path, parse, keys, options, ctx.reserved);
  const texts = group.map((row) => read(row));
  const known = group.map((row, pos) => ({ row, pos, texts: texts[pos] })).filter((r): r is { row: RejectRow; pos: number; texts: (string | null)[] } => r.texts !== undefined);
  if (known.length === 0) return new Map();
  const keyTable = `__rat_replay_keys_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  const formats = parse.format === 'csv' ? { ...replayWins(options, parse, 'dateFormat'), ...replayWins(options, parse, 'timestampFormat'), ...replayWins(options, parse, 'decimalSeparator') } : {};
  const keyColumns = columns.map((_, i) => `k${i}`);
  await rat.duck.run(`CREATE OR REPLACE TEMP TABLE ${keyTable} (pos INTEGER, rejected_at TIMESTAMPTZ, file VARCHAR, ${keyColumns.map((k) => `${k} VARCHAR`).join(', ')})`);
  try {
    for (let i = 0; i < known.length; i += 500) {
      const values = known.slice(i, i + 500).map((r) => `(${r.pos}, ${quoteString(r.row.rejected_at)}, ${quoteString(r.row.file_path)}, ${r.texts.map((t) => (t === null ? 'NULL' : quoteString(t))).join(', ')})`);
      await rat.duck.run(`INSERT INTO ${keyTable} VALUES ${values.join(', ')}`);
    }
    const { sql } = await rat.executor.reader.plan(table);
    const on = columns.map((c, i) => `${keyValueSql(`k.${keyColumns[i]}`, c!.type, formats)} = t.${quoteIdent(c!.name)}`).join(' AND ');
    const hasSource = schema.fields.some((f) => f.name === SOURCE_FILE);
    const source = hasSource ? `max_by(t.${SOURCE_FILE}, t.${INGESTED_AT})` : 'NULL';
    const sameLoad = `t.${INGESTED_AT} = k.rejected_at${hasSource ? ` AND t.${SOURCE_FILE} = k.file` : ''}`;
    const later = await rat.duck.rows<{ pos: number; at: string | null; file: string | null; same: boolean | null }>(
      `SELECT k.pos, CAST(max(t.${INGESTED_AT}) AS VARCHAR) AS at, ${source} AS file, max(t.${INGESTED_AT}) = any_value(k.rejected_at) AS same
       FROM ${keyTable} k JOIN (${sql}) t ON ${on}
       WHERE t.${INGESTED_AT} IS NULL OR t.${INGESTED_AT} > k.rejected_at OR (${sameLoad})
       GROUP BY k.pos`,
    );
    const to = `to load it anyway, replay with --mode merge --key ${keys.join(',')} (it replaces the table's row) or --mode append`;
    return new Map(
      later.map(({ pos, at, file, same }) => {
        const key = keys.map((k, i) => `${k}=${texts[pos]![i] ?? 'NULL'}`).join(', ');
        const reason =
          at === null
            ? `a row written outside an ingest (no ${INGESTED_AT}) holds key ${key}, so it may be newer than this row quarantined by a merge, which was not merged over it; ${to}`
            : same
              ? `the load that quarantined this row (${file ?? 'unknown file'}, ${at}) loaded another row of the file with key ${key}, which may come after it in the file (the last row of a key wins), so it was not merged over it; ${to}`
              : `a later load (${file ?? 'unknown file'}, ${at}) already updated key ${key}, so this row quarantined by a merge was not merged over it; ${to}`;
        return [group[pos]!, reason];
      }),
    );
  } finally {
    await rat.duck.run(`DROP TABLE IF EXISTS ${keyTable}`);
  }
}

/**
 * Lists the rows that stay with a reason (superseded, outdated) in `keptRows`, for the replay of their
 * group to keep, and writes the reasons that changed into the quarantine (one commit, on the version
 * `read`). true when it committed, or another writer moved the quarantine first: either way the
 * replay must read it again.
 */
async function keepWithReasons(ctx: IngestContext, rejects: TableIdent, read: QuarantineRead, keptRows: string, stays: Map<RejectRow, string>): Promise<boolean> {
  const { rat } = ctx;
  await rat.duck.run(`CREATE OR REPLACE TEMP TABLE ${keptRows} (file_path VARCHAR, file_hash VARCHAR, format VARCHAR, parse_options VARCHAR, line BIGINT, raw VARCHAR, ingest_id VARCHAR, reason VARCHAR)`);
  const entries = [...stays];
  for (let i = 0; i < entries.length; i += 500) {
    const values = entries
      .slice(i, i + 500)
      .map(([r, reason]) => `(${[r.file_path, r.file_hash, r.format, r.parse_options].map(quoteString).join(', ')}, ${r.line ?? 'NULL'}, ${quoteString(r.raw)}, ${quoteString(r.ingest_id)}, ${quoteString(reason)})`);
    await rat.duck.run(`INSERT INTO ${keptRows} VALUES ${values.join(', ')}`);
  }
  if (entries.every(([row, reason]) => row.reason === reason)) return false;
  try {
    await rat.executor.writer.append(
      rejects,
      `SELECT r.file_path, r.file_hash, r.line, coalesce(s.reason, r.reason) AS reason, r.raw, r.format, r.parse_options, r.ingest_id, r.rejected_at
       FROM (${read.sql}) r LEFT JOIN (SELECT DISTINCT * FROM ${keptRows}) s ON ${KEPT_MATCH}`,
      { overwrite: true, base: read.table },
    );
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
  return true;
}

/**
 * Reads the text of each key column from a quarantined row's raw text (a CSV record under the
 * group's header, or a JSON record), naming the columns as the replay will (renames, safe names).
 * undefined when the row cannot be read so; null for a JSON null.
 */
function keyReader(file: string, parse: QuarantineOptions, keys: string[], options: ResolvedIngestOptions, reserved: ReadonlySet<string>): (row: RejectRow) => (string | null)[] | undefined {
  const names = (source: string[]): string[] | undefined => {
    try {
      return mapColumnNames(file, source, options, reserved).map((m) => m.name);
    } catch {
      // The replay fails on such names itself, with the reason.
      return undefined;
    }
  };
  const wanted = keys.map((k) => k.toLowerCase());
  if (parse.format === 'csv') {
    const header = names(parse.columns ?? []);
    const positions = header ? wanted.map((k) => header.indexOf(k)) : [];
    if (!header || positions.some((p) => p < 0)) return () => undefined;
    return (row) => {
      const fields = csvFields(row.raw.replace(/\r?\n$/, ''), parse.delimiter ?? ',', parse.quote ?? '"', parse.escape ?? '"');
      const values = positions.map((p) => fields[p]);
      return values.every((v): v is string => v !== undefined) ? values : undefined;
    };
  }
  return (row) => {
    let record: unknown;
    try {
      record = JSON.parse(row.raw);
    } catch {
      return undefined;
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
    const source = Object.keys(record);
    const mapped = names(source);
    if (!mapped) return undefined;
    const values = wanted.map((k) => {
      const i = mapped.indexOf(k);
      const value = i < 0 ? undefined : (record as Record<string, unknown>)[source[i]!];
      if (value === null) return null;
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : undefined;
    });
    return values.every((v): v is string | null => v !== undefined) ? values : undefined;
  };
}

/** The fields of one CSV record, quotes and escapes resolved as DuckDB reads them. */
function csvFields(record: string, delimiter: string, quote: string, escape: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; ) {
    const ch = record[i]!;
    if (quoted) {
      if (escape !== quote && ch === escape && (record[i + 1] === quote || record[i + 1] === escape)) {
        field += record[i + 1];
        i += 2;
      } else if (ch === quote && escape === quote && record[i + 1] === quote) {
        field += quote;
        i += 2;
      } else if (ch === quote) {
        quoted = false;
        i++;
      } else {
        field += ch;
        i++;
      }
    } else if (quote !== '' && ch === quote) {
      quoted = true;
      i++;
    } else if (record.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length;
    } else {
      field += ch;
      i++;
    }
  }
  fields.push(field);
  return fields;
}

/** SQL for a key's text as the table column's value, read with the replay's date, timestamp and decimal options. */
function keyValueSql(text: string, type: IcebergType, formats: Pick<ResolvedIngestOptions, 'dateFormat' | 'timestampFormat' | 'decimalSeparator'>): string {
  const duckType = duckDbTypeOf(type);
  if (type === 'date' && formats.dateFormat) return `coalesce(TRY_CAST(${text} AS DATE), CAST(try_strptime(${text}, ${quoteString(formats.dateFormat)}) AS DATE))`;
  if ((type === 'timestamp' || type === 'timestamptz') && formats.timestampFormat) {
    return `coalesce(TRY_CAST(${text} AS ${duckType}), CAST(try_strptime(${text}, ${quoteString(formats.timestampFormat)}) AS ${duckType}))`;
  }
  const numeric = typeof type === 'string' && (['int', 'long', 'float', 'double'].includes(type) || type.startsWith('decimal'));
  if (numeric && formats.decimalSeparator === ',') return `TRY_CAST(replace(${text}, ',', '.') AS ${duckType})`;
  return `TRY_CAST(${text} AS ${duckType})`;
}

/** The option as given to the replay, else as the first read used it; nothing when neither has it. */
function replayWins<K extends 'dateFormat' | 'timestampFormat' | 'decimalSeparator'>(options: ResolvedIngestOptions, parse: QuarantineOptions, key: K): Partial<Pick<ResolvedIngestOptions, K>> {
  const value = options[key] ?? parse[key];
  return value ? ({ [key]: value } as Partial<Pick<ResolvedIngestOptions, K>>) : {};
}

function csvHeader(parse: QuarantineOptions): string {
  const delimiter = parse.delimiter ?? ',';
  const quote = parse.quote ?? '"';
  return (parse.columns ?? [])
    .map((name) => (quote && (name.includes(delimiter) || name.includes(quote) || /[\r\n]/.test(name)) ? `${quote}${name.replaceAll(quote, quote + quote)}${quote}` : name))
    .join(delimiter);
}
