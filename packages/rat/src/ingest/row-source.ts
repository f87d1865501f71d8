import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { describeError, isRatError, RatError } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import { INGEST_FILE_KEY, INGEST_HASH_KEY, INGEST_ID_KEY, INGEST_MODE_KEY, newRegistryEntry } from './file-registry.js';
import { commitIngest } from './ingest-commit.js';
import { type FileReport, type IngestContext, ingestFile } from './ingest-file.js';
import type { ParsedRow, ResolvedIngestOptions } from './ingest-options.js';
import type { IngestProgress } from './progress.js';
import { rejectsIdent } from './quarantine.js';
import { compareCursorValues, type CursorKind, cursorOf, CursorTies, incomparableCursors, maxCursor, readCursor, type SourceCursor } from './source-cursor.js';
import { LINE_COLUMN } from './staged-file.js';
import { encodeValue } from './staged-rows.js';

/**
 * Rows that come from somewhere other than a file (an HTTP API, a database query), ingested the way a
 * file is: the same staging, typing, schema drift, quarantine, lineage, registry row and atomic commit.
 */
export interface RowSource {
  /**
   * What the registry's `file_path` and the rows' `_source_file` say, e.g. `api:github/issues` or
   * `postgres://db.local/shop?table=public.orders`. Never put a password or token in it.
   */
  name: string;
  /**
   * The rows, pulled one by one (a generator that pages or streams keeps memory bounded). A record
   * that cannot become a row comes as a RejectedRecord, for the quarantine (or, with onError fail,
   * the failure of the whole run); with `numbered`, one the source drops (already loaded) comes as
   * a SkippedRecord.
   */
  rows: AsyncIterable<SourceRow> | Iterable<SourceRow>;
  /**
   * Each row's `line` (in the quarantine and in errors) is its position among everything the source
   * yielded, SkippedRecords and RejectedRecords included, and a RejectedRecord's `line` is that
   * position too: an API's record number in the run, counted across its pages. Without it a row's
   * line is its number among the rows (a database's row in the result).
   */
  numbered?: boolean;
  /** Types the source knows (database column types) as DuckDB SQL types; the ingest's own `types` win. */
  columnTypes?: Record<string, string>;
  /**
   * Incremental loading: the field whose largest value among the committed rows is stored with the
   * table as this source's cursor (read it back with `previousCursor`). A run that commits nothing
   * leaves the cursor where it was.
   */
  cursorField?: string;
  /**
   * The rows arrive sorted by `cursorField` in the source's own order (a database's `ORDER BY`), all
   * after the stored cursor: the new cursor is then the last non-null value read, as the source
   * compares them. Comparing in JavaScript instead would get decimals as text ('9.50' > '10.50'),
   * floats and collated text wrong, and re-read the same rows on every run.
   */
  cursorOrdered?: boolean;
  /**
   * What the cursor field holds, when the source knows it from the column's type: `number` for a
   * database's decimals, which arrive as their exact text. The stored cursor is then a number kept
   * as that text, which the next read binds as a number of exactly those digits, not as text.
   */
  cursorKind?: CursorKind;
  /** Stored with the new cursor (SourceCursor.nulls), read once the rows are. */
  cursorNulls?: () => number | undefined;
  /** Called for each row left out as one an earlier run committed at the stored cursor value (see CursorTies), before the next row is pulled. */
  onAlreadyLoaded?: () => void;
}

/**
 * A record a source received but cannot turn into a row (not an object, a number beyond a double's
 * range), as the source names it: `line` is its position among the records the source yields (an
 * API's record number in the run), `reason` says where (the page) and what is wrong, `raw` is its
 * JSON as received.
 */
export class RejectedRecord {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly raw: string,
    /** The record as parsed: its cursor value counts like a loaded row's (it is kept, in the quarantine). */
    readonly record: unknown,
    /**
     * The source cannot tell whether an earlier run received this record: it has no cursor to compare
     * with the stored one (a scalar, a cursor of 1e400), and an API may send it on every run. It is
     * quarantined unless the source's quarantine rows already hold its raw text as often as this run
     * brings it (see spool).
     */
    readonly mayRepeat = false,
  ) {}
}

