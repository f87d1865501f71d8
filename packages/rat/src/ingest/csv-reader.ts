import { join } from 'node:path';
import { RatError } from '../core/errors.js';
import { type DuckDb, quoteIdent, quoteFilePath, quoteString } from '../engine/duckdb.js';
import { promotionAllowed } from '../iceberg/type-parse.js';
import type { PrimitiveType } from '../iceberg/types.js';
import { duckDbTypeOf } from '../engine/type-mapping.js';
import { OFFSET_TEXT } from './schema-plan.js';
import { mapColumnNames } from './column-names.js';
import { type LongestLine, measureZstdLines, type ProbedFile, readHead, SAMPLE_BYTES, settleHash } from './file-probe.js';
import { type FilePosition, InputFileError } from './input-file-error.js';
import { STRAY_BYTES_REASON } from './quarantine.js';
import { convertGuarded, convertsSql, type CsvGuard, csvGuards, EXACT_DOUBLE, INTEGER_SQL, NAIVE_TIMESTAMP_SQL, fastReadType, filesWithGuardedValues, guardedReadSql, hasZone, isGuardStop, quarantineGuarded } from './csv-guard.js';
import { exactNumberTypes, type NumberSample, sampleByQuery, sampleOfValues } from './csv-numbers.js';
import { STAGE_ON_DISK_BYTES, stageSelect } from './scratch-parquet.js';
import { countLines, countRecords, lineStartingAt, locateRecords, normalizeLineBreaks, readRecord, readRecords, type RecordDialect, rejectedRecords } from './csv-records.js';
import { givenType } from './ingest-options.js';
import { countRows, ORDINAL_COLUMN, type ParseOptions, rejectsTableSql, SOURCE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

interface Dialect {
  delimiter: string;
  quote: string;
  escape: string;
  header: boolean;
  skip: number;
  columns: { name: string; type: string }[];
  dateFormat?: string;
  timestampFormat?: string;
  /** ',' for numbers written 1,5 (as given; DuckDB's sniffer does not detect it). */
  decimalSeparator?: '.' | ',';
  /** What the report says of how the file was read: a date format not applied, and why. */
  notes?: string[];
}

interface SniffRow {
  Delimiter: string;
  Quote: string;
  Escape: string;
  SkipRows: number | bigint;
  HasHeader: boolean;
  Columns: { name: string; type: string }[];
  DateFormat: string | null;
  TimestampFormat: string | null;
}

const DELIMITER_CANDIDATES = [',', ';', '\t', '|'];
const DEFAULT_SAMPLE_ROWS = 20480;

/**
 * DuckDB's default longest line. A larger limit makes read_csv use buffers of that size (several per
 * thread): 256 MiB costs about 1 GB of memory and most of the parallelism on any file. So the file
 * is read with the default first, and again with LONG_LINE_BYTES only when a line was longer: DuckDB
 * rejects a line up to about 28 MiB as too long, but skips a longer one without a reject (a DuckDB
 * bug), so the file's longest line, measured as it is hashed (file-probe.ts), decides too.
 */
const DEFAULT_LINE_BYTES = 2 * 1024 * 1024;
const LONG_LINE_BYTES = 256 * 1024 * 1024;

/**
 * CSV/TSV: DuckDB's sniffer finds the dialect and types (each overridable), then one read_csv pass
 * reads the rows with store_rejects, so every row that does not parse (ragged, unclosed quote,
 * invalid encoding, a value that does not convert) lands in the rejects table with its line number,
 * raw text and reason instead of failing the file or vanishing. Integer and date columns are
 * converted with a check (csv-guard.ts), since DuckDB's reader would round 1.5 without a word.
 *
 * The rows are not read here: `relation` is a view over read_csv, and the file is read once, by
 * whatever reads the view next. The ingest streams it straight into the table's Parquet files and
 * then calls `lazy.collectRejects()`; when its plan needs the rows more than once (merge, a replay,
 * values to convert) it calls `lazy.materialize()`, which stages them into a temp table as before.
 */
export async function stageCsv(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const { duck, options } = ctx;
  measureZstdLines(file);
  // The sniff and the sample of the number columns read the sample rows: seconds, or minutes for thousands of columns.
  const dialect = await ctx.onInferProgress(() => detectDialect(duck, file, ctx), { sampled: true });
  const sourceNames = (dialect.header && headerNames(file, dialect)) || dialect.columns.map((c) => c.name);
  const mapping = mapColumnNames(file.display, sourceNames, options, ctx.reserved);
  const wanted = mapping.map((m, i) => readType(ctx, dialect, m.name, m.source, dialect.columns[i]?.type ?? 'VARCHAR'));
  // Integers, decimals and dates are converted checked (csv-guard.ts): DuckDB's reader would round 1.5 without a word.
  const guards = csvGuards(
    mapping.map((m) => m.name),
    wanted,
    { ...dialect, detected: await detectedTypes(duck, file, dialect, wanted, options.sampleSize ?? DEFAULT_SAMPLE_ROWS) },
  );
  // The sample already shows values that need the quarantine (fractions for an integer column): a streamed read would only stop at them.
  const eager = guards.some((g) => g.offsets || (g.format === undefined && sampleShowsChange(dialect.columns[g.index]?.type ?? 'VARCHAR', g.type)));
  if (!eager) {
    const text = needText(file, dialect, guards);
    for (const g of guards) g.read = text.has(g.index) ? 'VARCHAR' : fastReadType(g, dialect.timestampFormat);
  }
  // The streamed read reads guarded columns by their cheap exact type; a temp table holds them as text (the exact read).
  const streamTypes = wanted.map((type, i) => guards.find((g) => g.index === i)?.read ?? type);
  const exactTypes = wanted.map((type, i) => (guards.some((g) => g.index === i) ? 'VARCHAR' : type));
  const fastColumns = guards.filter((g) => g.read !== 'VARCHAR');
  const { relation, rejects, view } = stageNames(ctx.id);
  const rejectsTable = `${rejects}_duck`;
  const scanTable = `${rejects}_scan`;
  const readCsv = (maxLineBytes: number, readTypes: string[]) =>
    `read_csv(${[
      quoteFilePath(file.localPath),
      ...readOptions(dialect, file, mapping, readTypes, rejects),
      ...(maxLineBytes === DEFAULT_LINE_BYTES ? [] : [`max_line_size = ${maxLineBytes}`]),
      ...(serial ? ['parallel = false'] : []),
    ].join(', ')})`;
  const parse = parseOptions(dialect, sourceNames);
  const noRows = () =>
    new InputFileError('INGEST_FILE_INVALID', file.display, { line: dialect.skip + 2 }, dialect.header ? 'the file has a header line but no data rows' : 'the file has no data rows');
  // DuckDB appends every scan's rejects to its tables: drop them first, so they hold the one scan that counts.
  const dropDuckRejects = () => duck.run(`DROP TABLE IF EXISTS ${quoteIdent(rejectsTable)}; DROP TABLE IF EXISTS ${quoteIdent(scanTable)}`);

  /** Set when a read rejected a line as too long, or the file has one: the next read allows long lines. */
  let longLines = false;
  /** Set when a parallel read missed records (see checkAllRead): the next read is on one thread. */
  let serial = false;

  /** Whether the file has a line too long for a read with this limit; a line too long for any read fails the file. */
  const hasLongerLine = async (maxLineBytes: number): Promise<boolean> => {
    // The file's hash and longest line are computed alongside the read: wait for them.
    await settleHash(file);
    const longest = file.longestLine;
    if (!longest || !tooLong(longest, maxLineBytes)) return false;
    if (tooLong(longest, LONG_LINE_BYTES)) throw await lineTooLong(file, longest);
    return true;
  };

  /**
   * With many rejects, DuckDB's parallel reader may stop part way through the file without an error
   * (a DuckDB bug: a 600,000-row file with every other value bad stopped at line 370,370). So when a
   * read rejected lines, the rows read and the lines rejected must make up every record of the file.
   * When fewer did, the file is read again on one thread (which reads them all); when that read also
   * misses records, the file fails. Only fewer counts: where the file cannot be walked as DuckDB reads
   * it (a lone CR for line breaks), the walk finds fewer records than DuckDB, and nothing is lost.
   */
  const checkAllRead = async (rows: number, rejected: number): Promise<boolean> => {
    // A file has at least as many lines as records: as many lines as rows and rejects (a record per line, the common case) settles it at less cost.
    if ((await countLines(file)) - dialect.skip - (dialect.header ? 1 : 0) <= rows + rejected) return true;
    const records = await countRecords(file, dialect);
    if (records === undefined || records <= rows + rejected) return true;
    if (!serial) {
      serial = true;
      return false;
    }
    throw new InputFileError(
      'INGEST_FILE_INVALID',
      file.display,
      {},
      `the file has ${records} records, but DuckDB's CSV reader read ${rows} rows and rejected ${rejected} lines (${records - rows - rejected} records neither read nor rejected, also when read on one thread); nothing was loaded`,
    );
  };
  /**
   * Moves DuckDB's rejects of the last scan into `rejects`, one row per line; undefined when the read
   * must be done again: a line was too long for it, or it rejected a value of a column it read by its
   * cheap type (`fast`) that the column's own type takes (`0x1F` into an integer): the exact read
   * judges those. A value neither type takes (`N/A`) stays DuckDB's reject, named by the column's type.
   */
  const collect = async (maxLineBytes: number, fast: readonly CsvGuard[], rows: number): Promise<number | undefined> => {
    let dropped = false;
    try {
      if (await hasLongerLine(maxLineBytes)) {
        longLines = true;
        return undefined;
      }
      const [counts] = await duck.rows<{ lines: bigint; long: bigint; casts: bigint; unclosed: bigint }>(
        `SELECT count(DISTINCT line) AS lines, count(*) FILTER (WHERE error_type = 'LINE SIZE OVER MAXIMUM') AS long, count(*) FILTER (WHERE error_type = 'CAST') AS casts, count(*) FILTER (WHERE ${UNCLOSED_QUOTE_SQL}) AS unclosed FROM ${quoteIdent(rejectsTable)}`,
      ).catch((error: unknown) => {
        // DuckDB creates the table when a scan starts: without one, nothing was rejected.
        if (error instanceof Error && /does not exist/.test(error.message)) return [{ lines: 0n, long: 0n, casts: 0n, unclosed: 0n }];
        throw error;
      });
      if (Number(counts!.long) > 0 && maxLineBytes < LONG_LINE_BYTES) {
        longLines = true;
        return undefined;
      }
      // Asked only when a value was rejected: the CASE names every column read by its cheap type (seconds to bind for thousands).
      if (fast.length > 0 && Number(counts!.casts) > 0) {
        const takes = fast.map((g) => `WHEN ${quoteString(g.name)} THEN ${convertsSql(g, CAST_VALUE_SQL)}`).join(' ');
        const [exact] = await duck.rows<{ fast: bigint }>(
          `SELECT count(*) FILTER (WHERE error_type = 'CAST' AND (NOT regexp_matches(error_message, ${CAST_MESSAGE}) OR CASE column_name ${takes} ELSE false END)) AS fast FROM ${quoteIdent(rejectsTable)}`,
        );
        if (Number(exact!.fast) > 0) return undefined;
      }
      const rejected = Number(counts!.lines);
      if (Number(counts!.unclosed) > 0) await refuseUnclosedQuote(duck, rejectsTable, file, dialect, rows + rejected);
      if (rejected === 0) {
        // The common case in one call: an empty quarantine, and DuckDB's tables gone.
        await duck.run(`${rejectsTableSql(rejects)}; DROP TABLE IF EXISTS ${quoteIdent(rejectsTable)}; DROP TABLE IF EXISTS ${quoteIdent(scanTable)}`);
        dropped = true;
        return 0;
      }
      // One rejected row per line: DuckDB may report several errors for it (a cast and a missing column).
      await duck.run(`
        CREATE OR REPLACE TEMP TABLE ${quoteIdent(rejects)} AS
        SELECT CAST(line AS BIGINT) AS line,
               CAST(${lineReasonSql(fast)} AS VARCHAR) AS reason,
               CAST(first(csv_line ORDER BY byte_position) AS VARCHAR) AS raw
        FROM ${quoteIdent(rejectsTable)} GROUP BY line ORDER BY line`);
      if (!(await checkAllRead(rows, rejected))) return undefined;
      await restoreRawText(rows);
      return rejected;
    } finally {
      if (!dropped) await dropDuckRejects();
    }
  };

  /**
   * The quarantine keeps a rejected line whole and as written: DuckDB's `csv_line` holds at most
   * 10,000 characters of it, and `?` for each byte the encoding does not allow. Those lines (rare:
   * the file is read again only when there is one) take their text from the file.
   */
  const restoreRawText = async (rows: number): Promise<void> => {
    const [cut] = await duck.rows<{ lines: (bigint | number)[] }>(
      `SELECT list(line) FILTER (WHERE strlen(raw) >= ${DUCK_REJECT_LINE_CHARS - 4} OR reason ILIKE '%invalid unicode%') AS lines FROM ${quoteIdent(rejects)}`,
    );
    const wanted = new Set((cut?.lines ?? []).map(Number));
    if (wanted.size === 0) return;
    const rejectedLines = await duck.rows<{ line: bigint }>(`SELECT line FROM ${quoteIdent(rejects)} WHERE line IS NOT NULL`);
    const texts = await rejectedRecords(file, dialect, wanted, new Set(rejectedLines.map((r) => Number(r.line))), rows);
    // Undefined when the walk cannot match DuckDB's lines (a multi-byte delimiter, UTF-16): DuckDB's text stays.
    if (!texts) return;
    const restored = `${rejects}_raw`;
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(restored)} (line BIGINT, raw VARCHAR)`);
    try {
      const appender = await duck.connection.createAppender(restored, 'main', 'temp');
      for (const [line, raw] of texts) {
        appender.appendBigInt(BigInt(line));
        appender.appendVarchar(raw);
        appender.endRow();
      }
      appender.closeSync();
      // With the bytes kept, DuckDB's "this file is not utf-8 encoded" becomes how to load the row (STRAY_BYTES_REASON).
      await duck.run(
        `UPDATE ${quoteIdent(rejects)} r SET raw = t.raw, reason = regexp_replace(r.reason, '(?i)invalid unicode[^;]*', ${quoteString(STRAY_BYTES_REASON)}, 'g') FROM ${quoteIdent(restored)} t WHERE r.line = t.line`,
      );
    } finally {
      await duck.run(`DROP TABLE IF EXISTS ${quoteIdent(restored)}`);
    }
  };

  /** The lines DuckDB's reader rejected (in `rejects` right after collect()) and the rows it read: what locating rows in the file needs. */
  const readerRecords = async (rows: number): Promise<{ rejectedLines: Set<number>; rows: number }> => {
    const readerLines = await duck.rows<{ line: bigint | null }>(`SELECT line FROM ${quoteIdent(rejects)}`);
    return { rejectedLines: new Set(readerLines.flatMap((r) => (r.line === null ? [] : [Number(r.line)]))), rows };
  };

  /** After a materialized read and collect(): the rows with a guarded value that needs the quarantine join DuckDB's rejects, with their lines. */
  const quarantine = async (records: { rejectedLines: Set<number>; rows: number }): Promise<number> => {
    if (guards.length === 0) return 0;
    return quarantineGuarded(duck, {
      relation,
      rejects,
      guards,
      dialect: { ...dialect, columns: mapping.map((m) => m.name) },
      locate: (checks) => locateRecords(file, dialect, checks, records.rejectedLines, records.rows),
    });
  };

  // Until the rows are read, the plan reads them through a view: over read_csv, or over the temp table once materialized.
  const staged: StagedFile = { relation: view, columns: [], hasLine: false, hasOrdinal: true, rows: 0, rejects, rejected: 0, parse, mapping, ...(dialect.notes ? { notes: dialect.notes } : {}) };
  // Each column named, not `* REPLACE (...)`: DuckDB binds a REPLACE list in time quadratic in its length (2.7 s for 1,000 guarded columns, 0.08 s so).
  const guarded = new Map(guards.map((g) => [g.name, guardedReadSql(g)]));
  const projection = mapping.map((m) => guarded.get(m.name) ?? quoteIdent(m.name)).join(', ');
  /** Set when a read stopped at a guarded value that needs the quarantine: only the exact read (a temp table of the text) takes the file. */
  let exactOnly = eager;

  // Rows read a second time (a merge) have their integer and date columns read as text, every value checked as by the exact read.
  // Double columns keep the streamed read's type: DuckDB binds the checks of doubles read as text in time quadratic in their number.
  const secondReads = guards.map((g) => (g.type === 'DOUBLE' || g.type === 'FLOAT' ? g : { ...g, read: 'VARCHAR' }));
  const secondTypes = wanted.map((type, i) => secondReads.find((g) => g.index === i)?.read ?? type);
  const secondGuarded = new Map(secondReads.map((g) => [g.name, guardedReadSql(g)]));
  const secondProjection = mapping.map((m) => secondGuarded.get(m.name) ?? quoteIdent(m.name)).join(', ');

  /**
   * The rows staged as they are read, each guarded value checked and converted on the way, when
   * none needs the quarantine: a file of 32 MiB or more in a scratch Parquet file (disk, not memory,
   * whatever its size; a temp table of the text took about 2.4 times the file), a smaller one in a
   * temp table. Undefined when the exact read must stage them instead (a value stopped the read, a
   * line was too long, a read on one thread is needed).
   */
  const stageConverted = async (): Promise<StagedFile | undefined> => {
    const maxLineBytes = longLines ? LONG_LINE_BYTES : DEFAULT_LINE_BYTES;
    await dropDuckRejects();
    let rows: number;
    try {
      ({ rows } = await stageSelect(
        duck,
        {
          select: `SELECT ${secondProjection} FROM ${readCsv(maxLineBytes, secondTypes)}`,
          table: relation,
          view,
          parquet: join(ctx.scratchDir, `${ctx.id}-rows.parquet`),
          onDisk: file.size >= STAGE_ON_DISK_BYTES,
          ordinal: ORDINAL_COLUMN,
        },
        (sql) => ctx.onReadProgress(() => changesOnFile(duck, file, sql)),
      ));
    } catch (error) {
      if (!isGuardStop(error)) throw error;
      exactOnly = true;
      return undefined;
    }
    const rejected = await collect(
      maxLineBytes,
      secondReads.filter((g) => g.read !== 'VARCHAR'),
      rows,
    );
    if (rejected === undefined) return undefined;
    const records = await readerRecords(rows);
    staged.locate = (checks) => locateRecords(file, dialect, checks, records.rejectedLines, records.rows);
    staged.columns = await stagedColumns(duck, view, mapping);
    staged.rows = rows;
    staged.rejected = rejected;
    if (rows === 0 && rejected === 0) throw noRows();
    delete staged.lazy;
    return staged;
  };

  const materialize = async (): Promise<StagedFile> => {
    if (!exactOnly) {
      const converted = await stageConverted();
      if (converted) return converted;
    }
    // Each read that collect() turns down sets longLines or serial, which it does once each: at most three reads.
    for (;;) {
      const maxLineBytes = longLines ? LONG_LINE_BYTES : DEFAULT_LINE_BYTES;
      await dropDuckRejects();
      await ctx.onReadProgress(() => runOnFile(duck, file, `CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT * FROM ${readCsv(maxLineBytes, exactTypes)}`));
      const read = await collect(maxLineBytes, [], await countRows(duck, relation));
      if (read === undefined) continue;
      const records = await readerRecords(await countRows(duck, relation));
      const rejected = read + (await quarantine(records));
      // rowid keeps each row's position in the read through the quarantine's DELETE and ALTERs.
      await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT *, rowid AS ${ORDINAL_COLUMN} FROM ${quoteIdent(relation)}`);
      staged.locate = (checks) => locateRecords(file, dialect, checks, records.rejectedLines, records.rows);
      staged.columns = await stagedColumns(duck, view, mapping);
      staged.rows = await countRows(duck, relation);
      staged.rejected = rejected;
      if (staged.rows === 0 && rejected === 0) throw noRows();
      delete staged.lazy;
      return staged;
    }
  };

  if (eager) return materialize();
  await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT ${projection}, CAST(NULL AS BIGINT) AS ${ORDINAL_COLUMN} FROM ${readCsv(DEFAULT_LINE_BYTES, streamTypes)}`);
  staged.columns = await stagedColumns(duck, view, mapping);
  staged.lazy = {
    beforeRead: dropDuckRejects,
    async collectRejects(rows) {
      const rejected = await collect(DEFAULT_LINE_BYTES, fastColumns, rows);
      if (rejected === undefined) return undefined;
      staged.rows = rows;
      staged.rejected = rejected;
      if (rows === 0 && rejected === 0) throw noRows();
      delete staged.lazy;
      return rejected;
    },
    materialize,
    fileError: (error) => fileReadError(file, error),
    stoppedAtValue(error) {
      // The rows are then staged by the exact read: the converting one would stop at the same value.
      const stopped = isGuardStop(error);
      if (stopped) exactOnly = true;
      return stopped;
    },
  };
  return staged;
}

/** Whether a line (with its line break, CR LF at most) is longer than a read's limit. */
function tooLong(line: LongestLine, maxLineBytes: number): boolean {
  return line.bytes + 2 > maxLineBytes;
}

/** The error for a line longer than any read of DuckDB's takes, naming the line (found again only now) and its length. */
async function lineTooLong(file: ProbedFile, line: LongestLine): Promise<InputFileError> {
  return new InputFileError(
    'INGEST_FILE_INVALID',
    file.display,
    // The byte is one of the decompressed text: named only where it is the file's own.
    { line: await lineStartingAt(file, line.start), ...(file.compression === 'none' ? { byte: line.start } : {}) },
    `the line is ${line.bytes} bytes long, longer than DuckDB's CSV reader takes (${LONG_LINE_BYTES} bytes, 256 MiB); nothing was loaded: split the value, or load it another way`,
  );
}

