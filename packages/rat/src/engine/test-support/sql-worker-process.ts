import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What sql-worker.mjs reports on stdout, one JSON object per line. */
export type WorkerEvent =
  | { event: 'loaded' }
  | { event: 'ready' }
  | { event: 'ack'; index: number; lane?: number }
  | { event: 'conflict'; index: number; code: string; message: string; lane?: number }
  | { event: 'failed'; index: number; code: string; message: string; lane?: number }
  | { event: 'paused'; index: number; at: string }
  | { event: 'done' }
  // maintenance/test-support/maintain-worker.mjs: maintain() began, and its report.
  | { event: 'started' }
  | { event: 'maintained'; report: unknown };

export interface WorkerJob {
  home: string;
  /** The statements of a single writer; ignored when `lanes` is given. */
  statements: string[];
  /** Several writers in this one process, each with its own Lakehouse, running their statement lists at once. */
  lanes?: string[][];
  /** A PostgreSQL URL for the metadata DB (default: the SQLite file in `home`). */
  databaseUrl?: string;
  /** The branch every statement writes to (default: main, or the git branch's data branch). */
  branch?: string;
  /** Run a statement again after a COMMIT_CONFLICT (each conflict is still reported). */
  retryConflicts?: boolean;
  threads?: number;
  /** Stop statement `index` just before or just after its catalog compare-and-swap, until killed. */
  pause?: { index: number; at: 'before-commit' | 'after-commit' };
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One writer OS process running sql-worker.mjs against the built SDK. */
export interface SqlWorker {
  readonly pid: number;
  /** Every event received so far, in order. */
  readonly events: readonly WorkerEvent[];
  /** Resolves with the first event of that kind (also one already received); rejects when the process ends first. */
  waitFor(kind: WorkerEvent['event'], timeoutMs?: number): Promise<WorkerEvent>;
  /** Sends the job line (a WorkerJob for sql-worker.mjs; another script defines its own). */
  start(job: WorkerJob | Record<string, unknown>): void;
  /** Resolves once the process ended and all its output was read. */
  readonly exited: Promise<WorkerExit>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<WorkerExit>;
  /** For failure messages: the events other than acks, and stderr. */
  output(): string;
}

/** The events of one kind, typed. */
export function eventsOf<K extends WorkerEvent['event']>(events: readonly WorkerEvent[], kind: K): Extract<WorkerEvent, { event: K }>[] {
  return events.filter((e): e is Extract<WorkerEvent, { event: K }> => e.event === kind);
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER_SCRIPT = fileURLToPath(new URL('./sql-worker.mjs', import.meta.url));
const DEFAULT_WAIT_MS = 60_000;

/** Starts sql-worker.mjs, or another script speaking its protocol (e.g. maintenance's maintain-worker.mjs). */
export function spawnSqlWorker(script: string = WORKER_SCRIPT): SqlWorker {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: WorkerEvent[] = [];
  const waiters: { kind: WorkerEvent['event']; resolve: (event: WorkerEvent) => void }[] = [];
  let noise = '';
  let pending = '';

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    noise += chunk;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let event: WorkerEvent;
      try {
        event = JSON.parse(line) as WorkerEvent;
      } catch {
        noise += `${line}\n`;
        continue;
      }
      events.push(event);
      for (const waiter of waiters.filter((w) => w.kind === event.event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  // The job line may arrive after a crash of the worker: a closed stdin must not throw in the test.
  child.stdin.on('error', () => {});

  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      noise += `spawn error: ${error.message}\n`;
      resolve({ code: null, signal: null });
    });
  });

  const output = (): string => {
    const acks = events.filter((e) => e.event === 'ack').length;
    const others = events.filter((e) => e.event !== 'ack' && e.event !== 'loaded' && e.event !== 'ready');
    return `${acks} acks, events ${JSON.stringify(others)}, stderr: ${`${noise}${pending}`.trim()}`;
  };

  return {
    pid: child.pid ?? -1,
    events,
    waitFor(kind, timeoutMs = DEFAULT_WAIT_MS) {
      const seen = events.find((e) => e.event === kind);
      if (seen) return Promise.resolve(seen);
      return new Promise<WorkerEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker ${child.pid} sent no "${kind}" within ${timeoutMs} ms; output: ${output()}`)), timeoutMs);
        waiters.push({
          kind,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
        void exited.then((exit) => {
          clearTimeout(timer);
          const late = events.find((e) => e.event === kind);
          if (late) resolve(late);
          else reject(new Error(`worker ${child.pid} exited (code ${exit.code}, signal ${exit.signal}) before "${kind}"; output: ${output()}`));
        });
      });
    },
    start(job) {
      child.stdin.end(`${JSON.stringify(job)}\n`);
    },
    exited,
    async kill() {
      child.kill('SIGKILL');
      return exited;
    },
    output,
  };
}

/** Runs jobs in separate processes started at the same moment (after all imported the SDK); resolves when all ended. */
export async function runSqlWorkers(jobs: WorkerJob[], timeoutMs: number): Promise<{ worker: SqlWorker; exit: WorkerExit }[]> {
  const workers = jobs.map(() => spawnSqlWorker());
  try {
    await Promise.all(workers.map((w) => w.waitFor('loaded')));
    workers.forEach((worker, i) => worker.start(jobs[i]!));
    const all = Promise.all(workers.map(async (worker) => ({ worker, exit: await worker.exited })));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`writers did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    // Only those still running (a timeout or failure above) are killed; ended processes ignore it.
    await Promise.all(workers.map((w) => w.kill()));
  }
}

/**
 * The workers run packages/rat/dist: a build older than the sources would test old code, so fail
 * early with the fix instead.
 */
export async function assertSdkBuilt(): Promise<void> {
  const buildInfo = path.join(PACKAGE_ROOT, 'dist', '.tsbuildinfo');
  const builtAt = await stat(buildInfo).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (builtAt === undefined) throw new Error(`${buildInfo} is missing: run npm run build before these tests`);
  const sources = path.join(PACKAGE_ROOT, 'src');
  for (const entry of await readdir(sources, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.(test|contract)\.ts$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.includes(`${path.sep}test-support${path.sep}`)) continue;
    if ((await stat(file)).mtimeMs > builtAt) throw new Error(`packages/rat/dist is older than ${path.relative(PACKAGE_ROOT, file)}: run npm run build before these tests`);
  }
}
