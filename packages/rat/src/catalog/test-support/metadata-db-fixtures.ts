import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { DatabaseConfig } from '../../core/config.js';
import type { MetadataDialect } from '../metadata-db.js';
import { createTestDatabase } from './postgres-server.js';

/** An empty metadata DB of one dialect that nothing has opened yet. */
export interface FreshDatabase {
  readonly target: DatabaseConfig;
  /** Drops the database or removes the SQLite file's folder. */
  remove(): Promise<void>;
}

/** How the shared metadata DB contract suites get a fresh, empty database of each dialect. */
export interface DialectFixture {
  readonly dialect: MetadataDialect;
  fresh(): Promise<FreshDatabase>;
}

export const dialectFixtures: readonly DialectFixture[] = [
  {
    dialect: 'sqlite',
    async fresh() {
      const dir = await mkdtemp(join(tmpdir(), 'rat-metadata-'));
      return { target: { kind: 'sqlite', path: join(dir, 'rat.db') }, remove: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    dialect: 'postgres',
    async fresh() {
      // The cluster comes from the vitest globalSetup (postgres-global-setup.ts); each test gets its own database.
      const database = await createTestDatabase(inject('ratTestPostgresUrl'));
      return { target: { kind: 'postgres', url: database.url }, remove: () => database.drop() };
    },
  },
];
