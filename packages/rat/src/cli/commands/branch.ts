import type { Command } from 'commander';
import { MAIN_BRANCH } from '../../catalog/ref-name.js';
import type { MergeStrategy } from '../../catalog/refs.js';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerBranch(program: Command, globals: () => GlobalOptions): void {
  const branch = program
    .command('branch')
    .description('data branches: zero-copy sandboxes of the whole catalog (create, list, delete, merge)')
    .addHelpText(
      'after',
      `
Example:
  rat branch create dev
  rat --branch dev sql "INSERT INTO bronze.orders VALUES (42, 'test')"
  rat diff main dev
  rat branch merge dev --into main`,
    );
  branch
    .command('create')
    .description('create a branch at the head of another ref or at a commit (no data is copied)')
    .argument('<name>', 'branch name (letters, digits, - _ . /)')
    .option('--from <ref>', 'branch, tag or commit id to start from', MAIN_BRANCH)
    .action(async (name: string, options: { from: string }) => {
      await withLakehouse(globals(), async (rat, out) => {
        const ref = await rat.catalog.refs.create('branch', name, options.from);
        if (out.json) out.value({ branch: ref.name, head: ref.head, from: options.from });
        else out.line(`created branch ${ref.name} from ${options.from} at commit ${ref.head}`);
      });
    });
  branch
    .command('list')
    .description('list branches with their head commits')
    .action(async () => {
      await withLakehouse(globals(), async (rat, out) => {
        const refs = (await rat.catalog.refs.list()).filter((r) => r.type === 'branch');
        out.table(
          ['branch', 'head', 'created_at', 'current'],
          refs.map((r) => [r.name, r.head, r.createdAt.toISOString(), r.name === rat.branch]),
        );
      });
    });
  branch
    .command('delete')
    .description('delete a branch (its commits stay in the log of branches that merged them)')
    .argument('<name>', 'branch name')
    .action(async (name: string) => {
      await withLakehouse(globals(), async (rat, out) => {
        await rat.catalog.refs.delete('branch', name);
        if (out.json) out.value({ deleted: name });
        else out.line(`deleted branch ${name}`);
      });
    });
  branch
    .command('merge')
    .description('merge a branch into another: fast-forward when possible, else per table; a table changed on both sides is a conflict and nothing is merged')
    .argument('<source>', 'branch (or tag, or commit id) to merge')
    .option('--into <branch>', 'branch to merge into', MAIN_BRANCH)
    .option('--dry-run', 'show what would be merged, change nothing')
    .option('--strategy <strategy>', "a table changed on both sides: fail (merge nothing), source-wins (take the source's version), dest-wins (keep the target's)", 'fail')
    .action(async (source: string, options: { into: string; dryRun?: boolean; strategy: MergeStrategy }) => {
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        const result = await rat.catalog.refs.merge(source, options.into, { dryRun: options.dryRun ?? false, author: process.env.USER ?? 'rat', strategy: options.strategy });
        if (out.json) {
          out.value(result);
          return;
        }
        const what = result.kind === 'up-to-date' ? 'already up to date' : `${result.kind}, ${result.tables.length} table(s)${result.tables.length ? `: ${result.tables.join(', ')}` : ''}`;
        const settled = result.conflicts.length === 0 ? '' : `; changed on both sides, ${options.strategy === 'source-wins' ? `${source}'s version taken` : `${options.into}'s version kept`}: ${result.conflicts.join(', ')}`;
        out.line(`${result.dryRun ? 'would merge' : 'merged'} ${source} into ${options.into}: ${what}${settled}${result.dryRun ? ' (dry run: nothing changed)' : ` (head ${result.head})`}`);
      });
    });
}
