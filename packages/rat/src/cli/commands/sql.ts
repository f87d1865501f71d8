import { fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isatty } from 'node:tty';
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import type { StatementResult } from '../../engine/sql-executor.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import type { Output } from '../output.js';

export function registerSql(program: Command, globals: () => GlobalOptions): void {
  program
    .command('sql')
    .description('run SQL (DuckDB dialect) where catalog tables are namespace.table; results stream')
    .argument('[statement...]', 'SQL text; several statements separated by ;')
    .option('-f, --file <path>', 'read SQL from a file')
    .option('--csv', 'print the result as CSV (with a header)')
    .addHelpText(
      'after',
      `
Examples:
  rat sql "CREATE TABLE bronze.events (id BIGINT, at TIMESTAMP, kind VARCHAR) PARTITIONED BY (day(at))"
  rat sql "INSERT INTO bronze.events VALUES (1, now(), 'click')"
  rat sql "SELECT kind, count(*) FROM bronze.events GROUP BY kind"
  rat sql "SELECT * FROM bronze.events AT (VERSION => 4388418011712466)"      # time travel to a snapshot
  rat sql "SELECT * FROM bronze.events AT (TIMESTAMP => TIMESTAMP '2026-01-01 12:00:00')"`,
    )
    .action(async (parts: string[], options: { file?: string; csv?: boolean }) => {
      const text = options.file ? await readFile(options.file, 'utf8') : parts.join(' ');
      if (!text.trim()) throw new ValidationError('INVALID_ARGUMENT', 'no SQL given: rat sql "SELECT 1" or rat sql -f query.sql');
      await withLakehouse(globals(), async (rat, out) => {
        const format = options.csv ? 'csv' : out.json ? 'json' : undefined;
        // JSON and CSV of the last query are written by DuckDB itself, straight to stdout, when stdout is a
        // pipe or terminal. A redirected file would be reopened (and truncated) at offset 0: there, JS writes.
        const streamOptions = format && stdoutTakesDirectWrites() ? { copyTo: { path: '/dev/stdout', format } as const } : {};
        const { last } = await rat.stream(text, {
          ...streamOptions,
          onResult: async (result) => {
            printResult(out, result);
            await out.flush();
          },
        });
        if (last?.kind === 'stream') await (options.csv ? out.streamCsv(last.columns, last.batches()) : out.stream(last.columns, last.batches()));
        else if (last && !(last.kind === 'command' && last.copied)) printResult(out, last);
      });
    });
}

function stdoutTakesDirectWrites(): boolean {
  try {
    const stat = fstatSync(1);
    // Sockets (as Node's child_process uses) cannot be reopened through /dev/stdout; pipes and terminals can.
    return stat.isFIFO() || isatty(1);
  } catch {
    return false;
  }
}

function printResult(out: Output, result: StatementResult): void {
  if (result.kind === 'rows') out.table(result.columns, result.rows);
  else if (out.json) out.value({ command: result.message, rowCount: result.rowCount ?? null, table: result.table ?? null, snapshotId: result.snapshotId ?? null });
  else out.line(result.snapshotId !== undefined ? `${result.message} (snapshot ${result.snapshotId})` : result.message);
}
