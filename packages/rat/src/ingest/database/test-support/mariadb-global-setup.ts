import type { TestProject } from 'vitest/node';
import { startMariadb } from './mariadb-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A MariaDB server for the whole test run (mysql://...); tests create their own databases on it. */
    ratTestMariadbUrl: string;
  }
}

/**
 * Vitest globalSetup: one throwaway MariaDB server for the whole run (mariadb-install-db takes a few
 * seconds), or the server RAT_TEST_MARIADB_URL names. Tests read its URL with inject('ratTestMariadbUrl').
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.RAT_TEST_MARIADB_URL;
  if (external) {
    project.provide('ratTestMariadbUrl', external);
    return undefined;
  }
  const server = await startMariadb();
  project.provide('ratTestMariadbUrl', server.url);
  return () => server.stop();
}
