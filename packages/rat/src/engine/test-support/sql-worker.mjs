// A writer process for the concurrency and crash tests: runs SQL statements through the built SDK
// (packages/rat/dist) against one RAT_HOME and reports each commit on stdout as a JSON line.
//
// Protocol: prints {"event":"loaded"} once the SDK is imported, then reads one JSON job line on stdin:
//   { home, statements: string[], retryConflicts?: boolean, threads?: number,
//     pause?: { index: number, at: 'before-commit' | 'after-commit' } }
// and prints {"event":"ready"}, then per statement {"event":"ack","index":i} after it committed,
// {"event":"conflict","index":i,"code":...,"message":...} for each COMMIT_CONFLICT (retried when
// retryConflicts), {"event":"failed",...} on any other error (exit 1), and {"event":"done"} at the end.
// `pause` stops statement `index` just before or just after its catalog compare-and-swap and waits
// there forever (prints {"event":"paused"}), so a test can kill the process at that exact point.
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
const lake = await openLakehouse({ home: job.home, threads: job.threads ?? 1 });
let current = -1;

if (job.pause) {
  const { index, at } = job.pause;
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

emit({ event: 'ready' });
try {
  for (let index = 0; index < job.statements.length; index++) {
    current = index;
    for (;;) {
      try {
        await lake.sql(job.statements[index]);
        emit({ event: 'ack', index });
        break;
      } catch (error) {
        const code = error?.code ?? 'UNKNOWN';
        const message = error instanceof Error ? error.message : String(error);
        if (code !== 'COMMIT_CONFLICT') {
          emit({ event: 'failed', index, code, message });
          process.exitCode = 1;
          throw error;
        }
        emit({ event: 'conflict', index, code, message });
        if (!job.retryConflicts) {
          process.exitCode = 1;
          throw error;
        }
      }
    }
  }
  emit({ event: 'done' });
} catch {
  // Already reported as an event; the exit code says the job did not finish.
} finally {
  await lake.close();
}
