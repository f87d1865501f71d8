import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A record the server serves. */
export interface TestRecord {
  id: number;
  name: string;
  amount: number;
  updated_at: string;
  customer: { id: number; tier: string };
}

/** What the server answered, per request. */
export interface ServedRequest {
  path: string;
  query: Record<string, string>;
  status: number;
  headers: IncomingMessage['headers'];
}

/**
 * Failures injected under `/flaky/...` (the same routes as without the prefix): every `every`-th
 * request fails, alternately 429 (with `retryAfter`) and 503; or, with `seed`, each request fails
 * with probability `rate` from a seeded generator, so a run is random yet repeatable.
 */
export interface Faults {
  every?: number;
  seed?: number;
  rate?: number;
  /** The Retry-After of a 429 (default "0"). */
  retryAfter?: string;
}

export interface ApiTestServer {
  url: string;
  requests: ServedRequest[];
  /** Paths of all requests as they arrived, answered or not. */
  arrived: string[];
  /** Requests to `path` (without the query), optionally only those answered with `status`. */
  count(path: string, status?: number): number;
  /** The catalog of 23 fixed records served by the paginated routes. */
  catalog: TestRecord[];
  /** The records of `/orders`, which tests grow and change between runs. */
  orders: TestRecord[];
  addOrders(count: number, updatedAt: (id: number) => string): void;
  /** The bodies of `/raw?page=n` as JSON text (what JSON.stringify cannot write, such as 1e400); a page past them is `[]`. */
  rawPages: string[];
  faults: Faults;
  close(): Promise<void>;
}

export const CREDENTIALS = { token: 'tok-3f9a1c7e', user: 'ratuser', password: 'p4ss-w0rd!', apiKey: 'key-77aa91b2' };

export function record(id: number, updatedAt: string): TestRecord {
  return { id, name: `item ${id}`, amount: id * 2.5, updated_at: updatedAt, customer: { id: 100 + (id % 4), tier: id % 2 === 0 ? 'gold' : 'basic' } };
}

const day = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 86_400_000).toISOString();

