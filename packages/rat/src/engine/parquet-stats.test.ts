import { describe, expect, it } from 'vitest';
import { parseTableIdent } from '../catalog/identifiers.js';
import { currentSchema } from '../iceberg/metadata.js';
import type { DataFile } from '../iceberg/types.js';
import { writeDataFiles } from './data-writer.js';
import { dataFileFromParquet } from './parquet-stats.js';
import { suiteLake } from './test-support/lake-home.js';

/**
 * The data_file records of files rat writes come from the statistics DuckDB's COPY returns; those of
 * existing files from their footers. Both must describe a file the same way, for every type: here
 * the two are built for the same written files and compared field by field.
 */
describe('data file statistics from the writing COPY', () => {
  const suite = suiteLake('sqlite', 'rat-stats-');

  const ROWS = `SELECT range % 3 = 0 AS flag, CAST(range - 50 AS INTEGER) AS small, CAST(range * 1000000000000 - 5 AS BIGINT) AS big,
      CAST(range / 3 AS FLOAT) AS f, CASE WHEN range = 7 THEN 'NaN'::DOUBLE WHEN range = 8 THEN NULL ELSE range / 7 - 3 END AS d_nan,
      CAST(range / 7 - 3 AS DOUBLE) AS d, CAST(range - 50.25 AS DECIMAL(10,2)) AS dec, CAST(range * 1.5 AS DECIMAL(38,6)) AS wide,
      DATE '1969-12-25' + CAST(range AS INTEGER) AS day, TIME '01:02:03.456789' + INTERVAL (range) SECOND AS t,
      TIMESTAMP '1969-12-31 23:59:59.123456' + INTERVAL (range) HOUR AS ts, TIMESTAMPTZ '2026-01-01 00:00:00.5+00' + INTERVAL (range) MINUTE AS tz,
      CASE WHEN range = 3 THEN 'zz-ü-' || repeat('x', 100) WHEN range = 4 THEN NULL ELSE 'é' || range END AS s,
      uuid() AS u, encode('ab' || range) AS bin, NULL::INTEGER AS nothing, [range, range + 1] AS l, {'a': range, 'b': 'v' || range} AS st,
      MAP {'k' || range: range} AS m
    FROM range(200)`;

  async function compare(files: DataFile[]): Promise<void> {
    expect(files.length).toBeGreaterThan(0);
    const table = await suite.lake.catalog.loadTable(parseTableIdent('bronze.stats'));
    for (const file of files) {
      const localPath = await suite.lake.store.localPath(suite.lake.store.keyOf(file.filePath)!);
      const fromFooter = await dataFileFromParquet(suite.lake.duck, { localPath, filePath: file.filePath, fileSizeInBytes: file.fileSizeInBytes, schema: currentSchema(table.metadata), partition: {} });
      expect(file).toStrictEqual(fromFooter);
    }
  }

  it('gives the same record as the footer for every type, with nulls, NaN, nested columns and an all-null column', async () => {
    await suite.lake.sql(`CREATE TABLE bronze.stats AS ${ROWS}`);
    const table = await suite.lake.catalog.loadTable(parseTableIdent('bronze.stats'));
    const { scan } = await suite.lake.executor.reader.plan(table);
    const files = scan.tasks.map((t) => t.dataFile);
    await compare(files);
    const file = files[0]!;
    const schema = currentSchema(table.metadata);
    const id = (name: string) => schema.fields.find((f) => f.name === name)!.id;
    // And the record says what is in the file.
    expect(file.recordCount).toBe(200);
    expect(file.nullValueCounts?.get(id('s'))).toBe(1);
    expect(file.nullValueCounts?.get(id('nothing'))).toBe(200);
    expect(file.lowerBounds?.has(id('d'))).toBe(true);
    expect(file.lowerBounds?.has(id('d_nan'))).toBe(false);
    expect(file.lowerBounds?.has(id('nothing'))).toBe(false);
  });

  it('gives the same records when one write makes several files (a new one after the row group that passes the target size)', async () => {
    const table = await suite.lake.catalog.loadTable(parseTableIdent('bronze.stats'));
    const rows = `SELECT * FROM (${ROWS}) CROSS JOIN range(1300) r(k)`;
    const columns = currentSchema(table.metadata).fields.map((f) => `"${f.name}"`).join(', ');
    const files = await writeDataFiles({
      db: suite.lake.duck,
      store: suite.lake.store,
      selectSql: `SELECT ${columns} FROM (${rows})`,
      schema: currentSchema(table.metadata),
      spec: { specId: 0, fields: [] },
      dataKey: 'warehouse/bronze/stats/data',
      table: 'bronze.stats',
      targetFileBytes: 8 * 1024,
    });
    expect(files.length).toBeGreaterThan(1);
    expect(files.reduce((n, f) => n + f.recordCount, 0)).toBe(260_000);
    await compare(files);
  });
});
