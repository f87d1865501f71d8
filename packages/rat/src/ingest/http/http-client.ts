import { setTimeout as delay } from 'node:timers/promises';
import { ExternalError } from '../../core/errors.js';
import { parseJsonBigint } from '../../core/json.js';
import { displayUrl } from './redaction.js';
import { decodeBody, decodeLeniently } from './response-text.js';

/** When and how often a request is tried again. */
export interface RetryPolicy {
  timeoutMs: number;
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
}

/** One retry about to happen: why, and how long we wait first. */
export interface RetryEvent {
  /** 1 for the first retry. */
  attempt: number;
  maxRetries: number;
  /** `429 Too Many Requests`, `timed out after 200 ms`, `ECONNRESET`... */
  reason: string;
  waitMs: number;
}

export interface HttpClientOptions {
  policy: RetryPolicy;
  /** Masks secrets in anything that ends up in a message. */
  redact: (text: string) => string;
  onRetry?: (event: RetryEvent) => void;
  /** Waiting between attempts (tests pass one that records the waits). */
  sleep?: (ms: number) => Promise<void>;
  /** The jitter's source, in [0, 1). */
  random?: () => number;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** The body as text, for a record's JSON exactly as sent (a number beyond a double's range is Infinity in `body`). */
  text: string;
  /** Attempts it took (1 = no retry). */
  attempts: number;
}

/** A failed request: the status when the server answered, and the URL (secrets masked). */
export class HttpSourceError extends ExternalError {
  readonly url: string;
  readonly status: number | undefined;
  constructor(code: 'SOURCE_HTTP_ERROR' | 'SOURCE_NOT_JSON', message: string, details: { url: string; status?: number; cause?: unknown }) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.url = details.url;
    this.status = details.status;
  }
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const SNIPPET = 120;

/**
 * GETs a JSON document. 408/429/5xx answers, timeouts and network errors are tried again up to
 * `maxRetries` times, waiting as Retry-After says (seconds or an HTTP-date), else an exponential
 * backoff with full jitter. An answer that is not JSON (an HTML login page, a proxy's error page)
 * fails at once with the URL, status, content type and first bytes. `what` names the request in
 * messages (`api:shop/orders page 3`).
 *
 * `headers` (credentials among them) go only to the origin of `url`: redirects are followed here,
 * not by fetch, which keeps custom headers such as `X-API-Key` on a redirect to another host.
 */
export async function getJson(url: URL, headers: Record<string, string>, what: string, options: HttpClientOptions): Promise<JsonResponse> {
  const { policy, redact } = options;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  const shown = redact(displayUrl(url));
  for (let attempt = 0; ; attempt++) {
    const outcome = await attemptGet(url, headers, policy.timeoutMs);
    if (outcome.kind === 'redirects') {
      throw new HttpSourceError('SOURCE_HTTP_ERROR', `${what}: GET ${shown} was redirected more than ${MAX_REDIRECTS} times (last to ${redact(displayUrl(outcome.last))}); check baseUrl and the endpoint path`, { url: shown });
    }
    if (outcome.kind === 'ok') {
      const { response, bytes } = outcome;
      const target = outcome.url.href === url.href ? shown : `${shown} (redirected to ${redact(displayUrl(outcome.url))})`;
      if (response.ok) return { status: response.status, headers: response.headers, ...parseJson(bytes, response, what, target, redact), attempts: attempt + 1 };
      const reason = `${response.status} ${response.statusText}`.trim();
      if (!RETRY_STATUS.has(response.status) || attempt >= policy.maxRetries) {
        const tries = attempt > 0 ? ` after ${attempt + 1} attempts` : '';
        throw new HttpSourceError('SOURCE_HTTP_ERROR', `${what}: GET ${target} failed with ${reason}${tries}: ${redact(snippet(decodeLeniently(bytes, response)))}${hint(response.status)}`, {
          url: target,
          status: response.status,
        });
      }
      const asked = retryAfterMs(response.headers.get('retry-after'), Date.now());
      if (asked !== undefined && asked > policy.maxRetryAfterMs) {
        throw new HttpSourceError(
          'SOURCE_HTTP_ERROR',
          `${what}: GET ${shown} answered ${reason} with Retry-After ${response.headers.get('retry-after')} (${Math.ceil(asked / 1000)} s), longer than retry.maxRetryAfterSeconds ${policy.maxRetryAfterMs / 1000}; run again later or raise the limit`,
          { url: shown, status: response.status },
        );
      }
      const waitMs = asked ?? backoffMs(attempt, policy, random);
      options.onRetry?.({ attempt: attempt + 1, maxRetries: policy.maxRetries, reason, waitMs });
      await sleep(waitMs);
      continue;
    }
    if (attempt >= policy.maxRetries) {
      throw new HttpSourceError('SOURCE_HTTP_ERROR', `${what}: GET ${shown} ${redact(outcome.reason)}${attempt > 0 ? ` (${attempt + 1} attempts)` : ''}; check that the API is reachable, or raise timeoutSeconds / retry.maxRetries`, {
        url: shown,
        cause: outcome.error,
      });
    }
    const waitMs = backoffMs(attempt, policy, random);
    options.onRetry?.({ attempt: attempt + 1, maxRetries: policy.maxRetries, reason: redact(outcome.reason), waitMs });
    await sleep(waitMs);
  }
}