/** DuckDB's reject for a quote that opens a value and is never closed (error type `UNQUOTED VALUE`, which also covers text after a closing quote). */
const UNCLOSED_QUOTE_SQL = `error_message ILIKE '%unterminated quote%'`;
/** DuckDB keeps at most this many bytes of a rejected line (`csv_line`; a character cut in two is dropped): a longer one is cut. */
const DUCK_REJECT_LINE_CHARS = 10_000;

/**
 * Refuses the file when DuckDB's reader found a quote that is never closed, unless that quote is on
 * the file's last line and the reject holds that whole line. After an unclosed quote the reader takes
 * every following line as part of one value, up to the next quote character, the end of its chunk
 * of the file (a parallel read) or the end of the file: those lines are neither read as rows nor
 * kept whole as the reject's raw text (DuckDB cuts it at 10,000 characters, and in a parallel read
 * gives another line's text). Loading the rest would lose rows without a word, so nothing is loaded
 * and the error names the line where the quote opens.
 *
 * `lines` is the rows the read took plus the lines it rejected: when the quote is on the last line,
 * that is every line of the file after the header, and no line can have been swallowed.
 */
async function refuseUnclosedQuote(duck: DuckDb, rejectsTable: string, file: ProbedFile, dialect: Dialect, lines: number): Promise<void> {
  const unclosed = await duck.rows<{ line: bigint | null; raw: string | null }>(
    `SELECT CAST(line AS BIGINT) AS line, CAST(csv_line AS VARCHAR) AS raw FROM ${quoteIdent(rejectsTable)} WHERE ${UNCLOSED_QUOTE_SQL} ORDER BY line`,
  );
  const lastLine = dialect.skip + (dialect.header ? 1 : 0) + lines;
  const swallowing = unclosed.find((reject) => {
    const line = reject.line === null ? undefined : Number(reject.line);
    const raw = (reject.raw ?? '').replace(/\r?\n$/, '');
    // The reject is that one line, whole: no other line's text in it, not cut at DuckDB's limit.
    const oneLine = raw.length < DUCK_REJECT_LINE_CHARS && !/[\r\n]/.test(raw) && dialect.quote !== '' && raw.includes(dialect.quote);
    if (!oneLine) return true;
    // Text after a closing quote (`1,"ab"c`, DuckDB's same message): a bad line, nothing swallowed.
    if (textAfterClosingQuote(raw, dialect)) return false;
    // A quote left open on the file's last line swallows nothing either.
    return !(unclosed.length === 1 && line === lastLine);
  });
  if (!swallowing) return;
  throw new UnclosedQuoteError(
    file.display,
    swallowing.line === null ? {} : { line: Number(swallowing.line) },
    'unclosed quote: a value starts with a quote that is never closed, so the reader took the lines after it as part of that one value (up to the next quote or the end of the file) and their rows would be lost; nothing was loaded. ' +
      `Close the quote (a quote inside a value is written twice: "") and ingest the file again, or, if the file does not quote its values, ingest it with --quote ''`,
  );
}

