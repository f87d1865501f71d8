import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { summaryCount } from '../output.js';

export function registerSnapshots(program: Command, globals: () => GlobalOptions): void {
  program
    .command('snapshots')
    .description("list a table's snapshots (newest last)")
    .argument('<table>', 'namespace.table')
    .action(async (name: string) => {
      await withLakehouse(globals(), async (rat, out) => {
        const snapshots = await rat.snapshots(name);
        out.table(
          ['snapshot_id', 'parent_id', 'seq', 'committed_at', 'operation', 'added_records', 'total_records', 'current'],
          snapshots.map((s) => [
            s.snapshotId.toString(),
            s.parentSnapshotId?.toString() ?? null,
            s.sequenceNumber,
            s.timestamp.toISOString(),
            s.operation,
            summaryCount(s.summary['added-records']),
            summaryCount(s.summary['total-records']),
            s.current,
          ]),
        );
      });
    });
  program
    .command('rollback')
    .description('make an earlier snapshot current again (no data is copied or deleted)')
    .argument('<table>', 'namespace.table')
    .requiredOption('--to <snapshot-id>', 'the snapshot to return to (see rat snapshots)')
    .action(async (name: string, options: { to: string }) => {
      if (!/^\d+$/.test(options.to)) throw new ValidationError('INVALID_ARGUMENT', `--to "${options.to}" is not a snapshot id; list them with: rat snapshots ${name}`);
      await withLakehouse(globals(), async (rat, out) => {
        const snapshot = await rat.rollback(name, BigInt(options.to));
        if (out.json) out.value({ table: name, currentSnapshotId: snapshot.snapshotId.toString() });
        else out.line(`${name} is at snapshot ${snapshot.snapshotId} (${snapshot.operation}, ${snapshot.timestamp.toISOString()})`);
      });
    });
}
