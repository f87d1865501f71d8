import type { DuckDBType } from '@duckdb/node-api';
import { quoteFilePath, quoteIdent } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { mapColumnNames } from './column-names.js';
import { fileReadError, runOnFile } from './csv-reader.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { collect, type SourceColumn } from './json-reader.js';
import { countRows, createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

/** Parquet: typed already; rows keep their position in the file (file_row_number). No row can be malformed, only the file. */
export async function stageParquet(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { relation, rejects } = stageNames(ctx.id);
  await createRejectsTable(duck, rejects);
  const source = `read_parquet(${quoteFilePath(file.localPath)}, file_row_number = true)`;
  let described: { names: string[]; types: DuckDBType[] };
  try {
    described = await describeQuery(duck, `SELECT * EXCLUDE (file_row_number) FROM ${source}`);
  } catch (error) {
    throw fileReadError(file, (error as { cause?: unknown }).cause ?? error);
  }
  const sourceColumns: SourceColumn[] = [];
  described.names.forEach((name, i) => collect(sourceColumns, name, quoteIdent(name), described.types[i]!, options.flatten ?? false));
  const mapping = mapColumnNames(file.display, sourceColumns.map((c) => c.source), options, ctx.reserved);
  const projection = [...sourceColumns.map((c, i) => `${c.expr} AS ${quoteIdent(mapping[i]!.name)}`), `file_row_number + 1 AS ${LINE_COLUMN}`];
  await ctx.onReadProgress(() => runOnFile(duck, file, `CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT ${projection.join(', ')} FROM ${source}`));
  const rows = await countRows(duck, relation);
  if (rows === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'the Parquet file holds no rows');
  return { relation, columns: await stagedColumns(duck, relation, mapping), hasLine: true, rows, rejects, rejected: 0, parse: { format: 'parquet' }, mapping };
}

