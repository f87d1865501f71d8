import { describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { quoteString } from './duckdb.js';
import { parquetCompression } from './data-writer.js';
import { suiteLake } from './test-support/lake-home.js';

describe('the codec of data files', () => {
  it('comes from write.parquet.compression-codec and -level, zstd by default; a bad value names the property', () => {
    expect(parquetCompression()).toBe('COMPRESSION zstd, COMPRESSION_LEVEL 1');
    expect(parquetCompression({ 'write.parquet.compression-codec': 'SNAPPY' })).toBe('COMPRESSION snappy');
    expect(parquetCompression({ 'write.parquet.compression-level': '9' })).toBe('COMPRESSION zstd, COMPRESSION_LEVEL 9');
    expect(() => parquetCompression({ 'write.parquet.compression-codec': 'lzo' }, 'bronze.t')).toThrow(/write.parquet.compression-codec of bronze.t is "lzo": use one of zstd, snappy/);
    expect(() => parquetCompression({ 'write.parquet.compression-level': '0' }, 'bronze.t')).toThrow(/write.parquet.compression-level of bronze.t is "0": use a whole number from 1 to 22/);
    expect(() => parquetCompression({ 'write.parquet.compression-codec': 'gzip', 'write.parquet.compression-level': '5' }, 'bronze.t')).toThrow(/level to zstd only \(write.parquet.compression-codec is gzip\)/);
  });

  const suite = suiteLake('sqlite', 'rat-codec-');

  it('is what the written Parquet files use, set by ALTER TABLE ... SET TBLPROPERTIES; a value rat cannot honour is refused when set, or at the write', async () => {
    const { lake } = suite;
    const ident = parseTableIdent('bronze.codec');
    await lake.sql('CREATE SCHEMA IF NOT EXISTS bronze; CREATE TABLE bronze.codec AS SELECT range AS id, repeat(\'x\', 50) AS pad FROM range(1000)');
    const codecs = async () => {
      const table = await lake.catalog.loadTable(ident);
      const { scan } = await lake.executor.reader.plan(table);
      const paths = scan.tasks.map((t) => quoteString(new URL(t.dataFile.filePath).pathname));
      const rows = await lake.duck.rows<{ f: string; c: string }>(`SELECT DISTINCT file_name AS f, compression AS c FROM parquet_metadata([${paths.join(', ')}]) ORDER BY f`);
      return rows.map((r) => r.c);
    };
    expect(await codecs()).toEqual(['ZSTD']);
    await lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('write.parquet.compression-codec' = 'snappy', 'owner.team' = 'data')`);
    const properties = async () => (await lake.catalog.loadTable(ident)).metadata.properties;
    expect(await properties()).toMatchObject({ 'write.parquet.compression-codec': 'snappy', 'owner.team': 'data' });
    await lake.sql('INSERT INTO bronze.codec SELECT 5000, \'y\'');
    expect((await codecs()).sort()).toEqual(['SNAPPY', 'ZSTD']);

    // Refused when set, naming the property and the value; the table keeps its properties.
    const location = (await lake.catalog.loadTable(ident)).metadataLocation;
    await expect(lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('write.parquet.compression-level' = 9)`)).rejects.toThrow(/level to zstd only \(write.parquet.compression-codec is snappy\)/);
    await expect(lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('commit.manifest.min-count-to-merge' = 'many')`)).rejects.toThrow(/commit.manifest.min-count-to-merge of bronze.codec is "many": use a whole number/);
    await expect(lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('format-version' = '3')`)).rejects.toThrow(/format-version of bronze.codec cannot be changed/);
    await expect(lake.sql(`ALTER TABLE bronze.codec UNSET TBLPROPERTIES ('never.set')`)).rejects.toThrow(/never.set is not set on bronze.codec/);
    await expect(lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES (owner = 'x')`)).rejects.toThrow(/a key is a non-empty string in single quotes, not "owner"/);
    await expect(lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('owner' 'x')`)).rejects.toThrow(/expected = after 'owner'/);
    expect((await lake.catalog.loadTable(ident)).metadataLocation).toBe(location);

    await lake.sql(`ALTER TABLE bronze.codec UNSET TBLPROPERTIES IF EXISTS ('write.parquet.compression-codec', 'never.set')`);
    await lake.sql(`ALTER TABLE bronze.codec SET TBLPROPERTIES ('write.parquet.compression-level' = 9)`);
    expect(await properties()).toMatchObject({ 'write.parquet.compression-level': '9', 'owner.team': 'data' });
    expect(await properties()).not.toHaveProperty('write.parquet.compression-codec');
    await lake.sql('INSERT INTO bronze.codec SELECT 5001, \'y\'');
    expect((await codecs()).sort()).toEqual(['SNAPPY', 'ZSTD', 'ZSTD']);
    // A value rat cannot honour, set by another engine sharing the catalog: the write is refused.
    await lake.executor.writer.commitMetadata(ident, (base) => ({ ...base.metadata, properties: { ...base.metadata.properties, 'write.parquet.compression-codec': 'lzo' } }));
    const before = await lake.snapshots('bronze.codec');
    await expect(lake.sql('INSERT INTO bronze.codec SELECT 6000, \'z\'')).rejects.toThrow(/write.parquet.compression-codec of bronze.codec is "lzo"/);
    expect(await lake.snapshots('bronze.codec')).toEqual(before);
    expect(await lake.query('SELECT count(*)::INT AS n FROM bronze.codec')).toEqual([{ n: 1002 }]);
  });
});
