import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../core/errors.js';
import { type Lakehouse, openLakehouse } from './lakehouse.js';
import { expectLinearHistory } from './test-support/expect-linear-history.js';
import { auditTable } from './test-support/table-audit.js';
import { assertSdkBuilt, eventsOf, runSqlWorkers } from './test-support/sql-worker-process.js';

const WRITERS = 4;
const COMMITS_PER_WRITER = 25;

describe('concurrent writers on one table', () => {
  let home: string;
  const open: Lakehouse[] = [];

  async function lakehouse(): Promise<Lakehouse> {
    const lake = await openLakehouse({ home, threads: 1 });
    open.push(lake);
    return lake;
  }

  beforeAll(assertSdkBuilt);

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-concurrency-'));
  });

  afterEach(async () => {
    for (const lake of open.splice(0)) await lake.close();
    await rm(home, { recursive: true, force: true });
  });

  it('4 processes making 25 INSERT commits each leave 100 snapshots in one linear history with every row', async () => {
    const setup = await lakehouse();
    await setup.sql('CREATE TABLE bronze.c (id BIGINT, writer INTEGER, seq INTEGER)');
    const jobs = Array.from({ length: WRITERS }, (_, w) => ({
      home,
      statements: Array.from({ length: COMMITS_PER_WRITER }, (_, i) => `INSERT INTO bronze.c VALUES (${w * 1000 + i}, ${w}, ${i})`),
    }));

    const results = await runSqlWorkers(jobs, 150_000);

    for (const { worker, exit } of results) {
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      // Appends re-apply themselves after losing the race: no conflict reaches the caller.
      expect(eventsOf(worker.events, 'conflict')).toEqual([]);
      expect(eventsOf(worker.events, 'ack').map((e) => e.index)).toEqual([...Array(COMMITS_PER_WRITER).keys()]);
      expect(worker.events.at(-1)).toEqual({ event: 'done' });
    }

    const total = WRITERS * COMMITS_PER_WRITER;
    const lake = await lakehouse();
    const snapshots = await lake.snapshots('bronze.c');
    expectLinearHistory(snapshots, total);
    snapshots.forEach((snapshot, i) => {
      expect(snapshot.operation).toBe('append');
      // Totals carried from the parent: a retried append must be rebased on the snapshot that beat it.
      expect(snapshot.summary['added-records']).toBe('1');
      expect(snapshot.summary['total-records']).toBe(String(i + 1));
      expect(snapshot.summary['total-data-files']).toBe(String(i + 1));
      if (i > 0) expect(snapshot.timestamp.getTime()).toBeGreaterThanOrEqual(snapshots[i - 1]!.timestamp.getTime());
    });

    const audit = await auditTable(lake, 'bronze.c');
    const metadata = audit.table.metadata;
    expect(metadata.lastSequenceNumber).toBe(total);
    expect(metadata.currentSnapshotId).toBe(snapshots.at(-1)!.snapshotId);
    expect(metadata.snapshotLog.map((e) => e.snapshotId)).toEqual(snapshots.map((s) => s.snapshotId));
    // One metadata file per commit plus the CREATE TABLE one; the log lists every one before the current.
    expect(metadata.metadataLog).toHaveLength(total);
    expect(new Set(metadata.metadataLog.map((e) => e.metadataFile)).size).toBe(total);
    expect(metadata.metadataLog.map((e) => e.metadataFile)).not.toContain(audit.table.metadataLocation);
    audit.metadataLog.forEach((previous, version) => {
      expect(previous.snapshots, `metadata version ${version}`).toHaveLength(version);
      expect(previous.metadataLog).toHaveLength(version);
      expect(previous.currentSnapshotId).toBe(version === 0 ? undefined : snapshots[version - 1]!.snapshotId);
    });
    expect(audit.liveDataFiles).toHaveLength(total);
    // Losing attempts leave metadata files behind, never data: every data file written was committed.
    expect(audit.orphans.filter((f) => f.endsWith('.parquet'))).toEqual([]);

    const rows = await lake.query<{ id: number; writer: number; seq: number }>('SELECT id, writer, seq FROM bronze.c ORDER BY id');
    const expected = jobs.flatMap((_, w) => Array.from({ length: COMMITS_PER_WRITER }, (_, i) => ({ id: w * 1000 + i, writer: w, seq: i })));
    expect(rows).toEqual(expected);
    expect(await lake.query('SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM bronze.c')).toEqual([{ n: total, d: total }]);
  }, 180_000);

  it('4 processes starting on a new RAT_HOME at once all create the catalog, CREATE TABLE IF NOT EXISTS and INSERT without error', async () => {
    // No rat.db yet: the processes race to create the metadata DB, switch it to WAL, migrate it and add the table.
    const jobs = Array.from({ length: WRITERS }, (_, w) => ({
      home,
      statements: ['CREATE TABLE IF NOT EXISTS bronze.fresh (id BIGINT, writer INTEGER)', `INSERT INTO bronze.fresh VALUES (${w}, ${w})`],
    }));

    const results = await runSqlWorkers(jobs, 120_000);

    for (const { worker, exit } of results) {
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      expect(eventsOf(worker.events, 'ack').map((e) => e.index)).toEqual([0, 1]);
    }
    const lake = await lakehouse();
    expect(await lake.listTables('bronze')).toEqual([{ namespace: 'bronze', name: 'fresh' }]);
    expect(await lake.query('SELECT id::INTEGER AS id, writer FROM bronze.fresh ORDER BY id')).toEqual(jobs.map((_, w) => ({ id: w, writer: w })));
    expectLinearHistory(await lake.snapshots('bronze.fresh'), WRITERS);
    await auditTable(lake, 'bronze.fresh');
  }, 180_000);

  it('2 processes updating and deleting the same table at once serialize: no update is lost, conflicts ask for a retry', async () => {
    const setup = await lakehouse();
    await setup.sql('CREATE TABLE bronze.o (id BIGINT, n INTEGER)');
    await setup.sql(`INSERT INTO bronze.o SELECT i, 0 FROM range(1, 21) t(i)`);
    const rounds = 8;
    const updates = { home, retryConflicts: true, statements: Array.from({ length: rounds }, () => 'UPDATE bronze.o SET n = n + 1') };
    const deletes = { home, retryConflicts: true, statements: Array.from({ length: rounds }, (_, i) => `DELETE FROM bronze.o WHERE id = ${i + 1}`) };

    const results = await runSqlWorkers([updates, deletes], 150_000);

    for (const { worker, exit } of results) {
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      expect(eventsOf(worker.events, 'ack').map((e) => e.index)).toEqual([...Array(rounds).keys()]);
      for (const conflict of eventsOf(worker.events, 'conflict')) {
        expect(conflict.code).toBe('COMMIT_CONFLICT');
        expect(conflict.message).toMatch(/bronze\.o .*run the statement again/);
      }
    }
    const lake = await lakehouse();
    // Every UPDATE saw every earlier commit: each surviving row was incremented once per statement.
    expect(await lake.query('SELECT id::INTEGER AS id, n FROM bronze.o ORDER BY id')).toEqual(Array.from({ length: 20 - rounds }, (_, i) => ({ id: rounds + 1 + i, n: rounds })));
    expectLinearHistory(await lake.snapshots('bronze.o'), 1 + 2 * rounds);
    await auditTable(lake, 'bronze.o');
  }, 180_000);

  describe('a commit that lost the race', () => {
    // A reads the table and computes its change; before its compare-and-swap, B commits a whole
    // statement. The interleaving is forced (not left to timing) by holding A at its commitTable.
    async function race(first: string, second: string): Promise<{ a: Lakehouse; b: Lakehouse; error: unknown; restore: () => void }> {
      const a = await lakehouse();
      const b = await lakehouse();
      await a.sql('CREATE TABLE bronze.r (id BIGINT, n INTEGER)');
      await a.sql('INSERT INTO bronze.r SELECT i, 0 FROM range(1, 11) t(i)');
      const commitTable = a.catalog.commitTable;
      let interleaved = false;
      a.catalog.commitTable = async (base, next) => {
        if (!interleaved) {
          interleaved = true;
          await b.sql(second);
        }
        return commitTable(base, next);
      };
      const error = await a.sql(first).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(interleaved).toBe(true);
      return { a, b, error, restore: () => (a.catalog.commitTable = commitTable) };
    }

    it.each([
      { first: 'UPDATE bronze.r SET n = n + 1', second: 'DELETE FROM bronze.r WHERE id = 3', afterSecond: [0, 0, 0, 0, 0, 0, 0, 0, 0], afterRetry: [1, 1, 1, 1, 1, 1, 1, 1, 1], ids: [1, 2, 4, 5, 6, 7, 8, 9, 10] },
      { first: 'DELETE FROM bronze.r WHERE id = 3', second: 'UPDATE bronze.r SET n = n + 5 WHERE id <= 4', afterSecond: [5, 5, 5, 5, 0, 0, 0, 0, 0, 0], afterRetry: [5, 5, 5, 0, 0, 0, 0, 0, 0], ids: [1, 2, 4, 5, 6, 7, 8, 9, 10] },
      { first: 'UPDATE bronze.r SET n = n + 1', second: 'UPDATE bronze.r SET n = n + 10', afterSecond: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10], afterRetry: [11, 11, 11, 11, 11, 11, 11, 11, 11, 11], ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    ])('$first loses to $second with COMMIT_CONFLICT, writes nothing, and succeeds when run again', async ({ first, second, afterSecond, afterRetry, ids }) => {
      const { a, b, error, restore } = await race(first, second);

      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).code).toBe('COMMIT_CONFLICT');
      expect((error as ConflictError).message).toMatch(/^bronze\.r was changed by another commit .*nothing was written, run the statement again$/);
      // Only B's statement is in the table.
      expect((await b.query<{ n: number }>('SELECT n FROM bronze.r ORDER BY id')).map((r) => r.n)).toEqual(afterSecond);
      expectLinearHistory(await b.snapshots('bronze.r'), 2);

      restore();
      await a.sql(first);
      const rows = await b.query<{ id: number; n: number }>('SELECT id::INTEGER AS id, n FROM bronze.r ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual(ids);
      expect(rows.map((r) => r.n)).toEqual(afterRetry);
      expectLinearHistory(await b.snapshots('bronze.r'), 3);
      expect((await auditTable(b, 'bronze.r')).liveDataFiles.reduce((n, f) => n + f.recordCount, 0)).toBe(ids.length);
    }, 60_000);
  });
});

