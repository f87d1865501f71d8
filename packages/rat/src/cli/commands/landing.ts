import type { Command } from 'commander';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerLanding(program: Command, globals: () => GlobalOptions): void {
  program
    .command('landing')
    .description('list landing-zone files with their state (new, loaded, changed, failed, ignored) and latest ingest status')
    .argument('[prefix]', 'only keys under this prefix, e.g. landing/sales/', 'landing/')
    .action(async (prefix: string) => {
      await withLakehouse(globals(), async (_rat, out, ingestion) => {
        const entries = await ingestion.listLanding(prefix);
        out.table(
          ['key', 'bytes', 'modified', 'state', 'last_status', 'last_target', 'last_ingested_at'],
          entries.map((e) => [e.key, e.size, e.modified.toISOString(), e.state, e.lastStatus ?? null, e.lastTarget ?? null, e.lastIngestedAt?.toISOString() ?? null]),
        );
      });
    });
}
