import { createHash } from 'node:crypto';
import { ExternalError } from '../../core/errors.js';
import type { ApiPagination } from './api-config.js';
import { valueAtPath } from './records-selector.js';
import { displayUrl } from './redaction.js';

/** What a paginator sees of the page just fetched. */
export interface PageResult {
  /** 1-based. */
  page: number;
  url: URL;
  headers: Headers;
  body: unknown;
  records: readonly unknown[];
}

/** Builds the first page's URL and, from each page, the next one's (undefined: that was the last). */
export interface Paginator {
  first(url: URL): URL;
  next(last: PageResult): URL | undefined;
  /** Whether `maxPages` ended the pages while the API had a next one (an incremental run then has not seen every record after its cursor). */
  stoppedAtMaxPages(): boolean;
}

/** The paginator of one style (see ApiPagination); `what` names the endpoint in errors. */
export function createPaginator(config: ApiPagination, what: string): Paginator {
  let stopped = false;
  const stoppedAtMaxPages = () => stopped;
  /**
   * `guessed`: the style computes the next page itself (page numbers, offsets), so a page without
   * records is the end. The others follow what the API says (a cursor, a link): an API may send an
   * empty page, its filter having matched nothing there, and a next one with records after it.
   */
  const limited = (next: (last: PageResult) => URL | undefined, guessed = false): Paginator['next'] => {
    const maxPages = 'maxPages' in config ? config.maxPages : undefined;
    return (last) => {
      if (guessed && last.records.length === 0) return undefined;
      const url = next(last);
      if (url === undefined || maxPages === undefined || last.page < maxPages) return url;
      stopped = true;
      return undefined;
    };
  };
  switch (config.type) {
    case 'none':
      return { first: (url) => url, next: () => undefined, stoppedAtMaxPages };
    case 'page_number': {
      const param = config.param ?? 'page';
      const start = config.start ?? 1;
      const advice = `the API seems to ignore the page parameter "${param}": set pagination.param to its name for the page number (or pagination.size, when it repeats its last page past the end)`;
      return {
        stoppedAtMaxPages,
        first: (url) => withParams(url, { [param]: start, ...(config.sizeParam && config.size !== undefined ? { [config.sizeParam]: config.size } : {}) }),
        next: refusingRepeats(what, advice, limited((last) => (config.size !== undefined && last.records.length < config.size ? undefined : withParams(last.url, { [param]: start + last.page })), true)),
      };
    }
    case 'offset': {
      const offsetParam = config.offsetParam ?? 'offset';
      const limitParam = config.limitParam ?? 'limit';
      const advice = `the API seems to ignore the offset parameter "${offsetParam}": set pagination.offsetParam (and limitParam) to its names`;
      // The next offset steps by the records received: an API that caps its page size below `limit`
      // returns fewer, and stepping by `limit` would skip the rest. With `totalPath` the total alone
      // says when to stop; without it, a short page is the last.
      const next = limited((last) => {
        const offset = Number(last.url.searchParams.get(offsetParam) ?? 0) + last.records.length;
        if (config.totalPath === undefined) return last.records.length < config.limit ? undefined : withParams(last.url, { [offsetParam]: offset });
        const total = countAt(last.body, config.totalPath);
        if (total === undefined) throw new ExternalError('SOURCE_HTTP_ERROR', `${what} page ${last.page}: pagination.totalPath "${config.totalPath}" is not a number in the response (got ${JSON.stringify(valueAtPath(last.body, config.totalPath)) ?? 'nothing'}); point totalPath at the field holding the total count, or remove it to stop at a page shorter than limit`);
        return offset >= total ? undefined : withParams(last.url, { [offsetParam]: offset });
      }, true);
      return {
        stoppedAtMaxPages,
        first: (url) => withParams(url, { [offsetParam]: 0, [limitParam]: config.limit }),
        next: refusingRepeats(what, advice, next),
      };
    }
    case 'cursor': {
      const param = config.param ?? 'cursor';
      return {
        first: (url) => url,
        stoppedAtMaxPages,
        next: limited((last) => {
          const token = valueAtPath(last.body, config.cursorPath);
          if (token === undefined || token === null || token === '' || token === false) return undefined;
          if (typeof token !== 'string' && typeof token !== 'number' && typeof token !== 'bigint') {
            throw new ExternalError('SOURCE_HTTP_ERROR', `${what} page ${last.page}: pagination.cursorPath "${config.cursorPath}" holds ${JSON.stringify(token)}, not a cursor string or number`);
          }
          return withParams(last.url, { [param]: String(token) });
        }),
      };
    }
    case 'next_link': {
      const path = config.path ?? 'next';
      return {
        first: (url) => url,
        stoppedAtMaxPages,
        next: limited((last) => {
          const link = valueAtPath(last.body, path);
          if (link === undefined || link === null || link === '') return undefined;
          if (typeof link !== 'string') throw new ExternalError('SOURCE_HTTP_ERROR', `${what} page ${last.page}: pagination.path "${path}" holds ${JSON.stringify(link)}, not a URL`);
          return new URL(link, last.url);
        }),
      };
    }
    case 'link_header': {
      const rel = config.rel ?? 'next';
      return {
        first: (url) => url,
        stoppedAtMaxPages,
        next: limited((last) => {
          const link = linkHeaderTarget(last.headers.get('link'), rel);
          return link === undefined ? undefined : new URL(link, last.url);
        }),
      };
    }
  }
}