/**
 * A record with its JSON text as the source wrote it (an API's `{"price":2.50,"n":1e3}`), which the
 * ingest reads in place of the record's values written as JavaScript writes them (2.5, 1000): the
 * spelling of a number decides its column's type in a JSON file (1e3 and 1.0 are doubles), and the
 * quarantine keeps a bad row's record as received. `json` must be one line.
 */
export class WrittenRecord {
  constructor(
    readonly record: ParsedRow,
    readonly json: string,
  ) {}
}

/**
 * A row whose values as loaded differ from those the source orders and compares: SQLite sorts a
 * TIMESTAMP column's text as stored (`2024-01-02T10:00:00+02:00`), which loads as the UTC time it
 * names (`2024-01-02 08:00:00`). The cursor is taken from `stored` where it has the field, so that the
 * next read (`WHERE ts >= ?`) starts where this one ended, not at a value the source sorts elsewhere.
 */
export class ConvertedRow {
  constructor(
    readonly row: ParsedRow,
    /** The source's own values of the fields whose value was converted. */
    readonly stored: ParsedRow,
  ) {}

  /** The row with the source's own values: what the source compares. */
  asStored(): ParsedRow {
    return { ...this.row, ...this.stored };
  }
}

/** What a RowSource yields. */
export type SourceRow = ParsedRow | ConvertedRow | RejectedRecord | WrittenRecord | SkippedRecord;

/** A record the source read and leaves out (its cursor is not after the stored one): it only keeps the records after it numbered as read. */
export class SkippedRecord {}

/** A source run's report: the file report of its rows, and the cursor before and after. */
/**
 * What a source's run did: a file's report without its `bytes` and `format`, which would be those of
 * rat's scratch spool (NDJSON), not anything of the source.
 */
export interface SourceReport extends Omit<FileReport, 'bytes' | 'format'> {
  cursor?: { field: string; previous?: string | number; value?: string | number };
  /** RejectedRecords marked mayRepeat left out because the quarantine holds them from an earlier run. */
  alreadyQuarantined?: number;
  /** Rows read again at the stored cursor value and left out: an earlier run committed them (see CursorTies). */
  alreadyLoaded?: number;
}

/** The source's cursor stored with `target` on the current branch, if any (see source-cursor.ts). */
export async function previousCursor(ctx: IngestContext, target: TableIdent, source: string): Promise<SourceCursor | undefined> {
  const { catalog } = ctx.rat;
  return (await catalog.tableExists(target)) ? readCursor(await catalog.loadTable(target), source) : undefined;
}

/**
 * Spools the source's rows to a scratch NDJSON file (bounded memory whatever the row count), then
 * ingests that file as JSON under the source's name, with the new cursor committed in the same
 * catalog commit as the rows. No rows: nothing is committed and the registry records a skip.
 * A source that fails while its rows are pulled (a dropped connection, an API error after retries)
 * commits nothing: the report says failed, with the error and how many rows had arrived.
 */
