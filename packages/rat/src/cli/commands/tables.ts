import type { Json } from '@duckdb/node-api';
import type { Command } from 'commander';
import type { TableIdent } from '../../catalog/identifiers.js';
import { describeError, isRatError } from '../../core/errors.js';
import type { Lakehouse } from '../../engine/lakehouse.js';
import type { Snapshot } from '../../iceberg/types.js';
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
          const records = await rowCount(rat, ident, current?.summary).catch((error: unknown) => {
            if (isRatError(error)) return error;
            throw error;
          });
          rows.push([
            ident.namespace,
            ident.name,
            isRatError(records) ? null : records,
            table.metadata.snapshots.length,
            current ? new Date(current.timestampMs).toISOString() : null,
          ]);
          errors.push(isRatError(records) ? `${records.code}: ${describeError(records)}` : null);
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

/**
 * The rows a table reads as. The summary's total-records also counts the rows delete files hide, so
 * a table with delete files (or whose writer did not say how many it has) has its rows counted.
 */
async function rowCount(rat: Lakehouse, ident: TableIdent, summary: Snapshot['summary'] | undefined): Promise<Json> {
  if (!summary) return 0;
  if (summary['total-delete-files'] === '0' && summary['total-records'] !== undefined) return summaryCount(summary['total-records']);
  return (await rat.describeTable(ident)).rowCount ?? null;
}
