/**
 * `npm run bench -- --suite ingest`: file ingestion through rat against DuckDB's own COPY of the same
 * file (CSV, NDJSON), an Excel sheet, and a batch of small files; each run in its own Node process
 * so its peak memory is its own. Prints the figures and refreshes the ingest section of BENCHMARKS.md.
 */
import { parquetCompression } from '../engine/data-writer.js';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { ValidationError } from '../core/errors.js';
import type { IngestTask, IngestTaskResult } from './ingest-child.js';
import { DEFAULT_INGEST_INPUTS, type IngestInputSpec, type InputFile, prepareIngestInputs } from './ingest-datasets.js';
import { writeSection } from './bench-markdown.js';
import { positiveInt, progressLine, repositoryRoot, threadsFlag } from './bench-flags.js';
import { type FileComparison, formatIngestMarkdown, formatIngestText, type IngestBenchResult, medianTrace } from './ingest-report.js';
import { machineInfo } from './machine-info.js';

export const INGEST_USAGE = `usage: npm run bench -- --suite ingest [--rounds N] [--threads N] [--only csv,ndjson,xlsx,small] [--before DIR] [--json] [--no-write] [--regenerate]
  --rounds N      runs per side (default 3), sides alternating, each in its own process
  --threads N     DuckDB threads of every side (default: all cores)
  --only LIST     run only these parts (default: all four)
  --before DIR    also run rat's CSV and XLSX sides from an earlier build's dist/ folder, in the same rounds
  --before-label  what to call that build in the report (default "before")
  --batch-rounds N  runs of the small-file batch (default 1: it takes tens of seconds)
  --scale F       generate and ingest F times the default row and file counts (e.g. 0.01 for a smoke test)
  --data DIR      where the generated inputs are cached (default bench-data/ingest)
  --regenerate    generate the inputs again
  --json          print the result as JSON
  --no-write      do not refresh BENCHMARKS.md`;

const PARTS = ['csv', 'ndjson', 'xlsx', 'small'] as const;
type Part = (typeof PARTS)[number];

