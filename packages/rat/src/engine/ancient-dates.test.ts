import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteLake } from './test-support/lake-home.js';

/**
 * Dates and timestamps in years 0..999 and before year 1: 0001-01-01 is a common "unknown" value
 * (.NET DateTime.MinValue). JavaScript's Date.UTC reads years 0..99 as 1900..1999, so such values
 * once got bounds 1900 years too late in the manifests, and filters skipped their files. Each WHERE
 * here must return the rows a plain DuckDB table returns, and the manifests must hold the true values.
 */
describe('dates and timestamps before the year 1000', () => {
  const suite = suiteLake('sqlite', 'rat-ancient-');
  let oracle: Awaited<ReturnType<DuckDBInstance['connect']>>;

  // One INSERT each, so each row is a file of its own with its own bounds.
  const ROWS = [
    `(1, DATE '0050-06-01', TIMESTAMP '0050-06-01 12:00:00', TIMESTAMPTZ '0050-06-01 12:00:00+00')`,
    `(2, DATE '0001-01-01', TIMESTAMP '0001-01-01 00:00:00', TIMESTAMPTZ '0001-01-01 00:00:00+00')`,
    `(3, DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMPTZ '2024-01-01 00:00:00+00')`,
    `(4, DATE '0044-03-15 (BC)', TIMESTAMP '0044-03-15 (BC) 06:30:00', TIMESTAMPTZ '0044-03-15 (BC) 06:30:00+00')`,
    `(5, DATE '0999-12-31', TIMESTAMP '0999-12-31 23:59:59.999999', TIMESTAMPTZ '0999-12-31 23:59:59.999999+00')`,
  ];

  beforeAll(async () => {
    oracle = await (await DuckDBInstance.create(':memory:')).connect();
    await oracle.run(`SET TimeZone = 'UTC'`);
    await oracle.run('CREATE SCHEMA bronze');
    for (const create of ['CREATE TABLE bronze.old (id INT, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ)', 'CREATE TABLE bronze.by_year (id INT, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ)']) {
      await oracle.run(create);
    }
    await suite.lake.sql('CREATE TABLE bronze.old (id INT, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ)');
    await suite.lake.sql('CREATE TABLE bronze.by_year (id INT, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ) PARTITIONED BY (year(dt), month(ts), day(tz))');
    for (const row of ROWS) {
      for (const table of ['bronze.old', 'bronze.by_year']) {
        await suite.lake.sql(`INSERT INTO ${table} VALUES ${row}`);
        await oracle.run(`INSERT INTO ${table} VALUES ${row}`);
      }
    }
  });

  afterAll(() => oracle?.closeSync());

  const WHERES = [
    `dt < DATE '1000-01-01'`,
    `dt = DATE '0050-06-01'`,
    `dt = DATE '0001-01-01'`,
    `dt <= DATE '0001-01-01'`,
    `dt BETWEEN DATE '0001-01-01' AND DATE '0100-01-01'`,
    `dt > DATE '1900-01-01'`,
    `dt = DATE '0044-03-15 (BC)'`,
    `dt < DATE '-0043-03-16'`,
    `ts < TIMESTAMP '1900-01-01'`,
    `ts = TIMESTAMP '0001-01-01 00:00:00'`,
    `ts BETWEEN TIMESTAMP '0050-06-01 11:59:59' AND TIMESTAMP '0050-06-01 12:00:00'`,
    `ts > TIMESTAMP '0999-12-31 23:59:59.999998'`,
    `ts = TIMESTAMP '0044-03-15 (BC) 06:30:00'`,
    `tz < TIMESTAMPTZ '1000-01-01 00:00:00+00'`,
    `tz = TIMESTAMPTZ '0001-01-01 00:00:00+00'`,
    `tz = TIMESTAMPTZ '0050-06-01 14:00:00+02'`,
    `tz BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' AND TIMESTAMPTZ '0050-12-31 00:00:00+00'`,
  ];

  async function ids(query: (sql: string) => Promise<Record<string, unknown>[]>, sql: string): Promise<number[]> {
    return (await query(sql)).map((r) => Number(r.id));
  }

  for (const table of ['bronze.old', 'bronze.by_year']) {
    it(`${table}: every WHERE returns the rows plain DuckDB returns, and skips the other files`, async () => {
      for (const where of WHERES) {
        const sql = `SELECT id FROM ${table} WHERE ${where} ORDER BY id`;
        suite.lake.takeScanRecords();
        const expected = await ids(async (s) => (await oracle.runAndReadAll(s)).getRowObjectsJson(), sql);
        expect(expected.length, where).toBeGreaterThan(0);
        expect(await ids((s) => suite.lake.query(s), sql), where).toEqual(expected);
        // Pruning did its work: the filter was used, and every file it kept holds a matching row.
        const [record] = suite.lake.takeScanRecords().filter((r) => r.table === table && r.predicates.length > 0);
        expect(record, where).toBeDefined();
        expect(record!.stats.dataFilesSelected, where).toBe(expected.length);
      }
    });
  }

  it('writes the true days and microseconds as lower and upper bounds into the manifests', async () => {
    const folder = path.join(suite.home.home, 'warehouse', 'bronze', 'old', 'metadata');
    const manifests = (await readdir(folder)).filter((name) => name.endsWith('.avro') && !name.startsWith('snap-'));
    const bounds = new Map<number, { dt: number[]; ts: bigint[]; tz: bigint[] }>();
    for (const name of manifests) {
      for (const entry of await decodeManifest(path.join(folder, name))) {
        const file = entry.data_file;
        const bound = (list: { key: number; value: Buffer }[], id: number) => list.find((b) => b.key === id)!.value;
        const read = (list: { key: number; value: Buffer }[]) => ({
          dt: bound(list, 2).readInt32LE(0),
          ts: bound(list, 3).readBigInt64LE(0),
          tz: bound(list, 4).readBigInt64LE(0),
        });
        const lower = read(file.lower_bounds);
        const upper = read(file.upper_bounds);
        expect(upper).toEqual(lower);
        bounds.set(lower.dt, { dt: [lower.dt], ts: [lower.ts], tz: [lower.tz] });
      }
    }
    // What DuckDB itself counts for each row: days and microseconds since 1970-01-01.
    const truth = (await oracle.runAndReadAll(`SELECT id, dt - DATE '1970-01-01' AS dt, epoch_us(ts) AS ts, epoch_us(tz) AS tz FROM bronze.old ORDER BY id`)).getRowObjectsJS();
    expect(truth.map((r) => Number(r.dt))).toEqual([-701_114, -719_162, 19_723, -735_160, -354_286]);
    for (const row of truth) {
      expect(bounds.get(Number(row.dt)), `row ${row.id}`).toEqual({ dt: [Number(row.dt)], ts: [row.ts], tz: [row.tz] });
    }
  });
});

interface ManifestEntry {
  data_file: { lower_bounds: { key: number; value: Buffer }[]; upper_bounds: { key: number; value: Buffer }[] };
}

function decodeManifest(file: string): Promise<ManifestEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ManifestEntry[] = [];
    avro.createFileDecoder(file).on('data', (entry: ManifestEntry) => entries.push(entry)).on('end', () => resolve(entries)).on('error', reject);
  });
}