type Attempt =
  | { kind: 'ok'; response: Response; url: URL; bytes: Uint8Array }
  | { kind: 'redirects'; last: URL }
  | { kind: 'failed'; reason: string; error: unknown };

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * One GET, redirects followed. `headers` are sent only to the origin of `url`: a hop to another
 * origin (another host, port or scheme) is requested without them, as curl does without
 * --location-trusted. An API key in the query is in `url` only, never added to a Location.
 */
async function attemptGet(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<Attempt> {
  // One signal covers the connection, the headers and the whole body, redirects included.
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    let current = url;
    for (let hops = 0; ; hops++) {
      const sent = current.origin === url.origin ? headers : {};
      const response = await fetch(current, { headers: { accept: 'application/json', ...sent }, signal, redirect: 'manual' });
      const location = REDIRECT_STATUS.has(response.status) ? response.headers.get('location') : null;
      if (location === null) return { kind: 'ok', response, url: current, bytes: new Uint8Array(await response.arrayBuffer()) };
      await response.body?.cancel();
      current = new URL(location, current);
      if (hops >= MAX_REDIRECTS) return { kind: 'redirects', last: current };
    }
  } catch (error) {
    if (signal.aborted) return { kind: 'failed', reason: `timed out after ${timeoutMs} ms`, error };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code;
    const known = code === undefined ? undefined : NETWORK_PROBLEMS[code];
    return { kind: 'failed', reason: `failed: ${known !== undefined ? `${known} (${code})` : (code ?? cause?.message ?? (error as Error).message)}`, error };
  }
}

/** What a connection's failure means, for codes whose name says little to a user (undici's own above all); the code is kept after it. */
const NETWORK_PROBLEMS: Record<string, string> = {
  UND_ERR_SOCKET: 'the server closed the connection',
  ECONNRESET: 'the server closed the connection',
};

function parseJson(bytes: Uint8Array, response: Response, what: string, url: string, redact: (text: string) => string): { body: unknown; text: string } {
  const where = `${what}: GET ${url}`;
  const type = response.headers.get('content-type') ?? '';
  const decoded = decodeBody(bytes, type);
  const text = 'text' in decoded ? decoded.text : decodeLeniently(bytes, response);
  const start = text.trimStart();
  const looksHtml = /html/i.test(type) || /^<(!doctype|html|head|body)/i.test(start);
  if (looksHtml || (type !== '' && !/json|javascript|text\/plain/i.test(type))) {
    throw new HttpSourceError(
      'SOURCE_NOT_JSON',
      `${where} returned ${looksHtml ? 'HTML' : type}, not JSON (status ${response.status}${type ? `, content-type ${type}` : ''}): ${redact(snippet(text))}; check baseUrl, path and auth (a login or error page?)`,
      { url, status: response.status },
    );
  }
  if ('problem' in decoded) {
    throw new HttpSourceError('SOURCE_NOT_JSON', `${where} returned a body that ${decoded.problem} (status ${response.status}${type ? `, content-type ${type}` : ''}): ${redact(snippet(text))}; ${decoded.advice}`, {
      url,
      status: response.status,
    });
  }
  if (start === '') return { body: null, text };
  try {
    // Integers beyond 2^53 (snowflake ids) keep every digit as bigint; the common case stays on the fast parser.
    return { body: /\d{16}/.test(text) ? parseJsonBigint(text) : (JSON.parse(text) as unknown), text };
  } catch (error) {
    throw new HttpSourceError('SOURCE_NOT_JSON', `${where} returned invalid JSON (status ${response.status}): ${(error as Error).message}; the body starts ${redact(snippet(text))}`, {
      url,
      status: response.status,
      cause: error,
    });
  }
}

function hint(status: number): string {
  if (status === 401 || status === 403) return '; check auth (credentials, token scope)';
  if (status === 404) return '; check baseUrl and the endpoint path';
  return '';
}

/** The first bytes of a body, on one line, quoted. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(line.length > SNIPPET ? `${line.slice(0, SNIPPET)}…` : line);
}

/**
 * Milliseconds a Retry-After header asks for (delay-seconds or an HTTP-date), or undefined when absent
 * or unreadable (the backoff then applies). Seconds are read first, a fraction too (`2.5`, which some
 * APIs send though RFC 9110 allows only digits): Date.parse reads "2.5" as a date in 2001, a wait of 0.
 * Only an IMF-fixdate-like text (with a weekday or month name) counts as a date.
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full jitter: a random wait up to `backoffMs * 2^attempt`, capped (attempt 0 is the first retry). */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'backoffMs' | 'maxBackoffMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** attempt);
  return Math.round(ceiling * random());
}