/** A quote that opens a value and is never closed (refuseUnclosedQuote), or one that only seems so (readsLikeMixedLineBreaks). */
export class UnclosedQuoteError extends InputFileError {
  constructor(file: string, position: FilePosition, problem: string) {
    super('INGEST_FILE_INVALID', file, position, problem);
  }
}

/**
 * Whether DuckDB's reader failed on the file as it fails on one whose lines end some with CR LF and
 * some with LF (csvWithOneKindOfLineBreak): its state machine stops, or a value's closing quote
 * followed by the other kind of line break reads as text after the quote, the value as never closed.
 */
export function readsLikeMixedLineBreaks(error: unknown): boolean {
  return error instanceof UnclosedQuoteError || (error instanceof Error && /state machine reached an invalid state/i.test(error.message));
}

/**
 * Whether a line's quotes all close, and one is followed by text rather than a delimiter or the end
 * (`1,"ab"c`): the line is bad on its own. A line whose quote never closes is not, nor one that
 * parses (a parallel read may report another line's text for the reject).
 */
export function textAfterClosingQuote(line: string, dialect: { delimiter: string; quote: string; escape: string }): boolean {
  const { delimiter, quote, escape } = dialect;
  let strayText = false;
  let i = 0;
  while (i <= line.length) {
    if (line.startsWith(quote, i)) {
      // A quoted field: to its closing quote (an escaped quote is part of the value).
      i += quote.length;
      for (;;) {
        if (i >= line.length) return false;
        if (escape !== quote && line.startsWith(escape, i) && line.startsWith(quote, i + escape.length)) i += escape.length + quote.length;
        else if (line.startsWith(quote, i) && escape === quote && line.startsWith(quote, i + quote.length)) i += 2 * quote.length;
        else if (line.startsWith(quote, i)) break;
        else i++;
      }
      i += quote.length;
      if (i < line.length && !line.startsWith(delimiter, i)) strayText = true;
    }
    const next = line.indexOf(delimiter, i);
    if (next < 0) break;
    i = next + delimiter.length;
  }
  return strayText;
}

/** DuckDB's `Could not convert string "x" to 'BIGINT'`, the value and the type. */
const CAST_MESSAGE = `'Could not convert string "(.*)" to ''([^'']+)'''`;
const CAST_VALUE_SQL = `regexp_extract(error_message, ${CAST_MESSAGE}, 1)`;

/**
 * The reason for one of DuckDB's CSV rejects: `column qty: cannot convert abc to BIGINT` for a
 * value that does not convert, worded as the conversions rat checks itself, and naming the column's
 * type where the read used a cheaper one (`read`); DuckDB's own message for the rest (a ragged line,
 * an unclosed quote, invalid UTF-8).
 */
function rejectReasonSql(read: readonly CsvGuard[]): string {
  const type = read.length > 0 ? `CASE column_name ${read.map((g) => `WHEN ${quoteString(g.name)} THEN ${quoteString(g.type)}`).join(' ')} ELSE regexp_extract(error_message, ${CAST_MESSAGE}, 2) END` : `regexp_extract(error_message, ${CAST_MESSAGE}, 2)`;
  return `CASE
  WHEN error_type = 'CAST' AND column_name IS NOT NULL AND regexp_matches(error_message, ${CAST_MESSAGE})
    THEN 'column ' || column_name || ': cannot convert ' || left(${CAST_VALUE_SQL}, 200) || ' to ' || ${type}
  WHEN column_name IS NULL THEN error_message
  ELSE 'column ' || column_name || ': ' || error_message END`;
}

