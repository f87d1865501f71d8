import { join } from 'node:path';
import { type DuckDBStructType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { mapColumnNames } from './column-names.js';
import { fileReadError, runOnFile } from './csv-reader.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { countRows, createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

export interface SourceColumn {
  source: string;
  expr: string;
}

/**
 * JSON (a top-level array of objects) and NDJSON (one object per line). Types come from the whole
 * file. Each row keeps its record number (the line, for NDJSON). A line that is not JSON cannot make
 * read_json skip it, so when a newline-delimited file is malformed the lines are split and checked
 * one by one: bad lines go to the rejects with their line number, the others are read as usual.
 */
export async function stageJson(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { relation, rejects } = stageNames(ctx.id);
  await createRejectsTable(duck, rejects);
  const format = options.jsonFormat ?? 'auto';
  try {
    return await readRecords(ctx, file, file.localPath, format, file.compression, false);
  } catch (error) {
    const ndjson = format === 'newline_delimited' || (format === 'auto' && firstChar(file) === '{');
    if (!(error instanceof InputFileError) || !/malformed|invalid json|unexpected/i.test(error.message) || !ndjson) throw error;
    if (options.onError === 'fail') throw error;
  }
  const lines = `${relation}_lines`;
  try {
    await ctx.onReadProgress(() =>
      runOnFile(
        duck,
        file,
        `CREATE OR REPLACE TEMP TABLE ${quoteIdent(lines)} AS SELECT ordinality AS n, line FROM read_csv(${quoteString(file.localPath)}, columns = {'line': 'VARCHAR'},
           header = false, auto_detect = false, delim = E'\\x01', quote = '', escape = '', parallel = false, strict_mode = false,
           max_line_size = 268435456, compression = ${quoteString(file.compression)}) WITH ORDINALITY`,
      ),
    );
    const kind = `(CASE WHEN json_valid(line) THEN json_type(line) ELSE 'INVALID' END)`;
    const blank = `(line IS NULL OR trim(line) = '')`;
    await duck.run(`
      INSERT INTO ${quoteIdent(rejects)}
      SELECT n, CASE WHEN ${kind} = 'INVALID' THEN 'malformed JSON' ELSE 'not a JSON object but ' || lower(${kind}) END, line
      FROM ${quoteIdent(lines)} WHERE NOT ${blank} AND ${kind} <> 'OBJECT'`);
    const good = join(ctx.scratchDir, `${ctx.id}-good.ndjson`);
    // Good lines keep their original line numbers inside the records, so later rejects can name them.
    await duck.run(`
      COPY (SELECT json_merge_patch(line, json_object('${LINE_COLUMN}', n)) FROM ${quoteIdent(lines)}
            WHERE NOT ${blank} AND ${kind} = 'OBJECT' ORDER BY n)
      TO ${quoteString(good)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\\x01')`);
    const goodLines = Number((await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${quoteIdent(lines)} WHERE NOT ${blank} AND ${kind} = 'OBJECT'`))[0]!.n);
    if (goodLines === 0) {
      await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT CAST(NULL AS BIGINT) AS ${LINE_COLUMN} WHERE false`);
      return { relation, columns: [], hasLine: true, rows: 0, rejects, rejected: await countRows(duck, rejects), parse: { format: 'json' }, mapping: [] };
    }
    return await readRecords(ctx, file, good, 'newline_delimited', 'none', true);
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${quoteIdent(lines)}`);
  }
}

async function readRecords(ctx: StageContext, file: ProbedFile, path: string, format: string, compression: string, numbered: boolean): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { relation, rejects } = stageNames(ctx.id);
  // Types from every record (sample_size -1), so a late record of another type cannot fail the read.
  const reader = () =>
    `read_json(${quoteString(path)}, format = ${quoteString(format)}, records = true, compression = ${quoteString(compression === 'none' ? 'uncompressed' : compression)}, sample_size = -1, maximum_object_size = 268435456)`;
  let described: { names: string[]; types: DuckDBType[] };
  try {
    described = await describeQuery(duck, `SELECT * FROM ${reader()}`);
  } catch (error) {
    throw fileReadError(file, (error as { cause?: unknown }).cause ?? error);
  }
  const sourceColumns: SourceColumn[] = [];
  let lineExpr = 'ordinality';
  described.names.forEach((name, index) => {
    if (numbered && name === LINE_COLUMN) {
      lineExpr = quoteIdent(LINE_COLUMN);
      return;
    }
    collect(sourceColumns, name, quoteIdent(name), described.types[index]!, options.flatten ?? false);
  });
  const mapping = mapColumnNames(file.display, sourceColumns.map((c) => c.source), options, ctx.reserved);
  const projection = [...sourceColumns.map((c, i) => `${c.expr} AS ${quoteIdent(mapping[i]!.name)}`), `CAST(${lineExpr} AS BIGINT) AS ${LINE_COLUMN}`];
  await ctx.onReadProgress(() =>
    runOnFile(duck, file, `CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT ${projection.join(', ')} FROM ${reader()}${numbered ? '' : ' WITH ORDINALITY'}`),
  );
  const rows = await countRows(duck, relation);
  const rejected = await countRows(duck, rejects);
  if (rows === 0 && rejected === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'the file holds no JSON records');
  return { relation, columns: await stagedColumns(duck, relation, mapping), hasLine: true, rows, rejects, rejected, parse: { format: 'json' }, mapping };
}

/**
 * Top-level keys become columns. JSON-typed values (a key whose values mix types, as in messy
 * exports) become text: strings as themselves, anything else as its JSON. With flatten, nested
 * objects become `parent_child` columns, recursively.
 */
export function collect(out: SourceColumn[], source: string, expr: string, type: DuckDBType, flatten: boolean): void {
  if (type.alias === 'JSON') {
    out.push({ source, expr: `json_extract_string(${expr}, '$')` });
    return;
  }
  if (flatten && type.typeId === DuckDBTypeId.STRUCT) {
    const struct = type as DuckDBStructType;
    struct.entryNames.forEach((name, i) => collect(out, `${source}.${name}`, `struct_extract(${expr}, ${quoteString(name)})`, struct.entryTypes[i]!, flatten));
    return;
  }
  out.push({ source, expr });
}

function firstChar(file: ProbedFile): string | undefined {
  return file.sample?.toString('utf8').replace(/^\uFEFF/, '').trimStart()[0];
}