export async function ingestRowSource(ctx: IngestContext, source: RowSource, target: TableIdent, options: ResolvedIngestOptions): Promise<SourceReport> {
  const started = Date.now();
  const targetName = formatIdent(target);
  const expected = source.cursorField ? await previousCursor(ctx, target, source.name) : undefined;
  const base: SourceReport = {
    file: source.name,
    target: targetName,
    status: 'failed',
    rowsIngested: 0,
    rowsRejected: 0,
    durationMs: 0,
    renamed: [],
    schemaChanges: [],
    droppedColumns: [],
    sampleRejects: [],
    ...(source.cursorField ? { cursor: { field: source.cursorField, ...(expected ? { previous: expected.value } : {}) } } : {}),
  };
  const dir = await ctx.rat.store.stagingDir();
  const path = join(dir, `${newUuid()}.ndjson`);
  const rejectsPath = join(dir, `${newUuid()}-rejects.ndjson`);
  try {
    let spooled: Spooled;
    try {
      spooled = await spool(source, path, rejectsPath, options.onError, (raws) => quarantinedRaws(ctx, target, source.name, raws), expected);
    } catch (error) {
      const message = describeError(error);
      await ctx.registry.record({ id: newUuid(), filePath: source.name, fileHash: '', fileSize: 0, targetTable: targetName, rowsIngested: 0, rowsRejected: 0, ingestedAt: new Date(), status: 'failed', error: message });
      return { ...base, error: message, errorCode: isRatError(error) ? error.code : 'INTERNAL', durationMs: Date.now() - started };
    }
    const known = { ...(spooled.alreadyQuarantined > 0 ? { alreadyQuarantined: spooled.alreadyQuarantined } : {}), ...(spooled.alreadyLoaded > 0 ? { alreadyLoaded: spooled.alreadyLoaded } : {}) };
    if (spooled.rows === 0 && spooled.rejected === 0 && options.mode === 'overwrite' && !source.cursorField && (await ctx.rat.catalog.tableExists(target))) {
      // A full load of a source that is now empty: overwrite means the table holds what the source holds.
      return { ...base, ...(await emptyOverwrite(ctx, source.name, target)), durationMs: Date.now() - started };
    }
    if (spooled.rows === 0 && spooled.rejected === 0) {
      const held = spooled.alreadyQuarantined > 0 ? ` (${spooled.alreadyQuarantined} bad record${spooled.alreadyQuarantined === 1 ? '' : 's'} already in the quarantine)` : '';
      const reason = `${expected ? `no new rows since ${expected.field} = ${expected.value}` : 'the source returned no rows'}${held}`;
      await ctx.registry.record({ id: newUuid(), filePath: source.name, fileHash: '', fileSize: 0, targetTable: targetName, rowsIngested: 0, rowsRejected: 0, ingestedAt: new Date(), status: 'skipped', error: reason });
      return { ...base, ...known, status: 'skipped', reason, durationMs: Date.now() - started };
    }
    const { records: _records, ...rest } = options;
    const fileOptions: ResolvedIngestOptions = {
      ...rest,
      ...(source.columnTypes ? { sourceTypes: source.columnTypes } : {}),
      format: 'json',
      jsonFormat: 'newline_delimited',
      compression: 'none',
      infinitiesAreValues: true,
      ...(spooled.rejected > 0 ? { sourceRejects: rejectsPath } : {}),
      // Rejected records only: a blank spool, read as any file (no rows to number).
      ...(source.numbered && spooled.rows > 0 ? { numberedRecords: true } : {}),
      ...(options.onProgress ? { onProgress: spoolProgress(options.onProgress, spooled.rows + spooled.rejected) } : {}),
    };
    const ordered = source.cursorOrdered || !expected || !spooled.cursor ? (spooled.cursor ?? expected) : laterCursor(expected, spooled.cursor, source.name);
    const nulls = source.cursorNulls?.();
    const next = ordered && nulls !== undefined ? { ...ordered, nulls } : ordered;
    const cursor = source.cursorField && next ? { source: source.name, value: next, expected } : undefined;
    const { bytes: _spoolBytes, format: _spoolFormat, ...report } = await ingestFile(ctx, { display: source.name, localPath: async () => path }, target, fileOptions, undefined, cursor);
    return {
      ...base,
      ...report,
      ...known,
      ...(source.cursorField ? { cursor: { field: source.cursorField, ...(expected ? { previous: expected.value } : {}), ...(report.status === 'success' && next ? { value: next.value } : expected ? { value: expected.value } : {}) } } : {}),
      durationMs: Date.now() - started,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Commits an overwrite of `target` with no rows, with its registry row: the table is left empty, its columns kept. */
async function emptyOverwrite(ctx: IngestContext, sourceName: string, target: TableIdent): Promise<Pick<SourceReport, 'status' | 'snapshotId' | 'error' | 'errorCode'>> {
  const entry = (status: 'success' | 'failed', extra: { snapshotId?: bigint; error?: string }) => newRegistryEntry({ filePath: sourceName, fileHash: '', fileSize: 0, targetTable: formatIdent(target) }, status, extra);
  const id = newUuid();
  try {
    const committed = await commitIngest(ctx.rat, {
      ident: target,
      base: await ctx.rat.catalog.loadTable(target),
      changes: [],
      mode: 'overwrite',
      keys: [],
      summary: { [INGEST_FILE_KEY]: sourceName, [INGEST_HASH_KEY]: '', [INGEST_MODE_KEY]: 'overwrite', [INGEST_ID_KEY]: id, 'rat.ingest.rows-rejected': '0' },
      entry: (snapshotId) => entry('success', snapshotId !== undefined ? { snapshotId } : {}),
      registry: ctx.registry,
      writing: (work) => work(),
    });
    return { status: 'success', ...(committed.snapshotId !== undefined ? { snapshotId: committed.snapshotId } : {}) };
  } catch (error) {
    const message = describeError(error);
    await ctx.registry.record(entry('failed', { error: message }));
    return { status: 'failed', error: message, errorCode: isRatError(error) ? error.code : 'INTERNAL' };
  }
}

/**
 * The steps of the scratch file as steps of the rows read: its bytes mean nothing to a user (they are
 * rat's own copy), so each event carries the rows done of the rows read, and the steps are named as
 * what they do with them: `typing` (their column types inferred) and `writing` (into the table's files).
 */
function spoolProgress(report: (event: IngestProgress) => void, rows: number): (event: IngestProgress) => void {
  return (event) => {
    // A hash of rat's own scratch file tells nothing about the source.
    if (event.phase === 'hashing') return;
    const finished = event.bytesDone >= event.bytesTotal;
    const rowsDone = finished ? rows : event.indeterminate ? 0 : Math.min(Math.max(0, rows - 1), Math.round((rows * event.bytesDone) / Math.max(1, event.bytesTotal)));
    report({ ...event, phase: event.phase === 'inferring' ? 'typing' : 'writing', rowsDone, rowsTotal: rows });
  };
}

interface Spooled {
  rows: number;
  /** RejectedRecords, written to the rejects file. */
  rejected: number;
  /** RejectedRecords marked mayRepeat that the quarantine holds already, not written. */
  alreadyQuarantined: number;
  /** Rows at the stored cursor value that an earlier run committed (see CursorTies), left out. */
  alreadyLoaded: number;
  cursor?: SourceCursor;
}

/** How many quarantine rows of `target` from `sourceName` hold each of `raws` (only those that some do). */
async function quarantinedRaws(ctx: IngestContext, target: TableIdent, sourceName: string, raws: string[]): Promise<Map<string, number>> {
  const held = new Map<string, number>();
  const rejects = rejectsIdent(target);
  if (!(await ctx.rat.catalog.tableExists(rejects))) return held;
  const relation = `${rejects.namespace}.${quoteIdent(rejects.name)}`;
  for (let i = 0; i < raws.length; i += 500) {
    const list = raws.slice(i, i + 500).map(quoteString).join(', ');
    const rows = await ctx.rat.query<{ raw: string; n: number }>(`SELECT raw, CAST(count(*) AS INTEGER) AS n FROM ${relation} WHERE file_path = ${quoteString(sourceName)} AND raw IN (${list}) GROUP BY raw`);
    for (const row of rows) held.set(row.raw, row.n);
  }
  return held;
}

const FAIL_NOTE = '(with onError fail a bad record fails the whole run, and nothing is loaded)';

/**
 * Writes the rows to `path` and the rejected records to `rejectsPath` (`{line, reason, raw}`), or
 * with onError fail stops at the first rejected record. A rejected record's cursor value moves the
 * cursor as a row's does: it is kept in the quarantine, and must not be fetched again next run.
 *
 * Records marked mayRepeat wait until the rows are spooled; one lookup of the source's quarantine
 * rows with their raw texts (`held`) then says how many of each are there already, and only those
 * beyond that count are written (or, with onError fail, fail the run). Counting, not set membership:
 * raw text like `null` does not identify a record, so a second `null` on a page whose first one is
 * quarantined is a record the quarantine does not hold yet. What this costs: an API that dropped
 * its old bad record and sends a new one with the same text (a `null` again) has it counted as held;
 * its text, source and a position are in the quarantine already. Quarantining them on every run
 * instead would add a copy of each per run for an API that ignores the incremental parameter. The
 * lookup runs only in a run that has such records; they are kept in memory until it (they are the
 * malformed records of one run, few unless the API is broken, in which case the page sizes bound them).
 */
async function spool(
  source: RowSource,
  path: string,
  rejectsPath: string,
  onError: ResolvedIngestOptions['onError'],
  held: (raws: string[]) => Promise<Map<string, number>>,
  stored: SourceCursor | undefined,
): Promise<Spooled> {
  const out = createWriteStream(path);
  const rejectsOut = createWriteStream(rejectsPath);
  let rows = 0;
  /** Everything the source yielded, for `numbered`. */
  let records = 0;
  let rejected = 0;
  let alreadyQuarantined = 0;
  let cursor: SourceCursor | undefined;
  const repeats = new Map<string, RejectedRecord[]>();
  // Read from the stored value on: the rows at that value an earlier run committed are left out.
  const ties = source.cursorField ? new CursorTies(stored, source.cursorOrdered === true, cellText) : undefined;
  const committedBefore = async (value: unknown, text: string, formerText?: string, values?: ParsedRow) => {
    if (ties?.committedBefore(cursorOf(source.cursorField!, value, source.cursorKind), text, formerText, values) !== true) return false;
    source.onAlreadyLoaded?.();
    // Numbered: the record's line stays blank, as for a SkippedRecord.
    if (source.numbered) await write(out, '\n');
    return true;
  };
  const writeReject = (row: RejectedRecord) => write(rejectsOut, `${JSON.stringify({ line: row.line, reason: row.reason, raw: row.raw })}\n`);
  try {
    for await (const row of source.rows as AsyncIterable<SourceRow>) {
      records++;
      // Numbered: a record that is not a row leaves its line blank, so that the spool's line N holds
      // record N (the quarantine reads a bad row's record as sent from its line, json-lines.ts).
      if (source.numbered && (row instanceof SkippedRecord || row instanceof RejectedRecord)) await write(out, '\n');
      if (row instanceof SkippedRecord) continue;
      if (row instanceof RejectedRecord && row.mayRepeat) {
        repeats.set(row.raw, [...(repeats.get(row.raw) ?? []), row]);
        continue;
      }
      if (row instanceof RejectedRecord) {
        const record = row.record;
        const value = source.cursorField && record !== null && typeof record === 'object' && !Array.isArray(record) ? (record as ParsedRow)[source.cursorField] : undefined;
        if (await committedBefore(value, row.raw)) continue;
        if (onError === 'fail') throw new RatError('INGEST_BAD_ROWS', `${source.name} ${row.reason} ${FAIL_NOTE}`);
        rejected++;
        if (value !== undefined) cursor = nextCursor(source, cursor, value);
        await writeReject(row);
        continue;
      }
      const line = source.numbered ? records : undefined;
      if (row instanceof WrittenRecord) {
        const value = source.cursorField ? row.record[source.cursorField] : undefined;
        if (await committedBefore(value, row.json, undefined, row.record)) continue;
        rows++;
        if (source.cursorField) cursor = nextCursor(source, cursor, value);
        await write(out, `${withLine(row.json, line)}\n`);
        continue;
      }
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw new RatError('INGEST_FILE_INVALID', `${source.name}: record ${rows + 1} is not an object of field values but ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row}`);
      }
      const values = row instanceof ConvertedRow ? row.row : row;
      const json = rowJson(values, (name, problem) => new RatError('INGEST_FILE_INVALID', `${source.name}: record ${rows + 1}, field ${JSON.stringify(name)}: ${problem}`));
      const value = source.cursorField ? (row instanceof ConvertedRow ? row.asStored() : row)[source.cursorField] : undefined;
      const tie = ties ? tieText(values, json) : json;
      if (await committedBefore(value, tie, tie !== json ? json : undefined, values)) continue;
      rows++;
      if (source.cursorField) cursor = nextCursor(source, cursor, value);
      await write(out, `${withLine(json, line)}\n`);
    }
    if (repeats.size > 0) {
      const counts = await held([...repeats.keys()]);
      for (const [raw, records] of repeats) {
        const known = Math.min(counts.get(raw) ?? 0, records.length);
        alreadyQuarantined += known;
        for (const row of records.slice(known)) {
          if (onError === 'fail') throw new RatError('INGEST_BAD_ROWS', `${source.name} ${row.reason} ${FAIL_NOTE}`);
          rejected++;
          await writeReject(row);
        }
      }
    }
    // Only rejected records: the file must not be empty (an empty file is refused); the reader skips a blank line.
    if (rows === 0 && rejected > 0) await write(out, '\n');
  } finally {
    for (const stream of [out, rejectsOut]) {
      if (!stream.writableEnded) stream.end();
      if (!stream.closed) await once(stream, 'close');
    }
  }
  const next = ties ? ties.cursor(cursor) : cursor;
  return { rows, rejected, alreadyQuarantined, alreadyLoaded: ties?.skipped ?? 0, ...(next ? { cursor: next } : {}) };
}

/** In any order: the larger of the stored and the spooled cursor; at the stored value itself the spooled one, which holds the rows seen there now. */
function laterCursor(stored: SourceCursor, spooled: SourceCursor, where: string): SourceCursor {
  const order = compareCursorValues(spooled.value, stored.value);
  if (order === undefined) throw incomparableCursors(stored.field, stored.value, spooled.value, where);
  return order >= 0 ? spooled : stored;
}

/** A row as one JSON object (bigints as their digits), the way it is spooled; a value that cannot be stored throws `invalid`'s error. */
export function rowJson(row: ParsedRow, invalid: (field: string, problem: string) => Error): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(row)) {
    // A float column's NaN and Infinity (PostgreSQL, SQLite): tokens DuckDB's JSON reader takes as the double values.
    const encoded = typeof value === 'number' && !Number.isFinite(value) ? { json: String(value) } : encodeValue(value);
    if ('problem' in encoded) throw invalid(name, encoded.problem);
    parts.push(`${JSON.stringify(name)}:${encoded.json}`);
  }
  return `{${parts.join(',')}}`;
}