/** DuckDB's `Expected Number of Columns: 3 Found: 1`, for a line with too few or too many fields. */
const FIELD_COUNT_MESSAGE = `'Expected Number of Columns: (\\d+) Found: (\\d+)'`;
const FIELD_COUNT_SQL = `error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS')`;

/**
 * The one reason for a rejected line, from DuckDB's several errors for it (an aggregate over them):
 * `expected 3 fields, found 1` for a ragged line, then the other errors. DuckDB reports a short line
 * once per missing column, each with a different `Found:` (the count it had reached), so the fewest
 * found is the line's own count.
 */
function lineReasonSql(read: readonly CsvGuard[]): string {
  const count = (group: number) => `CAST(regexp_extract(error_message, ${FIELD_COUNT_MESSAGE}, ${group}) AS VARCHAR)`;
  const fieldCount = `CASE WHEN bool_or(${FIELD_COUNT_SQL}) THEN 'expected ' || max(${count(1)}) FILTER (WHERE ${FIELD_COUNT_SQL}) || ' fields, found ' || min(TRY_CAST(regexp_extract(error_message, ${FIELD_COUNT_MESSAGE}, 2) AS BIGINT)) FILTER (WHERE ${FIELD_COUNT_SQL}) END`;
  const others = `string_agg(${rejectReasonSql(read)}, '; ' ORDER BY byte_position) FILTER (WHERE NOT (${FIELD_COUNT_SQL}))`;
  return `concat_ws('; ', ${fieldCount}, ${others})`;
}

/**
 * How the file was read, kept with its quarantined rows: a replay reads them the same way, with the
 * date, timestamp and decimal formats the file was read by (sniffed or given), not whatever a sniff
 * of the quarantined rows alone would take.
 */
function parseOptions(dialect: Dialect, columns: string[]): ParseOptions {
  return {
    format: 'csv',
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    escape: dialect.escape,
    header: true,
    columns,
    encoding: 'utf-8',
    ...(dialect.dateFormat ? { dateFormat: dialect.dateFormat } : {}),
    ...(dialect.timestampFormat ? { timestampFormat: dialect.timestampFormat } : {}),
    ...(dialect.decimalSeparator ? { decimalSeparator: dialect.decimalSeparator } : {}),
  };
}

/** Rows of several CSV files read at once (stageCsvRun), with how many each brought. */
export interface StagedRun {
  staged: StagedFile;
  /** Rows in the staged relation per file (by display name); files with rejected lines are not in it. */
  rows: Map<string, number>;
  /** Files (by display name) that had lines DuckDB rejected: their rows were taken out again. */
  rejected: Set<string>;
}

/**
 * Several small CSV files with the same header line and dialect, read in one read_csv call into
 * one temp table, each row tagged with its file: one sniff (of the first file), one read, one
 * rejects pass, instead of a round of each per file. A file any of whose lines DuckDB rejects is
 * taken out again (the caller ingests it on its own, with its quarantine); undefined when the first
 * file's dialect has no header line to tell the files' columns by.
 */
