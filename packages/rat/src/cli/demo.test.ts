import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rat } from './test-support/cli-runner.js';

/** `npm start` runs `rat demo`: what a newcomer sees first, on a fresh home and again. */
describe('rat demo', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-demo-test-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const query = async (sql: string) => {
    const run = await rat(home, ['--json', 'sql', sql]);
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as Record<string, unknown>[];
  };

  it('lands the sample, ingests it into a partitioned bronze table, quarantines the bad row of the later export, and queries it', async () => {
    const first = await rat(home, ['demo']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('uploaded superstore.csv -> landing/superstore/superstore.csv');
    expect(first.stdout).toMatch(/landing\/superstore\/superstore\.csv +\| success \| 9994 +\| 0 /);
    expect(first.stdout).toMatch(/landing\/superstore\/late-orders-2017-12\.csv \| success \| 2 +\| 1 /);
    expect(first.stdout).toContain('landing/superstore/late-orders-2017-12.csv:3: column order_date: cannot convert 2017-12-32 to DATE');
    // The later export's good rows are in the query: one more Technology order in the West.
    expect(first.stdout).toMatch(/West +\| Technology +\| 96866\.3 +\| 19074\.52 \| 214/);

    expect(await query('SELECT count(*)::INT AS n, count(DISTINCT _source_file)::INT AS files FROM bronze.superstore')).toEqual([{ n: 9996, files: 2 }]);
    const rejects = await query('SELECT line, raw FROM bronze.superstore__rejects');
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.raw).toContain('2017-12-32');
    const table = JSON.parse((await rat(home, ['--json', 'table', 'show', 'bronze.superstore'])).stdout) as { partitionSpec: { fields: { name: string; transform: string }[] } };
    expect(table.partitionSpec.fields).toMatchObject([{ name: 'order_date_year', transform: 'year' }]);
  });

  it('loads nothing twice when run again: both files are skipped by their content', async () => {
    const again = await rat(home, ['demo']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('bronze.superstore: 0 rows from 0 files; 2 skipped, 0 failed');
    expect(again.stdout).not.toContain('uploaded');
    expect(await query('SELECT count(*)::INT AS n FROM bronze.superstore')).toEqual([{ n: 9996 }]);
    expect(await query('SELECT status, count(*)::INT AS n FROM bronze._file_registry GROUP BY status ORDER BY status')).toEqual([
      // Both files skipped in this run; superstore.csv's skip of the first run (the later export's batch) was replaced by this one's.
      { status: 'skipped', n: 2 },
      { status: 'success', n: 2 },
    ]);
  });

  it('leaves a bronze.superstore an earlier demo made without the landing zone as it is, saying how to start over', async () => {
    const old = await mkdtemp(join(tmpdir(), 'rat-demo-old-'));
    try {
      expect((await rat(old, ['sql', "CREATE TABLE bronze.superstore AS SELECT 'West' AS region, 'Technology' AS category, 1.5 AS sales, 0.5 AS profit, DATE '2017-03-01' AS order_date"])).code).toBe(0);
      const run = await rat(old, ['demo']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('bronze.superstore exists already, but not from the landing zone');
      expect(run.stdout).toContain('rat sql "DROP TABLE bronze.superstore"');
      expect(run.stdout).toMatch(/West +\| Technology \| 1\.5 +\| 0\.5 +\| 1/);
      expect(run.stdout).not.toContain('uploaded');
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });
});
