import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import type { FileReport, IngestContext } from './ingest-file.js';
import { ingestFile } from './ingest-file.js';
import type { ResolvedIngestOptions } from './ingest-options.js';
import { probeFile } from './file-probe.js';
import { rejectsIdent, type RejectRow } from './quarantine.js';
import type { ParseOptions } from './staged-file.js';

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
}

/** DuckDB's reason for a CSV row whose bytes are not in the file's encoding; its raw text has `?` for them. */
const ENCODING_LOST = /invalid unicode/i;

/**
 * Parses quarantined rows again, after the table (e.g. ALTER TABLE ... ALTER COLUMN TYPE) or the
 * options (e.g. --type amount=VARCHAR) were fixed. Per source file: its raw rows are written back
 * into a file of their format (CSV with the original header and dialect, or NDJSON) and ingested like
 * any file; rows that now parse go into the table, rows that still fail replace their old quarantine
 * rows (with the new reason), in the same commit, so a row is always in exactly one of the two.
 */
export async function replayRejects(ctx: IngestContext, target: TableIdent, options: ResolvedIngestOptions): Promise<ReplayReport> {
  const { rat } = ctx;
  const rejects = rejectsIdent(target);
  const report: ReplayReport = { target: formatIdent(target), groups: [], replayed: 0, stillRejected: 0, encodingLost: 0 };
  if (!(await rat.catalog.tableExists(rejects))) return report;
  const relation = `${rejects.namespace}.${quoteIdent(rejects.name)}`;
  const rows = await rat.query<Record<string, string | number | null>>(`SELECT file_path, file_hash, line, reason, raw, format, parse_options, ingest_id, CAST(rejected_at AS VARCHAR) AS rejected_at FROM ${relation} ORDER BY file_path, format, parse_options, line NULLS LAST`);
  const groups = new Map<string, RejectRow[]>();
  for (const row of rows as unknown as RejectRow[]) {
    if (ENCODING_LOST.test(row.reason)) {
      report.encodingLost++;
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
      const parse = JSON.parse(first.parse_options) as ParseOptions;
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
      // Rows whose text lost bytes stay as they are (not replayed, see encodingLost).
      const keepRejectsSql = `SELECT * FROM ${relation} WHERE NOT (${same}) OR regexp_matches(reason, 'invalid unicode', 'i')`;
      const groupOptions: ResolvedIngestOptions = {
        ...options,
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
function replayWins<K extends 'dateFormat' | 'timestampFormat' | 'decimalSeparator'>(options: ResolvedIngestOptions, parse: ParseOptions, key: K): Partial<Pick<ResolvedIngestOptions, K>> {
  const value = options[key] ?? parse[key];
  return value ? ({ [key]: value } as Partial<Pick<ResolvedIngestOptions, K>>) : {};
}

function csvHeader(parse: ParseOptions): string {
  const delimiter = parse.delimiter ?? ',';
  const quote = parse.quote ?? '"';
  return (parse.columns ?? [])
    .map((name) => (quote && (name.includes(delimiter) || name.includes(quote) || /[\r\n]/.test(name)) ? `${quote}${name.replaceAll(quote, quote + quote)}${quote}` : name))
    .join(delimiter);
}
