import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogOptions, TEST_DIALECT } from '../catalog/test-support/test-catalog.js';
import { ConflictError } from '../core/errors.js';
import { openLakehouse } from '../engine/lakehouse.js';
import { createFileRegistry } from './file-registry.js';
import { createIngestion, type Ingestion } from './ingestion.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

const count = async (table: string) => (await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM ${table}`))[0]!.n;

describe('file registry', () => {
  it('ingests each new file once with skipExisting; same content under a new name is skipped; changed content is ingested again', async () => {
    await fx.file('sales-a.csv', 'id,amount\n1,10\n2,20\n');
    await fx.file('sales-b.csv', 'id,amount\n3,30\n');
    const folder = fx.dir;
    const first = await fx.ingestion.ingestBatch(join(folder, 'sales-*.csv'), 'bronze.sales', { skipExisting: true });
    expect(first.files.map((f) => f.status)).toEqual(['success', 'success']);
    expect(await count('bronze.sales')).toBe(3);

    const again = await fx.ingestion.ingestBatch(join(folder, 'sales-*.csv'), 'bronze.sales', { skipExisting: true });
    expect(again.files.map((f) => f.status)).toEqual(['skipped', 'skipped']);
    expect(again.files[0]!.reason).toMatch(/already ingested \(same content\)/);
    expect(await count('bronze.sales')).toBe(3);

    await fx.file('sales-c.csv', 'id,amount\n3,30\n');
    const copy = await fx.ingestion.ingest(join(folder, 'sales-c.csv'), 'bronze.sales', { skipExisting: true });
    expect(copy.files[0]).toMatchObject({ status: 'skipped' });
    expect(copy.files[0]!.reason).toContain(`same content as ${join(folder, 'sales-b.csv')}`);

    await fx.file('sales-a.csv', 'id,amount\n1,10\n2,20\n4,40\n');
    const changed = await fx.ingestion.ingestBatch(join(folder, 'sales-*.csv'), 'bronze.sales', { skipExisting: true });
    expect(changed.files.map((f) => f.status)).toEqual(['success', 'skipped', 'skipped']);
    expect(await count('bronze.sales')).toBe(6);

    const rows = await fx.rat.query(`SELECT * FROM bronze._file_registry WHERE target_table = 'bronze.sales' ORDER BY ingested_at`);
    expect(Object.keys(rows[0]!)).toEqual(['file_path', 'file_hash', 'file_size', 'target_table', 'rows_ingested', 'rows_rejected', 'ingested_at', 'status', 'error', 'snapshot_id']);
    // sales-b's and sales-c's skips of the last batch replaced their earlier ones; sales-a's first skip stays (its content changed since).
    expect(rows.map((r) => r.status)).toEqual(['success', 'success', 'skipped', 'success', 'skipped', 'skipped']);
    const snapshots = (await fx.rat.snapshots('bronze.sales')).map((s) => Number(s.snapshotId));
    for (const row of rows.filter((r) => r.status === 'success')) expect(snapshots).toContain(Number(row.snapshot_id));
    expect(rows[0]!.file_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records the sha256 of the stored bytes, for files of many read chunks, hashed before the read or alongside it, and gzip', async () => {
    const lines = ['id,name'];
    for (let i = 0; i < 150_000; i++) lines.push(`${i},name-${(i * 2654435761) % 1_000_000_007}`);
    const text = `${lines.join('\n')}\n`;
    const plain = join(fx.dir, 'hash-plain.csv');
    const plainToo = join(fx.dir, 'hash-plain-2.csv');
    const zipped = join(fx.dir, 'hash-zipped.csv.gz');
    await writeFile(plain, text);
    await writeFile(plainToo, `${text}150000,last\n`);
    await writeFile(zipped, gzipSync(Buffer.from(`${text}150001,zipped\n`)));
    const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');
    expect((await readFile(plain)).length).toBeGreaterThan(3 * 1024 * 1024);
    expect((await readFile(zipped)).length).toBeGreaterThan(1024 * 1024);
    // Without skipExisting the hash is computed while DuckDB reads the rows; with it, before.
    await fx.ingestion.ingest(plain, 'bronze.hashes');
    await fx.ingestion.ingest(plainToo, 'bronze.hashes', { skipExisting: true });
    await fx.ingestion.ingest(zipped, 'bronze.hashes');
    const rows = await fx.rat.query<{ file_path: string; file_hash: string; rows_ingested: number }>(
      `SELECT file_path, file_hash, rows_ingested::INT AS rows_ingested FROM bronze._file_registry WHERE target_table = 'bronze.hashes' ORDER BY file_path`,
    );
    expect(rows).toEqual([
      { file_path: plainToo, file_hash: await sha256(plainToo), rows_ingested: 150_001 },
      { file_path: plain, file_hash: await sha256(plain), rows_ingested: 150_000 },
      { file_path: zipped, file_hash: await sha256(zipped), rows_ingested: 150_001 },
    ]);
  });

  it('in one batch, skips a file whose content an earlier file of the same batch brought, and records the latest skip of each file', async () => {
    await fx.file('dup-batch-1.csv', 'id\n1\n');
    await fx.file('dup-batch-2.csv', 'id\n1\n');
    await fx.file('dup-batch-3.csv', 'id\n3\n');
    const first = await fx.ingestion.ingestBatch(join(fx.dir, 'dup-batch-*.csv'), 'bronze.dups', { skipExisting: true });
    expect(first.files.map((f) => f.status)).toEqual(['success', 'skipped', 'success']);
    expect(first.files[1]!.reason).toContain(`same content as ${join(fx.dir, 'dup-batch-1.csv')}`);
    const history = await fx.rat.snapshots('bronze.dups');
    await fx.rat.rollback('bronze.dups', history[0]!.snapshotId);
    const second = await fx.ingestion.ingestBatch(join(fx.dir, 'dup-batch-*.csv'), 'bronze.dups', { skipExisting: true });
    expect(second.files.map((f) => f.status)).toEqual(['skipped', 'skipped', 'success']);
    expect(await count('bronze.dups')).toBe(2);
    const statuses = (await fx.ingestion.registry({ target: 'bronze.dups' })).map((e) => `${e.filePath.slice(-5)} ${e.status}`);
    expect(statuses.sort()).toEqual(['1.csv skipped', '1.csv success', '2.csv skipped', '3.csv success', '3.csv success'].sort());
  });

  it('a batch tells why each file it loads is new as a single-file check does: new, retried after a failure, changed', async () => {
    await fx.ingestion.ingest(await fx.file('why-changed.csv', 'id\n1\n'), 'bronze.why');
    await fx.ingestion.ingest(await fx.file('why-failed.csv', ''), 'bronze.why');
    await fx.file('why-changed.csv', 'id\n1\n2\n');
    const registry = createFileRegistry(fx.rat.metadataDb);
    const table = await fx.rat.catalog.loadTable({ namespace: 'bronze', name: 'why' });
    const batch = await registry.batch('bronze.why', 'append');
    for (const [name, reason] of [['why-new.csv', 'new file'], ['why-failed.csv', 'retrying a failed file'], ['why-changed.csv', 'content changed']] as const) {
      const file = { path: join(fx.dir, name), hash: name === 'why-changed.csv' ? 'changed-content' : 'any' };
      // No file here had every row rejected: the quarantine is never read.
      const quarantine = () => Promise.resolve(undefined);
      expect(await batch.decide(table, file, quarantine)).toEqual({ skip: false, reason });
      expect(await registry.decide(table, 'bronze.why', file, 'append', quarantine)).toEqual({ skip: false, reason });
    }
  });

  it('a scheduled batch that skips the same files run after run keeps one skipped row per file, the latest, and loads nothing twice', async () => {
    await fx.file('sched-1.csv', 'id\n1\n');
    await fx.file('sched-2.csv', 'id\n2\n');
    await fx.file('sched-copy.csv', 'id\n1\n');
    const runs = [];
    let lastRunAt = 0;
    for (let run = 0; run < 4; run++) {
      lastRunAt = Date.now();
      runs.push(await fx.ingestion.ingestBatch(join(fx.dir, 'sched-*.csv'), 'bronze.sched', { skipExisting: true }));
    }
    expect(runs[0]!.files.map((f) => f.status)).toEqual(['success', 'success', 'skipped']);
    for (const run of runs.slice(1)) expect(run.files.map((f) => f.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(await count('bronze.sched')).toBe(2);
    const rows = await fx.ingestion.registry({ target: 'bronze.sched' });
    const name = (e: { filePath: string }) => e.filePath.slice(e.filePath.lastIndexOf('/') + 1);
    expect(rows.map((e) => `${name(e)} ${e.status}`).sort()).toEqual(['sched-1.csv skipped', 'sched-1.csv success', 'sched-2.csv skipped', 'sched-2.csv success', 'sched-copy.csv skipped']);
    // The row left is the last run's: it dates the file's last check.
    const skipped = rows.filter((e) => e.status === 'skipped');
    for (const e of skipped) expect(e.ingestedAt.getTime()).toBeGreaterThanOrEqual(lastRunAt);
    expect(skipped.find((e) => name(e) === 'sched-copy.csv')!.error).toContain('same content as');

    // A file whose content changes loads again, and its earlier skip stays as the record of the old content.
    await fx.file('sched-2.csv', 'id\n2\n3\n');
    const changed = await fx.ingestion.ingestBatch(join(fx.dir, 'sched-*.csv'), 'bronze.sched', { skipExisting: true });
    expect(changed.files.map((f) => f.status)).toEqual(['skipped', 'success', 'skipped']);
    expect(await count('bronze.sched')).toBe(4);
    expect((await fx.ingestion.registry({ target: 'bronze.sched' })).filter((e) => name(e) === 'sched-2.csv').map((e) => e.status)).toEqual(['success', 'skipped', 'success']);
  });

  it('retries a failed file on the next batch, and re-ingests a file whose snapshot was rolled back', async () => {
    const path = await fx.file('late.csv', '');
    const failed = await fx.ingestion.ingest(path, 'bronze.late', { skipExisting: true });
    expect(failed.files[0]).toMatchObject({ status: 'failed' });
    expect(failed.files[0]!.error).toContain(`${path}: the file is empty`);
    await fx.file('late.csv', 'id\n1\n2\n');
    const retried = await fx.ingestion.ingest(path, 'bronze.late', { skipExisting: true });
    expect(retried.files[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
    const second = await fx.file('late2.csv', 'id\n3\n');
    await fx.ingestion.ingest(second, 'bronze.late', { skipExisting: true });
    const history = await fx.rat.snapshots('bronze.late');
    await fx.rat.rollback('bronze.late', history[0]!.snapshotId);
    const redo = await fx.ingestion.ingest(second, 'bronze.late', { skipExisting: true });
    expect(redo.files[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    expect(await count('bronze.late')).toBe(3);
    const statuses = (await fx.ingestion.registry({ target: 'bronze.late' })).map((e) => e.status);
    expect(statuses).toEqual(['failed', 'success', 'success', 'success']);
  });

  it('commits the table pointer and the registry row in one transaction: when either fails, neither is visible', async () => {
    const path = await fx.file('atomic.csv', 'id\n1\n');
    await fx.ingestion.ingest(path, 'bronze.atomic');
    const before = await fx.rat.loadTable('bronze.atomic');
    // A registry write that fails rolls back the pointer swap it shares a transaction with.
    await expect(
      fx.rat.catalog.commitTables([{ ident: before.ident, base: before, next: { ...before.metadata, properties: { touched: 'yes' } } }], {
        alsoWrite: async () => {
          throw new Error('registry insert failed');
        },
      }),
    ).rejects.toThrow('registry insert failed');
    expect((await fx.rat.loadTable('bronze.atomic')).metadataLocation).toBe(before.metadataLocation);
    // A stale base fails the swap, and the registry row written in the same transaction is rolled back.
    await fx.ingestion.ingest(path, 'bronze.atomic');
    const entries = (await fx.ingestion.registry()).length;
    await expect(
      fx.rat.catalog.commitTables([{ ident: before.ident, base: before, next: before.metadata }], {
        alsoWrite: (trx) => trx.insertInto('rat_file_registry').values({ id: 'x', file_path: 'p', file_hash: 'h', file_size: 1, target_table: 'bronze.atomic', rows_ingested: 1, rows_rejected: 0, ingested_at: 1, status: 'success', error: null, snapshot_id: null }).execute().then(() => undefined),
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((await fx.ingestion.registry()).length).toBe(entries);
  });

  it('overwrite: skips a file only when the last load replaced the table with that content', async () => {
    const day1 = await fx.file('ow-day1.csv', 'id,price\n1,10\n2,20\n');
    const day2 = await fx.file('ow-day2.csv', 'id,price\n1,11\n2,20\n');
    const day3 = await fx.file('ow-day3.csv', 'id,price\n1,10\n2,20\n');
    const load = async (path: string) => (await fx.ingestion.ingest(path, 'bronze.ow', { mode: 'overwrite', skipExisting: true })).files[0]!;
    const price = async () => (await fx.rat.query<{ p: number }>('SELECT price::INT AS p FROM bronze.ow WHERE id = 1'))[0]!.p;
    expect((await load(day1)).status).toBe('success');
    expect((await load(day2)).status).toBe('success');
    // day1's content was replaced by day2: the table no longer holds it.
    expect((await load(day3)).status).toBe('success');
    expect(await price()).toBe(10);
    expect(await count('bronze.ow')).toBe(2);
    // Now it does: loading it again under either name would change nothing.
    expect(await load(day3)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^already ingested \(same content\)/) });
    expect(await load(day1)).toMatchObject({ status: 'skipped', reason: expect.stringContaining(`same content as ${day3}`) });
    expect((await load(day2)).status).toBe('success');
    expect(await price()).toBe(11);
  });

  it('merge: skips a file merged before, but merges the same content under another name again (a newer delivery)', async () => {
    const day1 = await fx.file('mg-day1.csv', 'id,price\n1,10\n2,20\n');
    const day2 = await fx.file('mg-day2.csv', 'id,price\n1,11\n2,20\n');
    const day3 = await fx.file('mg-day3.csv', 'id,price\n1,10\n2,20\n');
    const load = async (path: string) => (await fx.ingestion.ingest(path, 'bronze.mg', { mode: 'merge', keys: ['id'], skipExisting: true })).files[0]!;
    const price = async () => (await fx.rat.query<{ p: number }>('SELECT price::INT AS p FROM bronze.mg WHERE id = 1'))[0]!.p;
    for (const day of [day1, day2, day3]) expect((await load(day)).status).toBe('success');
    expect(await price()).toBe(10);
    // Merging day2 again would take id 1 back to its older price: it was merged once, in its turn.
    expect(await load(day2)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^already ingested \(same content\)/) });
    expect(await price()).toBe(10);
    expect(await count('bronze.mg')).toBe(2);
  });

  it('stores an error with a NUL, a lone surrogate and a quote as visible text, and bronze._file_registry stays queryable', async () => {
    async function* failing() {
      yield { id: 1 };
      // What V8 says of an API body {"id":\u0000}: it quotes the raw byte.
      throw new Error(`Unexpected token '\u0000', "{"id":\u0000}" is not valid JSON; half a pair \ud800 here`);
    }
    const report = await fx.ingestion.ingestRows({ name: 'api:nul/items', rows: failing() }, 'bronze.nul');
    expect(report.status).toBe('failed');
    const [entry] = await fx.ingestion.registry({ target: 'bronze.nul' });
    expect(entry!.error).toContain(`Unexpected token '\\u0000', "{"id":\\u0000}" is not valid JSON; half a pair \\ud800 here`);
    // A row stored raw before this was fixed (PostgreSQL never took a NUL: another control character there).
    const raw = TEST_DIALECT === 'sqlite' ? '\u0000' : '\u0001';
    await fx.rat.metadataDb
      .insertInto('rat_file_registry')
      .values({ id: 'raw', file_path: `it's ${raw}`, file_hash: '', file_size: 0, target_table: 'bronze.nul', rows_ingested: 0, rows_rejected: 0, ingested_at: Date.now(), status: 'failed', error: `raw ${raw} '`, snapshot_id: null })
      .execute();
    const rows = await fx.rat.query<{ file_path: string; error: string }>(`SELECT file_path, error FROM bronze._file_registry WHERE target_table = 'bronze.nul' ORDER BY ingested_at`);
    expect(rows).toEqual([
      { file_path: 'api:nul/items', error: entry!.error },
      { file_path: `it's ${raw}`, error: `raw ${raw} '` },
    ]);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze._file_registry WHERE status = \'failed\'')).not.toEqual([]);
  });

  it('dates a file\'s registry row like its rows\' _ingested_at, alone or in a batch, so the two join', async () => {
    const alone = await fx.file('when-1.csv', 'id\n1\n');
    await fx.file('when-2.ndjson', '{"id":2}\n');
    await fx.file('when-3.ndjson', '{"id":3}\n');
    await fx.ingestion.ingest(alone, 'bronze.when');
    await fx.ingestion.ingestBatch(join(fx.dir, 'when-*.ndjson'), 'bronze.when');
    const joined = await fx.rat.query<{ id: number }>(
      `SELECT t.id::INT AS id FROM bronze.when t JOIN bronze._file_registry r ON r.file_path = t._source_file AND r.ingested_at = t._ingested_at AND r.status = 'success' ORDER BY id`,
    );
    expect(joined).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('refuses SQL that would change bronze._file_registry, saying it is read-only, and changes nothing', async () => {
    await fx.ingestion.ingest(await fx.file('read-only.csv', 'id\n1\n'), 'bronze.read_only');
    const registryRows = async () => (await fx.rat.query<{ n: number }>('SELECT count(*)::INT AS n FROM bronze._file_registry'))[0]!.n;
    const before = await registryRows();
    for (const statement of [
      "INSERT INTO bronze._file_registry (file_path) VALUES ('x')",
      "UPDATE bronze._file_registry SET status = 'failed'",
      'DELETE FROM bronze._file_registry',
      'TRUNCATE bronze._file_registry',
      'ALTER TABLE bronze._file_registry ADD COLUMN z INT',
      'DROP TABLE bronze._file_registry',
      'CREATE TABLE bronze._file_registry (a INT)',
      'CREATE TABLE IF NOT EXISTS bronze._FILE_REGISTRY AS SELECT 1 AS a',
    ]) {
      const error = await fx.rat.sql(statement).then(() => undefined, (e: unknown) => e);
      expect(error, statement).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining("bronze._file_registry is read-only: rat's ingest file registry") });
    }
    expect(await registryRows()).toBe(before);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: '_file_registry' })).toBe(false);
    await fx.rat.sql('CREATE TABLE bronze.registry_copy AS SELECT * FROM bronze._file_registry');
    expect(await count('bronze.registry_copy')).toBe(before);
  });

  it('moves the file out of the way of a renamed copy: the registry keys content, not names', async () => {
    const path = await fx.file('orig.csv', 'id\n7\n');
    await fx.ingestion.ingest(path, 'bronze.renamed', { skipExisting: true });
    const moved = join(fx.dir, 'moved.csv');
    await rename(path, moved);
    const report = await fx.ingestion.ingest(moved, 'bronze.renamed', { skipExisting: true });
    expect(report.files[0]!.status).toBe('skipped');
    expect(await count('bronze.renamed')).toBe(1);
  });
});

/**
 * A second writer on the fixture's home whose next metadata-DB transaction waits at its BEGIN (before
 * it takes the commit lock) until `release`: the fixture's own writer commits in between.
 */
async function heldWriter(): Promise<{ ingestion: Ingestion; atCommit: Promise<void>; release(): void; close(): Promise<void> }> {
  let reached!: () => void;
  let release!: () => void;
  const atCommit = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  // Armed once open (opening migrates in a transaction of its own).
  let holding = false;
  const home = join(fx.dir, 'home');
  const rat = await openLakehouse({
    home,
    env: {},
    threads: 2,
    ...catalogOptions(home),
    beforeMetadataStatement: async (sql) => {
      if (!holding || !/^\s*begin/i.test(sql)) return;
      holding = false;
      reached();
      await released;
    },
  });
  const ingestion = createIngestion(rat);
  holding = true;
  return { ingestion, atCommit, release, close: () => rat.close() };
}

describe('skip-existing against a concurrent writer', () => {
  it('a file whose content another writer committed while it was read is skipped at its commit, not loaded twice', async () => {
    await fx.ingestion.ingest(await fx.file('race-seed.csv', 'id\n0\n'), 'bronze.race');
    const path = await fx.file('race-1.csv', 'id\n1\n2\n');
    const copy = await fx.file('race-1-copy.csv', 'id\n1\n2\n');
    const slow = await heldWriter();
    try {
      const late = slow.ingestion.ingest(path, 'bronze.race', { skipExisting: true });
      await slow.atCommit;
      const first = await fx.ingestion.ingest(copy, 'bronze.race', { skipExisting: true });
      slow.release();
      const second = await late;
      expect(first.files[0]!.status).toBe('success');
      expect(second.files[0]).toMatchObject({ status: 'skipped', rowsIngested: 0 });
      expect(second.files[0]!.reason).toContain(`same content as ${copy}`);
    } finally {
      await slow.close();
    }
    expect(await count('bronze.race')).toBe(3);
    const entries = await fx.ingestion.registry({ target: 'bronze.race' });
    expect(entries.map((e) => [e.filePath, e.status])).toEqual([
      [join(fx.dir, 'race-seed.csv'), 'success'],
      [copy, 'success'],
      [path, 'skipped'],
    ]);
  });

  it('a group commit drops the files another writer committed meanwhile and commits the rest', async () => {
    await fx.ingestion.ingest(await fx.file('grace-0.ndjson', '{"id":0}\n'), 'bronze.grace');
    for (let i = 1; i <= 4; i++) await fx.file(`grace-${i}.ndjson`, `{"id":${i}}\n`);
    const slow = await heldWriter();
    try {
      // NDJSON files wait in one commit group (small CSVs would be read together instead: csv-run.ts).
      const late = slow.ingestion.ingestBatch(join(fx.dir, 'grace-*.ndjson'), 'bronze.grace', { skipExisting: true, filesPerCommit: 10 });
      await slow.atCommit;
      const first = await fx.ingestion.ingest([join(fx.dir, 'grace-2.ndjson'), join(fx.dir, 'grace-3.ndjson')], 'bronze.grace', { skipExisting: true });
      slow.release();
      const second = await late;
      expect(first.files.map((f) => f.status)).toEqual(['success', 'success']);
      expect(second.files.map((f) => f.status)).toEqual(['skipped', 'success', 'skipped', 'skipped', 'success']);
      expect(second.files[2]!.reason).toMatch(/^already ingested \(same content\)/);
      expect(second.files[1]!.snapshotId).toBe(second.files[4]!.snapshotId);
    } finally {
      await slow.close();
    }
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.grace ORDER BY id')).toEqual([0, 1, 2, 3, 4].map((id) => ({ id })));
    const success = await fx.ingestion.registry({ target: 'bronze.grace', status: 'success' });
    expect(success.map((e) => e.filePath.slice(-8)).sort()).toEqual(['0.ndjson', '1.ndjson', '2.ndjson', '3.ndjson', '4.ndjson']);
  });
});

/** Runs `work` with the ingestion of an SDK instance on a new branch (or tag) `branch`, made from the fixture's. */
async function onNewBranch(branch: string, work: (ingestion: Ingestion) => Promise<void>, type: 'branch' | 'tag' = 'branch'): Promise<void> {
  await fx.rat.catalog.refs.create(type, branch, fx.rat.branch);
  const home = join(fx.dir, 'home');
  const rat = await openLakehouse({ home, env: {}, threads: 2, ...catalogOptions(home), branch });
  try {
    await work(createIngestion(rat));
  } finally {
    await rat.close();
  }
}

/** Makes `table` with one row (`id` a BIGINT, so a letter there is a bad row) and returns the path of a file `name` holding `text`. */
async function seededWith(table: string, name: string, text: string): Promise<string> {
  await fx.ingestion.ingest(await fx.file(`seed-${name}`, 'id,v\n1,a\n'), table, { types: { id: 'BIGINT' } });
  return fx.file(name, text);
}

describe('skip-existing and quarantine replays', () => {
  it('a replay on another branch is not a load of the file here: the file is loaded with --skip-existing', async () => {
    const path = await seededWith('bronze.replayed', 'replay-b.csv', 'id,v\n3,c\nx,d\n');
    await onNewBranch('replay-dev', async (dev) => {
      expect((await dev.ingest(path, 'bronze.replayed')).files[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
      // Nothing fits yet: the replay records a success row of the file without a snapshot.
      expect(await dev.replayRejects('bronze.replayed')).toMatchObject({ replayed: 0, stillRejected: 1 });
    });
    const here = await fx.ingestion.ingest(path, 'bronze.replayed', { skipExisting: true });
    expect(here.files[0], here.files[0]!.reason).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.replayed ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
    expect((await fx.ingestion.registry({ filePath: path })).map((e) => [e.status, e.replay ?? false])).toEqual([['success', false], ['success', true], ['success', false]]);
  });

  it('a file whose ingest was rolled back is loaded again after a replay of its quarantined rows, not skipped as the replay', async () => {
    await fx.ingestion.ingest(await fx.file('undo-seed.csv', 'id,ordered\n1,2026-01-05\n'), 'bronze.undone_replay');
    const path = await fx.file('undo-b.csv', 'id,ordered\n2,2026-01-06\n3,07/01/2026\n4,2026-01-08\n5,2026-01-09\n');
    const [seed] = await fx.rat.snapshots('bronze.undone_replay');
    expect((await fx.ingestion.ingest(path, 'bronze.undone_replay')).files[0]).toMatchObject({ rowsIngested: 3, rowsRejected: 1 });
    await fx.rat.rollback('bronze.undone_replay', seed!.snapshotId);
    // The replay loads the quarantined row, with a snapshot of its own in the table's history.
    expect(await fx.ingestion.replayRejects('bronze.undone_replay', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1 });
    const again = await fx.ingestion.ingest(path, 'bronze.undone_replay', { skipExisting: true });
    expect(again.files[0], again.files[0]!.reason).toMatchObject({ status: 'success', rowsIngested: 3 });
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.undone_replay ORDER BY id')).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
  });
});

describe('skip-existing for a file whose every row was rejected', () => {
  it('is skipped where its quarantine rows are, and loaded on a branch whose quarantine never had them', async () => {
    const path = await seededWith('bronze.all_rejected', 'rejected-all.csv', 'id,v\nx,c\ny,d\n');
    await onNewBranch('rejected-dev', async (dev) => {
      expect((await dev.ingest(path, 'bronze.all_rejected')).files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 2 });
      expect((await dev.ingest(path, 'bronze.all_rejected', { skipExisting: true })).files[0]).toMatchObject({ status: 'skipped' });
    });
    // Here the quarantine does not hold the rows: skipping the file would lose them.
    const here = await fx.ingestion.ingest(path, 'bronze.all_rejected', { skipExisting: true });
    expect(here.files[0], here.files[0]!.reason).toMatchObject({ status: 'success', rowsRejected: 2 });
    expect(await count('bronze.all_rejected__rejects')).toBe(2);
    expect((await fx.ingestion.ingest(path, 'bronze.all_rejected', { skipExisting: true })).files[0]).toMatchObject({ status: 'skipped' });
    const entries = await fx.ingestion.registry({ filePath: path, status: 'success' });
    expect(entries.map((e) => [e.snapshotId, typeof e.rejectsSnapshotId])).toEqual([[undefined, 'bigint'], [undefined, 'bigint']]);
  });
});

describe('ingesting on a tag', () => {
  it('is refused before any file is read, naming the tag and how to branch from it; no registry row', async () => {
    const path = await fx.file('on-tag.csv', 'id\n1\n');
    await onNewBranch('v-ingest', async (tag) => {
      for (const attempt of [() => tag.ingest(path, 'bronze.on_tag'), () => tag.ingestBatch(join(fx.dir, 'on-tag*.csv'), 'bronze.on_tag', { skipExisting: true })]) {
        await expect(attempt()).rejects.toMatchObject({ code: 'REF_NOT_A_BRANCH', message: expect.stringContaining('cannot ingest into bronze.on_tag on tag "v-ingest": tags are immutable; nothing was read; branch from it with: rat branch create <name> --from v-ingest') });
      }
    }, 'tag');
    expect(await fx.ingestion.registry({ filePath: path })).toEqual([]);
  });
});

describe('merging a branch settles a table and its quarantine table together', () => {
  it('dest-wins keeps the quarantine a replay on the branch emptied: the replayed row is not lost', async () => {
    await fx.ingestion.ingest(await fx.file('pair-1.csv', 'id,d\n1,2026-01-05\n2,07/01/2026\n'), 'bronze.pair_kept', { types: { d: 'DATE' } });
    await onNewBranch('pair-dev', async (dev) => {
      expect(await dev.replayRejects('bronze.pair_kept', { dateFormat: '%d/%m/%Y' })).toMatchObject({ replayed: 1 });
    });
    await fx.ingestion.ingest(await fx.file('pair-2.csv', 'id,d\n3,2026-01-07\n'), 'bronze.pair_kept');
    const merged = await fx.rat.catalog.refs.merge('pair-dev', fx.rat.branch, { strategy: 'dest-wins' });
    expect(merged.conflicts).toEqual(['bronze.pair_kept']);
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.pair_kept ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
    // Row 2 stays where this side has it: in the quarantine.
    expect(await fx.rat.query('SELECT raw FROM bronze.pair_kept__rejects')).toEqual([{ raw: '2,07/01/2026' }]);
  });

  it('source-wins takes the branch quarantine with its table: a file loaded here again is not quarantined twice', async () => {
    await fx.ingestion.ingest(await fx.file('pair-seed.csv', 'id,v\n1,a\n'), 'bronze.pair_taken', { types: { id: 'BIGINT' } });
    const bad = await fx.file('pair-bad.csv', 'id,v\n2,b\nx,c\n');
    await fx.ingestion.ingest(bad, 'bronze.pair_taken');
    // The branch changes only the table; this side changes the table and its quarantine after the fork.
    await onNewBranch('pair-source', async (dev) => {
      await dev.ingest(await fx.file('pair-clean.csv', 'id,v\n3,c\n'), 'bronze.pair_taken');
    });
    await fx.ingestion.ingest(await fx.file('pair-late.csv', 'id,v\n4,d\ny,e\n'), 'bronze.pair_taken');
    await fx.rat.catalog.refs.merge('pair-source', fx.rat.branch, { strategy: 'source-wins' });
    // pair-late.csv's rows are gone with this side's table, and so are its quarantined rows: loading it again brings each back once.
    expect((await fx.ingestion.ingest(join(fx.dir, 'pair-late.csv'), 'bronze.pair_taken', { skipExisting: true })).files[0]).toMatchObject({ status: 'success' });
    expect(await fx.rat.query('SELECT raw FROM bronze.pair_taken__rejects ORDER BY raw')).toEqual([{ raw: 'x,c' }, { raw: 'y,e' }]);
    expect(await fx.rat.query('SELECT id::INT AS id FROM bronze.pair_taken ORDER BY id')).toEqual([1, 2, 3, 4].map((id) => ({ id })));
  });
});
