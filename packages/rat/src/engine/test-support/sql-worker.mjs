// A writer process for the concurrency and crash tests: runs SQL statements through the built SDK
// (packages/rat/dist) against one RAT_HOME and reports each commit on stdout as a JSON line.
//
// Protocol: prints {"event":"loaded"} once the SDK is imported, then reads one JSON job line on stdin:
//   { home, statements: string[], retryConflicts?: boolean, threads?: number,
//     pause?: { index: number, at: 'before-commit' | 'after-commit' },
//     databaseUrl?: string, branch?: string, lanes?: string[][] }
// and prints {"event":"ready"}, then per statement {"event":"ack","index":i} after it committed,
// {"event":"conflict","index":i,"code":...,"message":...} for each COMMIT_CONFLICT (retried when
// retryConflicts), {"event":"failed",...} on any other error (exit 1), and {"event":"done"} at the end.
// `pause` stops statement `index` just before or just after its catalog compare-and-swap and waits
// there forever (prints {"event":"paused"}), so a test can kill the process at that exact point.
// `lanes` (instead of `statements`) runs several statement lists at once, each through its own
// Lakehouse (its own DuckDB and metadata-DB connection): concurrent writers inside one process. Their
// events carry "lane"; {"event":"done"} comes once every lane finished. `pause` applies to lane 0.
// `databaseUrl` puts the catalog in PostgreSQL; `branch` is the ref every lane writes to.
// Importing the SDK takes seconds, so a test can start this process early and send the job later.
import { createInterface } from 'node:readline';
import { setInterval } from 'node:timers';

const { openLakehouse } = await import(new URL('../../../dist/index.js', import.meta.url).href);

/** stdout is a pipe, and pipe writes are synchronous on Linux: a printed line survives a SIGKILL right after. */
function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Reports the pause and never returns; the interval keeps the event loop alive until the kill. */
function waitForever(index, at) {
  emit({ event: 'paused', index, at });
  return new Promise(() => setInterval(() => {}, 60_000));
}

function readJob() {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    const closed = () => reject(new Error('stdin closed before a job arrived'));
    lines.once('close', closed);
    lines.once('line', (line) => {
      lines.off('close', closed);
      lines.close();
      try {
        resolve(JSON.parse(line));
      } catch (error) {
        reject(error);
      }
    });
  });
}

emit({ event: 'loaded' });
const job = await readJob();
const lanes = job.lanes ?? [job.statements];
const tagged = (lane, event) => (job.lanes ? { ...event, lane } : event);
const options = {
  home: job.home,
  threads: job.threads ?? 1,
  ...(job.databaseUrl ? { databaseUrl: job.databaseUrl } : {}),
  ...(job.branch ? { branch: job.branch } : {}),
};
const lakes = [];
try {
  for (let lane = 0; lane < lanes.length; lane++) lakes.push(await openLakehouse(options));
} catch (error) {
  emit({ event: 'failed', index: -1, code: error?.code ?? 'UNKNOWN', message: error instanceof Error ? error.message : String(error) });
  for (const lake of lakes) await lake.close();
  process.exit(1);
}
let current = -1;

if (job.pause) {
  const { index, at } = job.pause;
  const lake = lakes[0];
  const commitTable = lake.catalog.commitTable;
  lake.catalog.commitTable = async (base, next) => {
    if (current === index && at === 'before-commit') {
      await waitForever(index, at);
    }
    const committed = await commitTable(base, next);
    if (current === index && at === 'after-commit') {
      await waitForever(index, at);
    }
    return committed;
  };
}

/** Runs one lane's statements in order; throws (after reporting it) on an error it may not retry. */
async function runLane(lane) {
  const lake = lakes[lane];
  const statements = lanes[lane];
  for (let index = 0; index < statements.length; index++) {
    if (lane === 0) current = index;
    for (;;) {
      try {
        await lake.sql(statements[index]);
        emit(tagged(lane, { event: 'ack', index }));
        break;
      } catch (error) {
        const code = error?.code ?? 'UNKNOWN';
        const message = error instanceof Error ? error.message : String(error);
        if (code !== 'COMMIT_CONFLICT') {
          emit(tagged(lane, { event: 'failed', index, code, message }));
          throw error;
        }
        emit(tagged(lane, { event: 'conflict', index, code, message }));
        if (!job.retryConflicts) throw error;
      }
    }
  }
}

emit({ event: 'ready' });
try {
  const outcomes = await Promise.allSettled(lanes.map((_, lane) => runLane(lane)));
  if (outcomes.every((o) => o.status === 'fulfilled')) emit({ event: 'done' });
  // Already reported as events; the exit code says the job did not finish.
  else process.exitCode = 1;
} finally {
  for (const lake of lakes) await lake.close();
}
