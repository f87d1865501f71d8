import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for the whole test run; tests create their own databases on it. */
    ratTestPostgresUrl: string;
    /** A database on it for the postgres project's catalogs (one schema per RAT_HOME). */
    ratTestSuiteDatabaseUrl: string;
  }
}

/** Shared by every run of this setup in the vitest main process (root and each project, possibly at once). */
interface SharedCluster {
  started: Promise<{ url: string; suiteUrl: string; stop?: () => Promise<void> }>;
  users: number;
}
const SHARED = Symbol.for('rat.test.postgres');

/**
 * Vitest globalSetup: one throwaway PostgreSQL cluster for the whole run (initdb takes seconds),
 * or the server RAT_TEST_POSTGRES_URL names. Tests read its URL with inject('ratTestPostgresUrl').
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Vitest runs this for the root and for each project: the first call starts the cluster, the others
  // share it, and the last teardown stops it.
  const holder = globalThis as unknown as Record<symbol, SharedCluster | undefined>;
  const shared = (holder[SHARED] ??= {
    started: (async () => {
      const external = process.env.RAT_TEST_POSTGRES_URL;
      if (external) return { url: external, suiteUrl: await suiteDatabase(external) };
      const server = await startPostgres();
      return { url: server.url, suiteUrl: await suiteDatabase(server.url), stop: () => server.stop() };
    })(),
    users: 0,
  });
  shared.users++;
  const { url, suiteUrl } = await shared.started;
  project.provide('ratTestPostgresUrl', url);
  project.provide('ratTestSuiteDatabaseUrl', suiteUrl);
  return async () => {
    if (--shared.users > 0) return;
    holder[SHARED] = undefined;
    await (await shared.started).stop?.();
  };
}

/** The database the postgres project's catalogs live in, one schema per RAT_HOME (test-catalog.ts). */
async function suiteDatabase(serverUrl: string): Promise<string> {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'rat_suite'`);
    if (exists.rowCount === 0) await client.query('CREATE DATABASE rat_suite');
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = '/rat_suite';
  return url.href;
}
