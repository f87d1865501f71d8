import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../core/errors.js';
import type { MetadataDialect } from '../../catalog/metadata-db.js';
import type { Lakehouse } from '../lakehouse.js';
import { expectLinearHistory } from './expect-linear-history.js';
import { createLakeHome, type LakeHome } from './lake-home.js';
import { assertSdkBuilt, eventsOf, runSqlWorkers, type WorkerJob } from './sql-worker-process.js';
import { auditTable } from './table-audit.js';

/**
 * Eight writers commit at once to one branch, on both metadata-DB dialects: four processes, each
 * running two writers with their own Lakehouse (own DuckDB, own metadata-DB connection). In every
 * process one writer appends to a table all four share and the other to a table of its own, so the
 * catalog sees compare-and-swap races on one table key and commits to different keys interleaved.
 */

const PROCESSES = 4;
const COMMITS_PER_WRITER = 25;
const BRANCH = 'ingest';
const SHARED = 'bronze.shared';
const own = (p: number) => `bronze.own_${p}`;

/** The suite for one dialect: each dialect's file calls it, so the two run in parallel. */
export function describeConcurrentWriters(dialect: MetadataDialect): void {
  describe(`concurrent writers on one branch (${dialect} catalog)`, () => {
    let lake: LakeHome | undefined;

    beforeAll(assertSdkBuilt);

    afterEach(async () => {
      await lake?.remove();
      lake = undefined;
    });

    it(`${PROCESSES} processes x 2 writers x ${COMMITS_PER_WRITER} INSERT commits: every commit is in the tables and the catalog log, every row is there, nothing is corrupt`, async () => {
      lake = await createLakeHome(dialect, 'rat-writers-');
      const setup = await lake.open();
      await setup.sql(`CREATE TABLE ${SHARED} (id BIGINT, writer INTEGER, seq INTEGER)`);
      for (let p = 0; p < PROCESSES; p++) await setup.sql(`CREATE TABLE ${own(p)} (id BIGINT, writer INTEGER, seq INTEGER)`);
      await setup.catalog.refs.create('branch', BRANCH);
      const mainHead = (await setup.catalog.refs.resolve('main')) as { head: string };
      const forkedAt = (await setup.catalog.refs.log(BRANCH)).length;

      const jobs: WorkerJob[] = Array.from({ length: PROCESSES }, (_, p) => ({
        home: lake!.home,
        ...(lake!.databaseUrl ? { databaseUrl: lake!.databaseUrl } : {}),
        branch: BRANCH,
        statements: [],
        lanes: [
          Array.from({ length: COMMITS_PER_WRITER }, (_, i) => `INSERT INTO ${SHARED} VALUES (${p * 1000 + i}, ${p}, ${i})`),
          Array.from({ length: COMMITS_PER_WRITER }, (_, i) => `INSERT INTO ${own(p)} VALUES (${i}, ${p}, ${i})`),
        ],
      }));

      const results = await runSqlWorkers(jobs, 170_000);

      for (const { worker, exit } of results) {
        expect(exit, worker.output()).toEqual({ code: 0, signal: null });
        expect(eventsOf(worker.events, 'failed'), worker.output()).toEqual([]);
        // Appends re-apply themselves after losing the race: no conflict reaches the caller.
        expect(eventsOf(worker.events, 'conflict'), worker.output()).toEqual([]);
        for (const lane of [0, 1]) {
          expect(eventsOf(worker.events, 'ack').filter((e) => e.lane === lane).map((e) => e.index), worker.output()).toEqual([...Array(COMMITS_PER_WRITER).keys()]);
        }
        expect(worker.events.at(-1)).toEqual({ event: 'done' });
      }

      const check = await lake.open({ branch: BRANCH });
      const shared = PROCESSES * COMMITS_PER_WRITER;
      const tables = [SHARED, ...Array.from({ length: PROCESSES }, (_, p) => own(p))];
      const expectedCommits = (table: string) => (table === SHARED ? shared : COMMITS_PER_WRITER);

      // The catalog log of the branch: exactly one commit per acknowledged statement, in one chain.
      const log = await check.catalog.refs.log(BRANCH, { limit: 10_000 });
      const written = log.slice(0, log.length - forkedAt);
      expect(written).toHaveLength(2 * PROCESSES * COMMITS_PER_WRITER);
      written.forEach((commit, i) => {
        expect(commit.parentId, `parent of commit ${commit.id}`).toBe(log[i + 1]!.id);
        expect(commit.changes, `changes of commit ${commit.id}`).toHaveLength(1);
        expect(commit.message).toBe(`update ${commit.changes[0]!.table}`);
      });
      for (const table of tables) expect(written.filter((c) => c.changes[0]!.table === table), table).toHaveLength(expectedCommits(table));
      // main did not move: every commit went to the branch.
      expect(((await check.catalog.refs.resolve('main')) as { head: string }).head).toBe(mainHead.head);

      for (const table of tables) {
        const commits = expectedCommits(table);
        const snapshots = await check.snapshots(table);
        expectLinearHistory(snapshots, commits, table);
        snapshots.forEach((s, i) => expect(s.summary['total-records'], `${table} snapshot #${i + 1}`).toBe(String(i + 1)));

        // Every file the table references exists and parses; data files hold their recorded rows.
        const audit = await auditTable(check, table);
        // The commit log names the table's metadata files in the order its metadata log does (create included).
        const chain = log
          .filter((c) => c.changes.some((ch) => ch.table === table))
          .map((c) => c.changes.find((ch) => ch.table === table)!.metadataLocation)
          .reverse();
        expect(chain, table).toEqual([...audit.table.metadata.metadataLog.map((e) => e.metadataFile), audit.table.metadataLocation]);
        expect(audit.liveDataFiles, table).toHaveLength(commits);
        if (table === SHARED) {
          // Losing attempts leave metadata behind, never data: every data file written was committed.
          expect(audit.orphans.filter((f) => f.endsWith('.parquet')), table).toEqual([]);
        } else {
          // Writers of different tables never conflict: not one retry, so not one file left over.
          expect(audit.orphans, table).toEqual([]);
        }
      }

      const sharedRows = await check.query<{ id: number; writer: number; seq: number }>(`SELECT id, writer, seq FROM ${SHARED} ORDER BY id`);
      expect(sharedRows).toEqual(jobs.flatMap((_, p) => Array.from({ length: COMMITS_PER_WRITER }, (_, i) => ({ id: p * 1000 + i, writer: p, seq: i }))));
      for (let p = 0; p < PROCESSES; p++) {
        expect(await check.query(`SELECT id, writer, seq FROM ${own(p)} ORDER BY id`), own(p)).toEqual(Array.from({ length: COMMITS_PER_WRITER }, (_, i) => ({ id: i, writer: p, seq: i })));
      }
      // main still holds the empty tables it had when the branch was made.
      const onMain = await lake.open({ branch: 'main' });
      for (const table of tables) expect(await onMain.query(`SELECT count(*)::INTEGER AS n FROM ${table}`), table).toEqual([{ n: 0 }]);
    }, 180_000);

    describe('conflicting rewrites of one table', () => {
      /**
       * A reads the table and computes its rewrite; before its compare-and-swap, B (another Lakehouse,
       * another metadata-DB connection) commits a whole statement. Forced by holding A at its commit.
       */
      async function race(a: Lakehouse, b: Lakehouse, first: string, second: string): Promise<unknown> {
        const { commitTable, commitTables } = a.catalog;
        let interleaved = false;
        const interleave = async () => {
          if (!interleaved) {
            interleaved = true;
            await b.sql(second);
          }
        };
        a.catalog.commitTable = async (base, next, options) => (await interleave(), commitTable(base, next, options));
        a.catalog.commitTables = async (commits, options) => (await interleave(), commitTables(commits, options));
        try {
          return await a.sql(first).then(
            () => undefined,
            (e: unknown) => e,
          );
        } finally {
          a.catalog.commitTable = commitTable;
          a.catalog.commitTables = commitTables;
          expect(interleaved).toBe(true);
        }
      }

      const ids = async (lake: Lakehouse, table: string) => (await lake.query<{ id: number }>(`SELECT id::INTEGER AS id FROM ${table} ORDER BY id`)).map((r) => r.id);

      it.each([
        { first: 'INSERT OVERWRITE bronze.r SELECT i FROM range(100, 103) t(i)', second: 'INSERT OVERWRITE bronze.r SELECT i FROM range(200, 202) t(i)', afterSecond: [200, 201], afterRetry: [100, 101, 102] },
        { first: 'DELETE FROM bronze.r WHERE id % 2 = 0', second: 'INSERT OVERWRITE bronze.r SELECT i FROM range(200, 204) t(i)', afterSecond: [200, 201, 202, 203], afterRetry: [201, 203] },
        { first: 'INSERT OVERWRITE bronze.r SELECT id + 10 FROM bronze.r', second: 'DELETE FROM bronze.r WHERE id < 3', afterSecond: [3, 4, 5], afterRetry: [13, 14, 15] },
        { first: 'DELETE FROM bronze.r WHERE id = 1', second: 'DELETE FROM bronze.r WHERE id = 2', afterSecond: [0, 1, 3, 4, 5], afterRetry: [0, 3, 4, 5] },
        {
          first: 'BEGIN; DELETE FROM bronze.r WHERE id % 2 = 1; INSERT OVERWRITE bronze.s SELECT id FROM bronze.r; COMMIT',
          second: 'INSERT OVERWRITE bronze.r SELECT i FROM range(7, 10) t(i)',
          afterSecond: [7, 8, 9],
          afterRetry: [8],
        },
      ])('$first loses to $second with COMMIT_CONFLICT, writes nothing, and succeeds when run again', async ({ first, second, afterSecond, afterRetry }) => {
        lake = await createLakeHome(dialect, 'rat-rewrites-');
        const a = await lake.open();
        const b = await lake.open();
        await a.sql('CREATE TABLE bronze.r (id BIGINT); CREATE TABLE bronze.s (id BIGINT)');
        await a.sql('INSERT INTO bronze.r SELECT i FROM range(0, 6) t(i)');
        await a.sql('INSERT INTO bronze.s VALUES (-1)');

        const error = await race(a, b, first, second);

        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).code).toBe('COMMIT_CONFLICT');
        expect((error as ConflictError).message).toMatch(first.startsWith('BEGIN') ? /^transaction not committed: table bronze\.r changed by another commit .*nothing was written to any of bronze\.r, bronze\.s, run the transaction again$/ : /^bronze\.r was changed by another commit .*nothing was written, run the statement again$/);
        // Only B's statement landed; the losing one left neither table changed.
        expect(await ids(b, 'bronze.r')).toEqual(afterSecond);
        expect(await ids(b, 'bronze.s')).toEqual([-1]);
        expectLinearHistory(await b.snapshots('bronze.r'), 2);

        await a.sql(first);
        expect(await ids(b, 'bronze.r')).toEqual(afterRetry);
        expectLinearHistory(await b.snapshots('bronze.r'), 3);
        const transaction = first.startsWith('BEGIN');
        expect(await ids(b, 'bronze.s')).toEqual(transaction ? afterRetry : [-1]);
        expectLinearHistory(await b.snapshots('bronze.s'), transaction ? 2 : 1);
        for (const table of ['bronze.r', 'bronze.s']) await auditTable(b, table);
        // Conflicts leave no half commit in the catalog log: one commit per landed statement.
        const log = await b.catalog.refs.log('main');
        expect(log.map((c) => c.message).slice(0, 3)).toEqual([transaction ? 'update bronze.r, bronze.s' : 'update bronze.r', 'update bronze.r', 'update bronze.s']);
      }, 60_000);
    });
  });
}
