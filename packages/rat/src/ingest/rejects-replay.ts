import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import { currentSchema } from '../iceberg/metadata.js';
import type { FileReport, IngestContext } from './ingest-file.js';
import { ingestFile } from './ingest-file.js';
import type { ResolvedIngestOptions } from './ingest-options.js';
import { probeFile } from './file-probe.js';
import { type QuarantineOptions, rejectsIdent, type RejectRow } from './quarantine.js';
import { LINEAGE_COLUMNS } from './column-names.js';

export interface ReplayReport {
  target: string;
  /** One report per group of quarantined rows (same source file and parse options). */
  groups: FileReport[];
  replayed: number;
  stillRejected: number;
  /**
   * Rows left in the quarantine because their raw text lost bytes to an encoding error (DuckDB
   * stores `?` for them): replayed, they would load the `?`. Their file must be ingested again,
   * with the right --encoding.
   */
  encodingLost: number;
  /**
   * Rows left in the quarantine because a custom parser gave a value that cannot be stored (NaN,
   * Infinity, a function, a Map, an invalid Date, ...): their raw text only describes it (`"NaN"`,
   * `{}`), and replayed it would load that stand-in. The parser must return plain values, and the
   * file be ingested again.
   */
  unstorable: number;
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
/** Reasons staged-rows.ts and custom-parser.ts give for a parser's value that cannot be stored (encodeValue), or a row that is not an object. */
const UNSTORABLE = '^(?:column ".*": (?:.* is not a number that can be stored|an? [^ ]+ cannot be stored|an invalid Date|a nested value cannot be stored)|row [0-9]+ is not an object of column values)';

function kept(reason: string): 'encodingLost' | 'unstorable' | undefined {
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
  const report: ReplayReport = { target: targetName, groups: [], replayed: 0, stillRejected: 0, encodingLost: 0, unstorable: 0 };
  if (options.mode === 'overwrite') {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `a replay adds the quarantined rows of ${targetName} to the table and never replaces it: --mode overwrite would leave only the replayed rows. Replay without --mode (rows of a merge are merged by their key again)`,
    );
  }
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
  const schema = currentSchema((await rat.catalog.loadTable(target)).metadata);
  const lineage = LINEAGE_COLUMNS.every((name) => schema.fields.some((f) => f.name === name));
  const relation = `${rejects.namespace}.${quoteIdent(rejects.name)}`;
  const rows = await rat.query<Record<string, string | number | null>>(`SELECT file_path, file_hash, line, reason, raw, format, parse_options, ingest_id, CAST(rejected_at AS VARCHAR) AS rejected_at FROM ${relation} ORDER BY file_path, format, parse_options, line NULLS LAST`);
  const groups = new Map<string, RejectRow[]>();
  for (const row of rows as unknown as RejectRow[]) {
    const stays = kept(row.reason);
    if (stays) {
      report[stays]++;
      report.stillRejected++;
      continue;
    }
    const key = JSON.stringify([row.file_path, row.file_hash, row.format, row.parse_options]);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const scratch = await rat.store.stagingDir();
  try {
    let index = 0;
    for (const group of groups.values()) {
      const first = group[0]!;
      const parse = JSON.parse(first.parse_options) as QuarantineOptions;
      const path = join(scratch, `replay-${++index}.${parse.format === 'csv' ? 'csv' : 'ndjson'}`);
      const header = parse.format === 'csv' ? [csvHeader(parse)] : [];
      await writeFile(path, `${[...header, ...group.map((r) => r.raw.replace(/\r?\n$/, ''))].join('\n')}\n`, 'utf8');
      const lineMap = `__rat_replay_lines_${index}`;
      const offset = header.length + 1;
      await rat.duck.run(`CREATE OR REPLACE TEMP TABLE ${lineMap} (tmp BIGINT, line BIGINT)`);
      for (let i = 0; i < group.length; i += 500) {
        const values = group.slice(i, i + 500).map((r, k) => `(${i + k + offset}, ${r.line ?? 'NULL'})`);
        await rat.duck.run(`INSERT INTO ${lineMap} VALUES ${values.join(', ')}`);
      }
      const same = `file_path = ${quoteString(first.file_path)} AND file_hash = ${quoteString(first.file_hash)} AND format = ${quoteString(first.format)} AND parse_options = ${quoteString(first.parse_options)}`;
      // Rows whose text lost bytes, or that hold a stand-in for a value, stay as they are (not replayed, see encodingLost, unstorable).
      const keepRejectsSql = `SELECT * FROM ${relation} WHERE NOT (${same}) OR regexp_matches(reason, ${quoteString(ENCODING_LOST)}) OR regexp_matches(reason, ${quoteString(UNSTORABLE)})`;
      // Rows of a merge are merged by its key again, unless the replay was given a mode; older rows carry no mode and are appended.
      const load = request.modeGiven ? { mode: options.mode, keys: options.keys } : parse.mode === 'merge' && parse.keys?.length ? { mode: parse.mode, keys: parse.keys } : { mode: 'append' as const, keys: [] };
      const groupOptions: ResolvedIngestOptions = {
        ...options,
        ...load,
        lineage,
        // Quarantined rows are raw CSV lines or JSON records, whatever read the file first (Excel, a custom parser).
        parser: undefined,
        records: undefined,
        format: parse.format === 'csv' ? 'csv' : 'json',
        skipExisting: false,
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
          : { jsonFormat: 'newline_delimited' as const }),
      };
      try {
        const probed = await probeFile(path, first.file_path, groupOptions);
        const result = await ingestFile(ctx, { display: first.file_path, localPath: async () => path }, target, groupOptions, {
          probed,
          parse,
          keepRejectsSql,
          lineMap,
          fileHash: first.file_hash,
        });
        report.groups.push(result);
        if (result.status === 'success') {
          report.replayed += result.rowsIngested;
          report.stillRejected += result.rowsRejected;
        } else report.stillRejected += group.length;
      } finally {
        await rat.duck.run(`DROP TABLE IF EXISTS ${lineMap}`);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return report;
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
