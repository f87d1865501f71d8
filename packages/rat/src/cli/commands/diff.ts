import type { Command } from 'commander';
import { MAIN_BRANCH } from '../../catalog/ref-name.js';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerDiff(program: Command, globals: () => GlobalOptions): void {
  program
    .command('diff')
    .description('tables added, removed or changed from one branch, tag or commit to another, with snapshot and row deltas')
    .argument('<from>', 'branch, tag or commit id')
    .argument('<to>', 'branch, tag or commit id')
    .action(async (from: string, to: string) => {
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        const diffs = await rat.catalog.diff(from, to);
        if (out.json) {
          out.value(diffs.map((d) => ({ ...d, fromSnapshotId: d.fromSnapshotId?.toString() ?? null, toSnapshotId: d.toSnapshotId?.toString() ?? null })));
          return;
        }
        out.table(
          ['table', 'change', 'snapshots', 'rows', 'row_delta'],
          diffs.map((d) => {
            const delta = d.toRecords - d.fromRecords;
            return [d.table, d.change, `${d.fromSnapshots} -> ${d.toSnapshots}`, `${d.fromRecords} -> ${d.toRecords}`, delta >= 0 ? `+${delta}` : String(delta)];
          }),
        );
      });
    });
}