/**
 * The number at `path`, as a number or numeric text; undefined for anything else. Number() alone reads
 * null, "" and false as 0, which stopped the pages after the first as if the total were reached.
 */
function countAt(body: unknown, path: string): number | undefined {
  const value = valueAtPath(body, path);
  const total = typeof value === 'number' || typeof value === 'bigint' ? Number(value) : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(total) ? total : undefined;
}

/**
 * Page numbers and offsets change the URL on every page, so an API that ignores the parameter
 * serves its first page forever and the URL check never sees a repeat. This fails on a page whose
 * records are the same as the page before's (compared by a digest of their JSON), `maxPages` or not.
 */
function refusingRepeats(what: string, advice: string, next: Paginator['next']): Paginator['next'] {
  let previous: string | undefined;
  return (last) => {
    const digest = last.records.length === 0 ? undefined : recordsDigest(last.records);
    if (digest !== undefined && digest === previous) {
      throw new ExternalError('SOURCE_HTTP_ERROR', `${what} page ${last.page}: ${displayUrl(last.url)} returned the same ${last.records.length} records as page ${last.page - 1}; ${advice}`);
    }
    previous = digest;
    return next(last);
  };
}

function recordsDigest(records: readonly unknown[]): string {
  const json = JSON.stringify(records, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
  return createHash('sha256').update(json).digest('hex');
}

function withParams(url: URL, params: Record<string, string | number>): URL {
  const copy = new URL(url);
  for (const [key, value] of Object.entries(params)) copy.searchParams.set(key, String(value));
  return copy;
}

/**
 * The target of the link with relation `rel` in an RFC 8288 Link header (`<url>; rel="next", <url>; rel="last"`).
 * A parameter's value may be a quoted-string holding `,` or `;` (`title="next, page"`), so the header is read
 * token by token: cutting it at every comma would split such a link and lose its rel.
 */
export function linkHeaderTarget(header: string | null, rel: string): string | undefined {
  if (!header) return undefined;
  const wanted = rel.toLowerCase();
  for (const link of parseLinkHeader(header)) {
    const rels = link.params.get('rel');
    if (rels !== undefined && rels.toLowerCase().split(/\s+/).includes(wanted)) return link.target;
  }
  return undefined;
}

/** The links of a Link header, each with its parameters (names lower-cased, the first of a repeated one kept, quotes and escapes removed). */
function parseLinkHeader(header: string): { target: string; params: Map<string, string> }[] {
  const links: { target: string; params: Map<string, string> }[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < header.length && /\s/.test(header[i]!)) i++;
  };
  while (i < header.length) {
    const open = header.indexOf('<', i);
    if (open < 0) break;
    const close = header.indexOf('>', open);
    if (close < 0) break;
    const link = { target: header.slice(open + 1, close), params: new Map<string, string>() };
    links.push(link);
    i = close + 1;
    for (skipSpace(); header[i] === ';'; skipSpace()) {
      i++;
      skipSpace();
      const nameStart = i;
      while (i < header.length && !/[\s=;,]/.test(header[i]!)) i++;
      const name = header.slice(nameStart, i).toLowerCase();
      skipSpace();
      let value = '';
      if (header[i] === '=') {
        i++;
        skipSpace();
        if (header[i] === '"') {
          for (i++; i < header.length && header[i] !== '"'; i++) value += header[i] === '\\' ? header[++i] ?? '' : header[i];
          i++;
        } else {
          const valueStart = i;
          while (i < header.length && !/[\s;,]/.test(header[i]!)) i++;
          value = header.slice(valueStart, i);
        }
      }
      if (name !== '' && !link.params.has(name)) link.params.set(name, value);
    }
    // Past anything unreadable up to the comma that ends this link.
    while (i < header.length && header[i] !== ',') {
      if (header[i] === '"') i = Math.max(header.indexOf('"', i + 1), i) + 1;
      else i++;
    }
    i++;
  }
  return links;
}
