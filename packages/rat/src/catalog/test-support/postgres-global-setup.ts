import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server for the whole test run; tests create their own databases on it. */
    ratTestPostgresUrl: string;
  }
}

/**
 * Vitest globalSetup: one throwaway PostgreSQL cluster for the whole run (initdb takes seconds),
 * or the server RAT_TEST_POSTGRES_URL names. Tests read its URL with inject('ratTestPostgresUrl').
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.RAT_TEST_POSTGRES_URL;
  if (external) {
    project.provide('ratTestPostgresUrl', external);
    return undefined;
  }
  const server = await startPostgres();
  project.provide('ratTestPostgresUrl', server.url);
  return () => server.stop();
}
