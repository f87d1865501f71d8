import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';
import { type Lakehouse, openLakehouse } from './lakehouse.js';

/**
 * DuckDB's Parquet reader takes `*`, `?` and `[...]` in a path as a glob, directories included: a
 * home at `lake [1]` would read the files of a `lake 1` beside it. It must read exactly its own data
 * and delete files (quoteFilePath).
 */
describe('a home whose path holds glob characters', () => {
  let root: string;
  let rat: Lakehouse;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rat-home-path-'));
    const home = path.join(root, 'lake [1]');
    await mkdir(home);
    rat = await openLakehouse({ home, env: {}, threads: 2, ...catalogOptions(home) });
  });
  afterAll(async () => {
    await rat.close();
    await rm(root, { recursive: true, force: true });
  });

  it('reads, deletes and updates rows, and reads the deletes back', async () => {
    await rat.sql('CREATE TABLE bronze.glob_home (id INTEGER, name VARCHAR)');
    await rat.sql(`INSERT INTO bronze.glob_home VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    await rat.sql(`INSERT INTO bronze.glob_home VALUES (4, 'd')`);
    await rat.sql('DELETE FROM bronze.glob_home WHERE id = 2');
    await rat.sql(`UPDATE bronze.glob_home SET name = 'D' WHERE id = 4`);
    // A copy of the home where the glob would look, every Parquet file in it junk.
    const sibling = path.join(root, 'lake 1');
    await cp(path.join(root, 'lake [1]'), sibling, { recursive: true });
    for (const entry of await readdir(sibling, { recursive: true })) {
      if (String(entry).endsWith('.parquet')) await writeFile(path.join(sibling, String(entry)), 'not parquet');
    }
    expect(await rat.query('SELECT id, name FROM bronze.glob_home ORDER BY id')).toEqual([
      { id: 1, name: 'a' },
      { id: 3, name: 'c' },
      { id: 4, name: 'D' },
    ]);
  });
});
