import { defineConfig } from 'vitest/config';

/** Test files that open a catalog, run a second time against PostgreSQL. */
const POSTGRES_SUITES = [
  'packages/rat/src/cli/**/*.test.ts',
  'packages/rat/src/engine/{bad-input,branches,interop,s3,sql,transaction}.test.ts',
  'packages/rat/src/ingest/**/*.test.ts',
  'packages/rat/src/maintenance/**/*.test.ts',
];

export default defineConfig({
  test: {
    // One PostgreSQL cluster for the run, so the metadata DB tests run against both dialects.
    globalSetup: ['./packages/rat/src/catalog/test-support/postgres-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.mjs'],
    projects: [
      // Every test, with the SQLite metadata DB under each RAT_HOME (and the suites that test both dialects themselves).
      // Vitest runs globalSetup once per project (and once for the root): the MariaDB server the
      // database-source tests read from is started only here, where those tests run (added to the root's).
      {
        extends: true,
        test: { name: 'sqlite', include: ['packages/*/src/**/*.test.ts'], globalSetup: ['./packages/rat/src/ingest/database/test-support/mariadb-global-setup.ts'] },
      },
      // Every test that opens a catalog, again with the catalog in PostgreSQL (catalog/test-support/test-catalog.ts).
      // catalog/ and concurrent-writers run both dialects inside their own suites, so they are not repeated here.
      {
        extends: true,
        test: {
          name: 'postgres',
          include: POSTGRES_SUITES,
          exclude: [
            // How results stream out of the CLI does not involve the metadata DB.
            'packages/rat/src/cli/cli-output.test.ts',
            // Database sources test their source engines, not the catalog: once is enough (they are slow).
            'packages/rat/src/ingest/database/**',
            'packages/rat/src/cli/ingest-db-cli.test.ts',
          ],
          env: { RAT_TEST_DIALECT: 'postgres' },
        },
      },
    ],
  },
});
