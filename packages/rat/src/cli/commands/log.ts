import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerLog(program: Command, globals: () => GlobalOptions): void {
  program
    .command('log')
    .description('catalog commits of the current branch (or --branch B), newest first, with the tables each touched')
    .option('-n, --limit <count>', 'show at most this many commits', '50')
    .action(async (options: { limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('INVALID_ARGUMENT', `--limit "${options.limit}" is not a positive whole number`);
      await withLakehouse(globals(), async (rat, out) => {
        const commits = await rat.catalog.refs.log(rat.branch, { limit });
        if (out.json) {
          out.value(commits.map((c) => ({ ...c, createdAt: c.createdAt.toISOString() })));
          return;
        }
        out.table(
          ['commit', 'committed_at', 'author', 'message', 'tables'],
          commits.map((c) => [
            c.id,
            c.createdAt.toISOString(),
            c.author,
            c.message,
            c.changes.map((ch) => (ch.metadataLocation === null ? `-${ch.table}` : ch.table)).join(', '),
          ]),
        );
      });
    });
}
