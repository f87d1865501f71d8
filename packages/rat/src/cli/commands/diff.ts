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
        // A snapshot's total-records also counts the rows its delete files hide: such a side has its rows counted by reading it.
        const rows = async (table: string, ref: string, records: number, deletes: boolean) => (deletes ? ((await rat.describeTable(table, { ref })).rowCount ?? null) : records);
        const counted = await Promise.all(
          diffs.map(async (d) => ({ ...d, fromRows: await rows(d.table, from, d.fromRecords, d.fromDeletes), toRows: await rows(d.table, to, d.toRecords, d.toDeletes) })),
        );
        if (out.json) {
          out.value(counted.map((d) => ({ ...d, fromSnapshotId: d.fromSnapshotId?.toString() ?? null, toSnapshotId: d.toSnapshotId?.toString() ?? null })));
          return;
        }
        const count = (n: number | null) => (n === null ? '?' : String(n));
        out.table(
          ['table', 'change', 'snapshots', 'rows', 'row_delta'],
          counted.map((d) => {
            const delta = d.fromRows === null || d.toRows === null ? null : d.toRows - d.fromRows;
            return [d.table, d.change, `${d.fromSnapshots} -> ${d.toSnapshots}`, `${count(d.fromRows)} -> ${count(d.toRows)}`, delta === null ? '?' : delta >= 0 ? `+${delta}` : String(delta)];
          }),
        );
      });
    });
}