/** A column value's text as rowJson writes it (CursorTies compares rows at the stored cursor value by these). */
function cellText(value: unknown): string {
  const encoded = typeof value === 'number' && !Number.isFinite(value) ? { json: String(value) } : encodeValue(value);
  return 'problem' in encoded ? encoded.problem : encoded.json;
}

/**
 * The text a row is known by among the rows at the stored cursor value (SourceCursor.seen): its JSON
 * without its NULL fields. A column added to the source table since the last run is NULL in the rows
 * that run loaded; hashed with it, they would look new and load a second time.
 */
function tieText(row: ParsedRow, json: string): string {
  const values = Object.entries(row);
  if (!values.some(([, value]) => value === null || value === undefined)) return json;
  return rowJson(Object.fromEntries(values.filter(([, value]) => value !== null && value !== undefined)), () => new Error('unreachable: the row was encoded whole before'));
}

/** A spooled row's JSON object with its position among the source's records first (RowSource.numbered), or as it is. */
function withLine(json: string, line: number | undefined): string {
  if (line === undefined) return json;
  const field = `${JSON.stringify(LINE_COLUMN)}:${line}`;
  const body = json.trim().slice(1);
  return body.trim() === '}' ? `{${field}}` : `{${field},${body}`;
}

/** The cursor after one more row: its value when the rows come in cursor order (and it is not null), else the larger of the two. */
function nextCursor(source: RowSource, cursor: SourceCursor | undefined, value: unknown): SourceCursor | undefined {
  const candidate = cursorOf(source.cursorField!, value, source.cursorKind);
  return source.cursorOrdered ? (candidate ?? cursor) : maxCursor(cursor, candidate, source.name);
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