export async function stageCsvRun(ctx: StageContext, files: ProbedFile[]): Promise<StagedRun | undefined> {
  const { duck, options } = ctx;
  const first = files[0]!;
  const dialect = await detectDialect(duck, first, ctx);
  // A date format not applied to the first file (notes) may well apply to the others: each is read on its own.
  if (!dialect.header || dialect.skip !== 0 || dialect.notes) return undefined;
  const sourceNames = headerNames(first, dialect) || dialect.columns.map((c) => c.name);
  const mapping = mapColumnNames(first.display, sourceNames, options, ctx.reserved);
  const wanted = mapping.map((m, i) => readType(ctx, dialect, m.name, m.source, dialect.columns[i]?.type ?? 'VARCHAR'));
  const guards = csvGuards(
    mapping.map((m) => m.name),
    wanted,
    // Any file of the run whose first bytes show an offset in a timestamp column has it checked.
    { ...dialect, detected: await detectedTypesOfRun(duck, files, dialect, wanted, options.sampleSize ?? DEFAULT_SAMPLE_ROWS) },
  );
  const readTypes = wanted.map((type, i) => (guards.some((g) => g.index === i) ? 'VARCHAR' : type));
  const { relation, rejects } = stageNames(ctx.id);
  const rejectsTable = `${rejects}_duck`;
  const scanTable = `${rejects}_scan`;
  const read = `read_csv([${files.map((f) => quoteFilePath(f.localPath)).join(', ')}], ${[...readOptions(dialect, first, mapping, readTypes, rejects), `filename = '__rat_path'`].join(', ')})`;
  const display = `CASE __rat_path ${files.map((f) => `WHEN ${quoteString(f.localPath)} THEN ${quoteString(f.display)}`).join(' ')} END`;
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT * EXCLUDE (__rat_path), ${display} AS ${SOURCE_COLUMN} FROM ${read}; ${rejectsTableSql(rejects)}`);
  const byPath = new Map(files.map((f) => [f.localPath, f.display]));
  const rejectedRows = await duck
    .rows<{ f: string }>(`SELECT DISTINCT s.file_path AS f FROM ${quoteIdent(rejectsTable)} r JOIN ${quoteIdent(scanTable)} s USING (scan_id, file_id)`)
    .catch((error: unknown) => {
      // DuckDB creates the tables when a scan starts: without them, nothing was rejected.
      if (error instanceof Error && /does not exist/.test(error.message)) return [];
      throw error;
    });
  const rejected = new Set(rejectedRows.map((r) => byPath.get(r.f) ?? r.f));
  // A file with an integer or date value the read would change or cannot convert goes alone too: its quarantine names the lines.
  for (const f of await filesWithGuardedValues(duck, relation, guards, SOURCE_COLUMN)) rejected.add(f);
  if (rejected.size > 0) await duck.run(`DELETE FROM ${quoteIdent(relation)} WHERE ${SOURCE_COLUMN} IN (${[...rejected].map(quoteString).join(', ')})`);
  await convertGuarded(duck, relation, guards);
  const counts = await duck.rows<{ f: string; n: bigint }>(`SELECT ${SOURCE_COLUMN} AS f, count(*) AS n FROM ${quoteIdent(relation)} GROUP BY 1`);
  const rows = new Map(counts.map((c) => [c.f, Number(c.n)]));
  const parse = parseOptions(dialect, sourceNames);
  const staged: StagedFile = {
    relation,
    columns: await stagedColumns(duck, relation, mapping),
    hasLine: false,
    hasSource: true,
    rows: [...rows.values()].reduce((a, b) => a + b, 0),
    rejects,
    rejected: 0,
    parse,
    mapping,
  };
  return { staged, rows, rejected };
}

/**
 * The guards the streamed read must read as text, since read as numbers their values would lose
 * what the check looks at. Integer columns whose values in the file's first bytes a DOUBLE cannot
 * hold exactly (past 2^53) or are not written as plain integers (`01234`, `0x1F`, `1_000`; as a
 * DOUBLE, `01234` is 1234), and those the sniffer did not find to be integers (a table's BIGINT
 * column, a file of zip codes): there, a value past the first bytes shows its text too. Double
 * columns with a value in the first bytes too small for a double (`1e-400` reads as 0).
 *
 * The rest are read as numbers, which costs about a tenth of the read less than text: an integer
 * not written plainly past the sniffer's sample, or a double's underflow past the first bytes, in
 * a column whose sample shows none, is read as its number (README "Numbers and dates are not rounded").
 */
function needText(file: ProbedFile, dialect: Dialect, guards: readonly CsvGuard[]): Set<number> {
  const integers = guards.filter((g) => INTEGER_SQL.test(g.type));
  const doubles = guards.filter((g) => g.type === 'DOUBLE' || g.type === 'FLOAT');
  const text = new Set(integers.filter((g) => !INTEGER_SQL.test(dialect.columns[g.index]?.type.trim() ?? '')).map((g) => g.index));
  if (integers.length + doubles.length === 0 || !file.sample) return text;
  const point = dialect.decimalSeparator ?? '.';
  for (const fields of sampleRecords(file, dialect)) {
    for (const g of integers) {
      const value = fields[g.index]?.trim() ?? '';
      if (NOT_PLAIN_INTEGER.test(value) || (/^[-+]?\d{16,}$/.test(value) && abs(BigInt(value)) > BigInt(EXACT_DOUBLE))) text.add(g.index);
    }
    for (const g of doubles) if (underflows(fields[g.index]?.trim() ?? '', point)) text.add(g.index);
  }
  return text;
}

/** Integer text that is not the integer written plainly: a leading zero, a base prefix, `_` (csv-guard.ts nonIntegerTextSql). */
const NOT_PLAIN_INTEGER = /^[+-]?0[0-9a-df-z_]|_/i;

/** Whether a number is too small for a double: it reads as 0, though one of its digits before the exponent is not 0. */
function underflows(value: string, point: '.' | ','): boolean {
  return value !== '' && Number(point === ',' ? value.replace(',', '.') : value) === 0 && /^[^eE]*[1-9]/.test(value);
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/** A time of day followed by a zone (Z, +05, +05:00, +0500), as the conversion checks it (schema-plan.ts). */
const OFFSET = new RegExp(OFFSET_TEXT);

/**
 * The sniffer's column types, a column read as TIMESTAMP (sniffed, given or the table's) counted as
 * TIMESTAMPTZ when a value in the sniffer's sample carries a UTC offset: the sniffer calls a column
 * TIMESTAMP when the offsets are a few among many values without one, and read as TIMESTAMP,
 * DuckDB's reader drops the offsets without a word. The column is then read checked (csvGuards),
 * those values going to the quarantine. A file held whole in memory is looked at there; a larger
 * one costs a read of the sample (`sampleRows`, -1 the whole file) as text, its timestamp columns
 * only (a few ms for 20,480 rows).
 */
async function detectedTypes(duck: DuckDb, file: ProbedFile, dialect: Dialect, wanted: readonly string[], sampleRows: number): Promise<string[]> {
  const types = dialect.columns.map((c) => c.type);
  const timestamps = wanted.flatMap((t, i) => (NAIVE_TIMESTAMP_SQL.test(t.trim()) && i < types.length ? [i] : []));
  if (timestamps.length === 0 || dialect.timestampFormat !== undefined) return types;
  if (file.sample && file.compression === 'none' && file.sample.length === file.size) {
    for (const fields of sampleRecords(file, dialect)) {
      for (const i of timestamps) if (OFFSET.test(fields[i]?.trim() ?? '')) types[i] = 'TIMESTAMP WITH TIME ZONE';
    }
    return types;
  }
  const offsets = timestamps.map((i, k) => `bool_or(regexp_matches(trim(c${i}), ${quoteString(OFFSET_TEXT)})) AS o${k}`);
  try {
    const [row] = await duck.rows<Record<string, boolean | null>>(`SELECT ${offsets.join(', ')} FROM (${sampleTextSql(file, dialect, sampleRows)})`);
    timestamps.forEach((i, k) => {
      if (row?.[`o${k}`]) types[i] = 'TIMESTAMP WITH TIME ZONE';
    });
  } catch (error) {
    // The sample that the sniffer read could not be read again as text: the sniffed types stand.
    if (!(error instanceof RatError && error.code !== 'STORAGE_ERROR')) throw error;
  }
  return types;
}

/** detectedTypes over several files read at once: a column with an offset in any of them counts as TIMESTAMPTZ. */
async function detectedTypesOfRun(duck: DuckDb, files: readonly ProbedFile[], dialect: Dialect, wanted: readonly string[], sampleRows: number): Promise<string[]> {
  let types: string[] | undefined;
  for (const file of files) {
    const detected = await detectedTypes(duck, file, dialect, wanted, sampleRows);
    types = types === undefined ? detected : types.map((t, i) => (detected[i] === t ? t : 'TIMESTAMP WITH TIME ZONE'));
  }
  return types ?? dialect.columns.map((c) => c.type);
}

/** The rows the sniffer read (the first `sampleRows`, -1 all), every column text and named `c<i>`. */
function sampleTextSql(file: ProbedFile, dialect: Dialect, sampleRows: number): string {
  const names = dialect.columns.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  // One thread and small buffers: read_csv's defaults would read tens of MiB to give a few thousand rows.
  const read = `read_csv(${[quoteString(file.localPath), ...dialectOptions(dialect, file), `columns = {${names}}`, 'ignore_errors = true', 'parallel = false', 'buffer_size = 1048576'].join(', ')})`;
  return `SELECT * FROM ${read}${sampleRows > 0 ? ` LIMIT ${sampleRows}` : ''}`;
}

/** read_csv's options for a sniffed dialect, without the columns. */
function dialectOptions(dialect: Dialect, file: ProbedFile): string[] {
  return [
    'auto_detect = false',
    `delim = ${quoteString(dialect.delimiter)}`,
    `quote = ${quoteString(dialect.quote)}`,
    `escape = ${quoteString(dialect.escape)}`,
    `header = ${dialect.header}`,
    `skip = ${dialect.skip}`,
    `encoding = ${quoteString(file.encoding)}`,
    `compression = ${quoteString(file.compression)}`,
    ...(dialect.dateFormat ? [`dateformat = ${quoteString(dialect.dateFormat)}`] : []),
    ...(dialect.timestampFormat ? [`timestampformat = ${quoteString(dialect.timestampFormat)}`] : []),
    ...(dialect.decimalSeparator ? [`decimal_separator = ${quoteString(dialect.decimalSeparator)}`] : []),
  ];
}

/** read_csv's options for a sniffed dialect: every column typed, rejects kept in `<rejects>_duck` and `<rejects>_scan`. */
function readOptions(dialect: Dialect, file: ProbedFile, mapping: { name: string }[], readTypes: string[], rejects: string): string[] {
  return [
    ...dialectOptions(dialect, file),
    `columns = {${mapping.map((m, i) => `${quoteString(m.name)}: ${quoteString(readTypes[i]!)}`).join(', ')}}`,
    'store_rejects = true',
    `rejects_table = ${quoteString(`${rejects}_duck`)}`,
    `rejects_scan = ${quoteString(`${rejects}_scan`)}`,
  ];
}

/**
 * The type a column is wanted as (integers and dates are then converted checked, csv-guard.ts).
 * Explicit types win. A column the table has is read as the table's type (so the lines that do
 * not convert are rejected with their line), unless the file's detected type is a
 * widening of it (int -> long, float -> double, wider decimal): then as detected, and the ingest
 * widens the column only if some value needs it. New columns: as detected, or text under the
 * ignore policy (they are dropped anyway).
 */
function readType(ctx: StageContext, dialect: Dialect, name: string, source: string, detected: string): string {
  const explicit = givenType(ctx.options.types, name, source);
  // Timestamps read with a zone (%z) into a column without one: read as the instants they are (the reader would shift them to
  // UTC and take infinity for 1900-01-01); the conversion sends each to the quarantine. Without a zone, DuckDB's reader
  // applies a timestamp format to TIMESTAMP only (as TIMESTAMP_NS every value fails): read as TIMESTAMP, widened by the plan.
  const zoned = (wanted: string) => {
    if (!NAIVE_TIMESTAMP_SQL.test(wanted.trim()) || dialect.timestampFormat === undefined) return wanted;
    return hasZone(dialect.timestampFormat) ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP';
  };
  if (explicit) return readsLossily(explicit, detected, dialect) ? detected : zoned(explicit);
  const field = ctx.targetSchema?.fields.find((f) => f.name.toLowerCase() === name);
  if (!field) return ctx.targetSchema && ctx.options.schemaDrift === 'ignore' ? 'VARCHAR' : detected;
  const tableType = duckDbTypeOf(field.type);
  // A decimal column takes numbers as the widest decimal of its scale (checked for rounding): the plan widens the column when a value needs more digits.
  const decimal = typeof field.type === 'string' ? /^decimal\((\d+),\s*(\d+)\)$/.exec(field.type) : null;
  if (decimal && /^(DOUBLE|FLOAT|BIGINT|INTEGER|SMALLINT|TINYINT|DECIMAL\(\d+,\s*\d+\))$/i.test(detected.trim())) return `DECIMAL(38,${decimal[2]})`;
  const detectedIceberg = icebergPrimitive(detected);
  if (typeof field.type === 'string' && detectedIceberg && detectedIceberg !== field.type && promotionAllowed(field.type, detectedIceberg)) return detected;
  return readsLossily(tableType, detected, dialect) ? detected : zoned(tableType);
}

const FRACTIONAL_SQL = /^(FLOAT|REAL|DOUBLE|DECIMAL\(\d+,\s*[1-9]\d*\))$/i;

/**
 * Whether a column detected as `detected` must be read as detected rather than `wanted`: a date column
 * whose values the sniffer found to be timestamps in its own format (`02/01/2024 10:00`). The guarded
 * read (csv-guard.ts) parses dates as ISO text only; read as timestamps, the conversion to a date
 * (schema-plan.ts) sends each value with a time of day to the quarantine instead.
 */
function readsLossily(wanted: string, detected: string, dialect: Dialect): boolean {
  return /^DATE$/i.test(wanted.trim()) && /^TIMESTAMP/i.test(detected.trim()) && dialect.timestampFormat !== undefined;
}

/**
 * Whether the sniffer's type for a column says that values in its sample change when read as
 * `wanted`: fractions into an integer, timestamps into a date. (Text may be just empty values,
 * which convert: such a column is streamed, and a value that does not convert stops the read.)
 */
function sampleShowsChange(detected: string, wanted: string): boolean {
  if (INTEGER_SQL.test(wanted)) return FRACTIONAL_SQL.test(detected.trim());
  return wanted === 'DATE' && /^TIMESTAMP/i.test(detected.trim());
}

function icebergPrimitive(sqlType: string): PrimitiveType | undefined {
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/i.exec(sqlType);
  if (decimal) return `decimal(${Number(decimal[1])}, ${Number(decimal[2])})`;
  const map: Record<string, PrimitiveType> = { INTEGER: 'int', BIGINT: 'long', FLOAT: 'float', DOUBLE: 'double' };
  return map[sqlType.toUpperCase()];
}

async function detectDialect(duck: DuckDb, file: ProbedFile, ctx: StageContext): Promise<Dialect> {
  const whole = file.sample ? decodeSample(file) : undefined;
  const leading = whole === undefined ? { skip: 0, comments: false } : await leadingLines(duck, file, whole);
  // Excel's `sep=;` line names the delimiter; a delimiter given still wins.
  const options = leading.delimiter !== undefined && ctx.options.delimiter === undefined ? { ...ctx.options, delimiter: leading.delimiter } : ctx.options;
  const at = { ...ctx, options, skip: leading.skip, comments: leading.comments };
  const sample = whole === undefined ? undefined : skipLines(whole, leading.skip);
  const firstLine = sample?.split(/\r?\n/, 1)[0] ?? '';
  const plausible = (d: Dialect) => d.columns.length > 1 || options.delimiter !== undefined || !DELIMITER_CANDIDATES.some((c) => firstLine.includes(c));
  // An obvious dialect spares DuckDB's search over every candidate (about 15 of a 100-row file's 18 ms).
  const obvious = sample !== undefined && options.delimiter === undefined && options.quote === undefined && options.escape === undefined ? obviousDelimiter(sample) : undefined;
  let dialect = obvious ? await sniff(duck, file, at, false, { delimiter: obvious, quote: '"', escape: '"' }) : undefined;
  if (!dialect || !plausible(dialect)) dialect = await sniff(duck, file, at, false);
  if (!dialect || !plausible(dialect)) {
    // A few malformed rows (an unclosed quote) can make the strict sniffer give up or settle on one column.
    const lenient = await sniff(duck, file, at, true);
    if (lenient && plausible(lenient)) dialect = lenient;
    else if (!dialect || !plausible(dialect)) dialect = guessDialect(file, firstLine, options, leading.skip);
  }
  // The lenient sniffer drops quoting when a quote is unbalanced; quoted fields ("a,b") must still parse.
  if (options.quote === undefined && dialect.quote === '' && sample?.includes('"')) dialect = { ...dialect, quote: '"', escape: options.escape ?? '"' };
  dialect = await checkedDateFormats(duck, file, dialect, options);
  return { ...dialect, columns: await exactColumns(duck, file, dialect, options.sampleSize ?? DEFAULT_SAMPLE_ROWS) };
}

/** The sniffed columns, with a DOUBLE column whose sampled values a DOUBLE cannot hold typed as a decimal or text instead (csv-numbers.ts). */
async function exactColumns(duck: DuckDb, file: ProbedFile, dialect: Dialect, sampleRows: number): Promise<Dialect['columns']> {
  const point = dialect.decimalSeparator ?? '.';
  const sample = async (columns: number[]): Promise<NumberSample[]> => {
    // A sample that holds the whole file is judged here; a larger file by DuckDB, over the rows its sniffer read.
    if (file.compression === 'none' && file.sample?.length === file.size) {
      const lines = skipLines(decodeSample(file), dialect.skip + (dialect.header ? 1 : 0)).split(/\r?\n/);
      const rows = lines.filter((line) => line !== '').map((line) => splitRecord(line, dialect.delimiter, dialect.quote, dialect.escape));
      return columns.map((index) => sampleOfValues(rows.map((fields) => fields[index] ?? ''), point));
    }
    return sampleByQuery(duck, sampleTextSql(file, dialect, sampleRows), columns, point);
  };
  try {
    const types = await exactNumberTypes(
      dialect.columns.map((c) => c.type),
      sample,
    );
    return dialect.columns.map((c, i) => ({ ...c, type: types[i]! }));
  } catch (error) {
    // The sample that the sniffer read could not be read again as text: the sniffed types stand.
    if (error instanceof RatError && error.code !== 'STORAGE_ERROR') return dialect.columns;
    throw error;
  }
}

/**
 * The delimiter of a sample with no quote characters in which exactly one candidate splits every
 * complete line into the same number (two or more) of fields; else undefined, and DuckDB's sniffer
 * searches. Quoting stays `"` as in RFC 4180: a quoted field further down the file still parses.
 */
export function obviousDelimiter(sample: string): string | undefined {
  if (sample.includes('"') || sample.includes("'")) return undefined;
  const lines = sample.split(/\r?\n/);
  // The sample may end inside a line: only lines followed by a line break count.
  lines.pop();
  const complete = lines.filter((line) => line !== '');
  if (complete.length < 2) return undefined;
  const consistent = DELIMITER_CANDIDATES.filter((candidate) => {
    const fields = complete[0]!.split(candidate).length;
    return fields > 1 && complete.every((line) => line.split(candidate).length === fields);
  });
  return consistent.length === 1 ? consistent[0] : undefined;
}

/**
 * The lines before the header that are no part of the table (leadingLines): read_csv skips them. Any
 * other line is read, whatever the sniffer thinks: it may decide that leading lines are junk to skip
 * (when a later line has more columns), and those lines would vanish without a trace; read, a
 * ragged one is a bad row.
 */
async function sniff(duck: DuckDb, file: ProbedFile, ctx: StageContext & { skip: number; comments: boolean }, lenient: boolean, hint?: { delimiter: string; quote: string; escape: string }): Promise<Dialect | undefined> {
  const options = { ...ctx.options, ...hint };
  const args = [
    quoteFilePath(file.localPath),
    `sample_size = ${options.sampleSize ?? DEFAULT_SAMPLE_ROWS}`,
    `encoding = ${quoteString(file.encoding)}`,
    `compression = ${quoteString(file.compression)}`,
    `skip = ${ctx.skip}`,
    // Taking `#` for a comment character (for a `#` line further down), DuckDB's sniffer drops every `#` line before it counts
    // the lines to skip, and so skips the header too; the reader reads a `#` line past the header as a (bad) row anyway.
    ...(ctx.comments ? [`comment = ''`] : []),
    ...(options.delimiter !== undefined ? [`delim = ${quoteString(options.delimiter)}`] : []),
    ...(options.quote !== undefined ? [`quote = ${quoteString(options.quote)}`] : []),
    ...(options.escape !== undefined ? [`escape = ${quoteString(options.escape)}`] : []),
    ...(options.header !== undefined ? [`header = ${options.header}`] : []),
    ...(options.dateFormat !== undefined ? [`dateformat = ${quoteString(options.dateFormat)}`] : []),
    ...(options.timestampFormat !== undefined ? [`timestampformat = ${quoteString(options.timestampFormat)}`] : []),
    ...(options.decimalSeparator !== undefined ? [`decimal_separator = ${quoteString(options.decimalSeparator)}`] : []),
    ...(lenient ? ['ignore_errors = true'] : []),
  ];
  try {
    const [row] = await duck.rows<SniffRow>(`SELECT Delimiter, Quote, Escape, SkipRows, HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv(${args.join(', ')})`);
    if (!row) return undefined;
    const empty = (v: string) => (v === '(empty)' ? '' : v);
    const dialect = { delimiter: row.Delimiter, quote: empty(row.Quote), escape: empty(row.Escape), header: row.HasHeader, skip: ctx.skip, columns: row.Columns };
    // The ISO format itself is read without one, checked (csv-guard.ts): with a format, DuckDB's reader takes `infinity`, `-infinity` and `epoch` for 1900-01-01.
    const dateFormat = row.DateFormat && options.dateFormat === undefined && row.DateFormat === ISO_DATE_FORMAT ? undefined : row.DateFormat;
    // A format with a zone (%z) reads instants: DuckDB's sniffer calls the column TIMESTAMP, whose reader shifts each value to UTC
    // and drops its zone, and takes `infinity` and `epoch` for 1900-01-01; read as TIMESTAMPTZ, each is kept as written.
    const zoned = hasZone(row.TimestampFormat ?? undefined);
    return {
      ...dialect,
      ...(zoned ? { columns: dialect.columns.map((c) => (/^TIMESTAMP$/i.test(c.type.trim()) ? { ...c, type: 'TIMESTAMP WITH TIME ZONE' } : c)) } : {}),
      ...(dateFormat ? { dateFormat } : {}),
      ...(row.TimestampFormat ? { timestampFormat: row.TimestampFormat } : {}),
      ...(options.decimalSeparator !== undefined ? { decimalSeparator: options.decimalSeparator } : {}),
    };
  } catch (error) {
    if (error instanceof RatError && /Invalid unicode|not utf-8/i.test(error.message) && !lenient) return undefined;
    if (error instanceof RatError && error.code !== 'STORAGE_ERROR') return undefined;
    throw error;
  }
}

const ISO_DATE_FORMAT = '%Y-%m-%d';

/**
 * A format's day and month swapped (`%d/%m/%Y` -> `%m/%d/%Y`); undefined when it does not have both,
 * or has the year first (`%Y-%m-%d`: no one writes year, day, month).
 */
export function swappedDayMonth(format: string): string | undefined {
  const parts = format.replaceAll('%%', '').match(/%-?[dmYy]/g) ?? [];
  if (parts.filter((p) => p.endsWith('d')).length !== 1 || parts.filter((p) => p.endsWith('m')).length !== 1 || /[Yy]$/.test(parts[0]!)) return undefined;
  return format.replace(/%%|%(-?)([dm])/g, (spec: string, dash: string | undefined, letter: string | undefined) => (letter === undefined ? spec : `%${dash ?? ''}${letter === 'd' ? 'm' : 'd'}`));
}

/**
 * A format with a two-digit year first (`%y/%m/%d`) rewritten with the year last, day first and month
 * first (`%d/%m/%y`, `%m/%d/%y`); undefined for any other format. DuckDB's sniffer takes `%y/%m/%d`
 * for `25/12/24` (2025-12-24), though far more files write the year last.
 */
export function yearLastOrders(format: string): [string, string] | undefined {
  const parts = format.replaceAll('%%', '').match(/%-?[dmYy]/g) ?? [];
  if (parts.length !== 3 || !/y$/.test(parts[0]!) || !parts.some((p) => p.endsWith('m')) || !parts.some((p) => p.endsWith('d'))) return undefined;
  const order = (letters: string) => {
    let i = 0;
    return format.replace(/%%|%(-?)([dmy])/g, (spec: string, dash: string | undefined, letter: string | undefined) => (letter === undefined ? spec : `%${dash ?? ''}${letters[i++]!}`));
  };
  return [order('dmy'), order('mdy')];
}

/**
 * The sniffed dialect's date and timestamp formats, checked against the sniffer's sample (one read of
 * it as text, only for a file with a format not ISO, or given): the rows themselves are read as before.
 *
 * - A sniffed date format is dropped when more of the sample's dates are ISO (`2024-01-02`) than in
 *   that format: one `05/02/2024` among a thousand ISO dates makes DuckDB's sniffer pick `%d/%m/%Y`
 *   for the column, and every ISO date would then be a bad row. Read as ISO, the odd value is the one.
 * - A sniffed format with a day and a month (`%d/%m/%Y`) takes the order that more of the sample's
 *   values read by alone (`13/02/2024`), which is not always the one DuckDB's sniffer takes. It is a
 *   guess when no value of the sample has a day above 12 (`01/02/2024` reads as 1 February and as
 *   2 January): DuckDB's sniffer then takes day first, and a month-first file would have every such
 *   date changed without a word. Its columns are read as text instead (raw as written, the bronze
 *   contract), and the report says to give the order. A value past the sample that the chosen order
 *   cannot read is a bad row; it never changes how the other rows were read.
 * - A sniffed format with a two-digit year first (`%y/%m/%d`) is a guess too unless a value of the
 *   sample reads only so (`99/01/02`): `25/12/24` reads as 2025-12-24 and as 25 December 2024. Such
 *   columns are read as text, and the report says to give the order.
 * - A format given (`--date-format`) that some values of a column read by and others do not makes
 *   DuckDB's sniffer type that column text: the report says so, with a value it could not read.
 */
async function checkedDateFormats(duck: DuckDb, file: ProbedFile, dialect: Dialect, options: StageContext['options']): Promise<Dialect> {
  const temporal = (type: string) => (type === 'DATE' ? 'date' : /^TIMESTAMP/i.test(type.trim()) ? 'timestamp' : undefined);
  const kinds = (['date', 'timestamp'] as const).flatMap((kind) => {
    const givenFormat = kind === 'date' ? options.dateFormat : options.timestampFormat;
    const format = givenFormat ?? (kind === 'date' ? dialect.dateFormat : dialect.timestampFormat);
    if (format === undefined) return [];
    const given = givenFormat !== undefined;
    const positions = dialect.columns.flatMap((c, i) => ((given ? c.type === 'VARCHAR' : temporal(c.type) === kind) ? [i] : []));
    const swapped = swappedDayMonth(format);
    const yearLast = yearLastOrders(format);
    // A given format is the user's word on the order; a sniffed one is checked for it (and a date one against ISO).
    if (positions.length === 0 || (!given && swapped === undefined && yearLast === undefined && kind === 'timestamp')) return [];
    return [{ kind, format, given, positions, swapped: given ? undefined : swapped, yearLast: given ? undefined : yearLast }];
  });
  if (kinds.length === 0) return dialect;
  // No `FILTER (WHERE ...)` clauses: DuckDB takes time quadratic in their number (CASE and count_if, linear).
  const items = kinds.flatMap((k, n) =>
    k.positions.flatMap((p) => {
      const value = `#${p + 1}`;
      const read = `try_strptime(${value}, ${quoteString(k.format)})`;
      if (k.given) return [`count(${read}) AS read_${n}_${p}`, `any_value(CASE WHEN ${read} IS NULL AND trim(${value}) <> '' THEN ${value} END) AS other_${n}_${p}`];
      const other = k.swapped === undefined ? undefined : `try_strptime(${value}, ${quoteString(k.swapped)})`;
      const iso = k.kind === 'date' ? [`count(TRY_CAST(${value} AS DATE)) AS iso_${n}_${p}`] : [];
      if (k.yearLast !== undefined) {
        const last = k.yearLast.map((f) => `try_strptime(${value}, ${quoteString(f)})`);
        return [
          `count(${read}) AS read_${n}_${p}`,
          ...iso,
          // Proof of the year first: a value no year-last order reads (`99/01/02`).
          `count(*) FILTER (WHERE ${read} IS NOT NULL AND ${last.map((l) => `${l} IS NULL`).join(' AND ')}) AS proof_${n}_${p}`,
          `any_value(${value}) FILTER (WHERE ${read} IS NOT NULL AND (${last.map((l) => `${l} IS NOT NULL`).join(' OR ')})) AS other_${n}_${p}`,
          ...last.map((l, j) => `count(*) FILTER (WHERE ${l} IS NULL AND trim(${value}) <> '') AS miss${j}_${n}_${p}`),
        ];
      }
      return [
        `count(${read}) AS read_${n}_${p}`,
        ...iso,
        ...(other === undefined
          ? []
          : [
              `count_if(${read} IS NOT NULL AND ${other} IS NULL) AS proof_${n}_${p}`,
              `count_if(${other} IS NOT NULL AND ${read} IS NULL) AS against_${n}_${p}`,
              `any_value(CASE WHEN ${read} <> ${other} THEN ${value} END) AS other_${n}_${p}`,
            ]),
      ];
    }),
  );
  // The sniffed dialect, every column as text (so without auto_detect = false, which would want the columns).
  const readOptions = dialectOptions({ ...dialect, dateFormat: undefined, timestampFormat: undefined }, file).filter((o) => !o.startsWith('auto_detect'));
  const read = `read_csv(${[quoteFilePath(file.localPath), ...readOptions, 'all_varchar = true', 'ignore_errors = true'].join(', ')})`;
  const sampleRows = options.sampleSize ?? DEFAULT_SAMPLE_ROWS;
  let rows: Record<string, bigint | string | null>[];
  try {
    rows = await duck.rows<Record<string, bigint | string | null>>(`SELECT ${items.join(', ')} FROM (SELECT * FROM ${read} LIMIT ${sampleRows < 0 ? 'ALL' : sampleRows})`);
  } catch {
    // The check is an improvement on the sniffer, not a second reader: if it cannot read the sample, the sniffer's choice stands.
    return dialect;
  }
  const row = rows[0];
  if (row === undefined) return dialect;
  const sum = (prefix: string, n: number, positions: number[]) => positions.reduce((total, p) => total + Number(row[`${prefix}_${n}_${p}`] ?? 0), 0);
  const name = (p: number) => dialect.columns[p]!.name;
  const notes: string[] = [...(dialect.notes ?? [])];
  let checked: Dialect = dialect;
  kinds.forEach((k, n) => {
    const flag = `--${k.kind}-format`;
    if (k.given) {
      const refused = k.positions.filter((p) => sum('read', n, [p]) > 0 && row[`other_${n}_${p}`] != null);
      for (const p of refused) notes.push(`${flag} '${k.format}' was not applied to column ${name(p)}: its value ${String(row[`other_${n}_${p}`])} does not read by it, so the column is loaded as text`);
      return;
    }
    const clear = (d: Dialect, type: string): Dialect => {
      const { dateFormat, timestampFormat, ...rest } = d;
      return { ...rest, ...(k.kind === 'date' ? (timestampFormat ? { timestampFormat } : {}) : dateFormat ? { dateFormat } : {}), columns: d.columns.map((c, i) => (k.positions.includes(i) ? { ...c, type } : c)) };
    };
    if (k.kind === 'date' && sum('iso', n, k.positions) > sum('read', n, k.positions)) {
      checked = clear(checked, 'DATE');
      return;
    }
    const columns = k.positions.map(name).join(', ');
    const textNote = `so they are not read as ${k.kind}s (a new column holds them as written; a ${k.kind} column of the table quarantines them)`;
    if (k.yearLast !== undefined) {
      const example = k.positions.map((p) => row[`other_${n}_${p}`]).find((v) => v != null);
      if (example == null || sum('proof', n, k.positions) > 0) return;
      checked = clear(checked, 'VARCHAR');
      // The year-last orders that read every value of the sample, then the sniffer's.
      const orders = [...k.yearLast.filter((_, j) => sum(`miss${j}`, n, k.positions) === 0), k.format];
      notes.push(
        `the ${k.kind}s of column${k.positions.length === 1 ? '' : 's'} ${columns} (e.g. ${String(example)}) read both with the two-digit year first and with it last, and no value of the sample reads only with the year first (as 99/01/02 would), ${textNote}: give the order, e.g. ${flag} '${orders[0]!}'${orders.length > 1 ? ` (or ${orders.slice(1).map((o) => `'${o}'`).join(', ')})` : ''}`,
      );
      return;
    }
    if (k.swapped === undefined) return;
    const proof = sum('proof', n, k.positions);
    const against = sum('against', n, k.positions);
    if (against > proof) {
      // DuckDB's sniffer may take month first with `13/02/2024` in its sample: the sample's own values decide.
      checked = { ...checked, ...(k.kind === 'date' ? { dateFormat: k.swapped } : { timestampFormat: k.swapped }) };
      return;
    }
    const example = k.positions.map((p) => row[`other_${n}_${p}`]).find((v) => v != null);
    if (example == null || proof > 0) return;
    checked = clear(checked, 'VARCHAR');
    const [dayFirst, monthFirst] = /%-?d.*%-?m/.test(k.format) ? [k.format, k.swapped] : [k.swapped, k.format];
    notes.push(
      `the ${k.kind}s of column${k.positions.length === 1 ? '' : 's'} ${columns} (e.g. ${String(example)}) read both day first and month first, and no value of the sample has a day above 12 to tell which, ${textNote}: give the order, e.g. ${flag} '${dayFirst}' (or '${monthFirst}')`,
    );
  });
  return notes.length > 0 ? { ...checked, notes } : checked;
}

/** Last resort when the sniffer cannot make sense of the file: the candidate delimiter the header line uses most, every column text. */
function guessDialect(file: ProbedFile, firstLine: string, options: StageContext['options'], skip: number): Dialect {
  const delimiter = options.delimiter ?? [...DELIMITER_CANDIDATES].sort((a, b) => firstLine.split(b).length - firstLine.split(a).length)[0]!;
  const quote = options.quote ?? '"';
  const escape = options.escape ?? quote;
  const header = options.header ?? true;
  const fields = splitRecord(firstLine, delimiter, quote, escape);
  if (fields.length <= 1 && !firstLine.includes(delimiter) && options.delimiter === undefined && firstLine.length === 0) {
    throw new InputFileError('INGEST_FILE_INVALID', file.display, { line: 1 }, 'cannot detect the CSV dialect; give it: --delimiter , --quote \'"\' --header');
  }
  return {
    delimiter,
    quote,
    escape,
    header,
    skip,
    columns: fields.map((name, i) => ({ name: header ? name : `column${i}`, type: 'VARCHAR' })),
  };
}

/**
 * The lines at the top of a file that come before its header and are no part of the table, so the
 * header is never read as a row: blank lines, Excel's `sep=;` line (which also names the delimiter),
 * and `#` comment lines where DuckDB's own sniffer skips them too (a header may start with `#`).
 */
async function leadingLines(duck: DuckDb, file: ProbedFile, sample: string): Promise<{ skip: number; comments: boolean; delimiter?: string }> {
  const lines = sample.split('\n');
  // The sample may end inside a line.
  lines.pop();
  const separator = /^sep=(.)\r?$/i.exec(lines[0] ?? '');
  let skip = separator ? 1 : 0;
  let certain = skip;
  for (; skip < lines.length; skip++) {
    const line = lines[skip]!.trim();
    if (line === '' && skip === certain) certain++;
    else if (line !== '' && !line.startsWith('#')) break;
  }
  if (skip > certain) {
    // Comment lines: only as far as DuckDB's sniffer, left to find leading junk itself, skips too. When a
    // `#` line further down makes it take `#` for a comment character, it skips no rows (it would pass
    // over every `#` line) and its header is a line after the leading ones; without a header, the first
    // `#` line may be the header (`#id,name`), and only what it skips is skipped.
    const [row] = await duck
      .rows<{ SkipRows: number | bigint; Comment: string; HasHeader: boolean }>(
        `SELECT SkipRows, Comment, HasHeader FROM sniff_csv(${quoteString(file.localPath)}, encoding = ${quoteString(file.encoding)}, compression = ${quoteString(file.compression)})`,
      )
      .catch(() => []);
    const commentLines = row?.Comment === '#' && row.HasHeader;
    skip = Math.max(certain, commentLines ? skip : Math.min(skip, Number(row?.SkipRows ?? 0)));
  }
  return { skip, comments: skip > certain, ...(separator ? { delimiter: separator[1]! } : {}) };
}

/** The text after its first `count` lines. */
function skipLines(text: string, count: number): string {
  let start = 0;
  for (let i = 0; i < count; i++) start = text.indexOf('\n', start) + 1;
  return text.slice(start);
}

/**
 * The data records in the file's first bytes, quote-aware (a quoted value may hold line breaks). The
 * last one only when the sample is the whole file: otherwise it may be cut.
 */
function sampleRecords(file: ProbedFile, dialect: Dialect): string[][] {
  const cached = sampleRecordCache.get(file);
  if (cached?.dialect === dialect) return cached.records;
  const whole = file.sample!.length < SAMPLE_BYTES;
  const records = readRecords(skipLines(decodeSample(file), dialect.skip), dialect.delimiter, dialect.quote, dialect.escape, Infinity, whole).slice(dialect.header ? 1 : 0);
  sampleRecordCache.set(file, { dialect, records });
  return records;
}

/** The sample's records, parsed once for every check that reads them (needText, detectedTypes). */
const sampleRecordCache = new WeakMap<ProbedFile, { dialect: Dialect; records: string[][] }>();

function decodeSample(file: ProbedFile): string {
  const sample = file.sample!;
  if (file.encoding === 'utf-16') return sample.subarray(2).toString('utf16le');
  return sample.toString(file.encoding === 'latin-1' ? 'latin1' : 'utf8').replace(/^\uFEFF/, '');
}

/** The raw header fields (DuckDB's sniffer renames duplicates to name_1, which would hide them). */
function headerNames(file: ProbedFile, dialect: Dialect): string[] | undefined {
  if (!file.sample) return undefined;
  const record = readRecord(skipLines(decodeSample(file), dialect.skip), dialect.delimiter, dialect.quote, dialect.escape);
  if (!record || record.length !== dialect.columns.length) return undefined;
  return record;
}

/** Splits one line into fields (no embedded newlines). */
function splitRecord(line: string, delimiter: string, quote: string, escape: string): string[] {
  return readRecord(`${line}\n`, delimiter, quote, escape) ?? [line];
}

/** Runs a statement that reads the file; a failure names the file and, when DuckDB says, the line. */
export async function runOnFile(duck: DuckDb, file: ProbedFile, sql: string): Promise<void> {
  await changesOnFile(duck, file, sql);
}

/** runOnFile, giving the rows the statement wrote (a COPY's, an INSERT's). */
export async function changesOnFile(duck: DuckDb, file: ProbedFile, sql: string): Promise<number> {
  try {
    return Number((await duck.connection.run(sql)).rowsChanged);
  } catch (error) {
    throw fileReadError(file, error);
  }
}

/**
 * A DuckDB error reading the file, as an error about the file. The line and byte are taken only
 * from the reader's own words (`Line: 5`, `in line 3`, `at byte 120`): not from the `LINE 1:` of
 * DuckDB's excerpt of the SQL, nor from a byte counted inside a JSON record (`at byte 14 in
 * record/value 152`). DuckDB's advice names its own options; it is put in rat's terms (readerAdvice).
 * DuckDB names the path it read, which is rat's staging link to the file (or a landing object's
 * download): the file's own name stands in for it.
 */
export function fileReadError(file: ProbedFile, error: unknown): InputFileError {
  const message = (error instanceof Error ? error.message : String(error)).replaceAll(file.localPath, file.display);
  const first = readerAdvice((message.split('\n')[0] ?? message).replace(/^[A-Za-z ]+Error: /, ''));
  const line = /\b[Ll]ine:? (\d+)/.exec(message);
  const byte = /at byte (\d+)(?! in record)/i.exec(message);
  return new InputFileError(
    'INGEST_FILE_INVALID',
    file.display,
    { ...(line ? { line: Number(line[1]) } : {}), ...(byte ? { byte: Number(byte[1]) } : {}) },
    first,
    { cause: error },
  );
}

/** DuckDB's messages that name its reader options, in terms of what a rat user can do. */
const ADVICE: [RegExp, string][] = [
  [/Duplicate name "([^"]*)" in struct auto-detected in JSON, try ignore_errors=true/, 'nested objects hold keys that differ only in case ("$1" and another spelling, in one object or in different records), which DuckDB cannot keep apart in one struct; rename one of them in the file'],
  [/Try setting format='auto' or format='newline_delimited'\.?/, 'use --json-format newline_delimited or --json-format array'],
  [
    /^The CSV Parser state machine reached an invalid state\.?/,
    "DuckDB's CSV reader cannot follow the file (the state machine reached an invalid state): look for line breaks of another kind (a CR alone among LFs) or quoting other than the detected one, and give --delimiter, --quote and --escape, or convert the line breaks (dos2unix, or mac2unix for lone CRs)",
  ],
];

