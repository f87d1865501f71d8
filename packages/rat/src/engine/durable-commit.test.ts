import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIngestion } from '../ingest/ingestion.js';
import { maintain } from '../maintenance/maintain.js';
import type { ObjectStore } from '../storage/object-store.js';
import { suiteLake } from './test-support/lake-home.js';

/**
 * Commits write their files (data, manifests, manifest list, metadata) with durability deferred and
 * sync them all at once. This checks the order that makes that safe: at the moment the metadata DB
 * moves a table pointer or records a commit, every file written with deferred durability has been
 * synced. A file still pending then would be referenced by the catalog yet could vanish in a crash.
 */

interface Probe {
  /** Keys written with deferSync and not synced yet. */
  pending: Set<string>;
  deferred: number;
  synced: number;
  /** Catalog statements that ran while files were pending, with those files. */
  violations: string[];
}

function probeStore(inner: ObjectStore, probe: Probe): ObjectStore {
  return {
    ...inner,
    async put(key, data, options) {
      await inner.put(key, data, options);
      if (options?.deferSync) {
        probe.pending.add(key);
        probe.deferred += 1;
      }
    },
    async putFile(key, localPath, options) {
      await inner.putFile(key, localPath, options);
      if (options?.deferSync) {
        probe.pending.add(key);
        probe.deferred += 1;
      }
    },
    async sync(keys) {
      await inner.sync(keys);
      for (const key of keys) if (probe.pending.delete(key)) probe.synced += 1;
    },
  };
}

const CATALOG_WRITE = /^\s*(update|insert into|delete from)\s+"?rat_(tables|commits|commit_changes)\b/i;

describe('every file a commit references is synced before the catalog points at it', () => {
  const probe: Probe = { pending: new Set(), deferred: 0, synced: 0, violations: [] };
  const suite = suiteLake('sqlite', 'rat-durable-', () => ({
    wrapStore: (store) => probeStore(store, probe),
    beforeMetadataStatement: (sql) => {
      if (CATALOG_WRITE.test(sql) && probe.pending.size > 0) probe.violations.push(`${sql.slice(0, 60)}... while pending: ${[...probe.pending].join(', ')}`);
    },
  }));
  const lake = () => suite.lake;

  beforeAll(async () => {
    await lake().sql('CREATE TABLE bronze.t (id BIGINT, v VARCHAR); CREATE TABLE bronze.u (id BIGINT)');
  });

  const cases: { name: string; run: () => Promise<unknown>; check: () => Promise<unknown[]> }[] = [
    { name: 'INSERT', run: () => lake().sql(`INSERT INTO bronze.t VALUES (1, 'a'), (2, 'b')`), check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.t') },
    { name: 'INSERT OVERWRITE', run: () => lake().sql(`INSERT OVERWRITE bronze.u SELECT range FROM range(5)`), check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.u') },
    { name: 'CREATE TABLE AS', run: () => lake().sql(`CREATE TABLE silver.c AS SELECT range AS id FROM range(10)`), check: () => lake().query('SELECT count(*)::INT AS n FROM silver.c') },
    { name: 'UPDATE', run: () => lake().sql(`UPDATE bronze.t SET v = 'z' WHERE id = 1`), check: () => lake().query(`SELECT v FROM bronze.t WHERE id = 1`) },
    { name: 'DELETE', run: () => lake().sql(`DELETE FROM bronze.t WHERE id = 2`), check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.t') },
    {
      name: 'a transaction over two tables',
      run: () =>
        lake().transaction(async (tx) => {
          await tx.sql(`INSERT INTO bronze.t VALUES (3, 'c')`);
          await tx.sql(`INSERT INTO bronze.u VALUES (7)`);
        }),
      check: () => lake().query('SELECT (SELECT count(*) FROM bronze.t)::INT AS t, (SELECT count(*) FROM bronze.u)::INT AS u'),
    },
    {
      name: 'a CSV ingest with a quarantined row',
      run: async () => {
        const file = path.join(suite.home.home, 'sales.csv');
        await writeFile(file, 'id,amount\n1,2.5\n2,oops\n3,4\n');
        return createIngestion(lake()).ingest(file, 'bronze.sales', { types: { amount: 'DOUBLE' } });
      },
      check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.sales'),
    },
    {
      name: 'a JSON ingest',
      run: async () => {
        const file = path.join(suite.home.home, 'events.json');
        await writeFile(file, JSON.stringify([{ id: 1, kind: 'x' }, { id: 2, kind: 'y' }]));
        return createIngestion(lake()).ingest(file, 'bronze.events');
      },
      check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.events'),
    },
    { name: 'compaction by maintain', run: () => maintain(lake(), { tables: ['bronze.t'], expire: false, orphans: false }), check: () => lake().query('SELECT count(*)::INT AS n FROM bronze.t') },
  ];

  it.each(cases)('$name', async ({ run, check }) => {
    const before = { deferred: probe.deferred, synced: probe.synced };
    await run();
    expect(probe.violations).toEqual([]);
    expect(probe.pending.size).toBe(0);
    // The commit did write through the deferred path, and synced exactly what it deferred.
    expect(probe.deferred - before.deferred).toBeGreaterThan(0);
    expect(probe.synced - before.synced).toBe(probe.deferred - before.deferred);
    // And what it committed reads back.
    expect((await check()).length).toBe(1);
  });
});
