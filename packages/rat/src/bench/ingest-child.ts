/**
 * One side of one ingest benchmark round, in its own Node process so that its peak resident memory
 * is its own: `node ingest-child.js '<IngestTask as JSON>'` prints one IngestTaskResult as JSON on
 * its last stdout line. The parent (ingest-suite.ts) alternates the sides over the rounds.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { mkdir, rm } from 'node:fs/promises';
import { quoteString } from '../engine/duckdb.js';
import { type Lakehouse, openLakehouse } from '../engine/lakehouse.js';
import { createIngestion, type IngestOptions, type IngestReport } from '../ingest/index.js';
import { type PhaseTrace, traceIngest } from './ingest-trace.js';

export type IngestTask =
  | { kind: 'rat-file'; file: string; home: string; threads: number; table: string }
  | { kind: 'duckdb-copy'; file: string; reader: 'read_csv' | 'read_json'; out: string; threads: number; /** COPY options; default DuckDB's own (Snappy). */ parquetOptions?: string }
  | { kind: 'rat-batch'; dir: string; combined: string; warmup: string; home: string; threads: number };

export interface IngestTaskResult {
  ms: number;
  rows: number;
  /** Peak resident set size of the whole child process (process.resourceUsage().maxRSS). */
  maxRssBytes: number;
  /** rat sides: where the time went (DuckDB statements by kind, JavaScript in between). */
  phases?: PhaseTrace;
  /** rat-batch: the three timed steps. */
  batch?: { combinedMs: number; batchMs: number; skipMs: number; files: number; skipped: number; failed: number };
}

const DUCKDB_CONFIG = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as IngestTask;
  const result = await run(task);
  process.stdout.write(`${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

async function run(task: IngestTask): Promise<Omit<IngestTaskResult, 'maxRssBytes'>> {
  switch (task.kind) {
    case 'duckdb-copy':
      return duckDbCopy(task);
    case 'rat-file':
      return withLakehouse(task.home, task.threads, async (rat) => {
        const ingestion = createIngestion(rat);
        const trace = traceIngest(rat.duck.connection, rat.store);
        const started = performance.now();
        const report = await ingestion.ingest(task.file, task.table);
        const ms = performance.now() - started;
        checkReport(report, 1);
        return { ms, rows: report.rowsIngested, phases: trace.finish(started, started + ms) };
      });
    case 'rat-batch':
      return withLakehouse(task.home, task.threads, async (rat) => {
        const ingestion = createIngestion(rat);
        // The first ingest of a process pays one-time costs (DuckDB keyword list, JIT): not part of any figure.
        checkReport(await ingestion.ingest(task.warmup, 'bronze.bench_warmup'), 1);
        const timed = async (source: string, table: string, options: IngestOptions = {}) => {
          const started = performance.now();
          const report = await ingestion.ingestBatch(source, table, options);
          return { report, ms: performance.now() - started };
        };
        const combined = await timed(task.combined, 'bronze.bench_small_one');
        checkReport(combined.report, 1);
        const trace = traceIngest(rat.duck.connection, rat.store);
        const batchStart = performance.now();
        const batch = await timed(task.dir, 'bronze.bench_small');
        const phases = trace.finish(batchStart, batchStart + batch.ms);
        checkReport(batch.report, batch.report.files.length);
        const skip = await timed(task.dir, 'bronze.bench_small', { skipExisting: true });
        if (skip.report.skipped !== batch.report.files.length) throw new Error(`skipExisting skipped ${skip.report.skipped} of ${batch.report.files.length} files`);
        return {
          ms: batch.ms,
          rows: batch.report.rowsIngested,
          phases,
          batch: { combinedMs: combined.ms, batchMs: batch.ms, skipMs: skip.ms, files: batch.report.files.length, skipped: skip.report.skipped, failed: batch.report.failed },
        };
      });
  }
}

/** DuckDB on its own: the same file straight into one Parquet file, same thread count and settings as rat's instance. */
async function duckDbCopy(task: Extract<IngestTask, { kind: 'duckdb-copy' }>): Promise<Omit<IngestTaskResult, 'maxRssBytes'>> {
  const instance = await DuckDBInstance.create(':memory:', { ...DUCKDB_CONFIG, threads: String(task.threads) });
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    await rm(task.out, { force: true });
    const started = performance.now();
    await connection.run(`COPY (FROM ${task.reader}(${quoteString(task.file)})) TO ${quoteString(task.out)}${task.parquetOptions ? ` (${task.parquetOptions})` : ''}`);
    const ms = performance.now() - started;
    const reader = await connection.runAndReadAll(`SELECT num_rows FROM parquet_file_metadata(${quoteString(task.out)})`);
    const rows = Number(reader.getRows()[0]?.[0] ?? 0);
    return { ms, rows };
  } finally {
    connection?.closeSync();
    instance.closeSync();
    await rm(task.out, { force: true });
  }
}

async function withLakehouse<T>(home: string, threads: number, work: (rat: Lakehouse) => Promise<T>): Promise<T> {
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  // env: {} keeps the benchmark on local disk even when RAT_S3_* is set in the shell.
  const rat = await openLakehouse({ home, threads, env: {} });
  try {
    await rat.createNamespace('bronze', { ifNotExists: true });
    return await work(rat);
  } finally {
    await rat.close();
    await rm(home, { recursive: true, force: true });
  }
}

function checkReport(report: IngestReport, files: number): void {
  if (report.succeeded !== files || report.failed > 0) {
    const failed = report.files.find((f) => f.status === 'failed');
    throw new Error(`ingest into ${report.target}: ${report.succeeded} of ${files} files succeeded${failed ? `; ${failed.file}: ${failed.error}` : ''}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ingest-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
