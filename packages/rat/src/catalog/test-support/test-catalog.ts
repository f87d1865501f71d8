import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { inject } from 'vitest';
import type { MetadataDialect } from '../metadata-db.js';

/**
 * The metadata DB dialect this test run uses. vitest.config.ts runs every test that touches a
 * catalog twice: once as project `sqlite` (the SQLite file under each RAT_HOME) and once as project
 * `postgres` (RAT_TEST_DIALECT=postgres: the throwaway cluster of postgres-global-setup.ts).
 */
export const TEST_DIALECT: MetadataDialect = process.env.RAT_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The catalog URL for a RAT_HOME on the dialect under test: undefined on SQLite; on PostgreSQL the
 * suite's database with a schema of its own per home (`?schema=`), so each home starts from an empty
 * catalog and reopening the same home finds its catalog again, in this process or a child.
 */
export function testDatabaseUrl(home: string): string | undefined {
  if (TEST_DIALECT === 'sqlite') return undefined;
  const url = new URL(inject('ratTestSuiteDatabaseUrl'));
  url.searchParams.set('schema', `h_${createHash('sha256').update(resolve(home)).digest('hex').slice(0, 24)}`);
  return url.href;
}

/** `openLakehouse` options that put a home's catalog on the dialect under test. */
export function catalogOptions(home: string): { databaseUrl?: string } {
  const url = testDatabaseUrl(home);
  return url ? { databaseUrl: url } : {};
}

/** Environment for a `rat` child process on `home` (RAT_DATABASE_URL on PostgreSQL). */
export function catalogEnv(home: string): Record<string, string> {
  const url = testDatabaseUrl(home);
  return url ? { RAT_DATABASE_URL: url } : {};
}
