import { join } from 'node:path';
import { type DuckDBStructType, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { type DuckDb, quoteIdent, quoteFilePath, quoteString } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { mapColumnNames } from './column-names.js';
import { changesOnFile, fileReadError, runOnFile } from './csv-reader.js';
import type { StoredCompression } from './decompressed.js';
import { mayHoldInexactNumbers, type ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { isInexactNumber, planColumns, recordKeys, settleNumbers, typeDateTimeTexts } from './json-columns.js';
import { inferJsonColumns } from './json-infer.js';
import { isNested, textFieldsAsJson } from './json-nested.js';
import { quoteInexactNumbersInFile, scanForInexactNumbers } from './json-numbers.js';
import { lineShiftsTable, type RecordUnit, recordLineShifts } from './json-lines.js';
import { extractRecords } from './json-records.js';
import { givenType } from './ingest-options.js';
import { STAGE_ON_DISK_BYTES, stageSelect } from './scratch-parquet.js';
import { countRows, createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

export interface SourceColumn {
  source: string;
  expr: string;
}

/**
 * JSON (a top-level array of objects) and NDJSON (one object per line). Types come from the whole
 * file. Each row keeps its record number (the line, for NDJSON). read_json cannot skip a line that
 * is not JSON, and it reads a record that is `null` as a row of NULLs; so when a file is malformed,
 * or holds a row of NULLs that may have been `null`, it is read record by record instead
 * (stageByRecord): records that are not objects go to the rejects with their line or position.
 */
export async function stageJson(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const { options } = ctx;
  await startRejects(ctx);
  const format = options.jsonFormat ?? 'auto';
  if (options.records !== undefined && options.records !== '$') return stageRecordsAt(ctx, file, options.records.split('.'));
  // A row source's spool whose rows hold their numbers (row-source.ts): read as rat's other numbered scratch files.
  if (options.numberedRecords) {
    const staged = await readRecordsOfAnySize(ctx, file, file.localPath, 'newline_delimited', file.compression, true);
    // Line N of the spool holds record N: the quarantine keeps a bad row's record as the source sent it.
    return Object.assign(staged, { recordLines: { path: file.localPath, compression: file.compression } });
  }
  const ndjson = format === 'newline_delimited' || (format === 'auto' && looksNewlineDelimited(file));
  let readByRecord = false;
  const byRecord = (duplicateKeys = false) => {
    readByRecord = true;
    return stageByRecord(ctx, file, ndjson, duplicateKeys);
  };
  // Each record on a line of its own: the quarantine keeps a bad row's line as written.
  const lines = (staged: StagedFile) => (ndjson ? Object.assign(staged, { recordLines: { path: file.localPath, compression: file.compression } }) : staged);
  // A number DuckDB would read inexactly is only kept by rat's read, record by record (json-numbers.ts).
  if (await mayHoldInexactNumbers(file)) return lines(await byRecord());
  try {
    const staged = await readRecordsOfAnySize(ctx, file, file.localPath, format, file.compression, false, byRecord);
    // read_json numbers the records, skipping blank lines: rejects get their lines in the file (json-lines.ts).
    if (ndjson && !readByRecord) staged.lineShifts = () => shiftsTable(ctx, file, 'values');
    return lines(staged);
  } catch (error) {
    if (!(error instanceof InputFileError) || !UNREADABLE_RECORDS.test(error.message)) throw error;
    // DuckDB's inference takes an object with a key twice; reading its rows fails the whole file.
    if (DUPLICATE_KEY.test(error.message)) return lines(await byRecord(true));
  }
  return lines(await byRecord());
}

/**
 * The file read by rat record by record, with what read_json staged so far forgotten. One document
 * (an array, or objects one after another): rat's own parser names the line of a syntax error, and
 * quarantines elements that are not objects. Newline-delimited: the lines are split and checked one by one; lines that are not
 * JSON objects go to the rejects with their line number, blank lines are skipped, and the others are
 * read as usual. With `duplicateKeys` (the read failed on one), an object holding a key twice, at any
 * depth, goes to the rejects too: which of its values is meant cannot be told.
 */
async function stageByRecord(ctx: StageContext, file: ProbedFile, ndjson: boolean, duplicateKeys = false): Promise<StagedFile> {
  await startRejects(ctx);
  if (!ndjson) return stageRecordsAt(ctx, file, []);
  const { duck } = ctx;
  const { relation, rejects } = stageNames(ctx.id);
  const lines = `${relation}_lines`;
  try {
    await ctx.onReadProgress(() =>
      runOnFile(
        duck,
        file,
        `CREATE OR REPLACE TEMP TABLE ${quoteIdent(lines)} AS SELECT ordinality AS n, line FROM read_csv(${quoteFilePath(file.localPath)}, columns = {'line': 'VARCHAR'},
           header = false, auto_detect = false, delim = E'\\x01', quote = '', escape = '', parallel = false, strict_mode = false,
           max_line_size = 268435456, compression = ${quoteString(file.compression)}) WITH ORDINALITY`,
      ),
    );
    // read_csv ends a line at a lone `\r` too, so a `\r\n` file numbers twice its lines: the lines that
    // are not blank are numbered again, in order, by their lines in the file.
    const blank = `(line IS NULL OR trim(line, ' ' || chr(9) || chr(13)) = '')`;
    const shifts = await shiftsTable(ctx, file, 'lines');
    // The first path (`$.a`, `$.b.c`) an object holds twice, one line at a time (json_tree): only when the read failed on one.
    const twice = duplicateKeys ? `CASE WHEN json_valid(r.line) THEN (SELECT min(fullkey) FROM (SELECT fullkey FROM json_tree(r.line) GROUP BY fullkey HAVING count(*) > 1)) END` : 'CAST(NULL AS VARCHAR)';
    await duck.run(`
      CREATE OR REPLACE TEMP TABLE ${quoteIdent(lines)} AS
      SELECT r.k + coalesce(s.shift, 0) AS n, r.line, ${twice} AS twice
      FROM (SELECT row_number() OVER (ORDER BY n) AS k, line FROM ${quoteIdent(lines)} WHERE NOT ${blank}) r
      ASOF LEFT JOIN ${quoteIdent(shifts)} s ON r.k >= s.ord`);
    const kind = `(CASE WHEN NOT json_valid(line) THEN 'INVALID' WHEN twice IS NOT NULL THEN 'TWICE' ELSE json_type(line) END)`;
    await duck.run(`
      INSERT INTO ${quoteIdent(rejects)}
      SELECT n, CASE ${kind} WHEN 'INVALID' THEN 'malformed JSON' WHEN 'TWICE' THEN 'the object holds the key ' || twice || ' twice' ELSE 'not a JSON object but ' || lower(${kind}) END, line
      FROM ${quoteIdent(lines)} WHERE NOT ${blank} AND ${kind} <> 'OBJECT'`);
    const good = join(ctx.scratchDir, `${ctx.id}-good.ndjson`);
    // Good lines keep their original line numbers inside the records, so later rejects can name them:
    // written in front of the line's own text, whose numbers DuckDB's JSON functions would rewrite as doubles.
    const numbered = `'{"${LINE_COLUMN}":' || n || CASE WHEN json_keys(line) = [] THEN '}' ELSE ',' || ltrim(ltrim(line, ' ' || chr(9)), '{') END`;
    await duck.run(`
      COPY (SELECT ${numbered} FROM ${quoteIdent(lines)}
            WHERE NOT ${blank} AND ${kind} = 'OBJECT' ORDER BY n)
      TO ${quoteString(good)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\\x01')`);
    const goodLines = Number((await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${quoteIdent(lines)} WHERE NOT ${blank} AND ${kind} = 'OBJECT'`))[0]!.n);
    if (goodLines === 0) {
      await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT CAST(NULL AS BIGINT) AS ${LINE_COLUMN} WHERE false`);
      return { relation, columns: [], hasLine: true, rows: 0, rejects, rejected: await countRows(duck, rejects), parse: { format: 'json' }, mapping: [] };
    }
    return await readRecordsOfAnySize(ctx, file, good, 'newline_delimited', 'none', true);
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${quoteIdent(lines)}`);
  }
}

/** The file's line shifts (json-lines.ts) as a temp table, which dropStaged drops. */
async function shiftsTable(ctx: StageContext, file: ProbedFile, unit: RecordUnit): Promise<string> {
  const name = `${stageNames(ctx.id).rejects}_shifts`;
  await lineShiftsTable(ctx.duck, name, await recordLineShifts(file.localPath, file.compression, unit));
  return name;
}

/** An empty rejects table, holding only the records a row source could not turn into rows (sourceRejects). */
async function startRejects(ctx: StageContext): Promise<void> {
  const { duck, options } = ctx;
  const { rejects } = stageNames(ctx.id);
  await createRejectsTable(duck, rejects);
  if (options.sourceRejects === undefined) return;
  await duck.run(`INSERT INTO ${quoteIdent(rejects)} SELECT line, reason, raw FROM read_json(${quoteFilePath(options.sourceRejects)}, format = 'newline_delimited', records = true,
    columns = {'line': 'BIGINT', 'reason': 'VARCHAR', 'raw': 'VARCHAR'}, maximum_object_size = ${LARGE_OBJECT_BYTES})`);
}

/**
 * `records`: the rows are the array at a dotted path inside one JSON document (GeoJSON's `features`,
 * an API dump's `data.items`). The document is streamed once (json-records.ts) into a scratch NDJSON
 * file of the object records, each numbered by its position in the array, which is then read as
 * any newline-delimited file; elements that are not objects are quarantined with their number.
 */
async function stageRecordsAt(ctx: StageContext, file: ProbedFile, steps: readonly string[]): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { relation, rejects } = stageNames(ctx.id);
  // An all-digit step also indexes an array, as in the HTTP source's `records`; no step: the document itself.
  const path = steps.join('.');
  if (options.jsonFormat === 'newline_delimited') throw new InputFileError('INVALID_ARGUMENT', file.display, {}, `records "${path}" selects records inside one JSON document; it does not apply to newline-delimited JSON`);
  const scratch = join(ctx.scratchDir, `${ctx.id}-records.ndjson`);
  const rejectsScratch = join(ctx.scratchDir, `${ctx.id}-records-rejects.ndjson`);
  const extracted = await extractRecords(file, steps, scratch, rejectsScratch, LINE_COLUMN, ctx.onBytesRead);
  if (extracted.rejected > 0) {
    await duck.run(`INSERT INTO ${quoteIdent(rejects)} SELECT line, reason, raw FROM read_json(${quoteFilePath(rejectsScratch)}, format = 'newline_delimited',
      columns = {'line': 'BIGINT', 'reason': 'VARCHAR', 'raw': 'VARCHAR'}, maximum_object_size = ${LARGE_OBJECT_BYTES})`);
  }
  if (extracted.objects > 0) return readRecordsOfAnySize(ctx, file, scratch, 'newline_delimited', 'none', true);
  if (extracted.rejected === 0 && steps.length === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, `the file holds no JSON records (${extracted.empty ? 'it is null' : 'an empty array'})`);
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT CAST(NULL AS BIGINT) AS ${LINE_COLUMN} WHERE false`);
  return { relation, columns: [], hasLine: true, rows: 0, rejects, rejected: extracted.rejected, parse: { format: 'json' }, mapping: [] };
}

/** In a read's error, marks a row of NULLs (nullRowStop). */
const NULL_ROW_MARK = 'rat: a JSON record read as a row of NULLs';

/** Whether a read stopped at a row of NULLs, which may have been a `null` record (readRecords). */
function nullRowStop(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = (e as { cause?: unknown }).cause) if (e.message.includes(NULL_ROW_MARK)) return true;
  return false;
}

/** read_json's errors for a file whose records it cannot read, where rat reads its lines or its document itself instead. */
const UNREADABLE_RECORDS = /malformed|invalid json|unexpected|non-record JSON|duplicate key/i;

/** DuckDB's error for an object holding a key twice (`has duplicate key "a"`). */
const DUPLICATE_KEY = /has duplicate key/;

/** read_json's `maximum_object_size` on the first read, and for a file with a record larger than that. */
const OBJECT_BYTES = 16 * 1024 * 1024;
const LARGE_OBJECT_BYTES = 256 * 1024 * 1024;

/**
 * Reads with records of up to 16 MiB first: read_json sizes its buffers by the largest record
 * allowed, and with 256 MiB the 1 GB benchmark file's ingest took 1.3 GB of memory instead of 0.7.
 * The types are inferred from every record, so a larger one fails that first pass, and the file is
 * then read again allowing 256 MiB.
 */
async function readRecordsOfAnySize(ctx: StageContext, file: ProbedFile, path: string, format: string, compression: string, numbered: boolean, byRecord?: () => Promise<StagedFile>): Promise<StagedFile> {
  // rat's numbered scratch files hold each record's numbers as the source wrote them: those DuckDB would read inexactly are quoted first.
  if (numbered && (await scanForInexactNumbers(path, compression as StoredCompression))) {
    const exact = join(ctx.scratchDir, `${ctx.id}-exact-numbers.ndjson`);
    await quoteInexactNumbersInFile(path, compression as StoredCompression, exact);
    return readRecordsOfAnySizeAsWritten(ctx, file, exact, format, 'none', numbered);
  }
  return readRecordsOfAnySizeAsWritten(ctx, file, path, format, compression, numbered, byRecord);
}

async function readRecordsOfAnySizeAsWritten(ctx: StageContext, file: ProbedFile, path: string, format: string, compression: string, numbered: boolean, byRecord?: () => Promise<StagedFile>): Promise<StagedFile> {
  try {
    return await readRecords(ctx, file, path, format, compression, numbered, OBJECT_BYTES, byRecord);
  } catch (error) {
    if (!(error instanceof InputFileError && /maximum_object_size/.test(error.message))) throw error;
    return readRecords(ctx, file, path, format, compression, numbered, LARGE_OBJECT_BYTES, byRecord);
  }
}

/**
 * `exact`: integer columns are read as DuckDB infers them. DuckDB's JSON inference types a column
 * holding both negative and positive integers HUGEINT (its parser tells signed from unsigned), which
 * would land as DECIMAL(38,0); so they are read as BIGINT first, and only when a value is too large
 * for that (the read fails) is the file inferred and read again exactly.
 *
 * `byRecord`, for a read of the user's file (not one of rat's numbered scratch files): read_json
 * gives a record that is `null` as a row of NULLs, just as it gives `{}`. A row of NULLs stops the
 * read (nullRowStop) and the file is staged by `byRecord` instead, which tells the two apart: rows
 * of NULLs are rare, and telling them apart here would cost every file another pass.
 */
async function readRecords(
  ctx: StageContext,
  file: ProbedFile,
  path: string,
  format: string,
  compression: string,
  numbered: boolean,
  objectBytes: number,
  byRecord?: () => Promise<StagedFile>,
  exact = false,
  eager = false,
): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { relation, rejects, view } = stageNames(ctx.id);
  const readOptions = [quoteFilePath(path), `format = ${quoteString(format)}`, 'records = true', `compression = ${quoteString(compression === 'none' ? 'uncompressed' : compression)}`, `maximum_object_size = ${objectBytes}`];
  // Types from every record (sample_size -1), so a late record of another type or with another key
  // cannot fail the read or lose its value. That reads the whole file, so it is done once: the reads
  // of the rows name the columns and their types, which keeps DuckDB from inferring them again.
  let described: { names: string[]; types: DuckDBType[] };
  try {
    const sample = path === file.localPath ? file.sample : undefined;
    described = await ctx.onInferProgress(() => inferJsonColumns(duck, path, readOptions.slice(1), compression === 'none' ? format : 'compressed', sample, ctx.scratchDir, exact));
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause ?? error;
    throw (await caseTwinsError(duck, file, readOptions, cause)) ?? fileReadError(file, cause);
  }
  const keys = (await recordKeys(duck, file.display, readOptions, described.names)) ?? described.names;
  const renamed = keys !== described.names;
  // Renamed keys are read by read_json's own inference again, which would give such strings VARCHAR.
  if (!renamed) {
    // A read of the rows: an object with a key twice fails it, as it fails the read that stages them.
    const types = await ctx.onInferProgress(() => typeDateTimeTexts(duck, readOptions, described.names, described.types)).catch((error: unknown) => {
      throw fileReadError(file, error);
    });
    described = { names: described.names, types: withTextFieldsAsJson(ctx, file, described.names, types, numbered) };
  }
  const infinities = ctx.options.infinitiesAreValues ?? false;
  const texts = renamed ? new Set<string>() : await textKeys(ctx, file, keys, described.types, numbered);
  const columns = await planColumns(duck, file.display, readOptions, described.names, keys, described.types, exact, renamed, infinities, texts);
  const named = columns.map((c) => `${quoteString(c.name)}: ${quoteString(c.readType)}`);
  // Renamed keys: read_json infers again (only it knows which key its `name_1` is), so that read is made once, into the temp table.
  const reader = `read_json(${[...readOptions, ...(renamed ? ['sample_size = -1'] : named.length > 0 ? [`columns = {${named.join(', ')}}`] : [])].join(', ')})`;
  if (exact) await settleNumbers(duck, reader, columns, infinities);
  const sourceColumns: SourceColumn[] = [];
  let lineExpr = 'ordinality';
  for (const column of columns) {
    if (numbered && column.key === LINE_COLUMN) lineExpr = quoteIdent(column.name);
    else collect(sourceColumns, column.key, column.expr, column.type, options.flatten ?? false, column.readAsText);
  }
  if (options.flatten) refuseFlattenedTwice(file.display, sourceColumns);
  const mapping = mapColumnNames(file.display, sourceColumns.map((c) => c.source), options, ctx.reserved);
  const values = sourceColumns.map((c, i) => `${c.expr} AS ${quoteIdent(mapping[i]!.name)}`);
  const allNull = columns.length === 0 ? 'true' : columns.map((c) => `${quoteIdent(c.name)} IS NULL`).join(' AND ');
  const nullRowGuard = byRecord ? [`CASE WHEN ${allNull} THEN error(${quoteString(NULL_ROW_MARK)}) ELSE true END`] : [];
  const parse = { format: 'json' } as const;
  const noRecords = () => new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'the file holds no JSON records');
  /** The rows in a temp table, each with its record number (its line, for NDJSON), for plans that need them more than once or name bad rows. */
  const materialize = async (): Promise<StagedFile> => {
    const from = `${reader}${numbered ? '' : ' WITH ORDINALITY'}`;
    const line = `CAST(${lineExpr} AS BIGINT)`;
    const bad = columns.flatMap((c) => (c.reject ? [c.reject] : []));
    const conditions = [...nullRowGuard, ...(bad.length > 0 ? [`NOT (${bad.map((b) => b.when).join(' OR ')})`] : [])];
    const kept = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    let stagedIn = relation;
    let stagedRows = 0;
    try {
      if (bad.length > 0) {
        const reason = `CASE ${bad.map((b) => `WHEN ${b.when} THEN ${b.reason}`).join(' ')} END`;
        const raw = `json_object(${columns.map((c) => `${quoteString(c.key)}, ${quoteIdent(c.name)}`).join(', ')})::VARCHAR`;
        await runOnFile(duck, file, `INSERT INTO ${quoteIdent(rejects)} SELECT ${line}, ${reason}, ${raw} FROM ${from} WHERE ${bad.map((b) => b.when).join(' OR ')}`);
      }
      const select = `SELECT ${[...values, `${line} AS ${LINE_COLUMN}`].join(', ')} FROM ${from}${kept}`;
      const parquet = join(ctx.scratchDir, `${ctx.id}-staged.parquet`);
      const target = { select, table: relation, view, parquet, onDisk: file.size >= STAGE_ON_DISK_BYTES };
      ({ relation: stagedIn, rows: stagedRows } = await stageSelect(duck, target, (sql) => ctx.onReadProgress(() => changesOnFile(duck, file, sql))));
    } catch (error) {
      // A row of NULLs, perhaps a `null` record: the file record by record, into the same relations.
      if (byRecord && nullRowStop(error)) {
        const restaged = await byRecord();
        delete staged.lazy;
        // Read line by line, the rows carry their lines in the file already.
        delete staged.lineShifts;
        return Object.assign(staged, restaged);
      }
      if (exact || !isInexactNumber(error)) throw error;
      // A number read_json gives inexactly (an integer beyond BIGINT, an infinity): the file again, exactly, into the same relations.
      const wide = await readRecords(ctx, file, path, format, compression, numbered, objectBytes, byRecord, true, true);
      delete staged.lazy;
      return Object.assign(staged, wide);
    }
    if (stagedIn !== view) await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT * FROM ${quoteIdent(stagedIn)}`);
    staged.columns = await stagedColumns(duck, view, mapping);
    staged.hasLine = true;
    staged.rows = stagedRows;
    staged.rejected = await countRows(duck, rejects);
    if (staged.rows === 0 && staged.rejected === 0) throw noRecords();
    delete staged.lazy;
    return staged;
  };
  const staged: StagedFile = { relation: view, columns: [], hasLine: false, rows: 0, rejects, rejected: 0, parse, mapping };
  if (numbered || eager || renamed || values.length === 0) return materialize();
  // The plan reads the rows through a view: over read_json, or over the temp table once materialized.
  await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT ${values.join(', ')} FROM ${reader}${nullRowGuard.length > 0 ? ` WHERE ${nullRowGuard[0]}` : ''}`);
  staged.columns = await stagedColumns(duck, view, mapping);
  // Read once, straight into the table's files, when the plan allows (as for CSV): numbering the
  // records (WITH ORDINALITY) halves the read's speed, and only bad rows and merges need the numbers.
  staged.lazy = {
    beforeRead: async () => {},
    async collectRejects(rows) {
      staged.rows = rows;
      staged.rejected = await countRows(duck, rejects);
      if (rows === 0 && staged.rejected === 0) throw noRecords();
      delete staged.lazy;
      return staged.rejected;
    },
    materialize,
    fileError: (error) => fileReadError(file, error),
    stoppedAtValue: (error) => (!exact && isInexactNumber(error)) || (byRecord !== undefined && nullRowStop(error)),
  };
  return staged;
}

