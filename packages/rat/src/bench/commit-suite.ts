/**
 * `npm run bench -- --suite commit`: the latency of one catalog commit. A 1,000-row INSERT through
 * rat SQL (data file, manifest, manifest list, metadata JSON, one metadata-DB transaction) versus raw
 * DuckDB writing the same rows to one Parquet file with COPY, interleaved in one process, on the
 * SQLite metadata DB and on PostgreSQL.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { stat, mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MetadataDialect } from '../catalog/metadata-db.js';
import { quoteString } from '../engine/duckdb.js';
import { openLakehouse } from '../engine/lakehouse.js';
import { benchPostgres } from './bench-postgres.js';
import { CATALOG_SUITE_OPTIONS, positiveInt, postgresUrlFlag, progressLine, repositoryRoot, threadsFlag } from './bench-flags.js';
import { writeSection } from './bench-markdown.js';
import { type CommitBenchResult, type CommitDialectOutcome, formatCommitMarkdown, formatCommitText, TARGET_COMMIT_RATIO } from './commit-report.js';
import { profileCommit } from './commit-profile.js';
import { type Rows, runInterleaved } from './interleaved-runner.js';
import { machineInfo } from './machine-info.js';
import { median } from './sample-stats.js';

export const COMMIT_USAGE = `usage: npm run bench -- --suite commit [--rounds N] [--warmup N] [--profile N] [--threads N] [--database-url URL] [--json] [--no-write]
  --rounds N          timed rounds (default 30)
  --warmup N          untimed warm-up rounds (default 3)
  --profile N         INSERTs of the per-step profile after the rounds (default 20)
  --threads N         DuckDB threads of both sides (default: all cores)
  --database-url URL  PostgreSQL server to create the benchmark database on (default: RAT_BENCH_POSTGRES_URL,
                      else a throwaway cluster from the machine's PostgreSQL binaries; skipped without them)
  --json              print the result as JSON
  --no-write          do not refresh BENCHMARKS.md`;

const ROWS = 1000;
const TABLE = 'bench_x.t';

/** The same 1,000 rows for both sides; `first` only shifts the ids. */
function rowsSql(first: number): string {
  return (
    `SELECT i AS id, make_timestamp(CAST(i * 1000000 AS BIGINT)) AS ts, 'name-' || CAST(i AS VARCHAR) AS name, ` +
    `CAST(hash(i) % 100000 AS DOUBLE) / 100 AS amount FROM range(${first}, ${first + ROWS}) t(i)`
  );
}

export async function runCommitSuite(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...CATALOG_SUITE_OPTIONS, profile: { type: 'string' } } });
  if (values.help) {
    console.log(COMMIT_USAGE);
    return;
  }
  const rounds = positiveInt('--rounds', values.rounds ?? '30');
  const warmupRounds = positiveInt('--warmup', values.warmup ?? '3');
  const profileRepetitions = positiveInt('--profile', values.profile ?? '20');
  const threads = threadsFlag(values.threads);
  const root = repositoryRoot();
  const workDir = join(root, 'bench-data', 'commit');
  const progress = progressLine;

  const dialects: CommitDialectOutcome[] = [];
  let duckdbVersion = 'unknown';
  const measure = async (dialect: MetadataDialect, database: string, databaseUrl?: string) => {
    const outcome = await measureDialect({ dialect, database, databaseUrl, dir: join(workDir, dialect), threads, warmupRounds, rounds, profileRepetitions });
    duckdbVersion = outcome.duckdbVersion;
    dialects.push(outcome.result);
  };
  await measure('sqlite', 'SQLite file, WAL, synchronous=NORMAL');
  const postgres = await benchPostgres({ url: postgresUrlFlag(values['database-url']), clusterParent: workDir, progress });
  if (postgres.kind === 'skipped') {
    progress(`commit: PostgreSQL skipped: ${postgres.reason}`);
    dialects.push({ dialect: 'postgres', skipped: postgres.reason });
  } else {
    try {
      await measure('postgres', `PostgreSQL ${postgres.version}, ${postgres.description}, ${postgres.durability}`, postgres.url);
    } finally {
      await postgres.release();
    }
  }

  const result: CommitBenchResult = {
    date: new Date().toISOString(),
    machine: await machineInfo(duckdbVersion),
    threads,
    rows: ROWS,
    warmupRounds,
    rounds,
    ratSql: `INSERT INTO ${TABLE} ${rowsSql(0)}`,
    rawSql: `COPY (${rowsSql(0)}) TO '<dir>/raw-<n>.parquet' (FORMAT parquet)`,
    dialects,
    targetRatioMax: TARGET_COMMIT_RATIO,
  };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(formatCommitText(result));
  if (!values['no-write']) {
    const path = join(root, 'BENCHMARKS.md');
    await writeSection(path, 'commit', formatCommitMarkdown(result));
    progress(`commit: wrote ${path}`);
  }
}

