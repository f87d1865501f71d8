import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lakehouse } from '../engine/lakehouse.js';
import { median } from './sample-stats.js';

/** One step of rat's commit path: its median wall time per commit (all its calls in that commit summed). */
export interface CommitStep {
  name: string;
  ms: number;
  /** Calls per commit. */
  calls: number;
}

export interface CommitProfile {
  repetitions: number;
  /** Median wall time of the profiled commits (instrumented: a little above the timed median). */
  totalMs: number;
  /** The steps, in the order a commit takes them; the last is the time outside all of them. */
  steps: CommitStep[];
  /** Median of writing 4 KiB, fsync, fsync of its directory on the same disk: the floor of making a commit's files durable. */
  fsyncMs: number;
}

const STEPS = [
  'DuckDB: describe the INSERT query (prepare) and other calls',
  'storage: staging directory',
  'DuckDB: COPY rows to a staged Parquet file (with their statistics)',
  'storage: move the data file into place',
  'storage: write the manifest (Avro)',
  'storage: write the manifest list (Avro)',
  'storage: write the table metadata JSON',
  'storage: make the written files durable (fsync of all files and dirs at once)',
  'metadata DB: list namespaces (statement parsing)',
  'metadata DB: read the table pointer',
  'metadata DB: resolve the branch',
  'metadata DB: commit (CAS pointer, commit rows, branch head: a transaction on SQLite, one statement on PostgreSQL)',
] as const;
type StepName = (typeof STEPS)[number];
const OTHER = 'the rest: JavaScript (statement parsing, Avro and JSON encoding, metadata parsing)';

/**
 * Times the steps of rat's commit path by wrapping, for the profile only, the methods of this
 * lakehouse's object store, ref store and DuckDB connection that an INSERT goes through; the
 * timed benchmark rounds run without the wrappers.
 */
export async function profileCommit(input: { rat: Lakehouse; insertSql: (repetition: number) => string; repetitions: number; scratchDir: string }): Promise<CommitProfile> {
  const { rat } = input;
  let current = new Map<StepName, { ms: number; calls: number }>();
  const restore: (() => void)[] = [];
  /** `nesting` is shared by methods that call each other (runAndReadAll calls run): only the outermost call counts. */
  function wrap<T extends object>(target: T, method: keyof T & string, step: (...args: never[]) => StepName, nesting = { depth: 0 }): void {
    const original = target[method] as (...args: unknown[]) => Promise<unknown>;
    (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      const name = nesting.depth === 0 ? step(...(args as never[])) : undefined;
      nesting.depth += 1;
      const started = performance.now();
      try {
        return await original.apply(target, args);
      } finally {
        nesting.depth -= 1;
        if (name !== undefined) {
          const entry = current.get(name) ?? { ms: 0, calls: 0 };
          entry.ms += performance.now() - started;
          entry.calls += 1;
          current.set(name, entry);
        }
      }
    };
    restore.push(() => {
      (target as Record<string, unknown>)[method] = original;
    });
  }
  const duckStep = (sql: string): StepName =>
    /^\s*COPY\b/i.test(sql) ? 'DuckDB: COPY rows to a staged Parquet file (with their statistics)' : 'DuckDB: describe the INSERT query (prepare) and other calls';
  const putStep = (key: string): StepName =>
    key.endsWith('.metadata.json') ? 'storage: write the table metadata JSON' : /\/snap-[^/]*\.avro$/.test(key) ? 'storage: write the manifest list (Avro)' : 'storage: write the manifest (Avro)';

  const totals: number[] = [];
  const perStep = new Map<StepName, { ms: number[]; calls: number[] }>(STEPS.map((s) => [s, { ms: [], calls: [] }]));
  const other: number[] = [];
  const duckNesting = { depth: 0 };
  wrap(rat.duck.connection, 'runAndReadAll', duckStep as never, duckNesting);
  wrap(rat.duck.connection, 'run', duckStep as never, duckNesting);
  wrap(rat.duck.connection, 'prepare', duckStep as never, duckNesting);
  wrap(rat.store, 'stagingDir', () => 'storage: staging directory');
  wrap(rat.store, 'putFile', () => 'storage: move the data file into place');
  wrap(rat.store, 'put', putStep as never);
  wrap(rat.store, 'sync', () => 'storage: make the written files durable (fsync of all files and dirs at once)');
  wrap(rat.catalog, 'listNamespaces', () => 'metadata DB: list namespaces (statement parsing)');
  wrap(rat.catalog, 'loadTable', () => 'metadata DB: read the table pointer');
  wrap(rat.catalog.refs, 'resolve', () => 'metadata DB: resolve the branch');
  wrap(rat.catalog.refs, 'commit', () => 'metadata DB: commit (CAS pointer, commit rows, branch head: a transaction on SQLite, one statement on PostgreSQL)');
  try {
    for (let i = 0; i < input.repetitions; i++) {
      current = new Map();
      const started = performance.now();
      await rat.sql(input.insertSql(i));
      const total = performance.now() - started;
      totals.push(total);
      let inSteps = 0;
      for (const step of STEPS) {
        const entry = current.get(step) ?? { ms: 0, calls: 0 };
        perStep.get(step)!.ms.push(entry.ms);
        perStep.get(step)!.calls.push(entry.calls);
        inSteps += entry.ms;
      }
      other.push(total - inSteps);
    }
  } finally {
    for (const undo of restore.reverse()) undo();
  }
  return {
    repetitions: input.repetitions,
    totalMs: median(totals),
    steps: [
      ...STEPS.map((name) => ({ name, ms: median(perStep.get(name)!.ms), calls: median(perStep.get(name)!.calls) })).filter((s) => s.calls > 0),
      { name: OTHER, ms: median(other), calls: 1 },
    ],
    fsyncMs: await fsyncProbe(input.scratchDir, input.repetitions),
  };
}

async function fsyncProbe(dir: string, repetitions: number): Promise<number> {
  const times: number[] = [];
  const data = Buffer.alloc(4096, 1);
  for (let i = 0; i < repetitions; i++) {
    const file = join(dir, `fsync-probe-${i}`);
    const started = performance.now();
    await writeFile(file, data);
    const handle = await open(file, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    times.push(performance.now() - started);
  }
  return median(times);
}
