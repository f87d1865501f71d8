import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveApiConfig } from './api-config.js';
import { loadApiConfig, substituteEnv } from './config-loader.js';
import { retryAfterMs } from './http-client.js';
import { linkHeaderTarget } from './pagination.js';
import { selectRecords } from './records-selector.js';
import { createRedactor, displayUrl } from './redaction.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-api-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const YAML = `
name: shop
baseUrl: \${SHOP_URL:-https://api.example.com}/v1/
auth:
  type: bearer
  token: \${SHOP_TOKEN}
timeoutSeconds: \${SHOP_TIMEOUT:-10}
defaults:
  pagination: { type: page_number, size: 100, sizeParam: per_page }
endpoints:
  - name: orders
    path: /orders
    records: data.items
    params: { status: all, note: "costs $\${{ 5 }}" }
    incremental: { cursorField: updated_at, param: since, initialValue: "2024-01-01" }
    primaryKey: id
  - name: line-items
    path: line_items
    pagination: { type: none }
`;

describe('API source config files', () => {
  it('loads YAML with ${ENV} substitution and defaults, and keeps secrets for redaction', async () => {
    const path = join(dir, 'shop.yaml');
    await writeFile(path, YAML);
    const source = await loadApiConfig(path, { SHOP_TOKEN: 'tok-secret-1234' });
    expect(source).toMatchObject({ name: 'shop', timeoutMs: 10_000, auth: { type: 'bearer', token: 'tok-secret-1234' }, retry: { maxRetries: 5, backoffMs: 500 } });
    expect(source.secrets).toEqual(['tok-secret-1234']);
    const [orders, items] = source.endpoints;
    expect(orders).toMatchObject({
      sourceName: 'api:shop/orders',
      url: 'https://api.example.com/v1/orders',
      target: 'bronze.shop_orders',
      records: 'data.items',
      params: { status: 'all', note: 'costs ${{ 5 }}' },
      pagination: { type: 'page_number', size: 100, sizeParam: 'per_page' },
      ingest: { mode: 'merge', keys: ['id'] },
    });
    expect(items).toMatchObject({ url: 'https://api.example.com/v1/line_items', target: 'bronze.shop_line_items', pagination: { type: 'none' }, ingest: { mode: 'append' } });
    expect(items!.records).toBeUndefined();
  });

  it('names a missing environment variable and the field that uses it', async () => {
    const path = join(dir, 'missing.yaml');
    await writeFile(path, YAML);
    await expect(loadApiConfig(path, {})).rejects.toThrow(`${path}: auth.token: environment variable SHOP_TOKEN is not set; export it, or write \${SHOP_TOKEN:-default}`);
  });

  it('loads JSON and JavaScript modules (a default export, or a function returning it)', async () => {
    const json = join(dir, 'api.json');
    await writeFile(json, JSON.stringify({ name: 'j', baseUrl: 'http://localhost:1', endpoints: [{ name: 'e', path: '/e' }] }));
    expect((await loadApiConfig(json, {})).endpoints[0]!.url).toBe('http://localhost:1/e');
    const mjs = join(dir, 'api.mjs');
    await writeFile(mjs, `export default () => ({ name: 'm', baseUrl: 'http://localhost:2', endpoints: [{ name: 'e', path: 'x', target: 'raw.things' }] });\n`);
    expect((await loadApiConfig(mjs, {})).endpoints[0]).toMatchObject({ url: 'http://localhost:2/x', target: 'raw.things' });
    await expect(loadApiConfig(join(dir, 'api.ts'), {})).rejects.toThrow('Node.js 20 cannot load TypeScript; compile it (npx tsc) and pass the .js file');
    await expect(loadApiConfig(join(dir, 'nope.yaml'), {})).rejects.toThrow(`${join(dir, 'nope.yaml')}: no such config file`);
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'name: [unclosed\n');
    await expect(loadApiConfig(broken, {})).rejects.toThrow(`${broken}: not valid YAML:`);
  });

  it('refuses a bad config naming the field and the value, and never prints a secret', () => {
    const base = { name: 'shop', baseUrl: 'https://api.example.com', endpoints: [{ name: 'orders', path: '/orders' }] };
    const error = (config: unknown) => {
      try {
        resolveApiConfig(config, 'shop.yaml');
      } catch (e) {
        expect((e as { code?: string }).code).toBe('CONFIG_INVALID');
        return (e as Error).message;
      }
      throw new Error('expected a validation error');
    };
    expect(error({ ...base, endpoints: [{ name: 'orders', path: '/o', pagination: { type: 'pages' } }] })).toBe(
      'shop.yaml: endpoints[0].pagination.type: unknown value "pages": use none, page_number, offset, cursor, next_link, link_header',
    );
    expect(error({ ...base, baseURL: 'x' })).toBe('shop.yaml: the config: unknown field baseURL (check the spelling; fields are camelCase, e.g. baseUrl, cursorField)');
    expect(error({ ...base, baseUrl: 'ftp://files.example.com' })).toBe('shop.yaml: baseUrl: must be an http:// or https:// URL, got "ftp://files.example.com"');
    expect(error({ ...base, endpoints: [{ name: 'orders', path: '/o', pagination: { type: 'offset' } }] })).toBe('shop.yaml: endpoints[0].pagination.limit: missing (a number is required)');
    expect(error({ ...base, endpoints: [] })).toBe('shop.yaml: endpoints: needs at least one endpoint, got []');
    expect(error({ ...base, retry: { maxRetries: -1 } })).toBe('shop.yaml: retry.maxRetries: Number must be greater than or equal to 0, got -1');
    expect(error({ ...base, endpoints: [base.endpoints[0], base.endpoints[0]] })).toBe('shop.yaml: endpoints[1].name: "orders" is used by two endpoints; endpoint names must be unique');
    expect(error({ ...base, endpoints: [{ name: 'orders', path: '/o', primaryKey: 'id', ingest: { mode: 'append' } }] })).toBe(
      'shop.yaml: endpoints[0].ingest.mode: "append" conflicts with primaryKey id (a primary key means mode merge); remove one of them',
    );
    expect(error({ ...base, endpoints: [{ name: 'orders', path: '/o', target: 'no_namespace' }] })).toContain('shop.yaml: endpoints[0].target: "no_namespace" is not a namespace.table name');
    const secret = error({ ...base, auth: { type: 'basic', username: 'u', password: 'hunter2-secret', extra: 1 }, headers: { 'X-Api-Key': 5 } });
    expect(secret).toBe('shop.yaml: headers.X-Api-Key: expected a string, got a number (***) (put the value in quotes); auth: unknown field extra (check the spelling; fields are camelCase, e.g. baseUrl, cursorField)');
    expect(secret).not.toContain('hunter2');
    // Numbers (YAML's reading of an unquoted 98127361) are credentials too: never printed.
    expect(error({ ...base, auth: { type: 'basic', username: 'alice', password: 98127361 } })).toBe('shop.yaml: auth.password: expected a string, got a number (***) (put the value in quotes)');
    expect(error({ ...base, auth: { type: 'bearer', token: 12345678901 } })).toBe('shop.yaml: auth.token: expected a string, got a number (***) (put the value in quotes)');
    expect(error({ ...base, endpoints: [{ name: 'orders', path: '/o', headers: { Authorization: 8812736455 } }] })).toBe(
      'shop.yaml: endpoints[0].headers.Authorization: expected a string, got a number (***) (put the value in quotes)',
    );
    expect(error({ ...base, auth: 'Bearer 77abc-secret' })).toBe('shop.yaml: auth: expected an object, got "***"');
    expect(error({ ...base, params: 'license_key=9911223344' })).toBe('shop.yaml: params: expected an object, got "***"');
    expect(error({ ...base, auth: { type: 'bearer', token: '' } })).toBe('shop.yaml: auth.token: must contain at least 1 character(s), got "***"');
  });
});

describe('building blocks', () => {
  it('substitutes ${VAR}, ${VAR:-default} and $${literal} in nested values', () => {
    expect(substituteEnv({ a: ['${X}', { b: 'x=${Y:-def}' }], c: 3, d: '$${X}' }, { X: 'one' }, 'f')).toEqual({ a: ['one', { b: 'x=def' }], c: 3, d: '${X}' });
    expect(() => substituteEnv({ a: '${1BAD}' }, {}, 'f.yaml')).toThrow('f.yaml: a: "${1BAD}" is not a variable reference');
  });

  it('reads Retry-After as seconds or an HTTP-date', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    // A fraction is seconds too; Date.parse would read "2.5" as a day in 2001 (no wait at all).
    expect(retryAfterMs('2.5', now)).toBe(2500);
    expect(retryAfterMs('0.25', now)).toBe(250);
    expect(retryAfterMs('1.2.3', now)).toBeUndefined();
    expect(retryAfterMs('Thu, 26 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('refuses a timeout or wait longer than Node.js timers take, which would time out every request after 1 ms', () => {
    const source = (extra: object) => ({ name: 's', baseUrl: 'https://x.example', endpoints: [{ name: 'e', path: '/e' }], ...extra });
    expect(() => resolveApiConfig(source({ timeoutSeconds: 3_000_000 }), 'shop.yaml')).toThrow(
      'shop.yaml: timeoutSeconds: must be at most 2147483 (24.8 days, the longest wait Node.js timers take), got 3000000',
    );
    expect(() => resolveApiConfig(source({ retry: { maxRetryAfterSeconds: '9999999' } }), 'shop.yaml')).toThrow('shop.yaml: retry.maxRetryAfterSeconds: must be at most 2147483');
    expect(resolveApiConfig(source({ timeoutSeconds: 2_147_483 })).timeoutMs).toBe(2_147_483_000);
  });

  it('refuses a header value fetch cannot send (a pasted typographic quote, a line break) naming the field, never the secret', () => {
    const source = (extra: object) => ({ name: 's', baseUrl: 'https://x.example', endpoints: [{ name: 'e', path: '/e' }], ...extra });
    expect(() => resolveApiConfig(source({ auth: { type: 'bearer', token: 'tok-3f9a1c7e\u201d' } }), 'shop.yaml')).toThrow(
      'shop.yaml: auth.token: character 13 is U+201D, which an HTTP header cannot carry (only Latin-1, no line breaks); check the value for a pasted quote, ellipsis or line break',
    );
    expect(() => resolveApiConfig(source({ auth: { type: 'bearer', token: 'tok-3f9a1c7e\u201d' } }))).not.toThrow(/3f9a1c7e/);
    expect(() => resolveApiConfig(source({ auth: { type: 'api_key', name: 'X-API-Key', value: 'key\n77aa91b2' } }))).toThrow('auth.value: character 4 is U+000A');
    expect(() => resolveApiConfig(source({ endpoints: [{ name: 'e', path: '/e', headers: { 'X Trace': '1' } }] }))).toThrow('endpoints[0].headers.X Trace: "X Trace" is not a header name');
    // Latin-1 is sent as it is; a query API key is URL-encoded, so any character goes.
    expect(() => resolveApiConfig(source({ headers: { 'X-Note': 'café' }, auth: { type: 'api_key', name: 'key', value: 'clé\u201d', in: 'query' } }))).not.toThrow();
  });

  it('appends the endpoint path to baseUrl\'s path, keeping the query parameters of both', () => {
    const url = (baseUrl: string, path: string) => resolveApiConfig({ name: 's', baseUrl, endpoints: [{ name: 'e', path }] }).endpoints[0]!.url;
    expect(url('https://x.example/v1?api-version=2024-01', '/orders')).toBe('https://x.example/v1/orders?api-version=2024-01');
    expect(url('https://x.example/v1/?a=1&b=2', 'orders?b=3&c=4')).toBe('https://x.example/v1/orders?a=1&b=3&c=4');
    expect(url('https://x.example', '/orders/open')).toBe('https://x.example/orders/open');
    expect(url('https://x.example/v1/', 'line_items')).toBe('https://x.example/v1/line_items');
    expect(url('https://x.example/v1', 'https://y.example/z?q=1')).toBe('https://y.example/z?q=1');
  });

  it('finds the rel="next" link of a Link header', () => {
    const header = '<https://api.github.com/repos?page=1>; rel="prev", <https://api.github.com/repos?page=3&a=1,2>; rel="next", <https://api.github.com/repos?page=9>; rel="last"';
    expect(linkHeaderTarget(header, 'next')).toBe('https://api.github.com/repos?page=3&a=1,2');
    expect(linkHeaderTarget('<https://x/1>; rel="first last"', 'last')).toBe('https://x/1');
    expect(linkHeaderTarget('<https://x/9>; rel="last"', 'next')).toBeUndefined();
  });

  it('finds rel="next" beside quoted parameters that hold commas and semicolons (RFC 8288 quoted-strings)', () => {
    const header = '<https://x/p1>; rel="first"; title="Page 1, first", <https://x/p2>; title="next, page; 2"; rel="next", <https://x/p9>; rel="last"';
    expect(linkHeaderTarget(header, 'next')).toBe('https://x/p2');
    expect(linkHeaderTarget(header, 'last')).toBe('https://x/p9');
    expect(linkHeaderTarget('<https://x/p2>; title="say \\"rel=next\\", please"; rel=prev, <https://x/p3>;rel=next', 'next')).toBe('https://x/p3');
    expect(linkHeaderTarget('<https://x/p2>; rel = "prev next"', 'NEXT')).toBe('https://x/p2');
  });

  it('selects records: a path, the body array, else the one array field of records; an error lists the fields', () => {
    expect(selectRecords({ meta: { n: 1 }, errors: [], rows: [{ a: 1 }], tags: ['t'] }, undefined, 'x')).toEqual([{ a: 1 }]);
    expect(selectRecords({ errors: [], messages: [], result: [] }, undefined, 'x')).toEqual([]);
    expect(() => selectRecords({ meta: { n: 1 }, rows: [{ a: 1 }], other: [{ b: 2 }] }, undefined, 'x')).toThrow(
      'x: several top-level fields hold arrays of objects (rows, other), so which holds the records is not clear; set records: <dotted.path> to the one that does (records: rows)',
    );
    expect(() => selectRecords({ ids: [1], tags: ['t'] }, undefined, 'x')).toThrow('x: several top-level fields hold arrays (ids, tags)');
    expect(selectRecords([{ a: 1 }], undefined, 'x')).toEqual([{ a: 1 }]);
    expect(selectRecords({ data: { items: [{ a: 2 }] } }, 'data.items', 'x')).toEqual([{ a: 2 }]);
    expect(selectRecords({ data: null }, 'data', 'x')).toEqual([]);
    expect(selectRecords({ id: 7 }, '$', 'x')).toEqual([{ id: 7 }]);
    expect(() => selectRecords({ status: 'no', code: 3 }, undefined, 'api:s/e page 1')).toThrow(
      'api:s/e page 1: no records array in the response (its top-level fields: status, code); set records: <dotted.path> ("$" for the whole body as one record)',
    );
    // An `errors` array is not taken for the records: the failure it reports is.
    expect(() => selectRecords({ errors: [{ code: 'RATE' }] }, undefined, 'p')).toThrow('p: the response has no records but errors: [{"code":"RATE"}]');
    expect(() => selectRecords({ data: [] }, 'data.items', 'p')).toThrow('p: records "data.items" is not in the response (its top-level fields: data)');
  });

  it('masks secrets in text and URLs', () => {
    const redact = createRedactor(['s3cr3t/+token']);
    expect(redact('GET https://x/?t=s3cr3t%2F%2Btoken failed: s3cr3t/+token')).toBe('GET https://x/?t=*** failed: ***');
    expect(displayUrl(new URL('https://user:pw@x.io/a?api_key=abc&page=2&access_token=z'))).toBe('https://x.io/a?api_key=***&page=2&access_token=***');
  });

  it('masks a query API key as the URL encodes it, under a parameter name that does not look secret', () => {
    for (const secret of ['abc~def!ghi(1)', "it's a key", 'abc def+ghi*']) {
      const url = new URL('https://x.io/e?page=2');
      url.searchParams.set('code', secret);
      expect(createRedactor([secret])(`GET ${displayUrl(url)} failed`)).toBe('GET https://x.io/e?page=2&code=*** failed');
    }
  });
});
