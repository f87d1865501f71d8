import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Command, Option } from 'commander';
import { ValidationError } from '../../core/errors.js';
import {
  BAD_ROW_POLICIES,
  COMPRESSIONS,
  type CustomParser,
  DRIFT_POLICIES,
  type FileReport,
  FORMATS,
  type IngestOptions,
  type IngestReport,
  JSON_FORMATS,
  MODES,
  type ReplayReport,
  STRAY_BYTES_MATCH,
} from '../../ingest/index.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { counted, failedItems, withoutName } from '../failures.js';
import { oneOf, wholeNumber } from '../option-values.js';
import { keepConsoleOffStdout, type Output } from '../output.js';
import { createProgressReporter } from '../progress-reporter.js';
import { flagPairs, keyColumns, partitionFields } from '../flag-values.js';
import { UsageError } from '../usage-error.js';

interface IngestFlags {
  format?: IngestOptions['format'];
  mode?: IngestOptions['mode'];
  key?: string[];
  type?: string[];
  partitionBy?: string[];
  rename?: string[];
  keepNames?: boolean;
  lineage: boolean;
  schemaDrift?: IngestOptions['schemaDrift'];
  onError?: IngestOptions['onError'];
  skipExisting?: boolean;
  delimiter?: string;
  quote?: string;
  escape?: string;
  header?: boolean;
  encoding?: IngestOptions['encoding'];
  dateFormat?: string;
  timestampFormat?: string;
  decimalSeparator?: IngestOptions['decimalSeparator'];
  sampleSize?: number;
  filesPerCommit?: number;
  jsonFormat?: IngestOptions['jsonFormat'];
  records?: string;
  flatten?: boolean;
  compression?: IngestOptions['compression'];
  sheet?: string;
  headerRow?: number;
  parser?: string;
  replayRejects?: string;
}

/** The options of reading source files, which a replay (reading the quarantined rows' raw text) does not use. */
const REPLAY_IGNORES = ['format', 'compression', 'skipExisting', 'filesPerCommit', 'partitionBy', 'delimiter', 'quote', 'escape', 'header', 'jsonFormat', 'records', 'sheet', 'headerRow', 'parser'];

/** The options that take a list: each takes every value up to the next option, the sources and table too when given before them. */
const LIST_FLAGS = [
  ['key', '--key'],
  ['type', '--type'],
  ['partitionBy', '--partition-by'],
  ['rename', '--rename'],
] as const;

