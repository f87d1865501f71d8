import { describeError, isRatError, RatError, ValidationError } from '../../core/errors.js';
import { numbersAsWritten, parseJsonExact, stringifyJsonExact } from '../../core/json.js';
import type { ParsedRow } from '../ingest-options.js';
import type { Ingestion } from '../ingestion.js';
import { RejectedRecord, SkippedRecord, type SourceReport, type SourceRow, WrittenRecord } from '../row-source.js';
import { compareCursorValues } from '../source-cursor.js';
import { refuseUnknownKeys } from '../option-keys.js';
import { type ApiSourceConfig, resolveApiConfig, type ResolvedApiEndpoint, type ResolvedApiSource } from './api-config.js';
import { CursorGuard } from './cursor-guard.js';
import { getJson, type HttpClientOptions } from './http-client.js';
import { createPaginator } from './pagination.js';
import { createRecordsSelector, recordProblem } from './records-selector.js';
import { createRedactor, displayUrl } from './redaction.js';
import { recordsWithRepeatedKeys } from './repeated-keys.js';

/** Progress of an API ingest, per endpoint: each page fetched, each retry, the end of fetching. */
export type ApiProgress =
  | { kind: 'page'; endpoint: string; page: number; pageRecords: number; records: number }
  | { kind: 'retry'; endpoint: string; page: number; attempt: number; maxRetries: number; reason: string; waitMs: number }
  | { kind: 'fetched'; endpoint: string; pages: number; records: number; skipped: number };

/** One endpoint's run: its ingest report (registry name, status, rows, cursor before and after) and what fetching took. */
export interface ApiEndpointReport extends SourceReport {
  endpoint: string;
  /** The first page's URL (secrets masked). */
  url: string;
  pages: number;
  /** Records the API returned. */
  recordsFetched: number;
  /** Records dropped because their cursor was not after the stored one (overlapping pages, inclusive `since`) or was null or missing. */
  recordsSkipped: number;
  /** Malformed records without a cursor to compare that an earlier run of the endpoint quarantined already (see RejectedRecord.mayRepeat). */
  recordsAlreadyQuarantined: number;
  retries: number;
  /**
   * Incremental with `maxPages`: the pages ended there while the API had more. The records sharing
   * the largest cursor fetched were left for the next run (counted in recordsSkipped), so the
   * stored cursor does not pass records on pages not fetched.
   */
  stoppedAtMaxPages?: boolean;
}

export interface ApiIngestReport {
  source: string;
  endpoints: ApiEndpointReport[];
  succeeded: number;
  failed: number;
  skipped: number;
  rowsIngested: number;
  rowsRejected: number;
}

export interface IngestApiOptions {
  /** Run only these endpoints (by name), in config order. Default: all. */
  endpoints?: string[];
  onProgress?: (event: ApiProgress) => void;
  /** Names the config in validation errors (the file path). */
  origin?: string;
  /** Waiting between retries and its jitter (tests record the waits). */
  http?: Pick<HttpClientOptions, 'sleep' | 'random'>;
}

const SKIPPED = new SkippedRecord();

/** Pages in a row without records, each naming a new next page, after which an endpoint fails rather than follow them without end. */
const MAX_EMPTY_PAGES = 100;

interface FetchStats {
  pages: number;
  fetched: number;
  skipped: number;
  retries: number;
  stoppedAtMaxPages: boolean;
}

/**
 * Ingests each endpoint of an API source into its table, one after another; an endpoint that fails
 * is reported (and recorded as failed in the registry) and the next one runs. Each endpoint's pages
 * stream into one ingest: one commit, or none when any page fails after its retries.
 */
/** The keys of IngestApiOptions (the compiler checks the list is whole). */
const API_OPTION_KEYS = Object.keys({ endpoints: true, onProgress: true, origin: true, http: true } satisfies Record<keyof IngestApiOptions, true>);

