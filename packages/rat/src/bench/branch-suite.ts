/**
 * `npm run bench -- --suite branch`: branch create, fast-forward merge and three-way merge with
 * 1,000 tables in the catalog, first holding one row each, then with some of them holding millions
 * of rows, on the SQLite metadata DB and on PostgreSQL.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { readdir, rm, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Catalog } from '../catalog/catalog.js';
import type { TableIdent } from '../catalog/identifiers.js';
import type { MetadataDialect } from '../catalog/metadata-db.js';
import { ValidationError } from '../core/errors.js';
import { type Lakehouse, openLakehouse } from '../engine/lakehouse.js';
import { nextMetadata } from '../iceberg/snapshot-producer.js';
import { benchPostgres } from './bench-postgres.js';
import { CATALOG_SUITE_OPTIONS, positiveInt, postgresUrlFlag, progressLine, repositoryRoot, threadsFlag } from './bench-flags.js';
import { writeSection } from './bench-markdown.js';
import { type BranchBenchResult, type BranchDialectOutcome, type BranchPhase, formatBranchMarkdown, formatBranchText, formatRows, TARGET_BRANCH_MS } from './branch-report.js';
import { machineInfo } from './machine-info.js';

export const BRANCH_USAGE = `usage: npm run bench -- --suite branch [--tables N] [--big-tables N] [--big-rows N] [--rounds N] [--warmup N] [--database-url URL] [--json] [--no-write]
  --tables N          tables in the catalog (default 1000), one CREATE TABLE AS (one row, one catalog commit) each
  --big-tables N      tables that then get --big-rows rows each, for the second set of rounds (default 10)
  --big-rows N        rows written into each of those (default 2000000)
  --rounds N          timed rounds per catalog state (default 9)
  --warmup N          untimed rounds before them (default 1)
  --threads N         DuckDB threads (default: all cores)
  --database-url URL  PostgreSQL server to create the benchmark database on (default: RAT_BENCH_POSTGRES_URL,
                      else a throwaway cluster from the machine's PostgreSQL binaries; skipped without them)
  --json              print the result as JSON
  --no-write          do not refresh BENCHMARKS.md`;

const NAMESPACE = 'bench_b';
const tableName = (index: number) => `t${String(index).padStart(4, '0')}`;

export async function runBranchSuite(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...CATALOG_SUITE_OPTIONS, tables: { type: 'string' }, 'big-tables': { type: 'string' }, 'big-rows': { type: 'string' } },
  });
  if (values.help) {
    console.log(BRANCH_USAGE);
    return;
  }
  const settings: Settings = {
    tables: positiveInt('--tables', values.tables ?? '1000'),
    bigTables: positiveInt('--big-tables', values['big-tables'] ?? '10'),
    bigRows: positiveInt('--big-rows', values['big-rows'] ?? '2000000'),
    rounds: positiveInt('--rounds', values.rounds ?? '9'),
    warmupRounds: values.warmup === '0' ? 0 : positiveInt('--warmup', values.warmup ?? '1'),
    threads: threadsFlag(values.threads),
  };
  // Three tables change per round (one on each of two branches, one on main).
  if (settings.tables < 3) throw new ValidationError('INVALID_ARGUMENT', `--tables must be at least 3, got ${settings.tables}`);
  if (settings.bigTables > settings.tables) throw new ValidationError('INVALID_ARGUMENT', `--big-tables (${settings.bigTables}) cannot exceed --tables (${settings.tables})`);
  const root = repositoryRoot();
  const workDir = join(root, 'bench-data', 'branch');

  const dialects: BranchDialectOutcome[] = [];
  dialects.push(await measureDialect('sqlite', 'SQLite file, WAL, synchronous=NORMAL', undefined, join(workDir, 'sqlite'), settings));
  const postgres = await benchPostgres({ url: postgresUrlFlag(values['database-url']), clusterParent: workDir, progress: progressLine });
  if (postgres.kind === 'skipped') {
    progressLine(`branch: PostgreSQL skipped: ${postgres.reason}`);
    dialects.push({ dialect: 'postgres', skipped: postgres.reason });
  } else {
    try {
      dialects.push(await measureDialect('postgres', `PostgreSQL ${postgres.version}, ${postgres.description}, ${postgres.durability}`, postgres.url, join(workDir, 'postgres'), settings));
    } finally {
      await postgres.release();
    }
  }
  const result: BranchBenchResult = {
    date: new Date().toISOString(),
    machine: await machineInfo(await duckDbVersion(settings.threads)),
    rounds: settings.rounds,
    dialects,
    targetMsMax: TARGET_BRANCH_MS,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(formatBranchText(result));
  if (!values['no-write']) {
    const path = join(root, 'BENCHMARKS.md');
    await writeSection(path, 'branch', formatBranchMarkdown(result));
    progressLine(`branch: wrote ${path}`);
  }
}

interface Settings {
  tables: number;
  bigTables: number;
  bigRows: number;
  rounds: number;
  warmupRounds: number;
  threads: number;
}

async function measureDialect(dialect: MetadataDialect, database: string, databaseUrl: string | undefined, dir: string, settings: Settings): Promise<BranchDialectOutcome> {
  const progress = (line: string) => progressLine(`branch (${dialect}): ${line}`);
  await rm(dir, { recursive: true, force: true });
  const home = join(dir, 'home');
  // An explicit branch and env: {} keep git sync and RAT_* settings of the shell out of the benchmark.
  const rat = await openLakehouse({ home, env: {}, branch: 'main', threads: settings.threads, ...(databaseUrl ? { databaseUrl } : {}) });
  try {
    const setupStarted = performance.now();
    await rat.sql(`CREATE SCHEMA IF NOT EXISTS ${NAMESPACE}`);
    for (let i = 0; i < settings.tables; i++) {
      await rat.sql(`CREATE TABLE ${NAMESPACE}.${tableName(i)} AS SELECT CAST(${i} AS BIGINT) AS id, 'row-${i}' AS v`);
      if ((i + 1) % 100 === 0 || i + 1 === settings.tables) {
        const elapsed = (performance.now() - setupStarted) / 1000;
        progress(`created ${i + 1}/${settings.tables} tables, ${((i + 1) / elapsed).toFixed(0)}/s, ETA ${((settings.tables - i - 1) / ((i + 1) / elapsed)).toFixed(0)} s`);
      }
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    const loadBefore = loadavg();
    const phases: BranchPhase[] = [];
    const counter = { value: 0 };
    phases.push(await measurePhase(rat, `one row per table`, settings, home, { totalRows: settings.tables, largestTableRows: 1 }, counter, progress));
    for (let i = 0; i < settings.bigTables; i++) {
      const started = performance.now();
      await rat.sql(`INSERT INTO ${NAMESPACE}.${tableName(i)} SELECT i AS id, 'row-' || CAST(i AS VARCHAR) || '-' || CAST(hash(i) AS VARCHAR) AS v FROM range(${settings.bigRows}) t(i)`);
      progress(`${tableName(i)}: +${formatRows(settings.bigRows)} rows in ${((performance.now() - started) / 1000).toFixed(1)} s (${i + 1}/${settings.bigTables})`);
    }
    const bigLabel = `${settings.bigTables} tables with ${formatRows(settings.bigRows)} rows`;
    phases.push(await measurePhase(rat, bigLabel, settings, home, { totalRows: settings.tables + settings.bigTables * settings.bigRows, largestTableRows: settings.bigRows + 1 }, counter, progress));
    return { dialect, database, tables: settings.tables, setupSeconds, phases, loadAverage: { before: loadBefore, after: loadavg() } };
  } finally {
    await rat.close();
  }
}

/**
 * Rounds of: create a branch from main (timed), change one table on it, fast-forward merge it into
 * main (timed); create another branch (timed), change one table on it and another on main,
 * three-way merge it into main (timed); delete both branches. The changes are real catalog commits
 * of new table metadata versions (a property set), made outside the timed spans. The changed
 * tables are the first three, which are the large ones in the second set of rounds.
 */
