import type { Command } from 'commander';
import { type GlobalOptions, withLakehouse } from '../context.js';

export function registerTables(program: Command, globals: () => GlobalOptions): void {
  program
    .command('tables')
    .description('list catalog tables')
    .argument('[namespace]', 'only this namespace')
    .action(async (namespace: string | undefined) => {
      await withLakehouse(globals(), async (rat, out) => {
        const tables = await rat.listTables(namespace);
        const rows = [];
        for (const ident of tables) {
          const table = await rat.loadTable(ident);
          const current = table.metadata.snapshots.find((s) => s.snapshotId === table.metadata.currentSnapshotId);
          rows.push([
            ident.namespace,
            ident.name,
            current?.summary['total-records'] ?? '0',
            String(table.metadata.snapshots.length),
            current ? new Date(current.timestampMs).toISOString() : null,
          ]);
        }
        out.table(['namespace', 'table', 'records', 'snapshots', 'last_commit'], rows);
      });
    });
  program
    .command('namespaces')
    .description('list namespaces (bronze, silver, gold and any created with CREATE SCHEMA)')
    .action(async () => {
      await withLakehouse(globals(), async (rat, out) => {
        out.table(['namespace'], (await rat.listNamespaces()).map((n) => [n]));
      });
    });
}
