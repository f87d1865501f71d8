import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from './duckdb.js';
import { openLakehouse } from './lakehouse.js';
import { expectLinearHistory } from './test-support/expect-linear-history.js';
import { assertSdkBuilt, eventsOf, spawnSqlWorker, type SqlWorker, type WorkerJob } from './test-support/sql-worker-process.js';
import { auditTable, type AuditCache } from './test-support/table-audit.js';

/**
 * A writer process is killed with SIGKILL at random moments of a loop of INSERT, UPDATE and DELETE
 * commits on one table; after each kill a fresh SDK must find the table readable and holding
 * exactly the rows of commits 1..k, where k is the last commit the writer acknowledged or the one
 * after it (in flight at the kill, its compare-and-swap may have landed). The next writer continues
 * from there on the same table, on top of whatever the killed one left behind.
 */

const RANDOM_TRIALS = 14;
/** Trials that stop the writer at an exact point of a commit instead of a random one. */
const PAUSED_TRIALS: Record<number, 'before-commit' | 'after-commit'> = { 2: 'before-commit', 6: 'after-commit' };
const TRIALS = RANDOM_TRIALS + Object.keys(PAUSED_TRIALS).length;
const MIN_KILL_MS = 50;
const MAX_KILL_MS = 1_500;
/**
 * Statements handed to one writer: more than it can commit before the latest kill. On an idle
 * machine a writer commits one in about 20 ms, so 60 (the earlier batch) could all land in
 * MAX_KILL_MS and the writer exit before its kill; 250 needs 6 ms a commit for that.
 */
const BATCH = 250;
/** Iceberg keeps at most this many metadata log entries (snapshot-producer MAX_METADATA_LOG). */
const METADATA_LOG_LIMIT = 100;

interface Row {
  id: number;
  n: number;
  v: number;
}

interface Plan {
  statements: string[];
  kinds: ('insert' | 'update' | 'delete')[];
  /** states[j]: the table's rows after commits 1..j, as a fingerprint. */
  states: string[];
}

const fingerprint = (rows: Iterable<Row>): string =>
  [...rows]
    .sort((a, b) => a.id - b.id)
    .map((r) => `${r.id}:${r.n}:${r.v}`)
    .join(' ');

/**
 * Commit c inserts rows (10c, c, 0) and (10c+1, c, 0); every 5th updates the rows with one id
 * residue mod 3, every 7th deletes the oldest row. Each statement changes at least one row, so
 * each one is exactly one snapshot and no two consecutive states are equal.
 */
function buildPlan(commits: number): Plan {
  const rows = new Map<number, Row>();
  const plan: Plan = { statements: [], kinds: [], states: [fingerprint([])] };
  for (let c = 1; c <= commits; c++) {
    const ids = [...rows.keys()].sort((a, b) => a - b);
    if (c % 7 === 0 && ids.length > 0) {
      rows.delete(ids[0]!);
      plan.statements.push(`DELETE FROM bronze.k WHERE id = ${ids[0]}`);
      plan.kinds.push('delete');
    } else if (c % 5 === 0 && ids.length > 0) {
      const residue = ids.some((id) => id % 3 === c % 3) ? c % 3 : ids[0]! % 3;
      for (const [id, row] of rows) if (id % 3 === residue) rows.set(id, { ...row, v: row.v + 1 });
      plan.statements.push(`UPDATE bronze.k SET v = v + 1 WHERE id % 3 = ${residue}`);
      plan.kinds.push('update');
    } else {
      rows.set(10 * c, { id: 10 * c, n: c, v: 0 });
      rows.set(10 * c + 1, { id: 10 * c + 1, n: c, v: 0 });
      plan.statements.push(`INSERT INTO bronze.k VALUES (${10 * c}, ${c}, 0), (${10 * c + 1}, ${c}, 0)`);
      plan.kinds.push('insert');
    }
    plan.states.push(fingerprint(rows.values()));
  }
  return plan;
}

