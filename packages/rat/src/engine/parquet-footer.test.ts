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
      { name: 'id', kind: 'primitive', type: 'BIGINT', physicalType: 'INT64', children: [] },
      { name: 'name', kind: 'primitive', type: 'VARCHAR', physicalType: 'BYTE_ARRAY', children: [] },
      { name: 'age', kind: 'primitive', type: 'BIGINT', physicalType: 'INT64', children: [] },
      {
        name: 'attributes',
        kind: 'map',
        children: [
          { name: 'key', kind: 'primitive', type: 'VARCHAR', physicalType: 'BYTE_ARRAY', children: [] },
          { name: 'value', kind: 'primitive', type: 'VARCHAR', physicalType: 'BYTE_ARRAY', children: [] },
        ],
      },
      { name: 'scores', kind: 'list', children: [{ name: 'element', kind: 'primitive', type: 'BIGINT', physicalType: 'INT64', children: [] }] },
      {
        name: 'profile',
        kind: 'struct',
        children: [
          { name: 'email', kind: 'primitive', type: 'VARCHAR', physicalType: 'BYTE_ARRAY', children: [] },
          { name: 'verified', kind: 'primitive', type: 'BOOLEAN', physicalType: 'BOOLEAN', children: [] },
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
      children: [{ name: 'element', fieldId: 5, kind: 'struct', children: [{ name: 'y', fieldId: 6, kind: 'primitive', type: 'INTEGER', physicalType: 'INT32', children: [] }] }],
    });
  });

  it('keeps the Parquet physical type and a fixed length, which the BLOB type DuckDB reports hides, and a decimal\'s precision and scale', async () => {
    const path = join(dir, 'physical.parquet');
    await db.run(`COPY (SELECT 'x'::BLOB AS b, uuid() AS u, 1.5::DECIMAL(5,2) AS d) TO ${quoteString(path)} (FORMAT parquet)`);
    const footer = (await readParquetFooters(db, [path], new Map())).get(path)!;
    expect(footer.columns).toEqual([
      { name: 'b', kind: 'primitive', type: 'BLOB', physicalType: 'BYTE_ARRAY', children: [] },
      { name: 'u', kind: 'primitive', type: 'UUID', physicalType: 'FIXED_LEN_BYTE_ARRAY', typeLength: 16, children: [] },
      { name: 'd', kind: 'primitive', type: 'DECIMAL(5,2)', physicalType: 'INT32', decimal: { precision: 5, scale: 2 }, children: [] },
    ]);
  });
});