export function registerIngest(program: Command, globals: () => GlobalOptions): void {
  const headerFlags = new Set<string>();
  program
    .command('ingest')
    .description('load CSV/TSV, JSON/NDJSON, Parquet (optionally gzip/zstd), Excel .xlsx, Arrow IPC/Feather or Avro files, or any file through a custom parser, into a table, with a file registry and a quarantine for bad rows')
    .argument('[args...]', '<source...> <table>: local files, folders or globs, or landing/ keys, prefixes or globs; then namespace.table')
    .addOption(new Option('--format <format>', 'csv, json, parquet, xlsx, arrow or avro (default: from the name, else the content)').argParser(oneOf(FORMATS)))
    .addOption(new Option('--mode <mode>', 'append (default), overwrite, or merge (with --key)').argParser(oneOf(MODES)))
    .option('--key <column...>', 'key columns for --mode merge (several: --key a b, or --key a,b)', keyColumns)
    .option('--type <column=TYPE...>', 'column types that win over detection, e.g. amount=DECIMAL(12,2)')
    .option('--partition-by <expr...>', 'partitioning of a new table, e.g. "month(order_date)" or "month(order_date), bucket(16, id)"', partitionFields)
    .option('--rename <from=to...>', 'rename source columns, e.g. "Order Date=ordered_on"')
    .option('--keep-names', 'keep source column names (fail on names that need quoting) instead of safe snake_case names')
    .option('--no-lineage', 'do not add _source_file and _ingested_at')
    .addOption(new Option('--schema-drift <policy>', 'new columns in a file: evolve (add them, default), strict (refuse the file), ignore (drop them)').argParser(oneOf(DRIFT_POLICIES)))
    .addOption(new Option('--on-error <policy>', 'bad rows: quarantine (default, into <table>__rejects) or fail (the whole file)').argParser(oneOf(BAD_ROW_POLICIES)))
    .option('--skip-existing', 'skip files whose content is already in the table (file registry)')
    .option('--delimiter <char>', 'CSV delimiter (default: detected; \\t for TSV)')
    .option('--quote <char>', 'CSV quote character ("" for none)')
    .option('--escape <char>', 'CSV escape character')
    .option('--header', 'CSV: the first line holds column names')
    .option('--no-header', 'CSV: there is no header line')
    // Both set one value: the last given would win without a word.
    .on('option:header', () => headerFlags.add('--header'))
    .on('option:no-header', () => headerFlags.add('--no-header'))
    .option('--encoding <encoding>', 'CSV text encoding: utf-8, utf-16 (by its byte-order mark, else little-endian), utf-16le, utf-16be, latin-1, windows-1252 or cp1252 (default: detected); with --replay-rejects, latin-1 loads the rows quarantined for bytes that are not UTF-8')
    .option('--date-format <format>', 'CSV date format, e.g. %d/%m/%Y')
    .option('--timestamp-format <format>', 'CSV timestamp format, e.g. %d/%m/%Y %H:%M; with %z the column is timestamptz')
    .option('--decimal-separator <char>', 'CSV: , for numbers written 1,5 (default .)')
    .option('--files-per-commit <n>', 'files of a batch that are plain appends share one commit and snapshot, up to n (default 200; 1 = a commit per file)', wholeNumber(1))
    .option('--sample-size <rows>', 'rows CSV type detection reads (default 20480; -1 = all)', wholeNumber(1, 'all'))
    .addOption(new Option('--json-format <format>', 'auto (default), array or newline_delimited').argParser(oneOf(JSON_FORMATS)))
    .option('--records <path>', 'JSON: dotted path to the array of records inside the document, e.g. features or data.items (default: the document itself)')
    .option('--flatten', 'JSON: nested objects become parent_child columns instead of structs')
    .addOption(new Option('--compression <kind>', 'auto (default: detected), none, gzip or zstd').argParser(oneOf(COMPRESSIONS)))
    .option('--sheet <name|n>', 'Excel: the sheet to read, by name or 1-based position (default: the first)')
    .option('--header-row <n>', 'Excel: the row holding the column names (default 1)', wholeNumber(1))
    .option('--parser <module>', 'a JavaScript module whose default export turns each file into rows (input) => rows; used instead of the built-in readers')
    .addOption(
      new Option('--replay-rejects <table>', "parse the table's quarantined rows again from their raw text (after fixing the table or the options, e.g. --date-format); rows of a merge are merged by its key again")
        // A replay reads the rows' raw text as the ingest parsed it: options about reading the files would be ignored.
        .conflicts(REPLAY_IGNORES),
    )
    .addHelpText(
      'after',
      `
Examples:
  rat ingest orders.csv bronze.orders
  rat ingest 'exports/*.csv.gz' bronze.orders --skip-existing
  rat upload sales-*.csv landing/sales/ && rat ingest landing/sales/ bronze.sales --skip-existing
  rat ingest events.ndjson bronze.events --flatten --partition-by "day(ts)"
  rat ingest earthquakes.geojson bronze.quakes --records features --flatten
  rat ingest customers.csv bronze.customers --mode merge --key customer_id
  rat ingest budget.xlsx bronze.budget --sheet Budget --header-row 3
  rat ingest 'reports/*.txt' bronze.reports --parser ./report-parser.js
  rat ingest --replay-rejects bronze.orders --date-format %d/%m/%Y
  rat sql "SELECT * FROM bronze._file_registry"; rat sql "SELECT * FROM bronze.orders__rejects"`,
    )
    .action(async (args: string[], flags: IngestFlags) => {
      if (headerFlags.size > 1) throw new UsageError('--header and --no-header contradict each other: give one (--no-header when the first line is data)');
      if (flags.replayRejects !== undefined) {
        if (args.length > 0) throw new UsageError(`--replay-rejects takes only the table: rat ingest --replay-rejects ${flags.replayRejects}`);
        const options = ingestOptions(flags);
        await withLakehouse(globals(), async (_rat, out, ingestion) => {
          const progress = createProgressReporter(out);
          const report = await ingestion.replayRejects(flags.replayRejects!, { ...options, onProgress: progress.report });
          progress.end();
          printReplay(out, report);
          const failed = report.groups.filter((g) => g.status === 'failed');
          if (failed.length > 0) {
            const summary = `the replay of ${failed.length} of ${report.groups.length} file${report.groups.length === 1 ? "'s" : "s'"} quarantined rows failed (their rows stay in ${report.target}__rejects, the table is unchanged by ${failed.length === 1 ? 'it' : 'them'})`;
            throw failedItems(out, failed, report.groups.length, summary, 'groups[].error', 'INGEST_FILE_INVALID');
          }
        });
        return;
      }
      if (args.length < 2) throw new UsageError(`usage: rat ingest <source...> <namespace.table>, e.g. rat ingest data/orders.csv bronze.orders${listTook(flags)}`);
      const target = args.at(-1)!;
      const sources = args.slice(0, -1);
      if (looksLikeSource(target)) {
        throw new UsageError(`the last argument is the target table, but ${JSON.stringify(target)} names a file or folder, not a table: give the table last, e.g. rat ingest ${args.join(' ')} bronze.orders`);
      }
      const options = ingestOptions(flags);
      if (flags.parser !== undefined) {
        // A parser's console.log (its author's debugging) would come before the report on stdout, where --json promises only JSON.
        if (globals().json) keepConsoleOffStdout();
        options.parser = await loadParser(flags.parser);
      }
      await withLakehouse(globals(), async (_rat, out, ingestion) => {
        const progress = createProgressReporter(out);
        const report = await ingestion.ingest(sources, target, { ...options, onProgress: progress.report });
        progress.end();
        printIngestReport(out, report, sources);
        const failed = report.files.filter((f) => f.status === 'failed');
        if (failed.length > 0) {
          const unrecorded = failed.filter((f) => f.unrecorded).length;
          const recorded = unrecorded === 0 ? 'recorded in bronze._file_registry' : `${unrecorded === failed.length ? 'not' : `${unrecorded} of them not`} recorded in bronze._file_registry: its metadata DB refused the row too`;
          const summary = `${failed.length} of ${counted(report.files.length, 'file')} failed (${recorded}; the table is unchanged by ${failed.length === 1 ? 'it' : 'them'})`;
          throw failedItems(out, failed, report.files.length, summary, 'files[].error', 'INGEST_FILE_INVALID');
        }
      });
    });
}

