import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
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
