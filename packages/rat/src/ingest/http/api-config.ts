import { z } from 'zod';
import { parseTableIdent } from '../../catalog/identifiers.js';
import { ValidationError } from '../../core/errors.js';
import type { IngestOptions } from '../ingest-options.js';
import { configSpelling } from '../option-spelling.js';
import { SECRET_NAME } from './redaction.js';

/**
 * A declarative HTTP API source: where the API is, how to authenticate, and per endpoint where the
 * records are in a response, how to page, and how to load only what changed. Written in YAML, JSON or
 * TypeScript; `resolveApiConfig` validates it and fills in the defaults.
 */
export interface ApiSourceConfig {
  /** Letters, digits, `_` and `-`: names the default tables (`bronze.<name>_<endpoint>`) and the registry rows (`api:<name>/<endpoint>`). */
  name: string;
  /** `https://api.example.com/v1`; an endpoint's path is appended to it. */
  baseUrl: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Query parameters sent with every request. */
  params?: Record<string, string | number | boolean>;
  auth?: ApiAuth;
  /** Per request, until the whole body has arrived (default 30). */
  timeoutSeconds?: number;
  retry?: ApiRetry;
  /** Namespace of the default tables (default `bronze`). */
  namespace?: string;
  /** Settings every endpoint takes unless it sets its own. */
  defaults?: { records?: string; pagination?: ApiPagination; incremental?: ApiIncremental };
  endpoints: ApiEndpointConfig[];
}

export type ApiAuth =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  /** An API key in a header (default) or a query parameter, e.g. `{ type: api_key, name: X-API-Key, value: ... }`. */
  | { type: 'api_key'; name: string; value: string; in?: 'header' | 'query' };

/** Retries of 429, 408, 5xx, timeouts and network errors, with exponential backoff and jitter. */
export interface ApiRetry {
  /** Retries after the first attempt (default 5; 0 = none). */
  maxRetries?: number;
  /** The first backoff; each retry doubles it (default 0.5). */
  backoffSeconds?: number;
  /** The cap of a backoff (default 30). */
  maxBackoffSeconds?: number;
  /** A Retry-After longer than this fails the run instead of waiting (default 300). */
  maxRetryAfterSeconds?: number;
}

/**
 * How to get the next page; `maxPages` stops early. `page_number` and `offset` stop at a page without
 * records; `cursor`, `next_link` and `link_header` go on while the API names a next page (an empty page
 * pointing back to one already fetched ends them).
 * - `page_number`: `?page=1,2,3...`; stops at a page with fewer than `size` records when `size` is set.
 * - `offset`: `?offset=0&limit=100`, then 100, 200...; stops at a short page or once `totalPath` is reached.
 * - `cursor`: the body field `cursorPath` holds the next page's token, sent as `param`; stops when it is empty.
 * - `next_link`: the body field `path` (default `next`) holds the next page's URL (absolute or relative).
 * - `link_header`: the `Link` response header's `rel="next"` URL (RFC 8288, GitHub style).
 */
export type ApiPagination =
  | { type: 'none' }
  | { type: 'page_number'; param?: string; start?: number; sizeParam?: string; size?: number; maxPages?: number }
  | { type: 'offset'; offsetParam?: string; limitParam?: string; limit: number; totalPath?: string; maxPages?: number }
  | { type: 'cursor'; cursorPath: string; param?: string; maxPages?: number }
  | { type: 'next_link'; path?: string; maxPages?: number }
  | { type: 'link_header'; rel?: string; maxPages?: number };

/**
 * Load only what changed: the largest `cursorField` value among the loaded records is kept with the
 * target table; the next run sends it as the query parameter `param` (when set) and drops records
 * whose cursor is not after it. `initialValue` is the first run's lower bound (inclusive).
 */
export interface ApiIncremental {
  /** A top-level field of each record (`updated_at`, `id`); compared as numbers, else as text. */
  cursorField: string;
  param?: string;
  initialValue?: string | number;
}

