import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import { resolveSources } from './source-files.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** A folder of the fixture holding these files (name -> content); returns its path. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(fx.dir, name);
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return dir;
}

/** Each row's `v` is the name of the file it was written in: a row read from another file shows. */
async function rowsAndSources(table: string): Promise<{ v: string; file: string }[]> {
  const rows = await fx.rat.query<{ v: string; _source_file: string }>(`SELECT v, _source_file FROM ${table} ORDER BY v`);
  return rows.map((r) => ({ v: r.v, file: basename(r._source_file) }));
}

describe('files whose names hold glob characters', () => {
  it('reads exactly the named CSV, JSON and Parquet file, never the files its name matches as a DuckDB glob', async () => {
    const named = (file: string, id: number) => (file.endsWith('.csv') ? `id,v\n${id},${file}\n` : `${JSON.stringify({ id, v: file })}\n`);
    const names = ['a[1].csv', 'a1.csv', 'a?.csv', 'ab.csv', 's*.csv', 'j[1].json', 'j1.json', 'k[1].ndjson', 'k1.ndjson'];
    const dir = await folder('globby', Object.fromEntries(names.map((name, i) => [name, named(name, i)])));
    // A malformed line sends newline-delimited JSON down the line-by-line read.
    await writeFile(join(dir, 'k[1].ndjson'), `${named('k[1].ndjson', 7)}not json\n`);
    for (const [name, id] of [['p[1].parquet', 90], ['p1.parquet', 91]] as const) {
      await fx.rat.duck.run(`COPY (SELECT ${id}::BIGINT AS id, ${quoteString(name)} AS v) TO ${quoteString(join(dir, name))} (FORMAT parquet)`);
    }
    const expected = [...names, 'p[1].parquet', 'p1.parquet'].sort().map((name) => ({ v: name, file: name }));
    // Each file on its own, and small CSVs read together (one read_csv over several paths).
    for (const [table, options] of [['bronze.globby_alone', { filesPerCommit: 1 }], ['bronze.globby_runs', {}]] as const) {
      const report = await fx.ingestion.ingest(dir, table, options);
      expect(report.failed).toBe(0);
      expect(report.rowsRejected).toBe(1);
      expect(await rowsAndSources(table)).toEqual(expected);
    }
  });
});

describe('a source that exists as given is that file; only one that does not is a glob', () => {
  it('takes a local path or landing key with glob characters as the one file it names', async () => {
    const dir = await folder('literal', { 'my file #1?.csv': 'id,v\n1,my file #1?.csv\n', 'my file #1x.csv': 'id,v\n2,my file #1x.csv\n' });
    const literal = join(dir, 'my file #1?.csv');
    expect((await resolveSources(fx.rat.store, literal)).map((s) => basename(s.display))).toEqual(['my file #1?.csv']);
    // Where no file has the name, the same spec is a glob.
    expect((await resolveSources(fx.rat.store, join(dir, 'my file #?x.csv'))).map((s) => basename(s.display))).toEqual(['my file #1x.csv']);
    await fx.ingestion.upload([literal, join(dir, 'my file #1x.csv')], 'landing/literal/');
    const report = await fx.ingestion.ingest('landing/literal/my file #1?.csv', 'bronze.literal');
    expect(report.files.map((f) => f.file)).toEqual(['landing/literal/my file #1?.csv']);
    expect(await rowsAndSources('bronze.literal')).toEqual([{ v: 'my file #1?.csv', file: 'my file #1?.csv' }]);
    expect((await resolveSources(fx.rat.store, 'landing/literal/my file #?x.csv')).map((s) => s.display)).toEqual(['landing/literal/my file #1x.csv']);
  });
});

