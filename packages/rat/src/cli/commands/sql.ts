import { readFile } from 'node:fs/promises';
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
    .action(async (parts: string[], options: { file?: string }) => {
      const text = options.file ? await readFile(options.file, 'utf8') : parts.join(' ');
      if (!text.trim()) throw new ValidationError('INVALID_ARGUMENT', 'no SQL given: rat sql "SELECT 1" or rat sql -f query.sql');
      await withLakehouse(globals(), async (rat, out) => {
        const { results, last } = await rat.stream(text);
        for (const result of results) printResult(out, result);
        if (last?.kind === 'stream') await out.stream(last.columns, last.batches());
        else if (last) printResult(out, last);
      });
    });
}

function printResult(out: Output, result: StatementResult): void {
  if (result.kind === 'rows') out.table(result.columns, result.rows);
  else if (out.json) out.value({ command: result.message, rowCount: result.rowCount ?? null, table: result.table ?? null, snapshotId: result.snapshotId ?? null });
  else out.line(result.snapshotId !== undefined ? `${result.message} (snapshot ${result.snapshotId})` : result.message);
}
