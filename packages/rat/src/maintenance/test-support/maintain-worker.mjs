// A `rat maintain` process for the maintenance crash test: runs maintain() of the built SDK
// (packages/rat/dist, what the CLI runs) over one RAT_HOME and reports on stdout as JSON lines.
//
// Protocol (as sql-worker.mjs): prints {"event":"loaded"} once the SDK is imported, then reads one
// JSON job line on stdin:
//   { home, databaseUrl?: string, options: MaintainOptions without nowMs, clockShiftMs?: number,
//     pause?: { operation: 'put' | 'delete', match: string, nth: number } }
// opens the lakehouse, prints {"event":"ready"}, {"event":"started"} just before maintain() and
// {"event":"maintained","report":...} after it. `pause` stops the process right after the nth store
// `operation` whose key contains `match` (e.g. the first `.metadata.json` written: a commit's files
// are all there but its compare-and-swap has not run) and prints {"event":"paused"}, so a test can
// kill it at that exact point. `clockShiftMs` moves maintain's clock (snapshot expiry) forward.
import { createInterface } from 'node:readline';
import { setInterval } from 'node:timers';

const { openLakehouse, maintain } = await import(new URL('../../../dist/index.js', import.meta.url).href);

/** stdout is a pipe, and pipe writes are synchronous on Linux: a printed line survives a SIGKILL right after. */
function emit(event) {
  process.stdout.write(`${JSON.stringify(event, (_key, value) => (typeof value === 'bigint' ? String(value) : value))}\n`);
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

/** The store, stopping for good after the nth matching operation completed. */
function pausing(store, pause) {
  let seen = 0;
  const after = async (operation, key) => {
    if (operation !== pause.operation || !key.includes(pause.match)) return;
    seen += 1;
    if (seen !== pause.nth) return;
    emit({ event: 'paused', index: seen, at: `after ${operation} ${key}` });
    await new Promise(() => setInterval(() => {}, 60_000));
  };
  return {
    ...store,
    uri: (key) => store.uri(key),
    keyOf: (uri) => store.keyOf(uri),
    get: (key) => store.get(key),
    exists: (key) => store.exists(key),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    localPath: (key) => store.localPath(key),
    stagingDir: () => store.stagingDir(),
    putFile: (key, path) => store.putFile(key, path),
    async put(key, data) {
      await store.put(key, data);
      await after('put', key);
    },
    async delete(key) {
      await store.delete(key);
      await after('delete', key);
    },
  };
}

emit({ event: 'loaded' });
const job = await readJob();
const lake = await openLakehouse({
  home: job.home,
  threads: 1,
  branch: 'main',
  env: { RAT_GIT_SYNC: '0' },
  ...(job.databaseUrl ? { databaseUrl: job.databaseUrl } : {}),
  ...(job.pause ? { wrapStore: (store) => pausing(store, job.pause) } : {}),
});
try {
  emit({ event: 'ready' });
  emit({ event: 'started' });
  const report = await maintain(lake, { ...job.options, nowMs: Date.now() + (job.clockShiftMs ?? 0) });
  emit({ event: 'maintained', report });
} catch (error) {
  emit({ event: 'failed', index: -1, code: error?.code ?? 'UNKNOWN', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
} finally {
  await lake.close();
}
