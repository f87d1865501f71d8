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

  it('is what the written Parquet files use; a table whose property rat cannot honour refuses the write and stays as it was', async () => {
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
    await lake.executor.writer.commitMetadata(ident, (base) => ({ ...base.metadata, properties: { ...base.metadata.properties, 'write.parquet.compression-codec': 'snappy' } }));
    await lake.sql('INSERT INTO bronze.codec SELECT 5000, \'y\'');
    expect((await codecs()).sort()).toEqual(['SNAPPY', 'ZSTD']);
    await lake.executor.writer.commitMetadata(ident, (base) => ({ ...base.metadata, properties: { ...base.metadata.properties, 'write.parquet.compression-codec': 'lzo' } }));
    const before = await lake.snapshots('bronze.codec');
    await expect(lake.sql('INSERT INTO bronze.codec SELECT 6000, \'z\'')).rejects.toThrow(/write.parquet.compression-codec of bronze.codec is "lzo"/);
    expect(await lake.snapshots('bronze.codec')).toEqual(before);
    expect(await lake.query('SELECT count(*)::INT AS n FROM bronze.codec')).toEqual([{ n: 1001 }]);
  });
});
