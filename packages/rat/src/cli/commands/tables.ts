import type { Json } from '@duckdb/node-api';
import type { Command } from 'commander';
import { describeError, isRatError } from '../../core/errors.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { summaryCount } from '../output.js';

export function registerTables(program: Command, globals: () => GlobalOptions): void {
  program
    .command('tables')
    .description('list catalog tables')
    .argument('[namespace]', 'only this namespace')
    .action(async (namespace: string | undefined) => {
      await withLakehouse(globals(), async (rat, out) => {
        const tables = await rat.listTables(namespace);
        const rows: Json[][] = [];
        const errors: (string | null)[] = [];
        for (const ident of tables) {
          // One table with unreadable metadata must not hide the others: list it with the reason.
          const table = await rat.loadTable(ident).catch((error: unknown) => {
            if (isRatError(error)) return error;
            throw error;
          });
          if (isRatError(table)) {
            rows.push([ident.namespace, ident.name, null, null, null]);
            errors.push(`${table.code}: ${describeError(table)}`);
            continue;
          }
          const current = table.metadata.snapshots.find((s) => s.snapshotId === table.metadata.currentSnapshotId);
          rows.push([
            ident.namespace,
            ident.name,
            summaryCount(current?.summary['total-records'] ?? '0'),
            table.metadata.snapshots.length,
            current ? new Date(current.timestampMs).toISOString() : null,
          ]);
          errors.push(null);
        }
        const columns = ['namespace', 'table', 'records', 'snapshots', 'last_commit'];
        if (errors.some((e) => e !== null)) out.table([...columns, 'error'], rows.map((row, i) => [...row, errors[i]!]));
        else out.table(columns, rows);
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