function readerAdvice(message: string): string {
  return ADVICE.reduce((text, [pattern, advice]) => text.replace(pattern, advice), message).trim();
}

/**
 * A copy (at `out`) of a CSV file whose lines end some with CR LF and some with LF, every line ending
 * with LF (normalizeLineBreaks), as the file to read instead: line numbers, hash and display name stay
 * the file's. The quoting decides which line breaks are inside values: the options' where given, else
 * the one DuckDB's sniffer finds in the copy (the file itself it cannot sniff), the copy made again
 * when that differs from the one first assumed. Undefined when the file does not mix line breaks, or
 * is UTF-16 (whose bytes the copy does not follow).
 */
export async function csvWithOneKindOfLineBreak(
  duck: DuckDb,
  file: ProbedFile,
  options: { delimiter?: string; quote?: string; escape?: string },
  out: string,
): Promise<ProbedFile | undefined> {
  if (file.encoding === 'utf-16') return undefined;
  const given = (sniffed: Pick<RecordDialect, 'delimiter' | 'quote' | 'escape'>) => {
    const quote = options.quote ?? sniffed.quote;
    return { delimiter: options.delimiter ?? sniffed.delimiter, quote, escape: options.escape ?? (options.quote !== undefined ? quote : sniffed.escape) };
  };
  let quoting = given({ delimiter: ',', quote: '"', escape: '"' });
  for (let pass = 1; ; pass++) {
    if ((await normalizeLineBreaks(file, quoting, out)) === undefined) return undefined;
    const copy: ProbedFile = { ...file, localPath: out, compression: 'none', sample: await readHead(out, SAMPLE_BYTES, false) };
    if (pass === 2) return copy;
    const [row] = await duck
      .rows<{ Delimiter: string; Quote: string; Escape: string }>(`SELECT Delimiter, Quote, Escape FROM sniff_csv(${quoteFilePath(out)}, encoding = ${quoteString(file.encoding)})`)
      .catch(() => []);
    if (!row) return copy;
    // A sample without quotes tells nothing of them (DuckDB says none): the assumed quoting stays.
    const or = (v: string, assumed: string) => (v === '(empty)' || v === '' ? assumed : v);
    const sniffed = given({ delimiter: row.Delimiter, quote: or(row.Quote, quoting.quote), escape: or(row.Escape, or(row.Quote, quoting.escape)) });
    if (sniffed.delimiter === quoting.delimiter && sniffed.quote === quoting.quote && sniffed.escape === quoting.escape) return copy;
    quoting = sniffed;
  }
}
