import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { stageCsvRun } from './csv-reader.js';
import { probeFile } from './file-probe.js';
import { resolveIngestOptions } from './ingest-options.js';
import type { IngestProgress } from './progress.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** Small CSVs of a batch with one header line and dialect are read, written and committed together. */
let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

async function files(prefix: string, contents: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const [i, content] of contents.entries()) paths.push(await fx.file(`${prefix}-${String(i + 1).padStart(2, '0')}.csv`, content));
  return paths;
}

describe('small CSVs read together', () => {
  it('commits a run in one snapshot and one data file; a file with a bad line or no rows goes alone, with its own outcome', async () => {
    const paths = await files('run', [
      'id,name\n1,a\n2,b\n',
      'id,name\n3,c\n',
      'id,name\n4,d\nx,e\n',
      'id,name\n5,f\n6,g\n',
      'id,name\n7,h\n',
      'id,name\n',
    ]);
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'run-*.csv'), 'bronze.run');
    expect(report.files.map((f) => [f.file, f.status, f.rowsIngested, f.rowsRejected])).toEqual([
      [paths[0], 'success', 2, 0],
      [paths[1], 'success', 1, 0],
      [paths[2], 'success', 1, 1],
      [paths[3], 'success', 2, 0],
      [paths[4], 'success', 1, 0],
      [paths[5], 'failed', 0, 0],
    ]);
    expect(report.files[5]!.error).toMatch(/header line but no data rows/);
    const ids = report.files.map((f) => f.snapshotId);
    // The first file creates the table; 2, 4 and 5 are one commit; 3 commits alone with its quarantine.
    expect(ids[1]).toBe(ids[3]);
    expect(ids[4]).toBe(ids[1]);
    expect(new Set([ids[0], ids[1], ids[2]]).size).toBe(3);
    expect(await fx.rat.snapshots('bronze.run')).toHaveLength(3);
    const rows = await fx.rat.query<{ id: number; _source_file: string }>('SELECT id::INT AS id, _source_file FROM bronze.run ORDER BY id');
    expect(rows.map((r) => [r.id, r._source_file])).toEqual([
      [1, paths[0]],
      [2, paths[0]],
      [3, paths[1]],
      [4, paths[2]],
      [5, paths[3]],
      [6, paths[3]],
      [7, paths[4]],
    ]);
    expect(await fx.rat.query('SELECT line::INT AS line, file_path FROM bronze.run__rejects')).toEqual([{ line: 3, file_path: paths[2] }]);
    // The run's rows went into one Parquet file.
    const table = await fx.rat.catalog.loadTable(parseTableIdent('bronze.run'));
    const { scan } = await fx.rat.executor.reader.plan(table);
    expect(scan.tasks).toHaveLength(3);
    // Every file has its registry row: the run's with the run's snapshot and their own row counts.
    const registry = await fx.ingestion.registry({ target: 'bronze.run' });
    const byFile = new Map(registry.map((e) => [e.filePath, e]));
    for (const [i, file] of report.files.entries()) {
      expect(byFile.get(paths[i]!)).toMatchObject({ status: file.status, rowsIngested: file.rowsIngested, rowsRejected: file.rowsRejected });
      if (file.status === 'success') expect(byFile.get(paths[i]!)!.snapshotId).toBe(file.snapshotId);
    }
  });

  it("tells the batch's progress: files done of the total and rows so far, after each file or run, and its end after the last commit", async () => {
    await files('told', ['id,name\n1,a\n2,b\n', 'id,name\n3,c\n', 'id,name\n4,d\nx,e\n', 'id,name\n5,f\n']);
    const events: IngestProgress[] = [];
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'told-*.csv'), 'bronze.told', { onProgress: (e) => events.push(e) });
    expect(report.rowsIngested).toBe(5);
    const batch = events.filter((e) => e.phase === 'batch');
    // Before the first file; the first file alone (it creates the table); the run's third file alone
    // (a bad line), told with the second before it; the run; the end. bytesDone counts files, short of the total until the end.
    expect(batch.map((e) => [e.filesDone, e.rowsDone, e.bytesDone])).toEqual([
      [0, 0, 0],
      [1, 2, 1],
      [3, 4, 3],
      [4, 5, 3],
      [4, 5, 4],
    ]);
    expect(batch.every((e) => e.file === 'bronze.told' && e.filesTotal === 4 && e.bytesTotal === 4)).toBe(true);
    expect(events.at(-1)).toBe(batch.at(-1));
  });

  it('skips with skipExisting, also a copy earlier in the same batch; files with another header are not read with them', async () => {
    const paths = await files('skip', ['id,name\n1,a\n', 'id,name\n2,b\n', 'id,name\n1,a\n', 'id,name,extra\n3,c,z\n', 'id,name,extra\n4,d,w\n']);
    await fx.ingestion.ingest(paths[0]!, 'bronze.skip');
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'skip-*.csv'), 'bronze.skip', { skipExisting: true });
    expect(report.files.map((f) => f.status)).toEqual(['skipped', 'success', 'skipped', 'success', 'success']);
    expect(report.files[2]!.reason).toContain(`same content as ${paths[0]}`);
    expect(report.files[3]!.schemaChanges.join(' ')).toMatch(/extra/);
    expect(await fx.rat.query('SELECT id::INT AS id, extra FROM bronze.skip ORDER BY id')).toEqual([
      { id: 1, extra: null },
      { id: 2, extra: null },
      { id: 3, extra: 'z' },
      { id: 4, extra: 'w' },
    ]);
    const again = await fx.ingestion.ingestBatch(join(fx.dir, 'skip-*.csv'), 'bronze.skip', { skipExisting: true });
    expect(again.files.map((f) => f.status)).toEqual(Array(5).fill('skipped'));
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.skip')).toEqual([{ n: 4 }]);
  });

  it('reads a date format the same way in a run: infinity goes to the quarantine, epoch is 1970-01-01, a real 1900-01-01 loads', async () => {
    const paths = await files('fmtrun', ['id,day\n1,13/02/2024\n', 'id,day\n2,14/02/2024\n3,01/01/1900\n', 'id,day\n4,infinity\n5,15/02/2024\n', 'id,day\n6,epoch\n', 'id,day\n7,16/02/2024\n']);
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'fmtrun-*.csv'), 'bronze.fmtrun');
    expect(report.files.map((f) => [f.file, f.status, f.rowsIngested, f.rowsRejected])).toEqual([
      [paths[0], 'success', 1, 0],
      [paths[1], 'success', 2, 0],
      [paths[2], 'success', 1, 1],
      [paths[3], 'success', 1, 0],
      [paths[4], 'success', 1, 0],
    ]);
    const rows = await fx.rat.query<{ id: number; day: string }>('SELECT id::INT AS id, CAST(day AS VARCHAR) AS day FROM bronze.fmtrun ORDER BY id');
    expect(rows.map((r) => [r.id, r.day])).toEqual([
      [1, '2024-02-13'],
      [2, '2024-02-14'],
      [3, '1900-01-01'],
      [5, '2024-02-15'],
      [6, '1970-01-01'],
      [7, '2024-02-16'],
    ]);
    expect(await fx.rat.query('SELECT line::INT AS line, reason FROM bronze.fmtrun__rejects')).toEqual([
      { line: 2, reason: 'column day: infinity cannot be stored as DATE: an Iceberg date or timestamp has no infinity' },
    ]);
  });

  it('keeps the date, timestamp and decimal formats the run was read by with its read settings, as a single file does, so a replay of its rows reads them alike', async () => {
    const options = resolveIngestOptions({ decimalSeparator: ',' });
    const paths = await files('runparse', ['id;day;at;amt\n1;13/02/2024;13/02/2024 10:00:00;1,5\n', 'id;day;at;amt\n2;14/02/2024;14/02/2024 11:00:00;2,5\n']);
    const probed = await Promise.all(paths.map((p) => probeFile(p, p, options)));
    const ctx = { duck: fx.rat.duck, id: 'runparse', reserved: new Set<string>(), options, scratchDir: fx.dir, onReadProgress: <T>(work: () => Promise<T>) => work(), onInferProgress: <T>(work: () => Promise<T>) => work() };
    const run = await stageCsvRun(ctx, probed);
    expect(run?.rows).toEqual(new Map([[paths[0], 1], [paths[1], 1]]));
    expect(run!.staged.parse).toMatchObject({ format: 'csv', delimiter: ';', dateFormat: '%d/%m/%Y', timestampFormat: '%d/%m/%Y %H:%M:%S', decimalSeparator: ',' });
  });

  it('widens a column when a value of any file in the run needs it', async () => {
    await fx.rat.sql('CREATE TABLE bronze.wide (id INTEGER, name VARCHAR, _source_file VARCHAR, _ingested_at TIMESTAMPTZ)');
    await files('wide', ['id,name\n1,a\n', 'id,name\n6000000000,b\n', 'id,name\n3,c\n']);
    const report = await fx.ingestion.ingestBatch(join(fx.dir, 'wide-*.csv'), 'bronze.wide');
    expect(report.files.map((f) => f.status)).toEqual(['success', 'success', 'success']);
    expect(new Set(report.files.map((f) => f.snapshotId)).size).toBe(1);
    expect(report.files[0]!.schemaChanges).toEqual(['widened id int -> long']);
    expect(await fx.rat.query('SELECT sum(id)::BIGINT AS s FROM bronze.wide')).toEqual([{ s: 6000000004 }]);
  });
});