describe('a source that names nothing', () => {
  it('is STORAGE_NOT_FOUND naming the source and what the nearest folder holds, for folders and globs, local and landing', async () => {
    const dir = await folder('present', { 'a.csv': 'id,v\n1,a\n' });
    await fx.ingestion.upload([join(dir, 'a.csv')], 'landing/present/');
    const missing = [
      ['landing/nothing/', /no landing file or folder landing\/nothing\/; landing\/ holds .*present\/.* \(list them with: rat landing landing\/\)/],
      ['landing/nothing/*.csv', /nothing in the landing zone matches landing\/nothing\/\*\.csv; landing\/ holds .*present\//],
      ['landing/present/sub/', /landing\/present\/sub\/; landing\/present\/ holds a\.csv/],
      [join(dir, 'nothing', '*.csv'), /nothing matches .*\/present\/nothing\/\*\.csv: no such folder .*\/present\/nothing; .*\/present holds a\.csv$/],
      [join(dir, 'b.csv'), /no such file or folder: .*\/present\/b\.csv; .*\/present holds a\.csv$/],
    ] as const;
    for (const [spec, message] of missing) {
      await expect(fx.ingestion.ingest(spec, 'bronze.nothing'), spec).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND', message: expect.stringMatching(message) });
    }
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'nothing' })).toBe(false);
  });

  it('is an empty batch when the folder exists: an empty local folder, a glob matching nothing in it, or a landing folder emptied after an ingest', async () => {
    const dir = await folder('emptied', { 'a.csv': 'id,v\n1,a\n' });
    expect((await fx.ingestion.ingest(join(dir, '*.json'), 'bronze.emptied')).files).toEqual([]);
    await mkdir(join(dir, 'empty'));
    expect((await fx.ingestion.ingest(join(dir, 'empty'), 'bronze.emptied')).files).toEqual([]);
    await fx.ingestion.upload([join(dir, 'a.csv')], 'landing/emptied/');
    expect((await fx.ingestion.ingest('landing/emptied/', 'bronze.emptied', { skipExisting: true })).succeeded).toBe(1);
    // The file is archived away; the scheduled batch of the folder goes on, with nothing to do.
    await fx.rat.store.delete('landing/emptied/a.csv');
    expect((await fx.ingestion.ingest('landing/emptied/', 'bronze.emptied', { skipExisting: true })).files).toEqual([]);
    expect((await fx.ingestion.ingest('landing/emptied/*.csv', 'bronze.emptied', { skipExisting: true })).files).toEqual([]);
    // Into another table the folder never fed, it is as good as a typo.
    await expect(fx.ingestion.ingest('landing/emptied/', 'bronze.other')).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  });
});

