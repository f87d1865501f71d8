import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { openDecompressed } from './decompressed.js';
import type { ProbedFile } from './file-probe.js';
import type { ParserInput } from './ingest-options.js';
import { InputFileError, ParserError } from './input-file-error.js';
import { quoteIdent } from '../engine/duckdb.js';
import { createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stageNames } from './staged-file.js';
import { describeRow, RowSink } from './staged-rows.js';
import { decodedText, needsDecoder } from './text-transcode.js';

/**
 * Custom parsers: the user's function turns the file into rows, which then take the same path as
 * any reader's (staged via RowSink: typed, quarantined, committed). This is the one boundary
 * around user code: whatever the function throws, when called or while its rows are pulled, becomes
 * a ParserError (INGEST_PARSER_FAILED) naming the file and the row it was producing, with the
 * original error as cause. A yielded value that is not a row object is quarantined with its row number.
 */
export async function stageParsed(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const parser = ctx.options.parser!;
  const sink = new RowSink(ctx, file);
  let row = 0;
  // `at`: the row the parser's code was producing (the next one), or reading (the current one).
  const userCode = async <T>(work: () => T | Promise<T>, at = row + 1): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof InputFileError) throw error;
      const message = thrownText(error).split('\n')[0];
      // Before its first row the parser was producing none that a number could name: the file is the position.
      if (row === 0) throw new ParserError(file.display, {}, `the parser failed before producing any row: ${message}`, { cause: error });
      throw new ParserError(file.display, { row: at }, `the parser failed: ${message}`, { cause: error });
    }
  };
  let iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  try {
    const output = await userCode(() => parser(parserInput(file, ctx)));
    iterator = await userCode(() => iteratorOf(file, output));
    for (;;) {
      const next = await userCode(async () => iteratorResult(file, row, await iterator!.next()));
      if (next.done) break;
      row++;
      ctx.onRowsProduced?.(row);
      const value = next.value;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        await sink.reject(row, `row ${row} is not an object of column values but ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, describeRow(value));
        continue;
      }
      // Reading the row runs the parser's code too (a getter, a Proxy): what it throws names the row.
      await sink.add(await userCode(() => Object.entries(value), row), row);
    }
  } catch (error) {
    await sink.abort();
    if (!(error instanceof ParserError)) await Promise.resolve(iterator?.return?.()).catch(() => undefined);
    throw error;
  }
  ctx.onRowsProduced?.(row, true);
  // No rows at all (a report for an empty period) is a file with 0 rows, as an empty --records array: success, not an unreadable file.
  if (row === 0) return noRows(ctx, sink);
  return sink.stage();
}

async function noRows(ctx: StageContext, sink: RowSink): Promise<StagedFile> {
  await sink.abort();
  const { relation, rejects } = stageNames(ctx.id);
  await createRejectsTable(ctx.duck, rejects);
  await ctx.duck.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(relation)} AS SELECT CAST(NULL AS BIGINT) AS ${LINE_COLUMN} WHERE false`);
  return { relation, columns: [], hasLine: true, rows: 0, rejects, rejected: 0, parse: { format: 'json' }, mapping: [] };
}

/**
 * What the iterator's next() gave, checked as a for-of loop checks it: anything but an object would be
 * read as a row that is not done, again and again, each one quarantined, until the disk is full.
 */
function iteratorResult(file: ProbedFile, row: number, result: unknown): IteratorResult<unknown> {
  if (result !== null && typeof result === 'object') return result as IteratorResult<unknown>;
  throw new ParserError(file.display, { row: row + 1 }, `the parser's iterator returned ${describeRow(result)} from next(), not an iterator result ({ value, done })`);
}

/** What the parser threw, as text: an Error's message, the message of an object that has one, else the value. */
function thrownText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return typeof error === 'object' && error !== null ? describeRow(error) : String(error);
}

function iteratorOf(file: ProbedFile, output: unknown): Iterator<unknown> | AsyncIterator<unknown> {
  if (output !== null && typeof output === 'object') {
    const asyncIterable = (output as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    if (typeof asyncIterable === 'function') return asyncIterable.call(output);
    const iterable = (output as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof iterable === 'function') return iterable.call(output);
  }
  throw new ParserError(file.display, {}, `the parser returned ${output === null ? 'null' : typeof output}; return an array, an iterable or an async iterable of row objects`);
}

function parserInput(file: ProbedFile, ctx: StageContext): ParserInput {
  const open = (): Readable => {
    return openDecompressed(file.localPath, file.compression).stream;
  };
  const encoding = ctx.options.encoding ?? file.encoding;
  return {
    path: file.localPath,
    name: file.display,
    size: file.size,
    bytes: () => open() as AsyncIterable<Buffer>,
    async *lines() {
      const stream = open();
      if (!needsDecoder(encoding)) stream.setEncoding(encoding === 'latin-1' ? 'latin1' : encoding === 'utf-16' ? 'utf16le' : 'utf8');
      const input = needsDecoder(encoding) ? Readable.from(decodedText(stream as AsyncIterable<Buffer>, encoding)) : stream;
      const reader = createInterface({ input, crlfDelay: Infinity });
      let first = true;
      try {
        for await (const line of reader) {
          yield first ? line.replace(/^\uFEFF/, '') : line;
          first = false;
        }
      } finally {
        reader.close();
        stream.destroy();
      }
    },
  };
}
