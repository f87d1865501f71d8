import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { maintain } from '../maintenance/maintain.js';
import type { DuckDb } from './duckdb.js';
import type { Lakehouse } from './lakehouse.js';
import { createTableReader } from './table-reader.js';
import { startIcebirdReader } from './test-support/icebird-reader.js';
import { suiteLake } from './test-support/lake-home.js';

/**
 * Spec "Column Projection": a data file's columns are resolved by field id; a column the file lacks
 * reads as NULL. The reader may skip the mapping (read by name, as raw DuckDB does) only when every
 * file is known to store the current columns. Which schema a file was written under is a property of
 * the file (the snapshot that added it), not of the manifest listing it: a manifest rewritten by an
 * UPDATE/DELETE or merged later lists files written before a schema change under the new schema.
 */
describe('table reader: files written before a schema change', () => {
  const suite = suiteLake('sqlite', 'rat-reader-');

  async function scanSqlOf(lake: Lakehouse, name: string): Promise<string> {
    return (await lake.executor.reader.plan(await lake.catalog.loadTable(parseTableIdent(name)))).sql;
  }

  async function currentSnapshot(lake: Lakehouse, name: string): Promise<bigint> {
    return (await lake.catalog.loadTable(parseTableIdent(name))).metadata.currentSnapshotId!;
  }

  it('reads a column added after the files of a partitioned table, once an UPDATE rewrote their manifest', async () => {
    const lake = suite.lake;
    // One INSERT, two partitions: two files in one manifest.
    await lake.sql('CREATE TABLE bronze.pu (id BIGINT, ts TIMESTAMP, amt INT) PARTITIONED BY (month(ts))');
    await lake.sql(`INSERT INTO bronze.pu VALUES (1, TIMESTAMP '2024-01-01 10:00:00', 5), (2, TIMESTAMP '2024-02-01 10:00:00', 6)`);
    const beforeDrift = await currentSnapshot(lake, 'bronze.pu');
    await lake.sql('ALTER TABLE bronze.pu ADD COLUMN extra VARCHAR');
    await lake.sql(`INSERT INTO bronze.pu VALUES (3, TIMESTAMP '2024-03-01 10:00:00', 7, 'y')`);
    // Rewrites the February file; the January file is carried into a manifest written under the new schema.
    await lake.sql(`UPDATE bronze.pu SET extra = 'x' WHERE id = 2`);
    expect(await lake.query('SELECT id::INT AS id, amt, extra FROM bronze.pu ORDER BY id')).toEqual([
      { id: 1, amt: 5, extra: null },
      { id: 2, amt: 6, extra: 'x' },
      { id: 3, amt: 7, extra: 'y' },
    ]);
    expect(await scanSqlOf(lake, 'bronze.pu')).toMatch(/schema\s*=/);
    // A DELETE on top, and the snapshot before the column: as they were.
    await lake.sql('DELETE FROM bronze.pu WHERE id = 3');
    expect(await lake.query('SELECT id::INT AS id, extra FROM bronze.pu ORDER BY id')).toEqual([
      { id: 1, extra: null },
      { id: 2, extra: 'x' },
    ]);
    expect(await lake.query(`SELECT id::INT AS id, amt FROM bronze.pu AT (VERSION => ${beforeDrift}) ORDER BY id`)).toEqual([
      { id: 1, amt: 5 },
      { id: 2, amt: 6 },
    ]);
    // An independent reader (icebird) reads the same rows from the metadata rat wrote.
    const icebird = await startIcebirdReader(suite.home.home);
    try {
      const description = await lake.describeTable('bronze.pu');
      const rows = await icebird.read(description.location, basename(description.metadataLocation));
      expect(rows.map((r) => `${String(r.id)}:${String(r.extra ?? null)}`).sort()).toEqual(['1:null', '2:x']);
    } finally {
      await icebird.close();
    }
  });

  it('reads NULL, not the old values, for a column dropped and added again under the same name', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.pd (id BIGINT, k INT, v VARCHAR) PARTITIONED BY (k)');
    await lake.sql(`INSERT INTO bronze.pd VALUES (1, 1, 'old1'), (2, 2, 'old2')`);
    await lake.sql('ALTER TABLE bronze.pd DROP COLUMN v');
    await lake.sql('ALTER TABLE bronze.pd ADD COLUMN v VARCHAR');
    // Removes the k=2 file: the k=1 file (with the dropped column's "v") moves into a manifest of the new schema.
    await lake.sql('DELETE FROM bronze.pd WHERE id = 2');
    expect(await lake.query('SELECT id::INT AS id, v FROM bronze.pd ORDER BY id')).toEqual([{ id: 1, v: null }]);
  });

  it('reads a column added then renamed, once an UPDATE carried a file written under the old name over', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.pr (id BIGINT, k INT, amt INT) PARTITIONED BY (k)');
    await lake.sql('ALTER TABLE bronze.pr ADD COLUMN extra VARCHAR');
    await lake.sql(`INSERT INTO bronze.pr VALUES (1, 1, 10, 'a'), (2, 2, 20, 'b')`);
    await lake.sql('ALTER TABLE bronze.pr RENAME COLUMN extra TO note');
    await lake.sql('ALTER TABLE bronze.pr RENAME COLUMN amt TO amount');
    // The k=2 file is written again; the k=1 file (columns "amt" and "extra") moves into a manifest of the newest schema.
    await lake.sql(`UPDATE bronze.pr SET note = 'bb' WHERE id = 2`);
    expect(await lake.query('SELECT id::INT AS id, amount, note FROM bronze.pr ORDER BY id')).toEqual([
      { id: 1, amount: 10, note: 'a' },
      { id: 2, amount: 20, note: 'bb' },
    ]);
  });

  it('reads an unpartitioned table whose older manifests were merged under the new schema', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.um (id BIGINT, amt INT)');
    await lake.executor.writer.commitMetadata(parseTableIdent('bronze.um'), (base) => ({ ...base.metadata, properties: { ...base.metadata.properties, 'commit.manifest.min-count-to-merge': '2' } }));
    await lake.sql('INSERT INTO bronze.um VALUES (1, 10)');
    await lake.sql('INSERT INTO bronze.um VALUES (2, 20)');
    await lake.sql('ALTER TABLE bronze.um ADD COLUMN extra VARCHAR');
    // This commit merges the two carried manifests into one written under the new schema.
    await lake.sql(`INSERT INTO bronze.um VALUES (3, 30, 'c')`);
    const table = await lake.catalog.loadTable(parseTableIdent('bronze.um'));
    const snapshot = table.metadata.snapshots.find((s) => s.snapshotId === table.metadata.currentSnapshotId)!;
    const manifests = await lake.executor.reader.manifestCache(table.pathMap).manifestList(snapshot.manifestList);
    expect(manifests.filter((m) => m.existingFilesCount === 2)).toHaveLength(1);
    expect(await lake.query('SELECT id::INT AS id, extra FROM bronze.um ORDER BY id')).toEqual([
      { id: 1, extra: null },
      { id: 2, extra: null },
      { id: 3, extra: 'c' },
    ]);
  });

  /**
   * Plans the table's scan with a reader of its own (a new process: nothing cached) on a DuckDB that only
   * records statements: planning a scan of this platform's tables must read no Parquet footer.
   */
  async function coldPlan(lake: Lakehouse, name: string): Promise<{ sql: string; statements: string[] }> {
    const statements: string[] = [];
    const record = (sql: string): Promise<never> => {
      statements.push(sql);
      return Promise.reject(new Error(`unexpected DuckDB statement while planning: ${sql}`));
    };
    const db: DuckDb = {
      get connection(): never {
        throw new Error('unexpected DuckDB connection while planning');
      },
      rows: record,
      run: record,
      connect: () => Promise.reject(new Error('unexpected DuckDB connection while planning')),
      close: () => undefined,
    };
    const { sql } = await createTableReader(lake.catalog, db).plan(await lake.catalog.loadTable(parseTableIdent(name)));
    return { sql, statements };
  }

  it('reads by name, with no footer read, where the table never changed its columns, expired snapshots included', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.fast (id BIGINT, k INT) PARTITIONED BY (k)');
    for (let i = 1; i <= 3; i++) await lake.sql(`INSERT INTO bronze.fast VALUES (${i}, ${i})`);
    await lake.sql('DELETE FROM bronze.fast WHERE id = 3');
    expect(await scanSqlOf(lake, 'bronze.fast')).not.toMatch(/schema\s*=/);
    // Expire every snapshot but the current one: the snapshots that added the files are gone.
    await maintain(lake, { tables: ['bronze.fast'], retainMs: 0, retainLast: 1, compaction: false, orphans: false });
    const table = await lake.catalog.loadTable(parseTableIdent('bronze.fast'));
    expect(table.metadata.snapshots).toHaveLength(1);
    const cold = await coldPlan(lake, 'bronze.fast');
    expect(cold.statements).toEqual([]);
    expect(cold.sql).not.toMatch(/schema\s*=/);
    expect(await lake.query('SELECT id::INT AS id, k FROM bronze.fast ORDER BY id')).toEqual([
      { id: 1, k: 1 },
      { id: 2, k: 2 },
    ]);
    // A doc-only change adds a schema that still reads alike: still by name.
    await lake.executor.writer.commitMetadata(parseTableIdent('bronze.fast'), (base) => {
      const current = base.metadata.schemas.find((s) => s.schemaId === base.metadata.currentSchemaId)!;
      const schema = { ...current, schemaId: 1, fields: current.fields.map((f) => (f.name === 'k' ? { ...f, doc: 'the key' } : f)) };
      return { ...base.metadata, schemas: [...base.metadata.schemas, schema], currentSchemaId: 1 };
    });
    expect((await coldPlan(lake, 'bronze.fast')).sql).not.toMatch(/schema\s*=/);

    // After a new column the old files (their snapshots expired) are mapped by field id, still without a footer read.
    await lake.sql('ALTER TABLE bronze.fast ADD COLUMN extra VARCHAR');
    await lake.sql(`INSERT INTO bronze.fast VALUES (4, 4, 'd')`);
    await maintain(lake, { tables: ['bronze.fast'], retainMs: 0, retainLast: 1, compaction: false, orphans: false });
    const drifted = await coldPlan(lake, 'bronze.fast');
    expect(drifted.statements).toEqual([]);
    expect(drifted.sql).toMatch(/schema\s*=/);
    expect(await lake.query('SELECT id::INT AS id, k, extra FROM bronze.fast ORDER BY id')).toEqual([
      { id: 1, k: 1, extra: null },
      { id: 2, k: 2, extra: null },
      { id: 4, k: 4, extra: 'd' },
    ]);
  });

  it('maps the files by field id when older schemas were removed from the metadata (as other engines expire them)', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.pruned (id BIGINT, amt INT)');
    await lake.sql('INSERT INTO bronze.pruned VALUES (1, 10)');
    await lake.sql('ALTER TABLE bronze.pruned RENAME COLUMN amt TO amount');
    await lake.sql('INSERT INTO bronze.pruned VALUES (2, 20)');
    await maintain(lake, { tables: ['bronze.pruned'], retainMs: 0, retainLast: 1, compaction: false, orphans: false });
    // Only the current schema is left: every listed schema reads alike, yet the first file stores "amt".
    await lake.executor.writer.commitMetadata(parseTableIdent('bronze.pruned'), (base) => ({
      ...base.metadata,
      schemas: base.metadata.schemas.filter((s) => s.schemaId === base.metadata.currentSchemaId),
    }));
    const table = await lake.catalog.loadTable(parseTableIdent('bronze.pruned'));
    expect(table.metadata.schemas.map((s) => s.schemaId)).toEqual([1]);
    expect((await coldPlan(lake, 'bronze.pruned')).sql).toMatch(/schema\s*=/);
    expect(await lake.query('SELECT id::INT AS id, amount FROM bronze.pruned ORDER BY id')).toEqual([
      { id: 1, amount: 10 },
      { id: 2, amount: 20 },
    ]);
  });

  it('reads the drifted table on a data branch', async () => {
    const lake = suite.lake;
    await lake.sql('CREATE TABLE bronze.pb (id BIGINT, k INT) PARTITIONED BY (k)');
    await lake.sql('INSERT INTO bronze.pb VALUES (1, 1), (2, 2)');
    await lake.catalog.refs.create('branch', 'drift');
    const dev = await suite.home.open({ branch: 'drift' });
    await dev.sql('ALTER TABLE bronze.pb ADD COLUMN extra VARCHAR');
    await dev.sql(`UPDATE bronze.pb SET extra = 'b' WHERE id = 2`);
    expect(await dev.query('SELECT id::INT AS id, extra FROM bronze.pb ORDER BY id')).toEqual([
      { id: 1, extra: null },
      { id: 2, extra: 'b' },
    ]);
    expect(await lake.query('SELECT id::INT AS id FROM bronze.pb ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