export async function runIngestSuite(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: 'string', default: '3' },
      'batch-rounds': { type: 'string', default: '1' },
      scale: { type: 'string', default: '1' },
      threads: { type: 'string' },
      only: { type: 'string' },
      before: { type: 'string' },
      'before-label': { type: 'string', default: 'before' },
      data: { type: 'string' },
      regenerate: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      // Flags of the other suites, accepted and ignored so that one command line can run them all.
      home: { type: 'string' },
      overhead: { type: 'string' },
      warmup: { type: 'string' },
      'database-url': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(INGEST_USAGE);
    return;
  }
  const rounds = positiveInt('--rounds', values.rounds);
  const batchRounds = positiveInt('--batch-rounds', values['batch-rounds']);
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 1)) throw new ValidationError('INVALID_ARGUMENT', `--scale must be a number in (0, 1], got "${values.scale}"`);
  const threads = threadsFlag(values.threads);
  const parts = parseParts(values.only);
  const repoRoot = repositoryRoot();
  const dataDir = resolve(values.data ?? join(repoRoot, 'bench-data', 'ingest'));
  const progress = progressLine;
  const child = fileURLToPath(new URL('./ingest-child.js', import.meta.url));
  const beforeChild = values.before === undefined ? undefined : join(resolve(values.before), 'bench', 'ingest-child.js');
  const beforeLabel = values['before-label'];

  const inputs = await prepareIngestInputs(dataDir, scaleInputs(DEFAULT_INGEST_INPUTS, scale), progress, values.regenerate);
  const scratch = join(dataDir, 'scratch');
  const loadBefore = loadavg();
  const result: IngestBenchResult = {
    date: new Date().toISOString(),
    machine: await machineInfo(await duckDbVersion()),
    threads,
    rounds,
    loadAverage: { before: loadBefore, after: loadBefore },
    ...(beforeChild ? { beforeLabel } : {}),
  };

  const compare = async (part: 'csv' | 'ndjson', file: InputFile, reader: 'read_csv' | 'read_json'): Promise<FileComparison> => {
    // One untimed read first, so that no side pays for bringing the file into the page cache.
    await readThrough(file.path);
    const table = `bronze.bench_${part}`;
    const sides: { name: string; script: string; task: IngestTask }[] = [
      { name: 'rat', script: child, task: { kind: 'rat-file', file: file.path, home: join(scratch, `${part}-home`), threads, table } },
      { name: 'duckdb', script: child, task: { kind: 'duckdb-copy', file: file.path, reader, out: join(scratch, `${part}-duckdb.parquet`), threads } },
      // The same COPY writing zstd, rat's default codec: separates the cost of the codec from rat's own.
      ...(part === 'csv'
        ? [{ name: 'duckdb-zstd', script: child, task: { kind: 'duckdb-copy', file: file.path, reader, out: join(scratch, `${part}-duckdb-zstd.parquet`), threads, parquetOptions: `FORMAT parquet, ${parquetCompression()}` } as IngestTask }]
        : []),
      // The earlier build only for CSV (and XLSX, below): a 1 GB NDJSON read is slow enough already.
      ...(beforeChild && part === 'csv' ? [{ name: 'before', script: beforeChild, task: { kind: 'rat-file', file: file.path, home: join(scratch, `${part}-home-before`), threads, table } as IngestTask }] : []),
    ];
    const samples = new Map(sides.map((s) => [s.name, { name: s.name, ms: [] as number[], maxRssBytes: [] as number[], processMs: [] as number[], rows: 0 }]));
    const traces = new Map(sides.map((s) => [s.name, [] as NonNullable<IngestTaskResult['phases']>[]]));
    for (let round = 0; round < rounds; round++) {
      const order = [...sides.slice(round % sides.length), ...sides.slice(0, round % sides.length)];
      for (const side of order) {
        progress(`bench: ${part} round ${round + 1}/${rounds}: ${side.name}`);
        const outcome = await runChild(side.script, side.task);
        if (outcome.rows !== file.rows) throw new ValidationError('INVALID_ARGUMENT', `${side.name} ingested ${outcome.rows} rows of ${file.path}, expected ${file.rows}`);
        const s = samples.get(side.name)!;
        s.ms.push(outcome.ms);
        s.maxRssBytes.push(outcome.maxRssBytes);
        s.processMs.push(outcome.processMs);
        s.rows = outcome.rows;
        if (outcome.phases) traces.get(side.name)!.push(outcome.phases);
        progress(`bench:   ${(outcome.ms / 1000).toFixed(2)} s, peak RSS ${(outcome.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    const phases = medianTrace(traces.get('rat')!);
    const beforePhases = medianTrace(traces.get('before') ?? []);
    return {
      file: { path: file.path, rows: file.rows, bytes: file.bytes },
      rat: samples.get('rat')!,
      duckdb: samples.get('duckdb')!,
      ...(samples.has('duckdb-zstd') ? { duckdbZstd: samples.get('duckdb-zstd')! } : {}),
      ...(samples.has('before') ? { before: samples.get('before')! } : {}),
      ...(phases ? { phases } : {}),
      ...(beforePhases ? { beforePhases } : {}),
    };
  };

  if (parts.has('csv')) result.csv = await compare('csv', inputs.csv, 'read_csv');
  if (parts.has('ndjson')) result.ndjson = await compare('ndjson', inputs.ndjson, 'read_json');
  if (parts.has('xlsx')) {
    // The earlier build, when given, alternates with this one in every round.
    const sides = [{ name: 'rat', script: child }, ...(beforeChild ? [{ name: 'before', script: beforeChild }] : [])];
    const samples = new Map(sides.map((side) => [side.name, { name: side.name, ms: [] as number[], maxRssBytes: [] as number[], processMs: [] as number[], rows: 0 }]));
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        progress(`bench: xlsx round ${round + 1}/${rounds}: ${side.name}`);
        const outcome = await runChild(side.script, { kind: 'rat-file', file: inputs.xlsx.path, home: join(scratch, `xlsx-home-${side.name}`), threads, table: 'bronze.bench_xlsx' });
        if (outcome.rows !== inputs.xlsx.rows) throw new ValidationError('INVALID_ARGUMENT', `${side.name} ingested ${outcome.rows} rows of ${inputs.xlsx.path}, expected ${inputs.xlsx.rows}`);
        const sample = samples.get(side.name)!;
        sample.ms.push(outcome.ms);
        sample.maxRssBytes.push(outcome.maxRssBytes);
        sample.processMs.push(outcome.processMs);
        sample.rows = outcome.rows;
      }
    }
    result.xlsx = { file: { path: inputs.xlsx.path, rows: inputs.xlsx.rows, bytes: inputs.xlsx.bytes }, rat: samples.get('rat')!, ...(samples.has('before') ? { before: samples.get('before')! } : {}) };
  }
  if (parts.has('small')) {
    const small = inputs.smallFiles;
    const out = { count: small.count, rowsEach: small.rowsEach, bytes: small.bytes, combinedMs: [] as number[], batchMs: [] as number[], skipMs: [] as number[] };
    const traces: NonNullable<IngestTaskResult['phases']>[] = [];
    for (let round = 0; round < batchRounds; round++) {
      progress(`bench: small files round ${round + 1}/${batchRounds}`);
      const outcome = await runChild(child, { kind: 'rat-batch', dir: small.dir, combined: small.combined.path, warmup: join(small.dir, 'part-00000.csv'), home: join(scratch, 'small-home'), threads });
      const batch = outcome.batch!;
      if (batch.files !== small.count || batch.failed > 0) throw new ValidationError('INVALID_ARGUMENT', `the batch ingested ${batch.files - batch.failed} of ${small.count} files`);
      out.combinedMs.push(batch.combinedMs);
      out.batchMs.push(batch.batchMs);
      out.skipMs.push(batch.skipMs);
      if (outcome.phases) traces.push(outcome.phases);
    }
    const phases = medianTrace(traces);
    result.smallFiles = { ...out, ...(phases ? { phases } : {}) };
  }
  result.loadAverage.after = loadavg();

  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(formatIngestText(result));
  if (!values['no-write']) {
    const path = join(repoRoot, 'BENCHMARKS.md');
    await writeSection(path, 'ingest', formatIngestMarkdown(result));
    progress(`bench: wrote ${path}`);
  }
}

/** Runs one task in a fresh Node process and returns its result line, with the process's time from spawn to exit. */
function runChild(script: string, task: IngestTask): Promise<IngestTaskResult & { processMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const proc = spawn(process.execPath, [script, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new ValidationError('INVALID_ARGUMENT', `benchmark child ${task.kind} exited with ${code}: ${stderr.trim().slice(-2000)}`));
        return;
      }
      resolvePromise({ ...(JSON.parse(last) as IngestTaskResult), processMs: performance.now() - started });
    });
  });
}

async function readThrough(path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 2 ** 20 })) void chunk;
}

async function duckDbVersion(): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const [row] = (await connection.runAndReadAll('SELECT library_version, source_id FROM pragma_version()')).getRowObjectsJson();
    return `${String(row?.library_version)} (${String(row?.source_id)})`;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export function scaleInputs(spec: IngestInputSpec, scale: number): IngestInputSpec {
  const of = (n: number) => Math.max(1, Math.round(n * scale));
  return { csvRows: of(spec.csvRows), ndjsonRows: of(spec.ndjsonRows), xlsxRows: of(spec.xlsxRows), smallFileCount: of(spec.smallFileCount), smallFileRows: spec.smallFileRows };
}

export function parseParts(only: string | undefined): Set<Part> {
  if (only === undefined) return new Set(PARTS);
  const parts = only.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0 || parts.length === 0) throw new ValidationError('INVALID_ARGUMENT', `--only takes ${PARTS.join(', ')} (comma-separated), got "${only}"`);
  return new Set(parts as Part[]);
}