export async function ingestApi(ingestion: Ingestion, config: ApiSourceConfig | ResolvedApiSource, options: IngestApiOptions = {}): Promise<ApiIngestReport> {
  refuseUnknownKeys('ingestApi', options, API_OPTION_KEYS);
  const source = isResolved(config) ? config : resolveApiConfig(config, options.origin);
  const wanted = options.endpoints ?? [];
  const unknown = wanted.filter((name) => !source.endpoints.some((e) => e.name === name));
  if (unknown.length > 0) {
    throw new ValidationError('INVALID_ARGUMENT', `API source ${source.name} has no endpoint ${unknown.map((n) => `"${n}"`).join(', ')}; its endpoints are ${source.endpoints.map((e) => e.name).join(', ')}`);
  }
  const endpoints = wanted.length > 0 ? source.endpoints.filter((e) => wanted.includes(e.name)) : source.endpoints;
  const report: ApiIngestReport = { source: source.name, endpoints: [], succeeded: 0, failed: 0, skipped: 0, rowsIngested: 0, rowsRejected: 0 };
  for (const endpoint of endpoints) {
    const result = await ingestEndpoint(ingestion, source, endpoint, options);
    report.endpoints.push(result);
    if (result.status === 'success') report.succeeded++;
    else if (result.status === 'failed') report.failed++;
    else report.skipped++;
    report.rowsIngested += result.rowsIngested;
    report.rowsRejected += result.rowsRejected;
  }
  return report;
}

async function ingestEndpoint(ingestion: Ingestion, source: ResolvedApiSource, endpoint: ResolvedApiEndpoint, options: IngestApiOptions): Promise<ApiEndpointReport> {
  const started = Date.now();
  const redact = createRedactor(source.secrets);
  const stats: FetchStats = { pages: 0, fetched: 0, skipped: 0, retries: 0, stoppedAtMaxPages: false };
  const url = redact(endpoint.url);
  const incremental = endpoint.incremental;
  try {
    const stored = incremental ? await ingestion.sourceCursor(endpoint.target, endpoint.sourceName) : undefined;
    // From the stored value itself when the records loaded at it are known (SourceCursor.seen): one
    // updated since in the same second as the last loaded is loaded, the known ones are left out.
    const since = stored ? { value: stored.value, inclusive: stored.seen !== undefined } : incremental?.initialValue !== undefined ? { value: incremental.initialValue, inclusive: true } : undefined;
    const rows = endpointRecords(source, endpoint, since, stats, options);
    // Records at the stored cursor that an earlier run loaded count as skipped, as those before it do.
    const report = await ingestion.ingestRows({ name: endpoint.sourceName, rows, numbered: true, onAlreadyLoaded: () => stats.skipped++, ...(incremental ? { cursorField: incremental.cursorField } : {}) }, endpoint.target, endpoint.ingest);
    // A run that commits nothing leaves the cursor where it was: say so, for "before -> after".
    const cursor = report.cursor && report.cursor.value === undefined && report.cursor.previous !== undefined ? { ...report.cursor, value: report.cursor.previous } : report.cursor;
    return { ...report, ...(cursor ? { cursor } : {}), endpoint: endpoint.name, url, pages: stats.pages, recordsFetched: stats.fetched, recordsSkipped: stats.skipped, recordsAlreadyQuarantined: report.alreadyQuarantined ?? 0, retries: stats.retries, ...(stats.stoppedAtMaxPages ? { stoppedAtMaxPages: true } : {}), durationMs: Date.now() - started };
  } catch (error) {
    // Before any row was pulled (the target's namespace is missing, the ingest options are wrong):
    // ingestRows recorded nothing, so the failed run gets its registry row here, named by the endpoint.
    const described = redact(describeError(error));
    const message = described.startsWith(`${endpoint.sourceName} `) || described.startsWith(`${endpoint.sourceName}:`) ? described : `${endpoint.sourceName}: ${described}`;
    await ingestion.recordFailedRun(endpoint.sourceName, endpoint.target, message);
    return {
      file: endpoint.sourceName,
      target: endpoint.target,
      status: 'failed',
      rowsIngested: 0,
      rowsRejected: 0,
      durationMs: Date.now() - started,
      renamed: [],
      schemaChanges: [],
      droppedColumns: [],
      sampleRejects: [],
      error: message,
      errorCode: isRatError(error) ? error.code : 'INTERNAL',
      endpoint: endpoint.name,
      url,
      pages: stats.pages,
      recordsFetched: stats.fetched,
      recordsSkipped: stats.skipped,
      recordsAlreadyQuarantined: 0,
      retries: stats.retries,
    };
  }
}

/**
 * The records of one endpoint, page after page. With a cursor to start from, it is sent as the
 * incremental parameter and records whose cursor is before it (or equal, when it is the stored cursor
 * of the last run), null or missing are dropped. A record that cannot be stored (not an object, a
 * number beyond a double's range) comes as a RejectedRecord naming its page, URL and position: the
 * ingest quarantines it, or with onError fail fails the endpoint. That holds in every run: one
 * without a cursor to compare (a scalar, a cursor of 1e400) cannot be told old or new, so it is not
 * dropped but marked mayRepeat, and the ingest leaves it out only when the endpoint's quarantine
 * holds it already.
 */
