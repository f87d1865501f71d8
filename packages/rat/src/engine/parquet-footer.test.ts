import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb, quoteString, type DuckDb } from './duckdb.js';
import { hasFieldIds, type ParquetFooter, readParquetFooters } from './parquet-footer.js';

const MOCK_DATA = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/column_mapping/warehouse/example/mock_data.parquet', import.meta.url));

describe('Parquet footers', () => {
  let db: DuckDb;
  let dir: string;
  beforeAll(async () => {
    db = await openDuckDb({ threads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'rat-footer-'));
  });
  afterAll(async () => {
    db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('folds the LIST and MAP groups of a file PyIceberg add_files registered (no field ids)', async () => {
    const cache = new Map<string, ParquetFooter>();
    const footer = (await readParquetFooters(db, [MOCK_DATA], cache)).get(MOCK_DATA)!;
    expect(hasFieldIds(footer)).toBe(false);
    expect(footer.columns).toEqual([
      { name: 'id', kind: 'primitive', type: 'BIGINT', children: [] },
      { name: 'name', kind: 'primitive', type: 'VARCHAR', children: [] },
      { name: 'age', kind: 'primitive', type: 'BIGINT', children: [] },
      {
        name: 'attributes',
        kind: 'map',
        children: [
          { name: 'key', kind: 'primitive', type: 'VARCHAR', children: [] },
          { name: 'value', kind: 'primitive', type: 'VARCHAR', children: [] },
        ],
      },
      { name: 'scores', kind: 'list', children: [{ name: 'element', kind: 'primitive', type: 'BIGINT', children: [] }] },
      {
        name: 'profile',
        kind: 'struct',
        children: [
          { name: 'email', kind: 'primitive', type: 'VARCHAR', children: [] },
          { name: 'verified', kind: 'primitive', type: 'BOOLEAN', children: [] },
        ],
      },
    ]);
    expect(cache.has(MOCK_DATA)).toBe(true);
  });

  it('keeps the field ids of a file that has them, nested ones included', async () => {
    const path = join(dir, 'ids.parquet');
    await db.run(
      `COPY (SELECT 1 AS a, {'x': 1} AS s, [{'y': 2}] AS l) TO ${quoteString(path)}
       (FORMAT parquet, FIELD_IDS {a: 1, s: {__duckdb_field_id: 2, x: 3}, l: {__duckdb_field_id: 4, element: {__duckdb_field_id: 5, y: 6}}})`,
    );
    const footer = (await readParquetFooters(db, [path], new Map())).get(path)!;
    expect(hasFieldIds(footer)).toBe(true);
    expect([...footer.fieldIds].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(footer.columns[2]).toEqual({
      name: 'l',
      fieldId: 4,
      kind: 'list',
      children: [{ name: 'element', fieldId: 5, kind: 'struct', children: [{ name: 'y', fieldId: 6, kind: 'primitive', type: 'INTEGER', children: [] }] }],
    });
  });
});