/**
 * Flattened, a key whose name holds a dot (`"a.b"`) and the key `b` inside the object `a` are both
 * the column `a.b`: a rename would rename both, and the column-name check's advice (a CSV header
 * option) means nothing for JSON. Refused naming the column and the ways out.
 */
function refuseFlattenedTwice(file: string, columns: readonly SourceColumn[]): void {
  const seen = new Set<string>();
  columns.forEach((column, i) => {
    if (!seen.has(column.source)) {
      seen.add(column.source);
      return;
    }
    throw new InputFileError(
      'INGEST_FILE_INVALID',
      file,
      { column: i + 1 },
      `two keys become the column ${JSON.stringify(column.source)} when flattened: a key whose name holds a dot (${JSON.stringify(column.source)}, or a part of it inside an object) reads like the path to a key inside objects; rename that key in the file, or ingest the file without flattening (its objects then load as structs)`,
    );
  });
}

/**
 * DuckDB refuses a struct whose objects hold keys alike but for case, in one object or in different
 * records (`{"a":{"B":1}}` and `{"a":{"b":2}}`), naming one spelling only; this names both keys by
 * their paths (`$.a.B` and `$.a.b`, `[]` for any element of an array). Top-level keys are told apart
 * (json-columns.ts), so only keys inside objects are looked at. Undefined for other errors, or when
 * the scan finds no such keys.
 */
