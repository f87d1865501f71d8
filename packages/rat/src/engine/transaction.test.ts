import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, type RatError } from '../core/errors.js';
import { type Lakehouse, openLakehouse } from './lakehouse.js';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';

async function failure(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

describe('transactions over several tables', () => {
  let home: string;
  const open: Lakehouse[] = [];

  async function lakehouse(): Promise<Lakehouse> {
    const lake = await openLakehouse({ home, threads: 1, env: { RAT_GIT_SYNC: '0' }, ...catalogOptions(home) });
    open.push(lake);
    return lake;
  }

  const ids = async (lake: Lakehouse, table: string) => (await lake.query<{ id: number }>(`SELECT id::INTEGER AS id FROM ${table} ORDER BY id`)).map((r) => r.id);
  const snapshotIds = async (lake: Lakehouse, table: string) => (await lake.snapshots(table)).map((s) => s.snapshotId);
  const pointer = async (lake: Lakehouse, table: string) => (await lake.loadTable(table)).metadataLocation;

  /** Two tables with a few rows each, and what each looks like before a transaction. */
  async function twoTables(lake: Lakehouse) {
    await lake.sql('CREATE TABLE bronze.a (id BIGINT, v VARCHAR); INSERT INTO bronze.a VALUES (1, \'x\'), (2, \'y\'), (3, \'z\')');
    await lake.sql('CREATE TABLE bronze.b (id BIGINT); INSERT INTO bronze.b VALUES (10), (20)');
    return {
      a: { snapshots: await snapshotIds(lake, 'bronze.a'), pointer: await pointer(lake, 'bronze.a'), ids: await ids(lake, 'bronze.a') },
      b: { snapshots: await snapshotIds(lake, 'bronze.b'), pointer: await pointer(lake, 'bronze.b'), ids: await ids(lake, 'bronze.b') },
      commits: (await lake.catalog.refs.log(lake.branch)).length,
    };
  }

  async function expectUnchanged(lake: Lakehouse, before: Awaited<ReturnType<typeof twoTables>>) {
    expect(await snapshotIds(lake, 'bronze.a')).toEqual(before.a.snapshots);
    expect(await snapshotIds(lake, 'bronze.b')).toEqual(before.b.snapshots);
    expect(await pointer(lake, 'bronze.a')).toBe(before.a.pointer);
    expect(await pointer(lake, 'bronze.b')).toBe(before.b.pointer);
    expect(await ids(lake, 'bronze.a')).toEqual(before.a.ids);
    expect(await ids(lake, 'bronze.b')).toEqual(before.b.ids);
    expect(await lake.catalog.refs.log(lake.branch)).toHaveLength(before.commits);
  }

  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-transaction-'));
  });

  afterEach(async () => {
    for (const lake of open.splice(0)) await lake.close();
    await rm(home, { recursive: true, force: true });
  });

  it('lands a BEGIN ... COMMIT script over two tables as one catalog commit touching both', async () => {
    const lake = await lakehouse();
    const before = await twoTables(lake);
    const results = await lake.sql('BEGIN; INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.b WHERE id = 10; UPDATE bronze.a SET v = \'X\' WHERE id = 1; COMMIT');
    expect(results.map((r) => (r.kind === 'command' ? r.message : r.kind))).toEqual(['BEGIN', 'INSERT 0 1', 'DELETE 1', 'UPDATE 1', 'COMMIT']);
    expect(results.at(-1)).toMatchObject({ tables: ['bronze.a', 'bronze.b'] });

    const log = await lake.catalog.refs.log(lake.branch);
    expect(log).toHaveLength(before.commits + 1);
    expect(log[0]!.changes.map((c) => c.table).sort()).toEqual(['bronze.a', 'bronze.b']);

    const fresh = await lakehouse();
    expect(await fresh.query('SELECT id::INTEGER AS id, v FROM bronze.a ORDER BY id')).toEqual([
      { id: 1, v: 'X' },
      { id: 2, v: 'y' },
      { id: 3, v: 'z' },
      { id: 4, v: 'w' },
    ]);
    expect(await ids(fresh, 'bronze.b')).toEqual([20]);
    // Two statements on bronze.a in one transaction: one snapshot each, one metadata version in the catalog.
    const a = await fresh.loadTable('bronze.a');
    expect(a.metadata.snapshots).toHaveLength(before.a.snapshots.length + 2);
    expect(a.metadata.metadataLog.at(-1)!.metadataFile).toBe(before.a.pointer);
    for (const entry of a.metadata.metadataLog) await expect(fresh.catalog.readMetadata(entry.metadataFile)).resolves.toBeDefined();
  });

  it('Multi-table transaction: a failure in the last table leaves every table unchanged', async () => {
    const lake = await lakehouse();
    const before = await twoTables(lake);
    const error = await failure(lake.sql('BEGIN; INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.a WHERE id = 1; INSERT INTO bronze.b VALUES (\'not a number\'); COMMIT'));
    expect(error.code).toBe('TYPE_MISMATCH');
    await expectUnchanged(lake, before);
    await expectUnchanged(await lakehouse(), before);

    const sdkError = await failure(
      lake.transaction(async (tx) => {
        await tx.sql('INSERT INTO bronze.a VALUES (5, \'v\')');
        await tx.sql('UPDATE bronze.b SET id = id + 1');
        await tx.sql('UPDATE bronze.b SET id = \'nope\'');
      }),
    );
    expect(sdkError.message).toMatch(/nope|bronze\.b/);
    await expectUnchanged(lake, before);
  });

  it('rolls back on ROLLBACK, on a throwing callback and at the end of a script without COMMIT', async () => {
    const lake = await lakehouse();
    const before = await twoTables(lake);
    const results = await lake.sql('BEGIN; INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.b; ROLLBACK; SELECT count(*)::INTEGER AS n FROM bronze.b');
    expect(results.map((r) => (r.kind === 'command' ? r.message : r.rows))).toEqual(['BEGIN', 'INSERT 0 1', 'DELETE 2', 'ROLLBACK', [[2]]]);
    await expectUnchanged(lake, before);

    const unfinished = await failure(lake.sql('BEGIN TRANSACTION; INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.b'));
    expect(unfinished.code).toBe('SQL_ERROR');
    expect(unfinished.message).toMatch(/BEGIN without COMMIT.*2 statements were rolled back.*nothing was written/);
    await expectUnchanged(lake, before);

    await expect(
      lake.transaction(async (tx) => {
        await tx.sql('DELETE FROM bronze.a; DELETE FROM bronze.b');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expectUnchanged(lake, before);
  });

  it('reads its own writes, staged, while other sessions still see the committed tables', async () => {
    const lake = await lakehouse();
    const other = await lakehouse();
    const before = await twoTables(lake);
    const seen = await lake.transaction(async (tx) => {
      await tx.sql('INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.b WHERE id = 20');
      // A later statement builds on the staged state of an earlier one.
      await tx.sql('INSERT INTO bronze.b SELECT id * 100 FROM bronze.a WHERE id > 2');
      await tx.sql('UPDATE bronze.a SET v = (SELECT max(id)::VARCHAR FROM bronze.b) WHERE id = 4');
      expect(await ids(other, 'bronze.b')).toEqual(before.b.ids);
      expect(await ids(other, 'bronze.a')).toEqual(before.a.ids);
      return {
        a: await tx.query('SELECT id::INTEGER AS id, v FROM bronze.a WHERE id = 4'),
        b: (await tx.query<{ id: number }>('SELECT id::INTEGER AS id FROM bronze.b ORDER BY id')).map((r) => r.id),
        // A filtered read (pruned through a temporary view) sees the staged files too.
        filtered: await tx.query('SELECT count(*)::INTEGER AS n FROM bronze.b WHERE id >= 300'),
      };
    });
    expect(seen).toEqual({ a: [{ id: 4, v: '400' }], b: [10, 300, 400], filtered: [{ n: 2 }] });
    expect(await ids(other, 'bronze.b')).toEqual([10, 300, 400]);
    expect(await ids(lake, 'bronze.b')).toEqual([10, 300, 400]);
    expect(await lake.catalog.refs.log(lake.branch)).toHaveLength(before.commits + 1);
  });

  it('refuses COMMIT when another writer changed one of its tables after BEGIN: nothing lands', async () => {
    const lake = await lakehouse();
    const other = await lakehouse();
    const before = await twoTables(lake);
    const error = await failure(
      lake.transaction(async (tx) => {
        await tx.sql('INSERT INTO bronze.a VALUES (4, \'w\'); DELETE FROM bronze.b WHERE id = 10');
        await other.sql('INSERT INTO bronze.b VALUES (30)');
      }),
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('COMMIT_CONFLICT');
    expect(error.message).toContain('table bronze.b changed by another commit');
    expect(error.message).not.toMatch(/tables? bronze\.a/);
    // Only the other writer's commit landed.
    expect(await ids(lake, 'bronze.a')).toEqual(before.a.ids);
    expect(await snapshotIds(lake, 'bronze.a')).toEqual(before.a.snapshots);
    expect(await ids(lake, 'bronze.b')).toEqual([10, 20, 30]);
    expect(await lake.catalog.refs.log(lake.branch)).toHaveLength(before.commits + 1);
  });

  it('supports CREATE TABLE and ALTER TABLE inside, and refuses DROP TABLE and schema DDL', async () => {
    const lake = await lakehouse();
    const before = await twoTables(lake);
    await lake.sql('BEGIN; CREATE TABLE bronze.c AS SELECT id FROM bronze.b; ALTER TABLE bronze.a ADD COLUMN n INTEGER; UPDATE bronze.a SET n = id * 2; INSERT INTO bronze.c VALUES (99); COMMIT');
    expect(await ids(lake, 'bronze.c')).toEqual([10, 20, 99]);
    expect(await lake.query('SELECT sum(n)::INTEGER AS s FROM bronze.a')).toEqual([{ s: 12 }]);
    expect((await lake.catalog.refs.log(lake.branch))[0]!.changes.map((c) => c.table).sort()).toEqual(['bronze.a', 'bronze.c']);

    const commits = (await lake.catalog.refs.log(lake.branch)).length;
    for (const ddl of ['DROP TABLE bronze.b', 'CREATE SCHEMA extra', 'DROP SCHEMA silver']) {
      const error = await failure(lake.sql(`BEGIN; INSERT INTO bronze.b VALUES (1); ${ddl}; COMMIT`));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toMatch(/is not supported inside a transaction/);
    }
    expect(await ids(lake, 'bronze.b')).toEqual(before.b.ids);
    expect(await lake.catalog.refs.log(lake.branch)).toHaveLength(commits);
    expect(await lake.listNamespaces()).not.toContain('extra');

    expect((await failure(lake.sql('COMMIT'))).message).toMatch(/COMMIT without BEGIN/);
    expect((await failure(lake.sql('BEGIN; BEGIN; COMMIT'))).message).toMatch(/do not nest/);
    expect((await failure(lake.transaction((tx) => tx.sql('COMMIT')))).message).toMatch(/COMMIT inside a transaction/);
  });

  it('overlapping deletes/overwrites of one table from two writers: exactly one wins each time, never a silent overwrite', async () => {
    const TRIALS = 100;
    const first = await lakehouse();
    const second = await lakehouse();
    await first.sql('CREATE TABLE bronze.t (id BIGINT, v INTEGER)');
    const ROWS = 10;
    const seed = `INSERT OVERWRITE bronze.t SELECT range AS id, 0 AS v FROM range(${ROWS})`;
    const statements: [string, string][] = [
      ['DELETE FROM bronze.t WHERE id < 6', 'DELETE FROM bronze.t WHERE id >= 4'],
      ['UPDATE bronze.t SET v = 1 WHERE id < 6', `INSERT OVERWRITE bronze.t SELECT range AS id, 2 AS v FROM range(${ROWS})`],
    ];
    let raced = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      await first.sql(seed);
      const base = await pointer(first, 'bronze.t');
      const [a, b] = statements[trial % 2]!;
      // Every third trial races SDK transactions that both stage their change before either commits; the others race plain statements.
      const inTransaction = trial % 3 === 0;
      let staged = 0;
      let release: () => void = () => undefined;
      const bothStaged = new Promise<void>((resolve) => (release = resolve));
      const run = (lake: Lakehouse, sql: string) =>
        inTransaction
          ? lake.transaction(async (tx) => {
              await tx.sql(sql);
              if (++staged === 2) release();
              await bothStaged;
            })
          : lake.sql(sql);
      const outcomes = await Promise.allSettled([run(first, a), run(second, b)]);
      const won = outcomes.filter((o) => o.status === 'fulfilled').length;
      const losers = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as RatError] : []));
      for (const loser of losers) expect(loser.code, `trial ${trial}: ${loser.message}`).toBe('COMMIT_CONFLICT');

      const rows = await first.query<{ id: number; v: number }>('SELECT id::INTEGER AS id, v FROM bronze.t ORDER BY id');
      const pair = statements[trial % 2]!;
      if (won === 1) {
        raced++;
        // The winner's statement applied to the seed, and nothing of the loser.
        const winner = outcomes[0]!.status === 'fulfilled' ? 0 : 1;
        expect(rows, `trial ${trial}`).toEqual(rowsAfter(pair, [winner]));
        expect((await first.loadTable('bronze.t')).metadata.metadataLog.at(-1)!.metadataFile, `trial ${trial}`).toBe(base);
      } else {
        // Both committed: only possible when one started after the other had committed, so the
        // second built on the first's result (serial order), never on the stale seed.
        expect(won, `trial ${trial}: ${losers.map((l) => l.message).join('; ')}`).toBe(2);
        expect(inTransaction, `trial ${trial}: two transactions staged on one base cannot both commit`).toBe(false);
        expect([rowsAfter(pair, [0, 1]), rowsAfter(pair, [1, 0])], `trial ${trial}`).toContainEqual(rows);
      }
    }
    // Transactions always overlap; plain statements nearly always do (both read the seed before either commits).
    expect(raced).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 3));
  }, 120_000);
});

/** The rows after race statements ran one after the other on the seed, in `order`. */
function rowsAfter(pair: [string, string], order: number[]): { id: number; v: number }[] {
  let rows = Array.from({ length: 10 }, (_, id) => ({ id, v: 0 }));
  for (const index of order) {
    const statement = pair[index]!;
    if (statement === 'DELETE FROM bronze.t WHERE id < 6') rows = rows.filter((r) => !(r.id < 6));
    else if (statement === 'DELETE FROM bronze.t WHERE id >= 4') rows = rows.filter((r) => !(r.id >= 4));
    else if (statement.startsWith('UPDATE')) rows = rows.map((r) => (r.id < 6 ? { ...r, v: 1 } : r));
    else rows = Array.from({ length: 10 }, (_, id) => ({ id, v: 2 }));
  }
  return rows;
}