async function* endpointRecords(
  source: ResolvedApiSource,
  endpoint: ResolvedApiEndpoint,
  since: { value: string | number; inclusive: boolean } | undefined,
  stats: FetchStats,
  options: IngestApiOptions,
): AsyncGenerator<SourceRow> {
  const redact = createRedactor(source.secrets);
  const what = endpoint.sourceName;
  const paginator = createPaginator(endpoint.pagination, what);
  const selectRecords = createRecordsSelector(endpoint.records);
  const credentials = { ...endpoint.headers, ...authHeaders(source) };
  const incremental = endpoint.incremental;
  const guard = incremental ? new CursorGuard<SourceRow>(incremental.cursorField, what, 'maxPages' in endpoint.pagination && endpoint.pagination.maxPages !== undefined) : undefined;
  // With a primary key, the merge keeps the last record of a key to arrive; with a cursor too, the
  // newest by the cursor must win (an API sending newest first, a change feed), so a record older
  // than one of its key already sent is dropped. The largest cursor sent per key.
  const keys = endpoint.ingest.keys ?? [];
  const newestByKey = incremental && keys.length > 0 ? new Map<string, string | number>() : undefined;
  const start = new URL(endpoint.url);
  for (const [key, value] of Object.entries(endpoint.params)) start.searchParams.set(key, value);
  if (incremental?.param && since) start.searchParams.set(incremental.param, String(since.value));
  let url: URL | undefined = paginator.first(start);
  const requested = new Set<string>();
  /** Pages in a row without records: an API may send some (a filter matching nothing there), not without end. */
  let emptyPages = 0;
  try {
    for (let page = 1; url; page++) {
      // Credentials go to the endpoint's origin only, not to a next page elsewhere (a next link is the API's to choose).
      const trusted = url.origin === start.origin;
      if (trusted) authorizeUrl(source, url);
      if (requested.has(url.href)) {
        // An empty page naming one already fetched as the next: the end of a feed that says where to ask next time.
        if (emptyPages > 0) break;
        throw new RatError('SOURCE_HTTP_ERROR', `${what} page ${page}: the API points back to a page already fetched (${redact(displayUrl(url))}); check the pagination settings`);
      }
      requested.add(url.href);
      const response = await getJson(url, trusted ? credentials : {}, `${what} page ${page}`, {
        policy: { ...source.retry, timeoutMs: source.timeoutMs },
        redact,
        ...options.http,
        onRetry: (event) => {
          stats.retries++;
          options.onProgress?.({ kind: 'retry', endpoint: endpoint.name, page, ...event });
        },
      });
      const records = selectRecords(response.body, `${what} page ${page}`);
      // Records are numbered across the run's pages, in the order the API returned them (the quarantine's line).
      const before = stats.fetched;
      stats.pages++;
      stats.fetched += records.length;
      let exactRecords: unknown[] | undefined;
      // Records go to the ingest with their numbers as the API wrote them (2.50, 1e20, 1.0), so that they are typed as in a file:
      // JavaScript's own (2.5, 100000000000000000000, 1) would make another column type. Parsed again only when a number differs.
      const respelled = !numbersAsWritten(response.text);
      // Records holding a field twice go to the quarantine as sent; the rest of the page is read without them.
      const { repeated: repeatedKeys, text: exactText } = recordsWithRepeatedKeys(response.text, response.body, records);
      for (const [index, record] of records.entries()) {
        const where = () => `${what} page ${page} (${redact(url!.href)}), record ${index + 1}`;
        const cursor = guard?.read(record, where);
        // Past the lower bound? A null or missing cursor is not, as a NULL cursor is not for ingest-db's
        // `WHERE cursor > value`: such records load only in a run without a bound, not again on every
        // run. A record without a cursor to read (not an object, a cursor beyond a double's range) is
        // undefined: neither, and malformed, so it goes to the quarantine in every run.
        const after = !guard || !since ? true : cursor === undefined ? undefined : cursor !== null && guard.isAfter(cursor, since, where);
        if (after === false) {
          stats.skipped++;
          yield SKIPPED;
          continue;
        }
        const repeated = repeatedKeys.get(index);
        const problem = recordProblem(record) ?? (repeated && `has the field ${JSON.stringify(repeated.field)} twice with different values, and a row keeps one value of a field`);
        if (problem !== undefined) {
          // The page parsed again, keeping numbers as written, only when it has a record to quarantine
          // (a page with a field repeated does not parse so: such a record is quarantined as its text).
          const raw = repeated ? repeated.raw : stringifyJsonExact((exactRecords ??= selectRecords(parseJsonExact(exactText), `${what} page ${page}`))[index]);
          const reason = `page ${page} (${redact(displayUrl(url))}), record ${index + 1} ${problem}`;
          const rejected = new RejectedRecord(before + index + 1, reason, raw, record, after === undefined);
          yield* guard ? guard.admit(rejected, cursor ?? null, where) : [rejected];
          continue;
        }
        // No cursor to read yet nothing to refuse: cannot happen (a non-object or an infinite number is a problem); dropped as before.
        if (after === undefined) {
          stats.skipped++;
          yield SKIPPED;
          continue;
        }
        if (newestByKey && cursor !== null && cursor !== undefined && isOlderThanSent(newestByKey, keys, record as ParsedRow, cursor)) {
          stats.skipped++;
          yield SKIPPED;
          continue;
        }
        let row: SourceRow = record as ParsedRow;
        if (respelled) {
          exactRecords ??= exactPage(exactText, selectRecords, `${what} page ${page}`);
          if (exactRecords) row = new WrittenRecord(record as ParsedRow, stringifyJsonExact(exactRecords[index]));
        }
        yield* guard ? guard.admit(row, cursor ?? null, where) : [row];
      }
      options.onProgress?.({ kind: 'page', endpoint: endpoint.name, page, pageRecords: records.length, records: stats.fetched });
      url = paginator.next({ page, url, headers: response.headers, body: response.body, records });
      emptyPages = records.length === 0 ? emptyPages + 1 : 0;
      if (url && emptyPages >= MAX_EMPTY_PAGES) {
        throw new RatError(
          'SOURCE_HTTP_ERROR',
          `${what} page ${page}: the last ${emptyPages} pages held no records, yet each named a new next page (${redact(displayUrl(url))}); check the pagination settings, or set pagination.maxPages to stop there`,
        );
      }
    }
    if (guard) {
      const end = guard.finish(paginator.stoppedAtMaxPages(), 'maxPages' in endpoint.pagination ? endpoint.pagination.maxPages : undefined);
      stats.skipped += end.leftBehind;
      stats.stoppedAtMaxPages = paginator.stoppedAtMaxPages();
      yield* end.items;
    }
  } catch (error) {
    if (error instanceof RatError) {
      const message = redact(error.message);
      if (message !== error.message) throw new RatError(error.code, message, { cause: error });
    }
    throw error;
  }
  options.onProgress?.({ kind: 'fetched', endpoint: endpoint.name, pages: stats.pages, records: stats.fetched, skipped: stats.skipped });
}