/** How an endpoint's rows are ingested (the file ingest's options that apply to records). */
export type ApiIngestOptions = Pick<IngestOptions, 'mode' | 'types' | 'flatten' | 'rename' | 'safeNames' | 'lineage' | 'schemaDrift' | 'onError' | 'partitionBy'>;

export interface ApiEndpointConfig {
  /** Letters, digits, `_` and `-`. */
  name: string;
  /** Appended to baseUrl (`/orders`), or a full URL. */
  path: string;
  params?: Record<string, string | number | boolean>;
  headers?: Record<string, string>;
  /** `namespace.table` (default `<namespace>.<source>_<endpoint>`, `-` becoming `_`). */
  target?: string;
  /**
   * A dotted path to the records array in each response body (`data.items`); `$` is the body itself
   * (an array of records, or one object as one record). Default: the body when it is an array, else
   * its first field (in document order) whose value is an array.
   */
  records?: string;
  pagination?: ApiPagination;
  incremental?: ApiIncremental;
  /** Key fields: rows replace rows with the same key (ingest mode merge). */
  primaryKey?: string | string[];
  ingest?: ApiIngestOptions;
}

/** A source ready to run: defaults applied, URLs built, secrets known for redaction. */
export interface ResolvedApiSource {
  readonly name: string;
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth?: ApiAuth;
  readonly timeoutMs: number;
  readonly retry: { readonly maxRetries: number; readonly backoffMs: number; readonly maxBackoffMs: number; readonly maxRetryAfterMs: number };
  readonly endpoints: readonly ResolvedApiEndpoint[];
  /** Values never to print: credentials, and the values of headers and parameters named like secrets. */
  readonly secrets: readonly string[];
}

export interface ResolvedApiEndpoint {
  readonly name: string;
  /** The registry name and cursor key: `api:<source>/<endpoint>`. */
  readonly sourceName: string;
  readonly url: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly target: string;
  readonly records?: string;
  readonly pagination: ApiPagination;
  readonly incremental?: ApiIncremental;
  readonly ingest: IngestOptions;
}

const DEFAULT_TIMEOUT_SECONDS = 30;
const DEFAULT_RETRY = { maxRetries: 5, backoffSeconds: 0.5, maxBackoffSeconds: 30, maxRetryAfterSeconds: 300 };

// Numbers may arrive as text from ${ENV} substitution in YAML.
const numeric = (schema: z.ZodNumber) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v), schema);
const positiveInt = numeric(z.number().int().positive());
// Node.js timers take at most 2^31-1 ms (24.8 days): a longer timeout or wait fires after 1 ms, so every request would time out at once.
const MAX_WAIT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
const waitSeconds = (schema: z.ZodNumber) => numeric(schema.max(MAX_WAIT_SECONDS, `must be at most ${MAX_WAIT_SECONDS} (24.8 days, the longest wait Node.js timers take)`));
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, _ and - (starting with a letter or digit)');
const dottedPath = z.string().min(1);
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const stringMap = z.record(z.string());

const authSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
  z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }).strict(),
  z.object({ type: z.literal('api_key'), name: z.string().min(1), value: z.string().min(1), in: z.enum(['header', 'query']).optional() }).strict(),
]);

const maxPages = positiveInt.optional();
const paginationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('page_number'), param: z.string().min(1).optional(), start: numeric(z.number().int().nonnegative()).optional(), sizeParam: z.string().min(1).optional(), size: positiveInt.optional(), maxPages }).strict(),
  z.object({ type: z.literal('offset'), offsetParam: z.string().min(1).optional(), limitParam: z.string().min(1).optional(), limit: positiveInt, totalPath: dottedPath.optional(), maxPages }).strict(),
  z.object({ type: z.literal('cursor'), cursorPath: dottedPath, param: z.string().min(1).optional(), maxPages }).strict(),
  z.object({ type: z.literal('next_link'), path: dottedPath.optional(), maxPages }).strict(),
  z.object({ type: z.literal('link_header'), rel: z.string().min(1).optional(), maxPages }).strict(),
]);

