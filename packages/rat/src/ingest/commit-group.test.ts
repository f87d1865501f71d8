import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';
import { openLakehouse } from '../engine/lakehouse.js';
import { createIngestion } from './ingestion.js';
import type { CustomParser } from './ingest-options.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** Files of one batch share catalog commits when they are plain appends; each still lands whole with its registry row. */
let fx: IngestFixture;
/** Set to fail the next metadata-DB statement that matches it (once, or `failures` times). */
let failNext: RegExp | undefined;
let failures = 1;
beforeAll(async () => {
  fx = await openIngestFixture({
    lakehouse: {
      beforeMetadataStatement: (text) => {
        if (failNext && failNext.test(text)) {
          if (--failures <= 0) {
            failNext = undefined;
            failures = 1;
          }
          throw new Error('injected: the disk is full');
        }
      },
    },
  });
});
afterAll(async () => {
  await fx.close();
});

const rowsOf = (table: string) => fx.rat.query<{ id: number; _source_file: string }>(`SELECT id::INT AS id, _source_file FROM ${table} ORDER BY id`);

/** NDJSON files (small CSVs alike are read together instead: csv-run.test.ts), one record per line. */
async function files(prefix: string, contents: Record<string, unknown>[][]): Promise<string> {
  for (const [i, records] of contents.entries()) await fx.file(`${prefix}-${String(i + 1).padStart(2, '0')}.ndjson`, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return join(fx.dir, `${prefix}-*.ndjson`);
}

describe('files of a batch sharing commits', () => {
  it('commits plain appends a group at a time; every registry row names the snapshot that holds its rows', async () => {
    const glob = await files('grp', Array.from({ length: 7 }, (_, i) => [{ id: i * 2, name: 'a' }, { id: i * 2 + 1, name: 'b' }]));
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.grp', { filesPerCommit: 3 });
    expect(report.files.map((f) => f.status)).toEqual(Array(7).fill('success'));
    expect(report.rowsIngested).toBe(14);
    // The first file creates the table on its own; the other six go in two commits of three.
    const snapshots = await fx.rat.snapshots('bronze.grp');
    expect(snapshots).toHaveLength(3);
    const ids = report.files.map((f) => f.snapshotId);
    expect(ids[1]).toBe(ids[3]);
    expect(ids[4]).toBe(ids[6]);
    expect(new Set(ids).size).toBe(3);
    const registry = await fx.ingestion.registry({ target: 'bronze.grp' });
    expect(registry.map((e) => [e.filePath, e.status, e.snapshotId])).toEqual(report.files.map((f) => [f.file, 'success', f.snapshotId]));
    // Read at each snapshot, the table holds the files of that commit and of the ones before it.
    for (const [k, snapshot] of snapshots.entries()) {
      const upTo = new Set(snapshots.slice(0, k + 1).map((s) => s.snapshotId));
      const visible = await fx.rat.query<{ f: string }>(`SELECT DISTINCT _source_file AS f FROM bronze.grp AT (VERSION => ${snapshot.snapshotId}) ORDER BY f`);
      expect(visible.map((r) => r.f)).toEqual(report.files.filter((f) => upTo.has(f.snapshotId!)).map((f) => f.file));
    }
    expect((await rowsOf('bronze.grp')).map((r) => r.id)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  });

  it('commits a file with bad rows or new columns on its own, in order, after the files before it', async () => {
    const glob = await files('mix', [
      [{ id: 1, name: 'a' }],
      [{ id: 2, name: 'b' }],
      [{ id: 3, name: 'c' }, { id: 'not-a-number', name: 'd' }],
      [{ id: 4, name: 'e' }],
      [{ id: 5, name: 'f', extra: 'x' }],
      [{ id: 6, name: 'g', extra: 'y' }],
    ]);
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.mix', { filesPerCommit: 10 });
    expect(report.files.map((f) => [f.status, f.rowsIngested, f.rowsRejected])).toEqual([
      ['success', 1, 0],
      ['success', 1, 0],
      ['success', 1, 1],
      ['success', 1, 0],
      ['success', 1, 0],
      ['success', 1, 0],
    ]);
    const ids = report.files.map((f) => f.snapshotId!);
    // create (1) | 2 waits, flushed before 3 | 3 alone | 4 waits, flushed before 5 | 5 adds a column, alone | 6 waits until the end.
    expect(new Set(ids).size).toBe(6);
    const order = (await fx.rat.snapshots('bronze.mix')).map((s) => s.snapshotId);
    expect(order).toEqual(ids);
    expect(report.files[4]!.schemaChanges.join(' ')).toMatch(/extra/);
    const rows = await fx.rat.query<{ id: number; extra: string | null }>('SELECT id::INT AS id, extra FROM bronze.mix ORDER BY id');
    const expected: { id: number; extra: string | null }[] = [1, 2, 3, 4].map((id) => ({ id, extra: null }));
    expect(rows).toEqual([...expected, { id: 5, extra: 'x' }, { id: 6, extra: 'y' }]);
    expect(await fx.rat.query('SELECT line::INT AS line FROM bronze.mix__rejects')).toEqual([{ line: 2 }]);
  });

  it('a group whose commit fails fails each of its files (registry rows failed, table unchanged), and the next batch retries them', async () => {
    const glob = await files('fail', Array.from({ length: 4 }, (_, i) => [{ id: i }]));
    await fx.ingestion.ingest(join(fx.dir, 'fail-01.ndjson'), 'bronze.fail');
    const before = await fx.rat.snapshots('bronze.fail');
    // The group's registry rows are written inside its catalog commit: failing them fails the commit.
    failNext = /insert into "rat_file_registry"/i;
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.fail', { skipExisting: true });
    expect(failNext).toBeUndefined();
    expect(report.files.map((f) => f.status)).toEqual(['skipped', 'failed', 'failed', 'failed']);
    for (const file of report.files.slice(1)) {
      expect(file.error).toMatch(/injected: the disk is full/);
      expect(file.rowsIngested).toBe(0);
      expect(file.snapshotId).toBeUndefined();
    }
    expect(report.failed).toBe(3);
    expect(await fx.rat.snapshots('bronze.fail')).toEqual(before);
    expect((await rowsOf('bronze.fail')).map((r) => r.id)).toEqual([0]);
    const failed = await fx.ingestion.registry({ target: 'bronze.fail', status: 'failed' });
    expect(failed.map((e) => e.filePath).sort()).toEqual(report.files.slice(1).map((f) => f.file).sort());
    // Retried by the next batch: all in, once.
    const retry = await fx.ingestion.ingestBatch(glob, 'bronze.fail', { skipExisting: true });
    expect(retry.files.map((f) => f.status)).toEqual(['skipped', 'success', 'success', 'success']);
    expect((await rowsOf('bronze.fail')).map((r) => r.id)).toEqual([0, 1, 2, 3]);
  });

  it('a file whose failed registry row cannot be written either is reported failed with both reasons, and the batch goes on', async () => {
    const glob = await files('norow', [[{ id: 1 }], [{ id: 2 }]]);
    await fx.ingestion.ingest(await fx.file('seed-norow.ndjson', '{"id": 0}\n'), 'bronze.norow');
    // The file's commit (its registry row is written inside it) fails, then so does its failed row.
    failNext = /insert into "rat_file_registry"/i;
    failures = 2;
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.norow', { filesPerCommit: 1 });
    expect(failNext).toBeUndefined();
    expect(report.files.map((f) => [basename(f.file), f.status])).toEqual([
      ['norow-01.ndjson', 'failed'],
      ['norow-02.ndjson', 'success'],
    ]);
    expect(report.files[0]).toMatchObject({ unrecorded: true, error: expect.stringMatching(/injected: the disk is full.*; its failed registry row could not be written either: .*injected: the disk is full/) });
    expect(await fx.ingestion.registry({ target: 'bronze.norow', status: 'failed' })).toEqual([]);
    expect((await rowsOf('bronze.norow')).map((r) => r.id)).toEqual([0, 2]);
  });

  it('files waiting in a group when another writer adds a column are planned again against the new table; with skip-existing, a file it loaded is skipped', async () => {
    const glob = await files('moved', Array.from({ length: 4 }, (_, i) => [{ id: i + 1, name: `n${i + 1}` }]));
    await fx.ingestion.ingest(await fx.file('moved-first.json', '{"id":0,"name":"n0"}\n'), 'bronze.moved');
    const home = join(fx.dir, 'home');
    const other = await openLakehouse({ home, env: {}, threads: 1, ...catalogOptions(home) });
    try {
      // Another writer, while this batch reads its last file (files 1 to 3 wait in the group): it loads
      // file 2 and a file with a new column, which changes the table's schema under the group.
      let interfered = false;
      const parser: CustomParser = async function* (input) {
        if (input.name.endsWith('moved-04.ndjson') && !interfered) {
          interfered = true;
          const ingestion = createIngestion(other);
          await ingestion.ingest(join(fx.dir, 'moved-02.ndjson'), 'bronze.moved', { skipExisting: true });
          await ingestion.ingest(await fx.file('extra.ndjson', '{"id":9,"name":"n9","extra":"x"}\n'), 'bronze.moved');
        }
        for await (const line of input.lines()) if (line) yield JSON.parse(line) as Record<string, unknown>;
      };
      const report = await fx.ingestion.ingestBatch(glob, 'bronze.moved', { skipExisting: true, parser });
      expect(interfered).toBe(true);
      expect(report.files.map((f) => [f.file.slice(-15), f.status, f.rowsIngested, f.error])).toEqual([
        ['moved-01.ndjson', 'success', 1, undefined],
        ['moved-02.ndjson', 'skipped', 0, undefined],
        ['moved-03.ndjson', 'success', 1, undefined],
        ['moved-04.ndjson', 'success', 1, undefined],
      ]);
      expect(report.files[1]!.reason).toMatch(/same content/);
      expect(report.failed).toBe(0);
      const rows = await fx.rat.query<{ id: number; extra: string | null }>('SELECT id::INT AS id, extra FROM bronze.moved ORDER BY id');
      expect(rows).toEqual([...[0, 1, 2, 3, 4].map((id) => ({ id, extra: null as string | null })), { id: 9, extra: 'x' }]);
      const registry = await fx.ingestion.registry({ target: 'bronze.moved' });
      expect(registry.filter((e) => e.status === 'failed')).toEqual([]);
      // File 2 once, by the other writer; each other file of the batch once, by it.
      const successes = registry.filter((e) => e.status === 'success').map((e) => basename(e.filePath));
      expect(successes.sort()).toEqual(['extra.ndjson', 'moved-01.ndjson', 'moved-02.ndjson', 'moved-03.ndjson', 'moved-04.ndjson', 'moved-first.json']);
    } finally {
      await other.close();
    }
  });

  it('a file after one that widened a column on its own is planned against the widened table', async () => {
    await fx.rat.sql('CREATE TABLE bronze.after (id INTEGER, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    const glob = await files('after', [[{ id: 1 }], [{ id: 6000000000 }], [{ id: 3 }], [{ id: 4 }]]);
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.after');
    expect(report.files.map((f) => [f.status, f.error])).toEqual(Array(4).fill(['success', undefined]));
    expect(report.files[1]!.schemaChanges).toEqual(['widened id int -> long']);
    expect(report.files[2]!.snapshotId).toBe(report.files[3]!.snapshotId);
    expect(await fx.rat.query('SELECT sum(id)::BIGINT AS s FROM bronze.after')).toEqual([{ s: 6000000008 }]);
  });

  it('filesPerCommit 1 commits each file on its own; a bad value is refused', async () => {
    const glob = await files('one', Array.from({ length: 3 }, (_, i) => [{ id: i }]));
    const report = await fx.ingestion.ingestBatch(glob, 'bronze.one', { filesPerCommit: 1 });
    expect(new Set(report.files.map((f) => f.snapshotId)).size).toBe(3);
    expect(await fx.rat.snapshots('bronze.one')).toHaveLength(3);
    await expect(fx.ingestion.ingestBatch(glob, 'bronze.one', { filesPerCommit: 0 })).rejects.toThrow(/files per commit must be a positive whole number, got 0/);
  });
});