async function caseTwinsError(duck: DuckDb, file: ProbedFile, readOptions: readonly string[], error: unknown): Promise<InputFileError | undefined> {
  if (!/Duplicate name "[^"]*" in struct auto-detected in JSON/.test(error instanceof Error ? error.message : String(error))) return undefined;
  const objects = `read_json_objects(${readOptions.filter((o) => !o.startsWith('records')).join(', ')})`;
  const keys = `SELECT DISTINCT regexp_replace(t.fullkey, '\\[[0-9]+\\]', '[]', 'g') AS k FROM ${objects} r, json_tree(r.json) t WHERE t.path <> '$' AND t.key IS NOT NULL`;
  const [twins] = await duck.rows<{ a: string; b: string }>(`SELECT min(k) AS a, max(k) AS b FROM (${keys}) GROUP BY lower(k) HAVING count(*) > 1 ORDER BY 1 LIMIT 1`).catch(() => []);
  if (!twins) return undefined;
  return new InputFileError(
    'INGEST_FILE_INVALID',
    file.display,
    {},
    `keys ${twins.a} and ${twins.b} differ only in case (in one object, or in different records), which DuckDB cannot keep apart in one struct; rename one of them in the file`,
    { cause: error },
  );
}

/**
 * The keys whose column is text, in the table or by a `--type` or the source's own type (a
 * database's text column): read as text (VARCHAR), so each value lands as the file holds it. Read
 * as inferred, a string DuckDB takes for a timestamp or a time would be cast back to text
 * reformatted (`2024-05-01T10:00:00.750000+02:00` as `2024-05-01 08:00:00.75+00`, `07:30:00.500`
 * as `07:30:00.5`). A number is read as DuckDB's parser gives it (`1.50` as `1.5`): DuckDB keeps no
 * number's spelling. Keys flattened into several columns are read as inferred.
 */