/** Starts the server on 127.0.0.1 and a free port. */
export async function startApiTestServer(): Promise<ApiTestServer> {
  const catalog = Array.from({ length: 23 }, (_, i) => record(i + 1, day(i)));
  const orders: TestRecord[] = [];
  const requests: ServedRequest[] = [];
  const arrived: string[] = [];
  const faults: Faults = {};
  const rawPages: string[] = [];
  let flakyCount = 0;
  let random: (() => number) | undefined;
  let randomSeed: number | undefined;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const query = Object.fromEntries(url.searchParams);
    arrived.push(url.pathname);
    let path = url.pathname;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ path: url.pathname, query, status, headers: req.headers });
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json', ...headers });
      res.end(text);
    };
    if (path.startsWith('/flaky/')) {
      path = path.slice('/flaky'.length);
      flakyCount++;
      if (faults.seed !== undefined && faults.seed !== randomSeed) {
        randomSeed = faults.seed;
        random = mulberry32(faults.seed);
      }
      const fail = faults.seed !== undefined ? random!() < (faults.rate ?? 0.3) : faults.every !== undefined && flakyCount % faults.every === 0;
      if (fail) {
        const tooMany = faults.seed !== undefined ? random!() < 0.5 : (flakyCount / faults.every!) % 2 === 1;
        if (tooMany) return send(429, { error: 'slow down' }, { 'retry-after': faults.retryAfter ?? '0' });
        return send(503, { error: 'try again' });
      }
    }
    const int = (name: string, fallback: number) => (query[name] === undefined ? fallback : Number(query[name]));
    switch (path) {
      case '/page': {
        const page = int('page', 1);
        const size = int('per_page', 10);
        return send(200, { page, data: catalog.slice((page - 1) * size, page * size) });
      }
      case '/offset': {
        // With `cap`, pages hold at most that many records whatever the limit, as many APIs do.
        const offset = int('offset', 0);
        const limit = Math.min(int('limit', 10), int('cap', Infinity));
        // With `total`, that JSON in the total field instead of the count (`null`, `""`, `"23"`).
        const total: unknown = query.total === undefined ? catalog.length : JSON.parse(query.total);
        return send(200, { total, results: catalog.slice(offset, offset + limit) });
      }
      case '/cursor': {
        const from = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString()) : 0;
        const next = from + 7 < catalog.length ? Buffer.from(String(from + 7)).toString('base64url') : null;
        return send(200, { items: catalog.slice(from, from + 7), meta: { next_cursor: next } });
      }
      case '/next': {
        const after = int('after', 0);
        const items = catalog.filter((r) => r.id > after).slice(0, 5);
        const last = items.at(-1);
        return send(200, { data: items, next: last && last.id < catalog.length ? `${url.pathname}?after=${last.id}` : null });
      }
      case '/link': {
        const page = int('page', 1);
        const pages = Math.ceil(catalog.length / 6);
        const base = `http://${req.headers.host}${url.pathname}`;
        const links = [`<${base}?page=${pages}>; rel="last"`, ...(page < pages ? [`<${base}?page=${page + 1}>; rel="next"`] : [])];
        return send(200, catalog.slice((page - 1) * 6, page * 6), { link: links.join(', ') });
      }
      case '/auth/bearer':
        return req.headers.authorization === `Bearer ${CREDENTIALS.token}` ? send(200, [{ id: 1, style: 'bearer' }]) : unauthorized();
      case '/auth/basic': {
        const expected = `Basic ${Buffer.from(`${CREDENTIALS.user}:${CREDENTIALS.password}`).toString('base64')}`;
        return req.headers.authorization === expected ? send(200, [{ id: 1, style: 'basic' }]) : unauthorized();
      }
      case '/auth/header-key':
        return req.headers['x-api-key'] === CREDENTIALS.apiKey ? send(200, [{ id: 1, style: 'header key' }]) : unauthorized();
      case '/auth/query-key': {
        // Paginated, so the key must ride on the next links too.
        const page = int('page', 1);
        if (query.api_key !== CREDENTIALS.apiKey) return unauthorized();
        return send(200, { data: page <= 2 ? [{ id: page, style: 'query key' }] : [], next: page < 3 ? `/auth/query-key?page=${page + 1}` : null });
      }
      case '/orders': {
        const page = int('page', 1);
        const since = query.since;
        // Like many APIs, `since` is inclusive: the last record of the previous run comes back. Oldest first, or newest with `order=desc`.
        const matching = orders.filter((r) => since === undefined || r.updated_at >= since).sort((a, b) => a.updated_at.localeCompare(b.updated_at) || a.id - b.id);
        if (query.order === 'desc') matching.reverse();
        return send(200, { data: matching.slice((page - 1) * 4, page * 4) });
      }
      case '/orders-broken': {
        const page = int('page', 1);
        if (page === 1) return send(200, { data: catalog.slice(0, 5) });
        return send(200, '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action="/login">Please sign in</form></body></html>');
      }
      case '/hang-up':
        // Headers and half a body, then the socket closed: a server that dies or a proxy that drops the connection.
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"data": [{"id": 1}', () => res.destroy());
        return;
      case '/html':
        return send(200, '<html><body><h1>Welcome to our developer portal</h1></body></html>');
      case '/slow': {
        const timer = setTimeout(() => send(200, [{ id: 1 }]), 10_000);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case '/auth/echo':
        // Some APIs quote the credential back in their error.
        return send(403, { error: `token ${String(req.headers.authorization).replace('Bearer ', '')} lacks the orders:read scope` });
      case '/big': {
        // Ids beyond 2^53, as raw JSON text (JSON.stringify cannot write them).
        res.writeHead(200, { 'content-type': 'application/json' });
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        return res.end('{"data":[{"id":9007199254740993,"seq":9223372036854775807},{"id":9007199254740995,"seq":12}],"next_cursor":null}');
      }
      case '/truncated':
      case '/csv': {
        const csv = path === '/csv';
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        res.writeHead(200, { 'content-type': csv ? 'text/csv' : 'application/json' });
        return res.end(csv ? 'id,name\n1,a\n' : '{"data":[{"id":1},{"id":');
      }
      case '/redirect':
        // To another server (another origin) or a path of this one; without `to`, to itself, forever.
        requests.push({ path: url.pathname, query, status: 302, headers: req.headers });
        res.writeHead(302, { location: query.to ?? url.pathname });
        return res.end();
      case '/hand-off':
        // One record, then a next link to wherever `to` says.
        return send(200, { data: [{ id: 0 }], next: query.to });
      case '/then': {
        // Page 1 has its records in `items`; page 2 is what `then` says, as APIs end (or fail) their pages.
        const page = int('page', 1);
        if (page === 1) return send(200, { count: 10, items: catalog.slice(0, 10) });
        // No body at all: 204 No Content, or 200 with an empty body.
        if (query.then === 'no-content' || query.then === 'blank') {
          requests.push({ path: url.pathname, query, status: query.then === 'blank' ? 200 : 204, headers: req.headers });
          res.writeHead(query.then === 'blank' ? 200 : 204, query.then === 'blank' ? { 'content-type': 'application/json' } : {});
          return res.end();
        }
        const endings: Record<string, unknown> = {
          empty: { count: 0, items: [] },
          null: { count: 0, items: null },
          errors: { errors: [{ code: 'RATE', message: 'quota exceeded' }], items: null },
          moved: { count: 13, results: catalog.slice(10) },
        };
        return send(200, endings[query.then ?? 'empty']);
      }
      case '/no-content':
        requests.push({ path: url.pathname, query, status: 204, headers: req.headers });
        res.writeHead(204);
        return res.end();
      case '/same-page':
        // Ignores every paging parameter.
        return send(200, { data: catalog.slice(0, 10) });
      case '/unstorable': {
        // Page 2 has a number beyond a double's range in its 2nd record; `scalars` serves numbers, not records.
        res.writeHead(200, { 'content-type': 'application/json' });
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        if (query.scalars !== undefined) return res.end('{"items":[1,2,3]}');
        return res.end(int('page', 1) === 1 ? '[{"id":1,"h":1},{"id":2,"h":2}]' : '[{"id":3,"h":3},{"id":4,"h":{"deep":[1e400]}}]');
      }
      case '/raw':
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(rawPages[int('page', 1) - 1] ?? '[]');
      case '/null-cursor':
        return send(200, [{ id: 1, updated_at: day(0) }, { id: 2, updated_at: null }, { id: 3 }]);
      case '/charset': {
        // `name` in latin1 (declared or not), or UTF-16 with its byte order mark.
        const text = '[{"id":1,"name":"café Müller"}]';
        const encodings: Record<string, [string, Buffer]> = {
          latin1: ['application/json; charset=iso-8859-1', Buffer.from(text, 'latin1')],
          undeclared: ['application/json', Buffer.from(text, 'latin1')],
          utf16: ['application/json; charset=utf-16le', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
        };
        const [type, body] = encodings[query.as ?? 'latin1']!;
        requests.push({ path: url.pathname, query, status: 200, headers: req.headers });
        res.writeHead(200, { 'content-type': type });
        return res.end(body);
      }
      case '/sparse': {
        // Pages 2 and 3 of 5 are empty (a filter matched nothing there) yet name the next page, in the body and the Link header.
        // `then`: page 5 names an empty page 6, which names itself (`self`: a feed saying where to ask next time) or a new empty page without end (`fresh`).
        const page = int('page', 1);
        const items = page > 5 || page === 2 || page === 3 ? [] : catalog.slice((page - 1) * 2, page * 2);
        const next = page < 5 ? page + 1 : query.then === undefined ? null : page === 5 || query.then === 'fresh' ? page + 1 : page;
        const link = next === null ? null : `${url.pathname}?page=${next}${query.then ? `&then=${query.then}` : ''}`;
        const base = `http://${req.headers.host}`;
        return send(200, { items, next_cursor: next === null ? null : String(next), next: link }, link === null ? {} : { link: `<${base}${link}>; rel="next"` });
      }
      case '/loop':
        return send(200, { data: [{ id: 1 }], next: `${url.pathname}?again=1` });
      case '/bad-request':
        return send(400, { error: 'unknown filter "colour"' });
      default:
        return send(404, { error: `no route ${path}` });
    }
    function unauthorized() {
      send(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    arrived,
    count: (path, status) => requests.filter((r) => r.path === path && (status === undefined || r.status === status)).length,
    catalog,
    orders,
    addOrders(count, updatedAt) {
      const start = orders.length;
      for (let id = start + 1; id <= start + count; id++) orders.push(record(id, updatedAt(id)));
    },
    rawPages,
    faults,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A small seeded generator (mulberry32): the same seed gives the same failures. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
