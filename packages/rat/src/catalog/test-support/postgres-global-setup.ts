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

/**
 * Vitest globalSetup: one throwaway PostgreSQL cluster for the whole run (initdb takes seconds),
 * or the server RAT_TEST_POSTGRES_URL names. Tests read its URL with inject('ratTestPostgresUrl').
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // Both vitest projects (sqlite, postgres) run this; the first starts the cluster, the second finds it.
  const shared = process.env.RAT_TEST_POSTGRES_URL ?? process.env.RAT_TEST_POSTGRES_URL_STARTED;
  let stop: (() => Promise<void>) | undefined;
  let url: string;
  if (shared) {
    url = shared;
  } else {
    const server = await startPostgres();
    process.env.RAT_TEST_POSTGRES_URL_STARTED = server.url;
    url = server.url;
    stop = () => server.stop();
  }
  project.provide('ratTestPostgresUrl', url);
  project.provide('ratTestSuiteDatabaseUrl', await suiteDatabase(url));
  return stop;
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