describe('a folder of data files', () => {
  it('leaves out the README, licence and notes beside the data, locally and in landing; named or globbed they are read', async () => {
    const dir = await folder('documented', {
      'data.csv': 'id,v\n1,a\n',
      'README.txt': 'This folder holds the exports.\nContact: bob\n',
      'LICENSE': 'CC-BY\n',
      'notes.md': '# notes\n',
      'more.tsv': 'id\tv\n2\tb\n',
    });
    expect((await resolveSources(fx.rat.store, dir)).map((s) => basename(s.display))).toEqual(['data.csv', 'more.tsv']);
    await fx.ingestion.upload([join(dir, 'data.csv'), join(dir, 'README.txt')], 'landing/documented/');
    expect((await resolveSources(fx.rat.store, 'landing/documented/')).map((s) => s.display)).toEqual(['landing/documented/data.csv']);
    const report = await fx.ingestion.ingest(dir, 'bronze.documented');
    expect(report.files.map((f) => [basename(f.file), f.status])).toEqual([
      ['data.csv', 'success'],
      ['more.tsv', 'success'],
    ]);
    expect(Object.keys((await fx.rat.query('SELECT * FROM bronze.documented LIMIT 1'))[0]!)).toEqual(['id', 'v', '_source_file', '_ingested_at']);
    expect((await resolveSources(fx.rat.store, join(dir, 'README.txt'))).map((s) => basename(s.display))).toEqual(['README.txt']);
    expect((await resolveSources(fx.rat.store, join(dir, '*.txt'))).map((s) => basename(s.display))).toEqual(['README.txt']);
  });

  it('leaves out hidden files of a folder, locally and in landing; a glob matching them reads them in both; an uploaded folder keeps them', async () => {
    const dir = await folder('hidden', { 'data.csv': 'id\n1\n', '.hidden.csv': 'id\n2\n', '.keep': '' });
    await folder('hidden/.cache', { 'x.csv': 'id\n3\n' });
    const names = async (spec: string) => (await resolveSources(fx.rat.store, spec)).map((s) => s.display.slice(s.display.indexOf('hidden/') + 'hidden/'.length));
    expect(await names(dir)).toEqual(['data.csv']);
    expect(await names(join(dir, '.h*'))).toEqual(['.hidden.csv']);
    expect(await names(join(dir, '*.csv'))).toEqual(['.hidden.csv', 'data.csv']);
    expect(await names(join(dir, '**/*.csv'))).toEqual(['.cache/x.csv', '.hidden.csv', 'data.csv']);
    // The folder uploaded as it is: the same specs name the same files in landing.
    expect((await fx.ingestion.upload([dir], 'landing/')).map((l) => l.key)).toEqual(['landing/hidden/.cache/x.csv', 'landing/hidden/.hidden.csv', 'landing/hidden/.keep', 'landing/hidden/data.csv']);
    expect(await names('landing/hidden/')).toEqual(['data.csv']);
    expect(await names('landing/hidden/.h*')).toEqual(['.hidden.csv']);
    expect(await names('landing/hidden/*.csv')).toEqual(['.hidden.csv', 'data.csv']);
    expect(await names('landing/hidden/**/*.csv')).toEqual(['.cache/x.csv', '.hidden.csv', 'data.csv']);
    const report = await fx.ingestion.ingest(join(dir, '.h*'), 'bronze.hidden');
    expect(report.files.map((f) => [basename(f.file), f.status, f.rowsIngested])).toEqual([['.hidden.csv', 'success', 1]]);
  });

  it('reads what its symbolic links point to, in ingest and upload alike; a link back up is followed once; one pointing nowhere fails naming it', async () => {
    const shared = await folder('linked-shared', { 'other.csv': 'id,v\n2,other.csv\n' });
    await folder('linked-shared/sub', { 'r.csv': 'id,v\n3,r.csv\n' });
    const dir = await folder('linked', { 'plain.csv': 'id,v\n1,plain.csv\n' });
    await symlink(join(shared, 'other.csv'), join(dir, 'link.csv'));
    await symlink(join(shared, 'sub'), join(dir, 'linkdir'));
    // A link to the folder itself: walked once, not forever.
    await symlink(dir, join(dir, 'self'));
    const names = async (spec: string) => (await resolveSources(fx.rat.store, spec)).map((s) => s.display.slice(s.display.indexOf('linked/') + 'linked/'.length));
    expect(await names(dir)).toEqual(['link.csv', 'linkdir/r.csv', 'plain.csv']);
    expect(await names(join(dir, '**/*.csv'))).toEqual(['link.csv', 'linkdir/r.csv', 'plain.csv']);
    const report = await fx.ingestion.ingest(dir, 'bronze.linked');
    expect(report.files.map((f) => [basename(f.file), f.status])).toEqual([['link.csv', 'success'], ['r.csv', 'success'], ['plain.csv', 'success']]);
    expect(await rowsAndSources('bronze.linked')).toEqual([
      { v: 'other.csv', file: 'link.csv' },
      { v: 'plain.csv', file: 'plain.csv' },
      { v: 'r.csv', file: 'r.csv' },
    ]);
    expect((await fx.ingestion.upload([dir], 'landing/')).map((l) => [l.key, l.size])).toEqual([
      ['landing/linked/link.csv', 17],
      ['landing/linked/linkdir/r.csv', 13],
      ['landing/linked/plain.csv', 17],
    ]);
    expect(Buffer.from(await fx.rat.store.get('landing/linked/link.csv')).toString()).toBe('id,v\n2,other.csv\n');
    // A link pointing nowhere: the ingest fails that file by name, the upload lands nothing.
    await symlink(join(shared, 'gone.csv'), join(dir, 'dangling.csv'));
    const again = await fx.ingestion.ingest(dir, 'bronze.linked_again');
    expect(again.files.map((f) => [basename(f.file), f.status])).toEqual([['dangling.csv', 'failed'], ['link.csv', 'success'], ['r.csv', 'success'], ['plain.csv', 'success']]);
    expect(again.files[0]!.error).toContain(join(dir, 'dangling.csv'));
    await expect(fx.ingestion.upload([dir], 'landing/linked-again/')).rejects.toThrow(`${join(dir, 'dangling.csv')} is a symbolic link to ${join(shared, 'gone.csv')}, which does not exist; nothing was uploaded`);
    await expect(fx.ingestion.listLanding('landing/linked-again/')).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  });
});
