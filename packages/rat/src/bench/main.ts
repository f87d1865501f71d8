/**
 * `npm run bench [-- --suite NAME]`: the benchmark suites (SUITES below), each printing its result
 * and refreshing its own section of BENCHMARKS.md at the repository root. The query suite (in this
 * file): five queries over a 5M-row Iceberg table through rat SQL versus raw DuckDB `read_parquet`
 * over the same files, interleaved in one process; prints the ratios and the range filter's pruning.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError, ValidationError } from '../core/errors.js';
import { quoteString } from '../engine/duckdb.js';
import { openLakehouse } from '../engine/lakehouse.js';
import type { ScanRecord } from '../engine/table-reader.js';
import { currentSchema } from '../iceberg/metadata.js';
import type { PrimitiveType } from '../iceberg/types.js';
import { DEFAULT_DATASET, openDataset, SALES_TABLE, CUSTOMERS_TABLE } from './bench-dataset.js';
import { BENCH_QUERIES, RANGE_FILTER, RAT_SOURCES } from './bench-queries.js';
import { type BenchResult, formatText, TARGET_GEOMEAN_RATIO, writeBenchmarksMd } from './bench-report.js';
import { overlappingFiles } from './bounds-overlap.js';
import { type PairedQuery, type Rows, runInterleaved } from './interleaved-runner.js';
import { samePhysicalPlan } from './explain-plan.js';
import { machineInfo } from './machine-info.js';
import { profileOverhead } from './overhead-profile.js';
import { geometricMean, median } from './sample-stats.js';
import { BRANCH_USAGE, runBranchSuite } from './branch-suite.js';
import { COMMIT_USAGE, runCommitSuite } from './commit-suite.js';
import { INGEST_USAGE, runIngestSuite } from './ingest-suite.js';
import { selectSuites } from './suite-args.js';

const USAGE = `usage: npm run bench -- [--suite query|commit|branch|ingest|all] [--json] [--rounds N] [--warmup N] [--overhead N] [--threads N] [--home DIR] [--regenerate] [--no-write]
  --json        print the result as JSON instead of a table
  --rounds N    timed rounds (default 15)
  --warmup N    untimed warm-up rounds whose results are compared (default 1)
  --overhead N  repetitions of the per-query overhead profile (default 30)
  --threads N   DuckDB threads for both sides (default: all cores)
  --home DIR    benchmark RAT_HOME (default: bench-data/home at the repository root)
  --regenerate  rebuild the dataset even if the home already holds it
  --no-write    do not refresh BENCHMARKS.md
  --suite NAME  run one suite (default all; flags only one suite knows need --suite); the query suite's flags are above, the others':

${COMMIT_USAGE}

${BRANCH_USAGE}

${INGEST_USAGE}`;

const RANGE_QUERY = 'range-filter';

async function runQuerySuite(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '1' },
      overhead: { type: 'string', default: '30' },
      threads: { type: 'string' },
      home: { type: 'string' },
      regenerate: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rounds = positiveInt('--rounds', values.rounds);
  const warmupRounds = positiveInt('--warmup', values.warmup);
  const overheadRepetitions = positiveInt('--overhead', values.overhead);
  const threads = values.threads === undefined ? availableParallelism() : positiveInt('--threads', values.threads);
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const home = resolve(values.home ?? join(repoRoot, 'bench-data', 'home'));
  // Progress goes to stderr so that --json output stays machine-readable.
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  const { lakehouse: rat, dataset } = await openDataset({
    home,
    spec: DEFAULT_DATASET,
    regenerate: values.regenerate,
    // env: {} keeps the benchmark on local disk even when RAT_S3_* is set in the shell.
    open: (dir) => openLakehouse({ home: dir, threads, env: {} }),
    progress,
  });
  const duckConfig = { threads: String(threads), autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
  const rawInstance = await DuckDBInstance.create(':memory:', duckConfig);
  const controlInstance = await DuckDBInstance.create(':memory:', duckConfig);
  const raw = await rawInstance.connect();
  const control = await controlInstance.connect();
  try {
    for (const connection of [raw, control]) await connection.run(`SET TimeZone = 'UTC'`);
    const sales = await rat.loadTable(SALES_TABLE);
    const customers = await rat.loadTable(CUSTOMERS_TABLE);
    const salesPlan = await rat.executor.reader.plan(sales);
    const customersPlan = await rat.executor.reader.plan(customers);
    rat.takeScanRecords();
    const localPaths = (table: typeof sales, plan: typeof salesPlan) =>
      Promise.all(plan.scan.tasks.map((task) => rat.catalog.io.localPath(task.dataFile.filePath, table.pathMap)));
    const salesFiles = await localPaths(sales, salesPlan);
    const customerFiles = await localPaths(customers, customersPlan);
    const readParquet = (files: string[]) => `read_parquet([${files.map(quoteString).join(', ')}])`;
    const rawSources = { sales: readParquet(salesFiles), customers: readParquet(customerFiles) };
    const queries: PairedQuery[] = BENCH_QUERIES.map((q) => ({ name: q.name, ratSql: q.sql(RAT_SOURCES), rawSql: q.sql(rawSources) }));

    // DuckDB's physical plan of each query on both sides (rat reads views over the same files).
    // A filtered read is planned over its pruned files only when rat runs it, not under EXPLAIN.
    const samePlan = new Map<string, boolean>();
    for (const query of queries) {
      const [ratPlan] = await rat.query(`EXPLAIN (FORMAT json) ${query.ratSql}`);
      const [rawPlan] = await (await raw.runAndReadAll(`EXPLAIN (FORMAT json) ${query.rawSql}`)).getRowObjectsJson();
      samePlan.set(query.name, query.name !== RANGE_QUERY && samePhysicalPlan(String(ratPlan?.explain_value), String(rawPlan?.explain_value)));
    }
    rat.takeScanRecords();

    const loadBefore = loadavg();
    const rangeRecords: ScanRecord[] = [];
    const rawRun = (connection: DuckDBConnection) => async (query: PairedQuery): Promise<Rows> => {
      const result = await connection.run(query.rawSql);
      const columns = result.columnNames();
      return (await result.getRowsJson()).map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]!]))) as Rows;
    };
    const samples = await runInterleaved({
      queries,
      sides: [
        {
          name: 'rat',
          run: (query) => rat.query(query.ratSql),
          after: (query) => {
            const records = rat.takeScanRecords();
            if (query.name !== RANGE_QUERY) return;
            const record = records.filter((r) => r.table === SALES_TABLE && r.predicates.length > 0).at(-1);
            if (!record) throw new ValidationError('INVALID_ARGUMENT', `the ${RANGE_QUERY} query planned no pruned scan of ${SALES_TABLE} (records: ${records.length})`);
            rangeRecords.push(record);
          },
        },
        { name: 'raw', run: rawRun(raw) },
        // A/A control: the same raw query on a second, identical DuckDB instance. Its ratio to raw
        // shows how far two identical sides drift apart on this machine in this run.
        { name: 'control', run: rawRun(control) },
      ],
      warmupRounds,
      rounds,
      progress,
    });

    // Files whose ts bounds overlap the month, from the unpruned file list, versus what rat selected.
    const tsField = currentSchema(sales.metadata).fields.find((f) => f.name === RANGE_FILTER.column)!;
    const micros = (day: string) => BigInt(Date.parse(`${day}T00:00:00Z`)) * 1000n;
    const overlapping = overlappingFiles(
      salesPlan.scan.tasks.map((t) => t.dataFile),
      { fieldId: tsField.id, type: tsField.type as PrimitiveType, from: micros(RANGE_FILTER.from), to: micros(RANGE_FILTER.to) },
    );
    const record = rangeRecords.at(-1)!;
    const inconsistent = rangeRecords.find((r) => r.stats.dataFilesSelected !== record.stats.dataFilesSelected);
    if (inconsistent) throw new ValidationError('INVALID_ARGUMENT', `the ${RANGE_QUERY} query selected ${inconsistent.stats.dataFilesSelected} files in one run and ${record.stats.dataFilesSelected} in another`);
    const selected = (await rat.executor.reader.plan(sales, { predicates: record.predicates })).scan.tasks.map((t) => t.dataFile.filePath);
    rat.takeScanRecords();
    const sameFiles = selected.length === overlapping.length && [...selected].sort().join('\n') === [...overlapping].sort().join('\n');

    progress(`bench: profiling per-query overhead (${overheadRepetitions} repetitions)`);
    const overhead = await profileOverhead({
      rat,
      raw,
      sales,
      salesSource: { rat: RAT_SOURCES.sales, raw: rawSources.sales },
      rangeSql: queries.find((q) => q.name === RANGE_QUERY)!.ratSql,
      rangePredicates: record.predicates,
      repetitions: overheadRepetitions,
    });
    const loadAfter = loadavg();

    const [version] = await (await raw.runAndReadAll('SELECT library_version, source_id FROM pragma_version()')).getRowObjectsJson();
    const queryResults = samples.map((s, i) => {
      const ratMs = median(s.ms.rat!);
      const rawMs = median(s.ms.raw!);
      const controlMs = median(s.ms.control!);
      return {
        name: s.name,
        sql: queries[i]!.ratSql,
        ratMs,
        rawMs,
        ratio: ratMs / rawMs,
        controlMs,
        controlRatio: controlMs / rawMs,
        samePlan: samePlan.get(s.name) ?? false,
        ratSamplesMs: s.ms.rat!,
        rawSamplesMs: s.ms.raw!,
        controlSamplesMs: s.ms.control!,
      };
    });
    const geomeanRatio = geometricMean(queryResults.map((q) => q.ratio));
    const controlGeomeanRatio = geometricMean(queryResults.map((q) => q.controlRatio));
    const result: BenchResult = {
      date: new Date().toISOString(),
      machine: await machineInfo(`${String(version?.library_version)} (${String(version?.source_id)})`),
      threads,
      home,
      dataset: { ...dataset, salesBytes: salesPlan.scan.tasks.reduce((n, t) => n + t.dataFile.fileSizeInBytes, 0) },
      ratUsesFieldIdMapping: /schema\s*=/.test(salesPlan.sql),
      loadAverage: { before: loadBefore, after: loadAfter },
      warmupRounds,
      rounds,
      queries: queryResults,
      overhead,
      geomeanRatio,
      controlGeomeanRatio,
      pruning: {
        filter: `${RANGE_FILTER.column} >= TIMESTAMP '${RANGE_FILTER.from}' AND ${RANGE_FILTER.column} < TIMESTAMP '${RANGE_FILTER.to}'`,
        totalFiles: salesPlan.scan.tasks.length,
        ratFilesOpened: record.stats.dataFilesSelected,
        ratSkippedByBounds: record.stats.dataFilesSkippedByBounds,
        ratSkippedByPartition: record.stats.dataFilesSkippedByPartition,
        overlappingFiles: overlapping.length,
        sameFiles,
        rawFilesOpened: salesFiles.length,
      },
      targets: {
        geomeanRatioMax: TARGET_GEOMEAN_RATIO,
        geomeanMet: geomeanRatio <= TARGET_GEOMEAN_RATIO,
        pruningMet: sameFiles && record.stats.dataFilesSelected === overlapping.length,
      },
    };
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(formatText(result));
    if (!values['no-write']) {
      const path = join(repoRoot, 'BENCHMARKS.md');
      await writeBenchmarksMd(path, result);
      progress(`bench: wrote ${path}`);
    }
  } finally {
    raw.closeSync();
    control.closeSync();
    rawInstance.closeSync();
    controlInstance.closeSync();
    await rat.close();
  }
}

function positiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ValidationError('INVALID_ARGUMENT', `${flag} must be a positive integer, got "${text}"`);
  return value;
}

/** The suites `--suite` chooses from, run in this order by `all`: adding one is one line. */
const SUITES: Record<string, (args: string[]) => Promise<void>> = {
  query: runQuerySuite,
  commit: runCommitSuite,
  branch: runBranchSuite,
  ingest: runIngestSuite,
};

let runningSuite: string | undefined;

async function main(argv: string[]): Promise<void> {
  const { suites, rest } = selectSuites(argv, Object.keys(SUITES));
  if (suites.length > 1 && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(USAGE);
    return;
  }
  for (const name of suites) {
    runningSuite = name;
    if (suites.length > 1) process.stderr.write(`bench: suite ${name}\n`);
    await SUITES[name]!(rest);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const hint = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? ' (a flag only one suite knows needs --suite NAME; see --help)' : '';
  console.error(`bench${runningSuite ? ` (suite ${runningSuite})` : ''}: ${describeError(error)}${hint}`);
  process.exitCode = 1;
});