async function measureDialect(input: {
  dialect: MetadataDialect;
  database: string;
  databaseUrl: string | undefined;
  dir: string;
  threads: number;
  warmupRounds: number;
  rounds: number;
  profileRepetitions: number;
}): Promise<{ result: CommitDialectOutcome; duckdbVersion: string }> {
  const { dir, threads } = input;
  const progress = (line: string) => progressLine(`commit (${input.dialect}): ${line}`);
  await rm(dir, { recursive: true, force: true });
  const rawDir = join(dir, 'raw');
  await mkdir(rawDir, { recursive: true });
  // An explicit branch and env: {} keep git sync and RAT_* settings of the shell out of the benchmark.
  const rat = await openLakehouse({ home: join(dir, 'home'), env: {}, branch: 'main', threads, ...(input.databaseUrl ? { databaseUrl: input.databaseUrl } : {}) });
  const duckConfig = { threads: String(threads), autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
  const rawInstance = await DuckDBInstance.create(':memory:', duckConfig);
  const controlInstance = await DuckDBInstance.create(':memory:', duckConfig);
  const raw = await rawInstance.connect();
  const control = await controlInstance.connect();
  try {
    for (const connection of [raw, control]) await connection.run(`SET TimeZone = 'UTC'`);
    await rat.sql(`CREATE SCHEMA IF NOT EXISTS bench_x; CREATE TABLE ${TABLE} (id BIGINT, ts TIMESTAMP, name VARCHAR, amount DOUBLE)`);
    let written = 0;
    const copy = (connection: typeof raw, side: string) => async (): Promise<Rows> => {
      const file = join(rawDir, `${side}-${written++}.parquet`);
      const result = await connection.runAndReadAll(`COPY (${rowsSql(0)}) TO ${quoteString(file)} (FORMAT parquet)`);
      return [{ rows: Number(result.getRows()[0]?.[0]) }];
    };
    const loadBefore = loadavg();
    progress(`${input.warmupRounds} warm-up + ${input.rounds} rounds`);
    const [samples] = await runInterleaved({
      queries: [{ name: `insert-${ROWS}`, ratSql: `INSERT INTO ${TABLE} ${rowsSql(0)}`, rawSql: rowsSql(0) }],
      sides: [
        {
          name: 'rat',
          run: async (query) => {
            const [statement] = await rat.sql(query.ratSql);
            return [{ rows: statement?.kind === 'command' ? (statement.rowCount ?? 0) : 0 }];
          },
        },
        { name: 'raw', run: copy(raw, 'raw') },
        // A/A control: the raw COPY again on a second DuckDB instance, for the noise of this run.
        { name: 'control', run: copy(control, 'control') },
      ],
      warmupRounds: input.warmupRounds,
      rounds: input.rounds,
      progress: (line) => progress(line.replace(/^bench: /, '')),
    });
    const loadAfter = loadavg();
    const table = await rat.loadTable(TABLE);
    const snapshotsAtEnd = table.metadata.snapshots.length;
    const metadataBytesAtEnd = (await stat(await rat.store.localPath(rat.store.keyOf(table.metadataLocation)!))).size;
    progress(`profiling the commit path (${input.profileRepetitions} INSERTs)`);
    const profile = await profileCommit({ rat, insertSql: () => `INSERT INTO ${TABLE} ${rowsSql(0)}`, repetitions: input.profileRepetitions, scratchDir: rawDir });
    const [version] = await (await raw.runAndReadAll('SELECT library_version, source_id FROM pragma_version()')).getRowObjectsJson();
    const ms = samples!.ms;
    const ratMs = median(ms.rat!);
    const rawMs = median(ms.raw!);
    const controlMs = median(ms.control!);
    return {
      duckdbVersion: `${String(version?.library_version)} (${String(version?.source_id)})`,
      result: {
        dialect: input.dialect,
        database: input.database,
        ratMs,
        rawMs,
        ratio: ratMs / rawMs,
        controlMs,
        controlRatio: controlMs / rawMs,
        ratSamplesMs: ms.rat!,
        rawSamplesMs: ms.raw!,
        controlSamplesMs: ms.control!,
        snapshotsAtEnd,
        metadataBytesAtEnd,
        profile,
        loadAverage: { before: loadBefore, after: loadAfter },
        met: ratMs / rawMs < TARGET_COMMIT_RATIO,
      },
    };
  } finally {
    raw.closeSync();
    control.closeSync();
    rawInstance.closeSync();
    controlInstance.closeSync();
    await rat.close();
  }
}