/** Whether a record's cursor is before that of a record with its key sent earlier in the run; else it becomes the newest of its key. */
function isOlderThanSent(newestByKey: Map<string, string | number>, keys: readonly string[], record: ParsedRow, cursor: string | number): boolean {
  const values = keys.map((key) => record[key]);
  // A record without its key is quarantined by the merge, whatever its cursor.
  if (values.some((value) => value === null || value === undefined)) return false;
  const key = JSON.stringify(values, (_name, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
  const newest = newestByKey.get(key);
  if (newest !== undefined && (compareCursorValues(cursor, newest) ?? 0) < 0) return true;
  newestByKey.set(key, cursor);
  return false;
}

/** The page's records with every number as written, or undefined when the page has a key twice (which only JSON.parse reads: the last one wins). */
function exactPage(text: string, selectRecords: (body: unknown, where: string) => unknown[], where: string): unknown[] | undefined {
  try {
    return selectRecords(parseJsonExact(text), where);
  } catch {
    return undefined;
  }
}

function authHeaders(source: ResolvedApiSource): Record<string, string> {
  const auth = source.auth;
  if (!auth) return {};
  switch (auth.type) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    case 'api_key':
      return (auth.in ?? 'header') === 'header' ? { [auth.name]: auth.value } : {};
  }
}

/** An API key in the query goes on every request, next links included. */
function authorizeUrl(source: ResolvedApiSource, url: URL): void {
  if (source.auth?.type === 'api_key' && source.auth.in === 'query') url.searchParams.set(source.auth.name, source.auth.value);
}

function isResolved(config: ApiSourceConfig | ResolvedApiSource): config is ResolvedApiSource {
  return 'secrets' in config && 'timeoutMs' in config;
}