async function textKeys(ctx: StageContext, file: ProbedFile, keys: readonly string[], types: readonly DuckDBType[], numbered: boolean): Promise<Set<string>> {
  const texts = new Set<string>();
  const { options } = ctx;
  const fields = ctx.targetSchema?.fields.filter((f) => f.type === 'string').map((f) => f.name.toLowerCase()) ?? [];
  const typed = [options.types, options.sourceTypes ?? {}];
  if (fields.length === 0 && typed.every((t) => Object.keys(t).length === 0)) return texts;
  for (const [i, name] of columnNamesOf(ctx, file, keys, types, numbered)) {
    const key = keys[i]!;
    if (types[i]!.typeId === DuckDBTypeId.VARCHAR) continue;
    const wanted = typed.map((t) => givenType(t, name, key)).find((t) => t !== undefined);
    if (fields.includes(name) || (wanted !== undefined && (await isTextType(ctx.duck, wanted)))) texts.add(key);
  }
  return texts;
}

/**
 * Per key (by its index) that becomes one column of its own, the name the column gets (mapColumnNames
 * over the same sources as after the read). Keys flattened into several columns are left out.
 */
function columnNamesOf(ctx: StageContext, file: ProbedFile, keys: readonly string[], types: readonly DuckDBType[], numbered: boolean): Map<number, string> {
  const flatten = ctx.options.flatten ?? false;
  const sources: SourceColumn[] = [];
  const single = new Map<number, number>();
  keys.forEach((key, i) => {
    if (numbered && key === LINE_COLUMN) return;
    const before = sources.length;
    collect(sources, key, '', types[i]!, flatten);
    if (sources.length === before + 1 && sources[before]!.source === key) single.set(i, before);
  });
  const mapping = mapColumnNames(file.display, sources.map((c) => c.source), ctx.options, ctx.reserved);
  return new Map([...single].map(([i, source]) => [i, mapping[source]!.name]));
}

