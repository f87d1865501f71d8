import { type Command, Option } from 'commander';
import { RatError, ValidationError } from '../../core/errors.js';
import {
  BAD_ROW_POLICIES,
  type DatabaseReadProgress,
  type DatabaseReport,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_READ_TIMEOUT_MS,
  DRIFT_POLICIES,
  ingestDatabase,
  type IngestOptions,
  MODES,
} from '../../ingest/index.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { withoutName } from '../failures.js';
import { oneOf, wholeNumber } from '../option-values.js';
import type { Output } from '../output.js';
import { createProgressReporter } from '../progress-reporter.js';
import { flagPairs, keyColumns } from '../flag-values.js';
import { cursorText, seconds } from '../source-report.js';

interface IngestDbFlags {
  table?: string;
  query?: string;
  cursor?: string;
  mode?: IngestOptions['mode'];
  key?: string[];
  type?: string[];
  chunkSize?: number;
  readTimeout?: string;
  name?: string;
  schemaDrift?: IngestOptions['schemaDrift'];
  onError?: IngestOptions['onError'];
  lineage: boolean;
}

const QUIET_MS = 1_000;
const PLAIN_EVERY_MS = 5_000;

export function registerIngestDb(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ingest-db')
    .description('load a table or query of a PostgreSQL, MySQL/MariaDB or SQLite database into a table: streamed in chunks, typed from the source, full or incremental by a cursor column')
    .argument('<url>', 'postgres://user@host:5432/db, mysql://user@host:3306/db (or mariadb://), sqlite:path/to/file.db; the password from RAT_SOURCE_PASSWORD (or PGPASSWORD / MYSQL_PWD) rather than the URL')
    .argument('<table>', 'the table to load into, namespace.table (e.g. bronze.orders)')
    .option('--table <schema.table>', 'the source table to read')
    .option('--query <sql>', 'a SELECT to read instead of a table')
    .option('--cursor <column>', 'incremental: read only rows whose column value is greater than the last successful run stored (e.g. updated_at or id)')
    .addOption(new Option('--mode <mode>', 'append (default), overwrite, or merge (with --key)').argParser(oneOf(MODES)))
    .option('--key <column...>', 'key columns for --mode merge (several: --key a b, or --key a,b)', keyColumns)
    .option('--type <column=TYPE...>', 'column types that win over the source types, e.g. amount=DECIMAL(12,2)')
    .option('--chunk-size <rows>', `rows fetched per round trip, the most held in memory (default ${DEFAULT_CHUNK_SIZE})`, wholeNumber(1))
    .option('--read-timeout <seconds>', `how long to wait for the server's next rows (the first ones included) before the run fails; 0 for no limit (default ${DEFAULT_READ_TIMEOUT_MS / 1000})`)
    .option('--name <source>', "the source's name in the registry and for its cursor (default: the URL without password, then #table or #query:<hash>)")
    .addOption(new Option('--schema-drift <policy>', 'new columns: evolve (add them, default), strict (refuse the run), ignore (drop them)').argParser(oneOf(DRIFT_POLICIES)))
    .addOption(new Option('--on-error <policy>', 'values that do not fit their type: quarantine (default, into <table>__rejects) or fail').argParser(oneOf(BAD_ROW_POLICIES)))
    .option('--no-lineage', 'do not add _source_file and _ingested_at')
    .addHelpText(
      'after',
      `
Examples:
  RAT_SOURCE_PASSWORD=... rat ingest-db postgres://app@db.internal:5432/shop bronze.orders --table public.orders
  rat ingest-db postgres://app@db.internal/shop bronze.orders --table public.orders --cursor updated_at --mode merge --key id
  rat ingest-db mysql://app@127.0.0.1:3306/crm bronze.customers --query "SELECT id, name, country FROM customers WHERE active = 1"
  rat ingest-db sqlite:./legacy.db bronze.invoices --table invoices --cursor id
  rat sql "SELECT * FROM bronze._file_registry WHERE file_path LIKE 'postgres://%'"`,
    )
    .action(async (url: string, target: string, flags: IngestDbFlags) => {
      const readTimeout = flags.readTimeout === undefined ? undefined : Number(flags.readTimeout);
      if (readTimeout !== undefined && !(Number.isFinite(readTimeout) && readTimeout >= 0 && flags.readTimeout!.trim() !== '')) {
        throw new ValidationError('INVALID_ARGUMENT', `--read-timeout must be a number of seconds (0 for no limit), got ${JSON.stringify(flags.readTimeout)}`);
      }
      await withLakehouse(globals(), async (_rat, out, ingestion) => {
        const progress = createProgressReporter(out);
        const rows = rowsProgress(out);
        const report = await ingestDatabase(ingestion, {
          url,
          target,
          ...(flags.table !== undefined ? { table: flags.table } : {}),
          ...(flags.query !== undefined ? { query: flags.query } : {}),
          ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}),
          ...(flags.mode ? { mode: flags.mode } : {}),
          ...(flags.key ? { keys: flags.key } : {}),
          types: flagPairs(flags.type, '--type', 'column=TYPE, e.g. amount=DECIMAL(12,2)'),
          ...(flags.chunkSize !== undefined ? { chunkSize: flags.chunkSize } : {}),
          ...(readTimeout !== undefined ? { readTimeoutMs: readTimeout * 1000 } : {}),
          ...(flags.name !== undefined ? { name: flags.name } : {}),
          ...(flags.schemaDrift ? { schemaDrift: flags.schemaDrift } : {}),
          ...(flags.onError ? { onError: flags.onError } : {}),
          lineage: flags.lineage,
          onRowsRead: rows.report,
          onProgress: (event) => {
            rows.end();
            progress.report(event);
          },
        });
        rows.end();
        progress.end();
        printReport(out, report);
        if (report.status === 'failed') {
          throw new RatError((report.errorCode ?? 'SOURCE_DB_ERROR') as RatError['code'], `${report.error ?? 'the run failed'} (recorded in bronze._file_registry; ${report.target} is unchanged)`);
        }
      });
    });
}