const incrementalSchema = z.object({ cursorField: z.string().min(1), param: z.string().min(1).optional(), initialValue: z.union([z.string(), z.number()]).optional() }).strict();

const ingestSchema = z
  .object({
    mode: z.enum(['append', 'overwrite', 'merge']).optional(),
    types: stringMap.optional(),
    flatten: z.boolean().optional(),
    rename: stringMap.optional(),
    safeNames: z.boolean().optional(),
    lineage: z.boolean().optional(),
    schemaDrift: z.enum(['evolve', 'strict', 'ignore']).optional(),
    onError: z.enum(['quarantine', 'fail']).optional(),
    partitionBy: z.array(z.string()).optional(),
  })
  .strict();

const endpointSchema = z
  .object({
    name,
    path: z.string().min(1),
    params: z.record(scalar).optional(),
    headers: stringMap.optional(),
    target: z.string().min(1).optional(),
    records: dottedPath.optional(),
    pagination: paginationSchema.optional(),
    incremental: incrementalSchema.optional(),
    primaryKey: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    ingest: ingestSchema.optional(),
  })
  .strict();

const sourceSchema = z
  .object({
    name,
    baseUrl: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
    headers: stringMap.optional(),
    params: z.record(scalar).optional(),
    auth: authSchema.optional(),
    timeoutSeconds: waitSeconds(z.number().positive()).optional(),
    retry: z
      .object({
        maxRetries: numeric(z.number().int().nonnegative()).optional(),
        backoffSeconds: waitSeconds(z.number().nonnegative()).optional(),
        maxBackoffSeconds: waitSeconds(z.number().nonnegative()).optional(),
        maxRetryAfterSeconds: waitSeconds(z.number().nonnegative()).optional(),
      })
      .strict()
      .optional(),
    namespace: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a namespace name (letters, digits, _)').optional(),
    defaults: z.object({ records: dottedPath.optional(), pagination: paginationSchema.optional(), incremental: incrementalSchema.optional() }).strict().optional(),
    endpoints: z.array(endpointSchema).min(1, 'needs at least one endpoint'),
  })
  .strict();

/** For a typed config file: `export default defineApiSource({ ... })`. */
export function defineApiSource(config: ApiSourceConfig): ApiSourceConfig {
  return config;
}

/**
 * Validates a config and applies the defaults. Problems are one ValidationError (CONFIG_INVALID)
 * naming each field by its path (`endpoints[1].pagination.type`) and its value (secrets masked);
 * `origin` (the file) prefixes the message.
 */