/**
 * The inferred types with each object or array that the table's nested column holds as text (a
 * field, list element or map value of type string: its first file held a string there) read as
 * text, as a mixed-type field is (strings as themselves, anything else as its JSON): cast from a
 * STRUCT, `{"y":1,"z":"q"}` would land as DuckDB writes a struct, `{'y': 1, 'z': q}`.
 */
function withTextFieldsAsJson(ctx: StageContext, file: ProbedFile, keys: readonly string[], types: readonly DuckDBType[], numbered: boolean): DuckDBType[] {
  const schema = ctx.targetSchema;
  if (!schema || !types.some(isNested)) return [...types];
  const retyped = [...types];
  for (const [i, name] of columnNamesOf(ctx, file, keys, types, numbered)) {
    const field = schema.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (field && isNested(types[i]!)) retyped[i] = textFieldsAsJson(types[i]!, field.type);
  }
  return retyped;
}

/** Whether a type given by name (`--type v=TEXT`) is DuckDB's VARCHAR; false for one DuckDB does not know, which the conform step names. */
async function isTextType(duck: DuckDb, sqlType: string): Promise<boolean> {
  const type = await describeQuery(duck, `SELECT CAST(NULL AS ${sqlType}) AS v`).then((d) => d.types[0], () => undefined);
  return type?.typeId === DuckDBTypeId.VARCHAR && type.alias !== 'JSON';
}

