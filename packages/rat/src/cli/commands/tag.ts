import type { Command } from 'commander';
import { MAIN_BRANCH } from '../../catalog/ref-name.js';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerTag(program: Command, globals: () => GlobalOptions): void {
  const tag = program.command('tag').description('tags: immutable names for a catalog state, readable with --branch <tag>');
  tag
    .command('create')
    .description('tag the head of a ref or a commit')
    .argument('<name>', 'tag name (letters, digits, - _ . /)')
    .option('--from <ref>', 'branch, tag or commit id to tag', MAIN_BRANCH)
    .action(async (name: string, options: { from: string }) => {
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        const ref = await rat.catalog.refs.create('tag', name, options.from);
        if (out.json) out.value({ tag: ref.name, head: ref.head, from: options.from });
        else out.line(`created tag ${ref.name} at commit ${ref.head} (${options.from})`);
      });
    });
  tag
    .command('list')
    .description('list tags')
    .action(async () => {
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        const refs = (await rat.catalog.refs.list()).filter((r) => r.type === 'tag');
        out.table(['tag', 'commit', 'created_at'], refs.map((r) => [r.name, r.head, r.createdAt.toISOString()]));
      });
    });
  tag
    .command('delete')
    .description('delete a tag')
    .argument('<name>', 'tag name')
    .action(async (name: string) => {
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        await rat.catalog.refs.delete('tag', name);
        if (out.json) out.value({ deleted: name });
        else out.line(`deleted tag ${name}`);
      });
    });
}