/** mulberry32: a seeded generator, so a failing run can be repeated with RAT_CRASH_SEED. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('a writer killed with SIGKILL in the middle of its commits', () => {
  let home: string;
  const workers: SqlWorker[] = [];
  const seed = Number(process.env.RAT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  // Room for every trial to land a whole batch.
  const plan = buildPlan(TRIALS * BATCH + BATCH);
  /** What the audits after earlier kills read: each audit parses only the files new since the last. */
  const audited: AuditCache = new Map();

  /** Importing the SDK takes seconds: each writer is started while the table the last one left is checked. */
  function spawnWorker(): SqlWorker {
    const worker = spawnSqlWorker();
    workers.push(worker);
    return worker;
  }

  beforeAll(async () => {
    await assertSdkBuilt();
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-crash-'));
    const lake = await openLakehouse({ home, threads: 1 });
    try {
      await lake.sql('CREATE TABLE bronze.k (id BIGINT, n INTEGER, v INTEGER)');
    } finally {
      await lake.close();
    }
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    if (home) await rm(home, { recursive: true, force: true });
  });

  /**
   * Opens the table with a fresh SDK and checks it holds the state after exactly one of the
   * `candidates` commits; returns that commit number.
   */
  async function verifyTable(candidates: number[], context: string, inFlight?: number): Promise<number> {
    const lake = await openLakehouse({ home, threads: 1 });
    try {
      const rows = await lake.query<{ id: number; n: number; v: number }>('SELECT id::INTEGER AS id, n, v FROM bronze.k ORDER BY id');
      const state = fingerprint(rows);
      const landed = candidates.find((j) => plan.states[j] === state);
      expect(landed, `${context}: the table holds the state after commit ${plan.states.indexOf(state)} (-1: after none), expected one of ${candidates.join(', ')}`).toBeDefined();
      const commits = landed!;

      expectLinearHistory(await lake.snapshots('bronze.k'), commits, context);
      // Every file the table references, down to the data files, exists and parses.
      const audit = await auditTable(lake, 'bronze.k', audited);
      expect(audit.table.metadata.lastSequenceNumber, context).toBe(commits);
      expect(audit.table.metadata.metadataLog, context).toHaveLength(Math.min(commits, METADATA_LOG_LIMIT));
      expect(audit.liveDataFiles.reduce((n, f) => n + f.recordCount, 0), context).toBe(rows.length);

      if (inFlight !== undefined) {
        // The killed commit wrote its data file, manifest and manifest list, but the table does not
        // reference them and none of their rows is visible.
        const orphanData = audit.orphans.filter((f) => f.endsWith('.parquet'));
        const orphanLists = audit.orphans.filter((f) => path.basename(f).startsWith('snap-') && f.endsWith('.avro'));
        expect(orphanLists.length, `${context}: orphan manifest lists`).toBeGreaterThan(0);
        expect(orphanData.length, `${context}: orphan data files`).toBeGreaterThan(0);
        const orphanRows = await lake.query<{ id: number; n: number; v: number }>(
          `SELECT id::INTEGER AS id, n, v FROM read_parquet([${orphanData.map(quoteString).join(', ')}]) WHERE n = ${inFlight} ORDER BY id`,
        );
        expect(orphanRows, context).toEqual([
          { id: 10 * inFlight, n: inFlight, v: 0 },
          { id: 10 * inFlight + 1, n: inFlight, v: 0 },
        ]);
        expect(rows.filter((r) => r.n === inFlight), context).toEqual([]);
      }
      return commits;
    } finally {
      await lake.close();
    }
  }

  it(`leaves the table at the state of its last complete commit (${TRIALS} kills)`, async () => {
    let landed = 0;
    let next = spawnWorker();
    for (let trial = 0; trial < TRIALS; trial++) {
      const worker = next;
      await worker.waitFor('loaded');
      const statements = plan.statements.slice(landed, landed + BATCH);
      const kinds = plan.kinds.slice(landed, landed + BATCH);
      const paused = PAUSED_TRIALS[trial];
      const job: WorkerJob = { home, statements, threads: 1 };
      let context: string;
      if (paused === 'before-commit') {
        // An INSERT, so the orphaned data file can be recognised by its rows.
        job.pause = { index: kinds.findIndex((k, i) => i >= 2 && k === 'insert'), at: paused };
        context = `seed ${seed} trial ${trial}: killed before the compare-and-swap of commit ${landed + job.pause.index + 1}`;
      } else if (paused === 'after-commit') {
        job.pause = { index: kinds.findIndex((k, i) => i >= 1 && k !== 'insert'), at: paused };
        context = `seed ${seed} trial ${trial}: killed after the compare-and-swap of commit ${landed + job.pause.index + 1}`;
      } else {
        // Counted from the job on even trials (the kill may hit opening the catalog), from the
        // writer's first statement on odd ones (opening takes a while on a loaded machine).
        const delay = Math.round(MIN_KILL_MS + random() * (MAX_KILL_MS - MIN_KILL_MS));
        const from = trial % 2 === 0 ? 'start' : 'ready';
        context = `seed ${seed} trial ${trial}: killed ${delay} ms after ${from}`;
        worker.start(job);
        // An early exit is caught by the checks below.
        if (from === 'ready') await worker.waitFor('ready').catch(() => undefined);
        await Promise.race([sleep(delay), worker.exited]);
      }
      if (job.pause) {
        worker.start(job);
        await worker.waitFor('paused');
      }
      const exit = await worker.kill();
      next = spawnWorker();
      context += ` (from commit ${landed + 1}; output: ${worker.output()})`;

      expect(eventsOf(worker.events, 'failed'), context).toEqual([]);
      expect(exit.signal, context).toBe('SIGKILL');
      const acks = eventsOf(worker.events, 'ack').map((e) => e.index);
      expect(acks, context).toEqual([...acks.keys()]);
      const acknowledged = landed + acks.length;
      if (job.pause) expect(acks.length, context).toBe(job.pause.index);

      const candidates = paused === 'before-commit' ? [acknowledged] : paused === 'after-commit' ? [acknowledged + 1] : [acknowledged, acknowledged + 1];
      landed = await verifyTable(candidates, context, paused === 'before-commit' ? acknowledged + 1 : undefined);
    }

    // A writer that is not killed carries on from the crashed state and commits normally.
    const worker = next;
    await worker.waitFor('loaded');
    worker.start({ home, statements: plan.statements.slice(landed, landed + 3), threads: 1 });
    const exit = await worker.exited;
    expect(exit, worker.output()).toEqual({ code: 0, signal: null });
    expect(eventsOf(worker.events, 'ack')).toHaveLength(3);
    expect(await verifyTable([landed + 3], `seed ${seed} after the crashes`)).toBe(landed + 3);
  }, 170_000);
});