/**
 * Why the sources or the table may be missing: a list option given before them took them as its
 * values (`--key id orders.csv bronze.orders` is three keys).
 */
function listTook(flags: IngestFlags): string {
  const took = LIST_FLAGS.filter(([name]) => (flags[name]?.length ?? 0) > 1);
  if (took.length === 0) return '';
  const [name, flag] = took[0]!;
  return ` (${flag} took ${flags[name]!.map((v) => JSON.stringify(v)).join(' ')}: an option that takes a list takes every value up to the next option; give it after the table)`;
}

function ingestOptions(flags: IngestFlags): IngestOptions {
  const sheet = flags.sheet === undefined ? undefined : /^[1-9]\d*$/.test(flags.sheet) ? Number(flags.sheet) : flags.sheet;
  return {
    ...(flags.format ? { format: flags.format } : {}),
    ...(flags.mode ? { mode: flags.mode } : {}),
    ...(flags.key ? { keys: flags.key } : {}),
    types: flagPairs(flags.type, '--type'),
    ...(flags.partitionBy ? { partitionBy: flags.partitionBy } : {}),
    rename: flagPairs(flags.rename, '--rename'),
    safeNames: !flags.keepNames,
    lineage: flags.lineage,
    ...(flags.schemaDrift ? { schemaDrift: flags.schemaDrift } : {}),
    ...(flags.onError ? { onError: flags.onError } : {}),
    skipExisting: flags.skipExisting ?? false,
    ...(flags.delimiter !== undefined ? { delimiter: flags.delimiter === '\\t' ? '\t' : flags.delimiter } : {}),
    ...(flags.quote !== undefined ? { quote: flags.quote } : {}),
    ...(flags.escape !== undefined ? { escape: flags.escape } : {}),
    ...(flags.header !== undefined ? { header: flags.header } : {}),
    ...(flags.encoding ? { encoding: flags.encoding } : {}),
    ...(flags.dateFormat ? { dateFormat: flags.dateFormat } : {}),
    ...(flags.timestampFormat ? { timestampFormat: flags.timestampFormat } : {}),
    ...(flags.decimalSeparator ? { decimalSeparator: flags.decimalSeparator } : {}),
    ...(flags.sampleSize !== undefined ? { sampleSize: flags.sampleSize } : {}),
    ...(flags.filesPerCommit !== undefined ? { filesPerCommit: flags.filesPerCommit } : {}),
    ...(flags.jsonFormat ? { jsonFormat: flags.jsonFormat } : {}),
    ...(flags.records !== undefined ? { records: flags.records } : {}),
    ...(flags.flatten ? { flatten: true } : {}),
    ...(flags.compression ? { compression: flags.compression } : {}),
    ...(sheet !== undefined ? { sheet } : {}),
    ...(flags.headerRow !== undefined ? { headerRow: flags.headerRow } : {}),
  };
}