/** Rows read so far and the rate, on stderr: quiet for the first second, then in place (terminal) or a line every few seconds. */
function rowsProgress(out: Output, terminal = process.stderr.isTTY === true): { report(event: DatabaseReadProgress): void; end(): void } {
  const started = Date.now();
  let lastPrinted = 0;
  let open = false;
  let last: DatabaseReadProgress | undefined;
  const text = (event: DatabaseReadProgress) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(event.rows / seconds) : 0;
    return `reading ${event.source}  ${event.rows.toLocaleString('en-US')} rows  ${rate.toLocaleString('en-US')} rows/s${event.cursor !== undefined && event.cursor !== null ? `  at ${String(event.cursor)}` : ''}`;
  };
  return {
    report(event) {
      last = event;
      const now = Date.now();
      if (now - started < QUIET_MS) return;
      if (!terminal && now - lastPrinted < PLAIN_EVERY_MS) return;
      lastPrinted = now;
      open = true;
      out.progress(text(event));
    },
    end() {
      if (open && last) out.progress(text(last), true);
      open = false;
    },
  };
}

function printReport(out: Output, report: DatabaseReport): void {
  if (out.json) {
    out.value(report);
    return;
  }
  // The source column names the source already: the note keeps what room it has for the reason.
  const note = report.status === 'failed' ? withoutName(report.error ?? '', report.file) : report.status === 'skipped' ? (report.reason ?? '') : report.schemaChanges.join('; ');
  out.table(
    ['source', 'target', 'status', 'rows', 'rejected', 'cursor', 'duration', 'note'],
    [[report.file, report.target, report.status, report.rowsIngested, report.rowsRejected, cursorText(report.cursor), seconds(report.durationMs), note]],
  );
  if (report.rowsRejected > 0) out.line(`${report.rowsRejected} row${report.rowsRejected === 1 ? '' : 's'} quarantined: rat sql "SELECT * FROM ${report.target}__rejects"`);
  for (const warning of report.warnings ?? []) out.line(`warning: ${warning}`);
}
