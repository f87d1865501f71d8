import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { createTestDatabase } from '../../catalog/test-support/postgres-server.js';
import type { MetadataDialect } from '../../catalog/metadata-db.js';
import { type Lakehouse, type LakehouseOptions, openLakehouse } from '../lakehouse.js';

/** A throwaway RAT_HOME whose catalog lives in the SQLite file under it or in a fresh PostgreSQL database. */
export interface LakeHome {
  readonly dialect: MetadataDialect;
  readonly home: string;
  /** The PostgreSQL URL of the catalog (undefined for SQLite), for worker processes. */
  readonly databaseUrl: string | undefined;
  /** Opens a lakehouse on this home (git sync off, one DuckDB thread), closed by `remove`. */
  open(options?: Partial<LakehouseOptions>): Promise<Lakehouse>;
  /** Closes every lakehouse opened here, drops the database and removes the folder. */
  remove(): Promise<void>;
}

export async function createLakeHome(dialect: MetadataDialect, prefix = 'rat-lake-'): Promise<LakeHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), prefix));
  // The cluster comes from the vitest globalSetup (postgres-global-setup.ts); each home gets its own database.
  const database = dialect === 'postgres' ? await createTestDatabase(inject('ratTestPostgresUrl')) : undefined;
  const lakes: Lakehouse[] = [];
  return {
    dialect,
    home,
    databaseUrl: database?.url,
    async open(options = {}) {
      const lake = await openLakehouse({ home, threads: 1, env: { RAT_GIT_SYNC: '0' }, ...(database ? { databaseUrl: database.url } : {}), ...options });
      lakes.push(lake);
      return lake;
    },
    async remove() {
      for (const lake of lakes.splice(0)) await lake.close().catch(() => undefined);
      await database?.drop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A lakehouse on a fresh home for one describe block: opened before its tests, removed after them. */
export function suiteLake(dialect: MetadataDialect, prefix: string, options: () => Partial<LakehouseOptions> = () => ({})): { readonly home: LakeHome; readonly lake: Lakehouse } {
  let home: LakeHome | undefined;
  let lake: Lakehouse | undefined;
  beforeAll(async () => {
    home = await createLakeHome(dialect, prefix);
    lake = await home.open(options());
  });
  afterAll(async () => {
    await home?.remove();
  });
  return {
    get home() {
      return home!;
    },
    get lake() {
      return lake!;
    },
  };
}