/**
 * Top-level keys become columns. JSON-typed values (a key whose values mix types, as in messy
 * exports) become text: strings as themselves, anything else as its JSON. With flatten, nested
 * objects become `parent_child` columns, recursively. `readAsText`: the JSON values are read as
 * VARCHAR already (readTypeSql), which gives that same text.
 */
export function collect(out: SourceColumn[], source: string, expr: string, type: DuckDBType, flatten: boolean, readAsText = false): void {
  if (type.alias === 'JSON') {
    out.push({ source, expr: readAsText ? expr : `json_extract_string(${expr}, '$')` });
    return;
  }
  if (flatten && type.typeId === DuckDBTypeId.STRUCT) {
    const struct = type as DuckDBStructType;
    struct.entryNames.forEach((name, i) => collect(out, `${source}.${name}`, `struct_extract(${expr}, ${quoteString(name)})`, struct.entryTypes[i]!, flatten, readAsText));
    return;
  }
  out.push({ source, expr });
}

/**
 * Whether a file read as `auto` is newline-delimited: its first line is a whole object (or a line
 * longer than the sample that opens one), or a whole line of JSON other than an array with more
 * lines after it (a `null` or `5` line before the records). A single value, an array, or an object
 * written over several lines (its first line `{` alone) is one document: read as lines, a cut-off
 * one would load as fragments quarantined one per line, instead of failing at the cut.
 */
function looksNewlineDelimited(file: ProbedFile): boolean {
  const text = file.sample?.toString('utf8').replace(/^\uFEFF/, '').trimStart() ?? '';
  const newline = text.indexOf('\n');
  if (text.startsWith('{')) return newline < 0 || isJson(text.slice(0, newline));
  if (text.startsWith('[') || newline < 0 || text.slice(newline).trim() === '') return false;
  return isJson(text.slice(0, newline));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
