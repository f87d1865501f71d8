import type { Command } from 'commander';
import { type ApiEndpointReport, type ApiIngestReport, type ApiProgress, ingestApi, loadApiConfig } from '../../ingest/index.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { counted, failedItems } from '../failures.js';
import type { Output } from '../output.js';
import { cursorText, seconds } from '../source-report.js';

const PLAIN_EVERY_MS = 5_000;

export function registerIngestApi(program: Command, globals: () => GlobalOptions): void {
  program
    .command('ingest-api')
    .description('load records from an HTTP JSON API into tables, per a declarative config: auth, pagination, records path, incremental cursor kept with the table, retries')
    .argument('<config-file>', 'the API source: .yaml/.yml or .json (with ${ENV_VAR} substitution), or a .js/.mjs module exporting it')
    .option('--endpoint <name...>', 'run only these endpoints (default: all)')
    .addHelpText(
      'after',
      `
Examples:
  SHOP_TOKEN=... rat ingest-api shop.yaml
  rat ingest-api shop.yaml --endpoint orders customers
  rat --json ingest-api shop.yaml
  rat sql "SELECT * FROM bronze._file_registry WHERE file_path LIKE 'api:%'"`,
    )
    .action(async (file: string, flags: { endpoint?: string[] }) => {
      const source = await loadApiConfig(file);
      await withLakehouse(globals(), async (_rat, out, ingestion) => {
        const progress = createApiProgress(out);
        const report = await ingestApi(ingestion, source, { ...(flags.endpoint ? { endpoints: flags.endpoint } : {}), onProgress: progress });
        printReport(out, report);
        const failed = report.endpoints.filter((e) => e.status === 'failed');
        if (failed.length > 0) {
          const summary = `${failed.length} of ${counted(report.endpoints.length, 'endpoint')} failed (recorded in bronze._file_registry; ${failed.length === 1 ? 'its table is' : 'their tables are'} unchanged)`;
          throw failedItems(out, failed, report.endpoints.length, summary, 'endpoints[].error', 'SOURCE_HTTP_ERROR');
        }
      });
    });
}

/** Pages, records and their rate as they arrive (in place in a terminal, a line every few seconds otherwise); every retry; each endpoint's totals. */
function createApiProgress(out: Output, terminal = process.stderr.isTTY === true): (event: ApiProgress) => void {
  let lastPlain = 0;
  // Endpoints are fetched one after another: each one's clock starts when the one before it is done.
  let started = Date.now();
  const rate = (records: number) => `${Math.round(records / Math.max(0.001, (Date.now() - started) / 1000)).toLocaleString('en-US')} records/s`;
  return (event) => {
    if (event.kind === 'page') {
      const now = Date.now();
      if (!terminal && now - lastPlain < PLAIN_EVERY_MS) return;
      lastPlain = now;
      out.progress(`${event.endpoint}: page ${event.page}, ${counted(event.records, 'record')}  ${rate(event.records)}`);
    } else if (event.kind === 'retry') {
      out.progress(`${event.endpoint} page ${event.page}: ${event.reason}; retry ${event.attempt} of ${event.maxRetries} in ${seconds(event.waitMs)}`, true);
    } else {
      out.progress(`${event.endpoint}: ${counted(event.pages, 'page')}, ${counted(event.records, 'record')} fetched${event.skipped > 0 ? ` (${event.skipped} already loaded)` : ''}  ${rate(event.records)}`, true);
      started = Date.now();
    }
  };
}

function note(endpoint: ApiEndpointReport): string {
  if (endpoint.status === 'failed') return endpoint.error ?? '';
  if (endpoint.status === 'skipped') return endpoint.reason ?? '';
  const stopped = endpoint.stoppedAtMaxPages ? ['stopped at maxPages: run again for the rest'] : [];
  return [...stopped, ...(endpoint.retries > 0 ? [counted(endpoint.retries, 'retry', 'retries')] : []), ...endpoint.schemaChanges].join('; ');
}

function printReport(out: Output, report: ApiIngestReport): void {
  if (out.json) {
    out.value(report);
    return;
  }
  out.table(
    ['endpoint', 'target', 'status', 'rows', 'rejected', 'pages', 'cursor', 'duration', 'note'],
    report.endpoints.map((e) => [e.endpoint, e.target, e.status, e.rowsIngested, e.rowsRejected, e.pages, cursorText(e.cursor), seconds(e.durationMs), note(e)]),
  );
  const rejects = report.endpoints.flatMap((e) => e.sampleRejects.map((r) => `${e.target}${r.line === null ? '' : ` record ${r.line} of the run`}: ${r.reason}`));
  if (rejects.length > 0) {
    out.line(`${counted(report.rowsRejected, 'bad record')} quarantined, e.g.:`);
    for (const line of rejects.slice(0, 5)) out.line(`  ${line}`);
  }
  out.line(`${report.source}: ${counted(report.rowsIngested, 'row')} from ${counted(report.succeeded, 'endpoint')}; ${report.skipped} skipped, ${report.failed} failed`);
}