/** Loads a custom parser: the default export of a JavaScript module (a path relative to the working directory). */
async function loadParser(path: string): Promise<CustomParser> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (error) {
    throw new ValidationError('INVALID_ARGUMENT', `--parser ${path}: cannot load the module: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (typeof module.default !== 'function') {
    throw new ValidationError('INVALID_ARGUMENT', `--parser ${path}: the module must export a function as default (export default async function* (input) { yield { ... } }), found ${typeof module.default}`);
  }
  return module.default as CustomParser;
}

function fileNote(file: FileReport): string {
  // The file column names the file already: the note keeps what room it has for the reason.
  if (file.status === 'failed') return withoutName(file.error ?? '', file.file);
  if (file.status === 'skipped') return file.reason ?? '';
  const superseded = file.supersededRows ? [`${file.supersededRows} row${file.supersededRows === 1 ? '' : 's'} replaced by a later row with the same key`] : [];
  return [...(file.sheet !== undefined ? [`sheet ${JSON.stringify(file.sheet)}`] : []), ...file.schemaChanges, ...(file.droppedColumns.length > 0 ? [`dropped columns ${file.droppedColumns.join(', ')}`] : []), ...superseded].join('; ');
}

export function printIngestReport(out: Output, report: IngestReport, sources: readonly string[]): void {
  if (out.json) {
    out.value(report);
    return;
  }
  if (report.files.length === 0) {
    // Not an error (a scheduled batch over an emptied folder has nothing to do), but a typo'd glob must not pass for a load.
    out.line(`nothing to ingest: ${sources.join(', ')} matched no files (check the folder and the pattern, e.g. the extension)`);
  }
  out.table(
    ['file', 'status', 'rows', 'rejected', 'snapshot', 'note'],
    report.files.map((f) => [f.file, f.status, f.rowsIngested, f.rowsRejected, f.snapshotId?.toString() ?? null, fileNote(f)]),
  );
  const renamed = new Map<string, string>();
  for (const file of report.files) for (const m of file.renamed) renamed.set(m.source, m.name);
  if (renamed.size > 0) out.line(`columns renamed: ${[...renamed].map(([from, to]) => `${JSON.stringify(from)} -> ${to}`).join(', ')}`);
  for (const file of report.files) if (file.hint) out.line(`hint: ${file.file}: ${file.hint}`);
  const rejects = report.files.flatMap((f) => f.sampleRejects.map((r) => `${f.file}${r.line === null ? '' : `:${r.line}`}: ${r.reason}`));
  if (rejects.length > 0) {
    out.line(`${report.rowsRejected} bad row${report.rowsRejected === 1 ? '' : 's'} quarantined, e.g.:`);
    for (const line of rejects.slice(0, 5)) out.line(`  ${line}`);
    out.line(`see them: rat sql "SELECT * FROM ${report.target}__rejects"; after a fix: rat ingest --replay-rejects ${report.target}`);
    // Not the file again: its other rows are in the table already, and would load twice.
    if (report.files.some((f) => f.sampleRejects.some((r) => r.reason.includes(STRAY_BYTES_MATCH)))) {
      out.line(`rows with bytes that are not UTF-8 keep them as Latin-1 characters; if they are Latin-1, load those rows (only them) with: rat ingest --replay-rejects ${report.target} --encoding latin-1`);
    }
    const date = report.files.flatMap((f) => f.sampleRejects.flatMap((r) => notIsoDate(r.reason) ?? []))[0];
    if (date) {
      const other = date.other === undefined ? '' : ` (or '${date.other}' if the month comes first)`;
      out.line(`dates not written YYYY-MM-DD (${date.value}) need their format, e.g.: rat ingest --replay-rejects ${report.target} --${date.flag} '${date.format}'${other}`);
    }
  }
  out.line(`${report.target}: ${counted(report.rowsIngested, 'row')} from ${counted(report.succeeded, 'file')}; ${report.skipped} skipped, ${report.failed} failed`);
}

/**
 * A reject reason `column c: cannot convert 05/02/2024 to DATE` whose value is a date not written the
 * ISO way: the file uses a format the sniffer did not find (or could not tell the order of). The
 * option and a format that reads the value: year first where it is, month first where the first part
 * cannot be a month (13 and above), day first where the second cannot, and else day first with the
 * month-first format as the other choice (`other`): only the user knows the order. A reason may name
 * several columns (`...; column amt: ...`): the first date is taken.
 */
export function notIsoDate(reason: string): { value: string; flag: string; format: string; other?: string } | undefined {
  const match = /cannot convert ((\d{1,4})([./-])(\d{1,2})[./-](\d{1,4})(?:[ T](\d{1,2}(?::\d{2}){1,2}))?) to (?:DATE|TIMESTAMP)\b/.exec(reason);
  if (!match || (match[2]!.length === 4 && match[3] === '-')) return undefined;
  const [, value, first, sep, second, last, clock] = match as unknown as [string, string, string, string, string, string, string | undefined];
  const year = last.length <= 2 ? '%y' : '%Y';
  const time = clock === undefined ? '' : clock.split(':').length === 3 ? ' %H:%M:%S' : ' %H:%M';
  const flag = time ? 'timestamp-format' : 'date-format';
  if (first.length === 4) return { value, flag, format: `%Y${sep}%m${sep}%d${time}` };
  const dayFirst = `%d${sep}%m${sep}${year}${time}`;
  const monthFirst = `%m${sep}%d${sep}${year}${time}`;
  if (Number(second) > 12) return { value, flag, format: monthFirst };
  if (Number(first) > 12 || first === second) return { value, flag, format: dayFirst };
  return { value, flag, format: dayFirst, other: monthFirst };
}

function printReplay(out: Output, report: ReplayReport): void {
  if (out.json) {
    out.value(report);
    return;
  }
  out.table(
    ['file', 'status', 'replayed', 'still_rejected', 'snapshot', 'note'],
    report.groups.map((g) => [g.file, g.status, g.rowsIngested, g.rowsRejected, g.snapshotId?.toString() ?? null, g.error === undefined ? g.schemaChanges.join('; ') : withoutName(g.error, g.file)]),
  );
  out.line(`${report.target}: ${counted(report.replayed, 'quarantined row')} replayed into the table, ${report.stillRejected} still quarantined`);
  if (report.strayBytes > 0) {
    out.line(
      `${report.strayBytes} of them have bytes that are not UTF-8 (kept in their raw text as Latin-1 characters) and were not replayed: if they are Latin-1, load them with: rat ingest --replay-rejects ${report.target} --encoding latin-1`,
    );
  }
  if (report.encodingLost > 0) {
    out.line(
      `${report.encodingLost} of them lost bytes their file's encoding does not allow (? in their raw text), so no replay can load them: put the corrected rows in a file of their own and ingest that (ingesting the whole file again would load its other rows twice)`,
    );
  }
  if (report.unstorable > 0) {
    out.line(
      `${report.unstorable} of them hold a value no table column can store (a date or timestamp of infinity; a custom parser's NaN, Infinity, function, Map or invalid Date), so they were not replayed: change the source (make a parser return plain values) and ingest the file again`,
    );
  }
  if (report.superseded > 0) {
    out.line(
      `${report.superseded} of them came from a --mode merge ingest, and a later load (or their own, from another row of the file) has written their key: they were not merged over those rows (their reason names the load); to load them anyway, replay with --mode merge --key <columns> (replacing the table's rows for those keys) or --mode append`,
    );
  }
  if (report.outdated > 0) {
    out.line(
      `${report.outdated} of them belong to data the table no longer holds (a later --mode overwrite load replaced it, or the table they were refused by was dropped), so they were not replayed; their reason names which: ingest their file again if its rows still belong`,
    );
  }
}

/**
 * Whether the last argument names something to read, not a table: the table was left out
 * (`rat ingest a.csv b.csv` would else read a.csv into a table csv of a namespace b). A path
 * (`data/x.csv`, `landing/sales/`) cannot be a table name unquoted; a file name counts only when
 * such a file is here, so a table named `bronze.csv` stays possible.
 */
function looksLikeSource(target: string): boolean {
  if (target.includes('"')) return false;
  return target.includes('/') || (/\.(csv|tsv|txt|json|ndjson|jsonl|parquet|xlsx|arrow|feather|avro|gz|zst|zstd)$/i.test(target) && existsSync(target));
}