async function measurePhase(
  rat: Lakehouse,
  label: string,
  settings: Settings,
  home: string,
  rows: { totalRows: number; largestTableRows: number },
  counter: { value: number },
  progress: (line: string) => void,
): Promise<BranchPhase> {
  const refs = rat.catalog.refs;
  const [onBranch, onBoth, onMain] = [0, 1, 2].map((i): TableIdent => ({ namespace: NAMESPACE, name: tableName(i) })) as [TableIdent, TableIdent, TableIdent];
  const phase: BranchPhase = {
    label,
    ...rows,
    dataBytes: await parquetBytes(join(home, 'warehouse')),
    commitsInHistory: (await refs.log('main', { limit: 1_000_000 })).length,
    createMs: [],
    fastForwardMs: [],
    threeWayMs: [],
  };
  const timed = async <T>(samples: number[] | undefined, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await work();
    samples?.push(performance.now() - started);
    return value;
  };
  for (let round = 0; round < settings.warmupRounds + settings.rounds; round++) {
    const warmup = round < settings.warmupRounds;
    const keep = (samples: number[]) => (warmup ? undefined : samples);
    const id = counter.value++;
    const ff = `bench-ff-${id}`;
    const threeWay = `bench-3w-${id}`;
    await timed(keep(phase.createMs), () => refs.create('branch', ff, 'main'));
    await changeTable(rat.catalog.withRef(ff), onBranch, id);
    const fastForward = await timed(keep(phase.fastForwardMs), () => refs.merge(ff, 'main'));
    expectMerge(fastForward, 'fast-forward', onBranch);
    await timed(keep(phase.createMs), () => refs.create('branch', threeWay, 'main'));
    await changeTable(rat.catalog.withRef(threeWay), onBoth, id);
    await changeTable(rat.catalog, onMain, id);
    const merged = await timed(keep(phase.threeWayMs), () => refs.merge(threeWay, 'main'));
    expectMerge(merged, 'merge', onBoth);
    await refs.delete('branch', ff);
    await refs.delete('branch', threeWay);
    progress(`${label}: ${warmup ? `warm-up ${round + 1}/${settings.warmupRounds}` : `round ${round - settings.warmupRounds + 1}/${settings.rounds}`} done`);
  }
  return phase;
}

/** One catalog commit of a new metadata version of `ident` on the catalog's branch. */
async function changeTable(catalog: Catalog, ident: TableIdent, round: number): Promise<void> {
  const base = await catalog.loadTable(ident);
  const next = nextMetadata(base.metadata, base.metadataLocation);
  await catalog.commitTable(base, { ...next, properties: { ...next.properties, 'bench.round': String(round) } });
}

function expectMerge(result: { kind: string; tables: string[] }, kind: string, table: TableIdent): void {
  const expected = `${table.namespace}.${table.name}`;
  if (result.kind !== kind || result.tables.join(',') !== expected) {
    throw new ValidationError('INVALID_ARGUMENT', `expected a ${kind} merge of ${expected}, got a ${result.kind} merge of [${result.tables.join(', ')}]`);
  }
}

async function parquetBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function duckDbVersion(threads: number): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const connection = await instance.connect();
  try {
    const [version] = await (await connection.runAndReadAll('SELECT library_version, source_id FROM pragma_version()')).getRowObjectsJson();
    return `${String(version?.library_version)} (${String(version?.source_id)})`;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