describe('one Lakehouse used by concurrent async calls', () => {
  let home: string;
  let lake: Lakehouse;

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-one-instance-'));
    lake = await openLakehouse({ home, threads: 1 });
  });

  afterEach(async () => {
    await lake.close();
    await rm(home, { recursive: true, force: true });
  });

  it('reads, UPDATEs, DELETEs and MERGEs started together all succeed, each on a committed version', async () => {
    await lake.sql('CREATE TABLE bronze.c (id INT, v INT)');
    for (let i = 0; i < 10; i++) await lake.sql(`INSERT INTO bronze.c SELECT range + ${i * 100}, 0 FROM range(100)`);
    const count = 'SELECT count(*)::INT AS n, sum(v)::INT AS s FROM bronze.c';
    const reads = Array.from({ length: 20 }, () => lake.query<{ n: number; s: number }>(count));
    const writes = [
      lake.sql('UPDATE bronze.c SET v = 1 WHERE id % 2 = 0'),
      lake.sql('DELETE FROM bronze.c WHERE id >= 900'),
      lake.sql('MERGE INTO bronze.c USING (SELECT 5 AS id) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET v = 10'),
      lake.transaction(async (tx) => {
        await tx.sql('UPDATE bronze.c SET v = v + 100 WHERE id = 1');
      }),
    ];
    const settled = await Promise.allSettled([...reads, ...writes]);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    // Every read saw some committed version: 1000 rows before the DELETE, 900 after.
    for (const s of settled.slice(0, reads.length)) {
      const [row] = (s as PromiseFulfilledResult<{ n: number; s: number }[]>).value;
      expect([1000, 900]).toContain(row!.n);
    }
    // 450 even ids below 900 set to 1; id 5 to 10; id 1 to 100.
    expect(await lake.query(count)).toEqual([{ n: 900, s: 450 + 10 + 100 }]);
  });
});