export function resolveApiConfig(config: unknown, origin = 'API source config'): ResolvedApiSource {
  const parsed = sourceSchema.safeParse(config);
  if (!parsed.success) throw new ValidationError('CONFIG_INVALID', `${origin}: ${describeIssues(parsed.error.issues, config)}`);
  const c = parsed.data as ApiSourceConfig;
  const seen = new Set<string>();
  for (const [i, endpoint] of c.endpoints.entries()) {
    if (seen.has(endpoint.name)) throw invalid(origin, `endpoints[${i}].name`, `"${endpoint.name}" is used by two endpoints; endpoint names must be unique`);
    seen.add(endpoint.name);
  }
  refuseUnsendableHeaders(c, origin);
  const namespace = c.namespace ?? 'bronze';
  const retry = { ...DEFAULT_RETRY, ...c.retry };
  const sourceHeaders = { ...c.headers };
  const endpoints = c.endpoints.map((endpoint, i): ResolvedApiEndpoint => {
    const at = `endpoints[${i}]`;
    const target = endpoint.target ?? `${namespace}.${tableName(c.name)}_${tableName(endpoint.name)}`;
    try {
      parseTableIdent(target);
    } catch (error) {
      throw invalid(origin, `${at}.target`, `"${target}" is not a namespace.table name (${(error as Error).message})`);
    }
    const keys = endpoint.primaryKey === undefined ? [] : Array.isArray(endpoint.primaryKey) ? endpoint.primaryKey : [endpoint.primaryKey];
    const mode = endpoint.ingest?.mode ?? (keys.length > 0 ? 'merge' : 'append');
    if (keys.length > 0 && mode !== 'merge') throw invalid(origin, `${at}.ingest.mode`, `"${mode}" conflicts with primaryKey ${keys.join(', ')} (a primary key means mode merge); remove one of them`);
    if (mode === 'merge' && keys.length === 0) throw invalid(origin, `${at}.ingest.mode`, '"merge" needs primaryKey: the fields that identify a record');
    const pagination = endpoint.pagination ?? c.defaults?.pagination ?? { type: 'none' };
    const incremental = endpoint.incremental ?? c.defaults?.incremental;
    const records = endpoint.records ?? c.defaults?.records;
    return {
      name: endpoint.name,
      sourceName: `api:${c.name}/${endpoint.name}`,
      url: joinUrl(c.baseUrl, endpoint.path),
      params: Object.fromEntries(Object.entries({ ...c.params, ...endpoint.params }).map(([k, v]) => [k, String(v)])),
      headers: { ...sourceHeaders, ...endpoint.headers },
      target,
      ...(records !== undefined ? { records } : {}),
      pagination,
      ...(incremental ? { incremental } : {}),
      // Advice in messages names these settings (`endpoints[0].ingest.types.id`), not `rat ingest`'s flags.
      ingest: { ...endpoint.ingest, mode, ...(keys.length > 0 ? { keys } : {}), spelling: configSpelling(at, 'the run') },
    };
  });
  return {
    name: c.name,
    baseUrl: c.baseUrl,
    headers: sourceHeaders,
    ...(c.auth ? { auth: c.auth } : {}),
    timeoutMs: Math.round((c.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000),
    retry: {
      maxRetries: retry.maxRetries,
      backoffMs: Math.round(retry.backoffSeconds * 1000),
      maxBackoffMs: Math.round(retry.maxBackoffSeconds * 1000),
      maxRetryAfterMs: Math.round(retry.maxRetryAfterSeconds * 1000),
    },
    endpoints,
    secrets: secretsOf(c),
  };
}

/** A header name: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Header names and values that fetch cannot send. A value may hold only Latin-1 characters and no
 * line break: a token pasted with a typographic quote or an ellipsis failed every request as if the
 * API were unreachable, retried, with an offset into `Bearer <token>`. Named here by its field and
 * position, the character shown by its code point only (the value may be a secret).
 */
function refuseUnsendableHeaders(c: ApiSourceConfig, origin: string): void {
  const headers: [string, string, string][] = [];
  const add = (at: string, map: Record<string, string> | undefined) => {
    for (const [name, value] of Object.entries(map ?? {})) headers.push([`${at}.${name}`, name, value]);
  };
  add('headers', c.headers);
  for (const [i, endpoint] of c.endpoints.entries()) add(`endpoints[${i}].headers`, endpoint.headers);
  for (const [field, name, value] of headers) {
    if (!HEADER_NAME.test(name)) throw invalid(origin, field, `"${name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~- only, no spaces)`);
    refuseUnsendableValue(origin, field, value);
  }
  const auth = c.auth;
  if (auth?.type === 'bearer') refuseUnsendableValue(origin, 'auth.token', auth.token);
  if (auth?.type === 'api_key' && (auth.in ?? 'header') === 'header') {
    if (!HEADER_NAME.test(auth.name)) throw invalid(origin, 'auth.name', `"${auth.name}" is not a header name (letters, digits and !#$%&'*+.^_\`|~- only, no spaces)`);
    refuseUnsendableValue(origin, 'auth.value', auth.value);
  }
}

function refuseUnsendableValue(origin: string, field: string, value: string): void {
  const at = [...value].findIndex((char) => char.codePointAt(0)! > 0xff || char === '\r' || char === '\n' || char === '\0');
  if (at < 0) return;
  const code = [...value][at]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  throw invalid(origin, field, `character ${at + 1} is U+${code}, which an HTTP header cannot carry (only Latin-1, no line breaks); check the value for a pasted quote, ellipsis or line break`);
}

function secretsOf(c: ApiSourceConfig): string[] {
  const out = new Set<string>();
  if (c.auth?.type === 'bearer') out.add(c.auth.token);
  if (c.auth?.type === 'basic') {
    out.add(c.auth.password);
    out.add(Buffer.from(`${c.auth.username}:${c.auth.password}`).toString('base64'));
  }
  if (c.auth?.type === 'api_key') out.add(c.auth.value);
  const named = (map: Record<string, unknown> | undefined) => {
    for (const [key, value] of Object.entries(map ?? {})) if (SECRET_NAME.test(key)) out.add(String(value));
  };
  named(c.headers);
  named(c.params);
  for (const endpoint of c.endpoints) {
    named(endpoint.headers);
    named(endpoint.params);
  }
  // Too short to be a credential, and masking it would garble every message.
  return [...out].filter((s) => s.length >= 4);
}

/** `-` and other non-identifier characters of a name become `_` in table names. */
function tableName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The endpoint's URL: its path after baseUrl's, and the query parameters of both (a baseUrl such as
 * `https://x.example/v1?api-version=2`; the path's win). Joined as text, the path landed in the
 * baseUrl's last query value and the API's root was requested.
 */
function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  const url = new URL(base);
  const relative = new URL(path.replace(/^\/+/, ''), 'http://relative.invalid/');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${relative.pathname}`;
  for (const [key, value] of relative.searchParams) url.searchParams.set(key, value);
  url.hash = '';
  return url.toString();
}

function invalid(origin: string, field: string, problem: string): ValidationError {
  return new ValidationError('CONFIG_INVALID', `${origin}: ${field}: ${problem}`);
}

const MAX_ISSUES = 3;

function describeIssues(issues: z.ZodIssue[], input: unknown): string {
  const parts = issues.slice(0, MAX_ISSUES).map((issue) => {
    const field = formatPath(issue.path);
    const value = valueAt(input, issue.path);
    const secret = isSecretField(issue.path);
    const shown = secret ? maskedValue(value) : JSON.stringify(value);
    const where = field === '' ? 'the config' : field;
    switch (issue.code) {
      case 'unrecognized_keys':
        return `${where}: unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')} (check the spelling; fields are camelCase, e.g. baseUrl, cursorField)`;
      case 'invalid_union_discriminator':
        return `${where}: ${value === undefined ? 'missing' : `unknown value ${shown}`}: use ${issue.options.map(String).join(', ')}`;
      case 'invalid_enum_value':
        return `${where}: unknown value ${shown}: use ${issue.options.map(String).join(', ')}`;
      case 'invalid_type':
        if (value === undefined) return `${where}: missing (${article(issue.expected)} is required)`;
        // YAML reads an unquoted 98127361 as a number; the credential itself must not be printed.
        return `${where}: expected ${article(issue.expected)}, got ${shown}${secret && issue.expected === 'string' && typeof value === 'number' ? ' (put the value in quotes)' : ''}`;
      default:
        return `${where}: ${issue.message.replace(/^String /, '')}, got ${shown}`;
    }
  });
  const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more` : '';
  return `${parts.join('; ')}${more}`;
}

/**
 * Credentials (`auth.token`, or `auth` itself when it is not an object), headers or parameters named
 * like secrets, and whole `headers` or `params` maps that are not maps.
 */
function isSecretField(path: (string | number)[]): boolean {
  const last = String(path.at(-1));
  if (path[0] === 'auth') return !['type', 'in', 'name', 'username'].includes(last);
  return (path.includes('headers') || path.includes('params')) && (last === 'headers' || last === 'params' || SECRET_NAME.test(last));
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** A secret's kind without its value: `"***"`, `a number (***)`. */
function maskedValue(value: unknown): string {
  if (typeof value === 'string') return '"***"';
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  return `${kind} (***)`;
}

function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let value = input;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}
