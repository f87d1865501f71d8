import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type IngestFixture, openIngestFixture } from '../test-support/ingest-fixture.js';
import type { ApiEndpointConfig, ApiSourceConfig } from './api-config.js';
import { type ApiProgress, ingestApi } from './api-source.js';
import { type ApiTestServer, CREDENTIALS, startApiTestServer } from './test-support/api-test-server.js';

let fx: IngestFixture;
let server: ApiTestServer;
beforeEach(async () => {
  fx = await openIngestFixture();
  server = await startApiTestServer();
});
afterEach(async () => {
  await server.close();
  await fx.close();
});

/** Retries wait milliseconds, not seconds, in tests. */
function shop(endpoints: ApiEndpointConfig[], extra: Partial<ApiSourceConfig> = {}): ApiSourceConfig {
  return { name: 'shop', baseUrl: server.url, timeoutSeconds: 5, retry: { maxRetries: 4, backoffSeconds: 0.001, maxBackoffSeconds: 0.005 }, endpoints, ...extra };
}

async function ids(table: string): Promise<number[]> {
  return (await fx.rat.query(`SELECT id FROM ${table} ORDER BY id`)).map((r) => Number(r.id));
}

const day = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 86_400_000).toISOString();
const ALL = Array.from({ length: 23 }, (_, i) => i + 1);

describe('ingestApi: pagination styles', () => {
  it('lands every record exactly once in each style, finding the records array by default', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'by-page', path: '/page', pagination: { type: 'page_number', sizeParam: 'per_page', size: 10 } },
        { name: 'by_offset', path: '/offset', pagination: { type: 'offset', limit: 10, totalPath: 'total' } },
        { name: 'by_cursor', path: '/cursor', pagination: { type: 'cursor', cursorPath: 'meta.next_cursor' } },
        { name: 'by_next', path: '/next', records: 'data', pagination: { type: 'next_link', path: 'next' } },
        { name: 'by_link', path: '/link', pagination: { type: 'link_header' } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.target, e.status, e.rowsIngested, e.pages])).toEqual([
      ['bronze.shop_by_page', 'success', 23, 3],
      ['bronze.shop_by_offset', 'success', 23, 3],
      ['bronze.shop_by_cursor', 'success', 23, 4],
      ['bronze.shop_by_next', 'success', 23, 5],
      ['bronze.shop_by_link', 'success', 23, 4],
    ]);
    for (const e of report.endpoints) expect(await ids(e.target)).toEqual(ALL);
    expect(server.requests.filter((r) => r.path === '/page').map((r) => [r.query.page, r.query.per_page])).toEqual([
      ['1', '10'],
      ['2', '10'],
      ['3', '10'],
    ]);
    expect(server.requests.filter((r) => r.path === '/offset').map((r) => r.query.offset)).toEqual(['0', '10', '20']);
    expect(report).toMatchObject({ succeeded: 5, failed: 0, rowsIngested: 115 });
    const registry = await fx.ingestion.registry({ target: 'bronze.shop_by_cursor' });
    expect(registry.map((e) => [e.filePath, e.status, e.rowsIngested])).toEqual([['api:shop/by_cursor', 'success', 23]]);
    const lineage = await fx.rat.query('SELECT DISTINCT _source_file FROM bronze.shop_by_link');
    expect(lineage).toEqual([{ _source_file: 'api:shop/by_link' }]);
  });

  it('stops at maxPages, flattens nested objects on request, and takes a target and records path', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([{ name: 'items', path: '/page', target: 'bronze.items', records: 'data', params: { per_page: 5 }, pagination: { type: 'page_number', maxPages: 2 }, ingest: { flatten: true } }]),
    );
    expect(report.endpoints[0]).toMatchObject({ target: 'bronze.items', status: 'success', rowsIngested: 10, pages: 2 });
    const rows = await fx.rat.query('SELECT id, customer_id, customer_tier FROM bronze.items WHERE id = 2');
    expect(rows.map((r) => [Number(r.id), Number(r.customer_id), r.customer_tier])).toEqual([[2, 102, 'gold']]);
    expect(server.count('/page')).toBe(2);
  });

  it('follows a cursor or link past pages without records; an empty page naming itself ends the pages, empty pages without end fail', async () => {
    const sparse = (name: string, pagination: ApiEndpointConfig['pagination'], query = '') => ({ name, path: `/sparse${query}`, records: 'items', pagination });
    const report = await ingestApi(
      fx.ingestion,
      shop([
        sparse('by_cursor', { type: 'cursor', cursorPath: 'next_cursor', param: 'page' }),
        sparse('by_next', { type: 'next_link' }),
        sparse('by_link', { type: 'link_header' }),
        sparse('tail', { type: 'cursor', cursorPath: 'next_cursor', param: 'page' }, '?then=self'),
        sparse('endless', { type: 'next_link' }, '?then=fresh'),
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.pages])).toEqual([
      ['by_cursor', 'success', 6, 5],
      ['by_next', 'success', 6, 5],
      ['by_link', 'success', 6, 5],
      ['tail', 'success', 6, 6],
      ['endless', 'failed', 0, 105],
    ]);
    for (const name of ['by_cursor', 'by_next', 'by_link', 'tail']) expect(await ids(`bronze.shop_${name}`)).toEqual([1, 2, 7, 8, 9, 10]);
    expect(report.endpoints[4]!.error).toBe(
      `api:shop/endless page 105: the last 100 pages held no records, yet each named a new next page (${server.url}/sparse?page=106&then=fresh); check the pagination settings, or set pagination.maxPages to stop there`,
    );
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_endless' })).toBe(false);
  });

  it('runs only the endpoints asked for, and refuses an unknown one with the list', async () => {
    const config = shop([
      { name: 'a', path: '/page', pagination: { type: 'page_number', size: 10, sizeParam: 'per_page' } },
      { name: 'b', path: '/link', pagination: { type: 'link_header' } },
    ]);
    const report = await ingestApi(fx.ingestion, config, { endpoints: ['b'] });
    expect(report.endpoints.map((e) => e.endpoint)).toEqual(['b']);
    expect(server.count('/page')).toBe(0);
    await expect(ingestApi(fx.ingestion, config, { endpoints: ['c'] })).rejects.toThrow('API source shop has no endpoint "c"; its endpoints are a, b');
  });
});

describe('ingestApi: auth', () => {
  it('sends bearer, basic, header and query API keys; a wrong credential is a 401 that names the URL but never the secret', async () => {
    const ok = await Promise.all([
      ingestApi(fx.ingestion, shop([{ name: 'bearer', path: '/auth/bearer' }], { name: 'a1', auth: { type: 'bearer', token: CREDENTIALS.token } })),
      ingestApi(fx.ingestion, shop([{ name: 'basic', path: '/auth/basic' }], { name: 'a2', auth: { type: 'basic', username: CREDENTIALS.user, password: CREDENTIALS.password } })),
      ingestApi(fx.ingestion, shop([{ name: 'header', path: '/auth/header-key' }], { name: 'a3', auth: { type: 'api_key', name: 'X-API-Key', value: CREDENTIALS.apiKey } })),
      ingestApi(fx.ingestion, shop([{ name: 'query', path: '/auth/query-key', pagination: { type: 'next_link' } }], { name: 'a4', auth: { type: 'api_key', name: 'api_key', value: CREDENTIALS.apiKey, in: 'query' } })),
    ]);
    expect(ok.map((r) => [r.endpoints[0]!.status, r.endpoints[0]!.rowsIngested])).toEqual([
      ['success', 1],
      ['success', 1],
      ['success', 1],
      ['success', 2],
    ]);
    expect(server.count('/auth/query-key', 200)).toBe(3);
    expect((await fx.rat.query('SELECT style FROM bronze.a2_basic'))[0]!.style).toBe('basic');

    const wrongKey = 'wrong-key-5150';
    const denied = await ingestApi(fx.ingestion, shop([{ name: 'query', path: '/auth/query-key' }], { name: 'a5', auth: { type: 'api_key', name: 'api_key', value: wrongKey, in: 'query' } }));
    const failed = denied.endpoints[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.errorCode).toBe('SOURCE_HTTP_ERROR');
    expect(failed.error).toBe(`api:a5/query page 1: GET ${server.url}/auth/query-key?api_key=*** failed with 401 Unauthorized: "{\\"error\\":\\"unauthorized\\"}"; check auth (credentials, token scope)`);
    expect(server.count('/auth/query-key', 401)).toBe(1);
    const registry = await fx.ingestion.registry({ target: 'bronze.a5_query' });
    expect(registry.map((e) => e.status)).toEqual(['failed']);
    expect(JSON.stringify(registry)).not.toContain(wrongKey);
  });
});

describe('ingestApi: an API that fails sometimes', () => {
  it('retries 429 and 503 answered every 3rd request, and lands every record once', async () => {
    server.faults.every = 3;
    const events: ApiProgress[] = [];
    const report = await ingestApi(fx.ingestion, shop([{ name: 'flaky', path: '/flaky/page', params: { per_page: 4 }, pagination: { type: 'page_number', size: 4 } }]), {
      onProgress: (e) => events.push(e),
    });
    const endpoint = report.endpoints[0]!;
    expect(endpoint).toMatchObject({ status: 'success', rowsIngested: 23, pages: 6 });
    expect(await ids('bronze.shop_flaky')).toEqual(ALL);
    const served429 = server.count('/flaky/page', 429);
    const served503 = server.count('/flaky/page', 503);
    // Requests 3 and 6 of 8 fail.
    expect([served429, served503]).toEqual([1, 1]);
    expect(endpoint.retries).toBe(2);
    expect(events.filter((e) => e.kind === 'retry').map((e) => (e.kind === 'retry' ? e.reason : ''))).toEqual(['429 Too Many Requests', '503 Service Unavailable']);
    expect(events.filter((e) => e.kind === 'page').map((e) => (e.kind === 'page' ? e.records : 0))).toEqual([4, 8, 12, 16, 20, 23]);
  });

  it('survives seeded random failures: every failure the server served was retried', async () => {
    server.faults.seed = 20261126;
    server.faults.rate = 0.4;
    const report = await ingestApi(fx.ingestion, shop([{ name: 'random', path: '/flaky/cursor', pagination: { type: 'cursor', cursorPath: 'meta.next_cursor' } }], { retry: { maxRetries: 10, backoffSeconds: 0.001 } }));
    const endpoint = report.endpoints[0]!;
    expect(endpoint.status).toBe('success');
    expect(await ids('bronze.shop_random')).toEqual(ALL);
    const failures = server.count('/flaky/cursor', 429) + server.count('/flaky/cursor', 503);
    expect(failures).toBeGreaterThan(0);
    expect(endpoint.retries).toBe(failures);
    expect(server.count('/flaky/cursor', 200)).toBe(4);
  });

  /** The waits of a run where requests 2, 4, 6 fail: 429 with `retryAfter`, 503 (backoff 0.5 s * 0.999), 429 again. */
  async function waitsWith(retryAfter: string): Promise<number[]> {
    server.faults.every = 2;
    server.faults.retryAfter = retryAfter;
    const waits: number[] = [];
    const report = await ingestApi(fx.ingestion, shop([{ name: 'waits', path: '/flaky/link', pagination: { type: 'link_header' } }], { retry: { backoffSeconds: 0.5, maxBackoffSeconds: 2 } }), {
      http: { sleep: async (ms) => void waits.push(ms), random: () => 0.999 },
    });
    expect(report.endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 23 });
    return waits;
  }

  it('waits as Retry-After says, else backs off exponentially with jitter under the cap', async () => {
    expect(await waitsWith('7')).toEqual([7000, 500, 7000]);
  });

  it('waits a fractional Retry-After in seconds (not a date in 2001, which meant no wait)', async () => {
    expect(await waitsWith('2.5')).toEqual([2500, 500, 2500]);
  });

  it('gives up after maxRetries: the endpoint fails, nothing is committed, the registry says failed', async () => {
    server.faults.every = 1;
    const report = await ingestApi(fx.ingestion, shop([{ name: 'down', path: '/flaky/page' }], { retry: { maxRetries: 2, backoffSeconds: 0.001 } }));
    const endpoint = report.endpoints[0]!;
    expect(endpoint.status).toBe('failed');
    expect(endpoint.error).toMatch(/^api:shop\/down page 1: GET http:\/\/127\.0\.0\.1:\d+\/flaky\/page failed with 429 Too Many Requests after 3 attempts/);
    expect(server.count('/flaky/page')).toBe(3);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_down' })).toBe(false);
    expect((await fx.ingestion.registry({ target: 'bronze.shop_down' })).map((e) => e.status)).toEqual(['failed']);
  });

  it('times out a slow endpoint, retries it, then fails naming the timeout', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'slow', path: '/slow' }], { timeoutSeconds: 0.2, retry: { maxRetries: 1, backoffSeconds: 0.001 } }));
    expect(report.endpoints[0]!.status).toBe('failed');
    expect(report.endpoints[0]!.error).toContain(`api:shop/slow page 1: GET ${server.url}/slow timed out after 200 ms (2 attempts)`);
    expect(server.arrived.filter((path) => path === '/slow')).toHaveLength(2);
    expect(server.count('/slow')).toBe(0);
  });

  it('does not retry a 400 and shows what the API said', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'bad', path: '/bad-request' }]));
    expect(report.endpoints[0]!.error).toContain(`api:shop/bad page 1: GET ${server.url}/bad-request failed with 400 Bad Request: `);
    expect(report.endpoints[0]!.error).toContain('unknown filter');
    expect(server.count('/bad-request')).toBe(1);
  });
});

describe('ingestApi: what else an API does', () => {
  it('masks a token the API quotes back in its error', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'echo', path: '/auth/echo' }], { auth: { type: 'bearer', token: CREDENTIALS.token } }));
    expect(report.endpoints[0]!.error).toContain('failed with 403 Forbidden: "{\\"error\\":\\"token *** lacks the orders:read scope\\"}"; check auth');
    const registry = await fx.ingestion.registry({ target: 'bronze.shop_echo' });
    expect(registry[0]!.error).toContain('token *** lacks');
    expect(JSON.stringify([report, registry])).not.toContain(CREDENTIALS.token);
  });

  it('masks the values of every parameter and header named like a key, in errors, the registry and the quarantine', async () => {
    const subscription = 'azSUBKEY0123456789';
    const license = 'LICENSE98765';
    server.rawPages.push('[{"id":1,"v":1e400},{"id":2,"v":2}]');
    const params = { 'subscription-key': subscription, license_key: license, private_key: 'k9' };
    const report = await ingestApi(
      fx.ingestion,
      shop(
        [
          { name: 'refused', path: '/bad-request', params },
          { name: 'quarantined', path: '/raw', params },
        ],
        { headers: { 'Ocp-Apim-Subscription-Key': 'hdrSUBKEY4242' } },
      ),
    );
    const masked = 'subscription-key=***&license_key=***&private_key=***';
    expect(report.endpoints[0]!.error).toContain(`GET ${server.url}/bad-request?${masked} failed with 400`);
    const reasons = await fx.rat.query('SELECT reason FROM bronze.shop_quarantined__rejects');
    expect(reasons.map((r) => r.reason)).toEqual([`page 1 (${server.url}/raw?${masked}), record 1 has a number beyond the range of a double in field "v" (such as 1e400, read as Infinity), which cannot be stored`]);
    const registry = await fx.ingestion.registry();
    expect(registry.find((e) => e.filePath === 'api:shop/refused')!.error).toContain(masked);
    const everything = JSON.stringify([report, registry, reasons], (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    for (const secret of [subscription, license, 'k9', 'hdrSUBKEY4242']) expect(everything).not.toContain(secret);
  });

  it('keeps every digit of integers beyond 2^53', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'big', path: '/big', incremental: { cursorField: 'id' } }]));
    expect(report.endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 2, cursor: { value: '9007199254740995' } });
    const rows = await fx.rat.query('SELECT CAST(id AS VARCHAR) AS id, CAST(seq AS VARCHAR) AS seq FROM bronze.shop_big ORDER BY id');
    expect(rows).toEqual([
      { id: '9007199254740993', seq: '9223372036854775807' },
      { id: '9007199254740995', seq: '12' },
    ]);
  });

  it('types numbers as the same records in an NDJSON file are typed, as the API wrote them (1e20, 1.0, 2.50)', async () => {
    const records = ['{"id":1,"f":1,"g":1.0,"h":1,"k":"2024-05-01"}', '{"id":2,"f":1e20,"g":2.0,"h":100000000000000000000,"k":"n/a"}', '{"id":3,"f":1.5e300,"g":3.0,"h":2.50,"k":"n/a"}'];
    server.rawPages.push(`[${records.join(',')}]`);
    const report = await ingestApi(fx.ingestion, shop([{ name: 'nums', path: '/raw', pagination: { type: 'page_number' } }]));
    expect(report.endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    const file = await fx.ingestion.ingest(await fx.file('nums.ndjson', `${records.join('\n')}\n`), 'bronze.nums_file');
    expect(file.files[0]).toMatchObject({ status: 'success', rowsIngested: 3 });
    const types = async (table: string) => (await fx.rat.describeTable(table)).schema.fields.map((f) => [f.name, f.type]);
    expect(await types('bronze.shop_nums')).toEqual(await types('bronze.nums_file'));
    expect((await types('bronze.shop_nums')).slice(0, 4)).toEqual([
      ['id', 'long'],
      ['f', 'double'],
      ['g', 'double'],
      ['h', 'double'],
    ]);
    expect(await fx.rat.query('SELECT f, g, h FROM bronze.shop_nums ORDER BY id')).toEqual([
      { f: 1, g: 1, h: 1 },
      { f: 1e20, g: 2, h: 1e20 },
      { f: 1.5e300, g: 3, h: 2.5 },
    ]);
  });

  it('quarantines a record the table cannot take as the API sent it, not rebuilt from its typed values', async () => {
    server.rawPages.push('[{"id":1,"a":1}]');
    await ingestApi(fx.ingestion, shop([{ name: 'later', path: '/raw', pagination: { type: 'page_number' } }]));
    server.rawPages.splice(0, 1, '[{"id":3,"a":"abc"},{"id":4, "a":2.50},{"id":5,"a":7}]');
    const report = await ingestApi(fx.ingestion, shop([{ name: 'later', path: '/raw', pagination: { type: 'page_number' } }]));
    expect(report.endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT reason, raw FROM bronze.shop_later__rejects ORDER BY line')).toEqual([
      { reason: 'column a: cannot convert abc to BIGINT', raw: '{"id":3,"a":"abc"}' },
      { reason: 'column a: cannot convert 2.5 to BIGINT', raw: '{"id":4,"a":2.50}' },
    ]);
  });

  it('refuses to wait longer than maxRetryAfterSeconds, and to follow pagination in a circle', async () => {
    server.faults.every = 1;
    server.faults.retryAfter = '3600';
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'later', path: '/flaky/page' },
        { name: 'loop', path: '/loop', pagination: { type: 'next_link' } },
      ]),
    );
    expect(report.endpoints[0]!.error).toBe(
      `api:shop/later page 1: GET ${server.url}/flaky/page answered 429 Too Many Requests with Retry-After 3600 (3600 s), longer than retry.maxRetryAfterSeconds 300; run again later or raise the limit`,
    );
    expect(server.count('/flaky/page')).toBe(1);
    expect(report.endpoints[1]!.error).toBe(`api:shop/loop page 3: the API points back to a page already fetched (${server.url}/loop?again=1); check the pagination settings`);
    expect(server.count('/loop')).toBe(2);
  });

  it('fails on truncated JSON and on a body of another type, naming the URL and the first bytes', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'cut', path: '/truncated' }, { name: 'csv', path: '/csv' }]));
    expect(report.endpoints.map((e) => e.errorCode)).toEqual(['SOURCE_NOT_JSON', 'SOURCE_NOT_JSON']);
    expect(report.endpoints[0]!.error).toMatch(new RegExp(`^api:shop/cut page 1: GET ${server.url}/truncated returned invalid JSON \\(status 200\\): .+; the body starts "\\{\\\\"data`));
    expect(report.endpoints[1]!.error).toBe(`api:shop/csv page 1: GET ${server.url}/csv returned text/csv, not JSON (status 200, content-type text/csv): "id,name 1,a"; check baseUrl, path and auth (a login or error page?)`);
  });

  it('retries a refused connection, then fails saying the API is unreachable', async () => {
    const gone = await startApiTestServer();
    await gone.close();
    const report = await ingestApi(fx.ingestion, shop([{ name: 'gone', path: '/page' }], { baseUrl: gone.url, retry: { maxRetries: 1, backoffSeconds: 0.001 } }));
    expect(report.endpoints[0]).toMatchObject({ status: 'failed', retries: 1 });
    expect(report.endpoints[0]!.error).toBe(`api:shop/gone page 1: GET ${gone.url}/page failed: ECONNREFUSED (2 attempts); check that the API is reachable, or raise timeoutSeconds / retry.maxRetries`);
  });

  it('says the server closed the connection when it drops the socket mid-body, not undici\'s code alone', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'hung', path: '/hang-up' }], { retry: { maxRetries: 1, backoffSeconds: 0.001 } }));
    expect(report.endpoints[0]).toMatchObject({ status: 'failed', retries: 1 });
    expect(report.endpoints[0]!.error).toBe(`api:shop/hung page 1: GET ${server.url}/hang-up failed: the server closed the connection (UND_ERR_SOCKET) (2 attempts); check that the API is reachable, or raise timeoutSeconds / retry.maxRetries`);
  });
});

describe('ingestApi: an API that returns HTML', () => {
  it('fails the endpoint on the page that is HTML, naming the URL; the table is unchanged and the other endpoints run', async () => {
    await ingestApi(fx.ingestion, shop([{ name: 'orders', path: '/page', records: 'data', params: { per_page: 5 }, pagination: { type: 'page_number', maxPages: 1 } }]));
    const before = await fx.snapshotCount('bronze.shop_orders');
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'orders', path: '/orders-broken', records: 'data', pagination: { type: 'page_number' } },
        { name: 'portal', path: '/html' },
        { name: 'fine', path: '/link', pagination: { type: 'link_header' } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.errorCode ?? null])).toEqual([
      ['orders', 'failed', 'SOURCE_NOT_JSON'],
      ['portal', 'failed', 'SOURCE_NOT_JSON'],
      ['fine', 'success', null],
    ]);
    expect(report.endpoints[0]!.error).toBe(
      `api:shop/orders page 2: GET ${server.url}/orders-broken?page=2 returned HTML, not JSON (status 200, content-type text/html; charset=utf-8): "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=\\"/login\\">Please sign in</form></body></html>"; check baseUrl, path and auth (a login or error page?)`,
    );
    expect(report.endpoints[1]!.error).toContain(`api:shop/portal page 1: GET ${server.url}/html returned HTML`);
    expect(await ids('bronze.shop_orders')).toEqual([1, 2, 3, 4, 5]);
    expect(await fx.snapshotCount('bronze.shop_orders')).toBe(before);
    const registry = await fx.ingestion.registry({ target: 'bronze.shop_orders' });
    expect(registry.map((e) => [e.status, e.rowsIngested])).toEqual([
      ['success', 5],
      ['failed', 0],
    ]);
    expect(registry[1]!.error).toContain('returned HTML');
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_portal' })).toBe(false);
  });
});

describe('ingestApi: incremental loading', () => {
  const orders = (extra: Partial<ApiEndpointConfig> = {}): ApiSourceConfig =>
    shop([{ name: 'orders', path: '/orders', records: 'data', pagination: { type: 'page_number', size: 4 }, incremental: { cursorField: 'updated_at', param: 'since' }, ...extra }]);

  it('keeps the cursor with the table; the next run asks from it and adds only new records', async () => {
    server.addOrders(6, day);
    const first = (await ingestApi(fx.ingestion, orders())).endpoints[0]!;
    expect(first).toMatchObject({ status: 'success', rowsIngested: 6, pages: 2, cursor: { field: 'updated_at', value: day(6) } });
    expect(await fx.ingestion.sourceCursor('bronze.shop_orders', 'api:shop/orders')).toEqual({ field: 'updated_at', value: day(6), kind: 'string', seen: [expect.stringMatching(/^[0-9a-f]{16}$/)], columns: ['id', 'name', 'amount', 'updated_at', 'customer'], cells: [expect.stringMatching(/^[0-9a-f]{40}$/)] });
    expect(server.requests.filter((r) => r.path === '/orders').map((r) => r.query.since)).toEqual([undefined, undefined]);

    // Nothing new: the API's inclusive `since` sends record 6 again; it is dropped, and the run is a skip.
    const again = (await ingestApi(fx.ingestion, orders())).endpoints[0]!;
    expect(again).toMatchObject({ status: 'skipped', rowsIngested: 0, recordsFetched: 1, recordsSkipped: 1, cursor: { previous: day(6), value: day(6) } });
    expect(server.requests.at(-1)!.query.since).toBe(day(6));

    server.addOrders(3, day);
    const third = (await ingestApi(fx.ingestion, orders())).endpoints[0]!;
    expect(third).toMatchObject({ status: 'success', rowsIngested: 3, recordsFetched: 4, recordsSkipped: 1, cursor: { field: 'updated_at', previous: day(6), value: day(9) } });
    expect(await ids('bronze.shop_orders')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await fx.ingestion.registry({ target: 'bronze.shop_orders' })).map((e) => e.status)).toEqual(['success', 'skipped', 'success']);
  });

  it('with a primary key, merges changed records instead of adding them again', async () => {
    server.addOrders(5, day);
    await ingestApi(fx.ingestion, orders({ primaryKey: 'id' }));
    const changed = server.orders[1]!;
    changed.name = 'renamed';
    changed.updated_at = day(30);
    server.addOrders(1, () => day(31));
    const second = (await ingestApi(fx.ingestion, orders({ primaryKey: 'id' }))).endpoints[0]!;
    expect(second).toMatchObject({ status: 'success', rowsIngested: 2, cursor: { previous: day(5), value: day(31) } });
    const rows = await fx.rat.query('SELECT id, name FROM bronze.shop_orders ORDER BY id');
    expect(rows.map((r) => [Number(r.id), r.name])).toEqual([
      [1, 'item 1'],
      [2, 'renamed'],
      [3, 'item 3'],
      [4, 'item 4'],
      [5, 'item 5'],
      [6, 'item 6'],
    ]);
  });

  it('with a primary key and a cursor, keeps the newest record of a key by the cursor, not the last to arrive', async () => {
    // Newest first, as a change feed sends them: id 1's older version comes after its newer one.
    server.rawPages.push('[{"id":1,"v":"new","ts":5},{"id":2,"v":"x","ts":4}]', '[{"id":1,"v":"old","ts":3},{"id":2,"v":"y","ts":4},{"id":3,"v":"z","ts":1}]', '[]');
    const report = (await ingestApi(fx.ingestion, shop([{ name: 'feed', path: '/raw', pagination: { type: 'page_number' }, primaryKey: 'id', incremental: { cursorField: 'ts', param: 'since' } }]))).endpoints[0]!;
    expect(report).toMatchObject({ status: 'success', rowsIngested: 3, recordsSkipped: 1, cursor: { value: 5 } });
    expect((await fx.rat.query('SELECT id, v, ts FROM bronze.shop_feed ORDER BY id')).map((r) => [Number(r.id), r.v, Number(r.ts)])).toEqual([
      [1, 'new', 5],
      [2, 'y', 4],
      [3, 'z', 1],
    ]);
  });

  it('starts from initialValue (inclusive) on the first run, even when the API ignores the parameter', async () => {
    server.addOrders(8, day);
    const report = (await ingestApi(fx.ingestion, orders({ incremental: { cursorField: 'updated_at', param: 'ignored_by_api', initialValue: day(5) } }))).endpoints[0]!;
    expect(report).toMatchObject({ status: 'success', rowsIngested: 4, recordsSkipped: 4 });
    expect(await ids('bronze.shop_orders')).toEqual([5, 6, 7, 8]);
  });

  it('leaves the cursor where it was when a run fails half-way', async () => {
    server.addOrders(6, day);
    await ingestApi(fx.ingestion, orders());
    server.addOrders(6, day);
    server.faults.every = 2; // page 1 arrives, page 2 fails
    const failed = (await ingestApi(fx.ingestion, shop([{ name: 'orders', path: '/flaky/orders', records: 'data', pagination: { type: 'page_number', size: 4 }, incremental: { cursorField: 'updated_at', param: 'since' } }], { retry: { maxRetries: 0 } }))).endpoints[0]!;
    expect(failed.status).toBe('failed');
    expect(await fx.ingestion.sourceCursor('bronze.shop_orders', 'api:shop/orders')).toMatchObject({ value: day(6) });
    expect(await ids('bronze.shop_orders')).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('ingestApi: ingest settings that do not fit', () => {
  it('fails an endpoint whose ingest options are wrong with its registry row, naming the endpoint and the config field', async () => {
    server.rawPages.push('[{"id":1,"name":"a"}]');
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'typo', path: '/raw', ingest: { types: { id: 'FOO' } } },
        { name: 'fine', path: '/raw' },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.errorCode ?? null, e.error ?? null])).toEqual([
      ['typo', 'failed', 'INVALID_TYPE', 'api:shop/typo: endpoints[0].ingest.types.id: FOO: there is no type "FOO"; use a DuckDB type such as BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP, TIMESTAMPTZ or VARCHAR'],
      ['fine', 'success', null, null],
    ]);
    const registry = await fx.ingestion.registry();
    expect(registry.map((e) => [e.filePath, e.targetTable, e.status, e.error ?? null])).toEqual([
      ['api:shop/typo', 'bronze.shop_typo', 'failed', report.endpoints[0]!.error],
      ['api:shop/fine', 'bronze.shop_fine', 'success', null],
    ]);
  });

  it('advises the ingest settings of the API config, not the flags of rat ingest', async () => {
    server.rawPages.push('[{"id":1}]');
    const endpoint = (ingest: ApiEndpointConfig['ingest']): ApiEndpointConfig => ({ name: 'drift', path: '/raw', ingest });
    expect((await ingestApi(fx.ingestion, shop([endpoint({})]))).endpoints[0]!.status).toBe('success');
    server.rawPages[0] = '[{"id":2,"extra":"x"}]';
    const strict = (await ingestApi(fx.ingestion, shop([endpoint({ schemaDrift: 'strict' })]))).endpoints[0]!;
    expect(strict.error).toBe(
      'api:shop/drift (column "extra"): brings a column "extra" that bronze.shop_drift does not have (schema drift policy strict; use endpoints[0].ingest.schemaDrift: evolve to add them, endpoints[0].ingest.schemaDrift: ignore to drop them)',
    );
    const typed = (await ingestApi(fx.ingestion, shop([endpoint({ types: { id: 'VARCHAR' } })]))).endpoints[0]!;
    expect(typed.error).toContain('endpoints[0].ingest.types.id: VARCHAR: bronze.shop_drift.id is long, and the table\'s type wins');
    expect(typed.error).toContain('Leave out endpoints[0].ingest.types.id to load the values as long');
    server.rawPages[0] = '[{"id":3,"Order Date":"x","order_date":"y"}]';
    const clash = (await ingestApi(fx.ingestion, shop([endpoint({ rename: { nope: 'x' } }), endpoint({})].map((e, i) => ({ ...e, name: `n${i}` }))))).endpoints;
    expect(clash.map((e) => e.error)).toEqual([
      'api:shop/n0: endpoints[0].ingest.rename names column "nope", which the file does not have (columns: id, Order Date, order_date)',
      'api:shop/n1 (column 3): columns 2 ("Order Date") and 3 ("order_date") both become "order_date"; rename one: endpoints[1].ingest.rename: { "order_date": other_name }',
    ]);
    for (const e of [strict, typed, ...clash]) expect(e.error).not.toMatch(/--(type|schema-drift|rename)/);
  });
});

describe('ingestApi: credentials stay with the API', () => {
  it('sends no credentials to another origin on a redirect or a next link, and keeps them on redirects within the API', async () => {
    const other = await startApiTestServer();
    try {
      const away = { to: `${other.url}/page` };
      const headerKey = await ingestApi(
        fx.ingestion,
        shop(
          [
            { name: 'redirected', path: '/redirect', params: away },
            { name: 'handed_off', path: '/hand-off', params: away, pagination: { type: 'next_link' } },
            { name: 'home', path: '/redirect', params: { to: '/auth/header-key' } },
          ],
          { auth: { type: 'api_key', name: 'X-API-Key', value: CREDENTIALS.apiKey }, headers: { 'X-Tenant-Token': 'tenant-5e3f0' } },
        ),
      );
      const queryKey = await ingestApi(fx.ingestion, shop([{ name: 'query', path: '/redirect', params: away }], { name: 'q', auth: { type: 'api_key', name: 'api_key', value: CREDENTIALS.apiKey, in: 'query' } }));
      expect([...headerKey.endpoints, ...queryKey.endpoints].map((e) => [e.endpoint, e.status, e.rowsIngested])).toEqual([
        ['redirected', 'success', 10],
        ['handed_off', 'success', 11],
        ['home', 'success', 1],
        ['query', 'success', 10],
      ]);
      expect(other.requests).toHaveLength(3);
      for (const served of other.requests) {
        expect(served.headers['x-api-key']).toBeUndefined();
        expect(served.headers['x-tenant-token']).toBeUndefined();
        expect(served.query.api_key).toBeUndefined();
      }
      // Within the API's origin, every request had them.
      expect(server.requests.every((r) => r.headers['x-api-key'] === CREDENTIALS.apiKey || r.query.api_key === CREDENTIALS.apiKey)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('fails a redirect loop naming the URL', async () => {
    const report = await ingestApi(fx.ingestion, shop([{ name: 'circle', path: '/redirect' }]));
    expect(report.endpoints[0]!.error).toBe(`api:shop/circle page 1: GET ${server.url}/redirect was redirected more than 10 times (last to ${server.url}/redirect); check baseUrl and the endpoint path`);
    expect(server.count('/redirect')).toBe(11);
  });
});

describe('ingestApi: pages that do not hold what page 1 did', () => {
  const then = (name: string, ending: string, extra: Partial<ApiEndpointConfig> = {}): ApiEndpointConfig => ({ name, path: '/then', params: { then: ending }, pagination: { type: 'page_number', size: 10 }, ...extra });

  it('keeps the records field page 1 used: an empty or null one ends the pages, an error or a missing field fails the endpoint', async () => {
    const report = await ingestApi(fx.ingestion, shop([then('empty', 'empty'), then('null', 'null'), then('errors', 'errors'), then('moved', 'moved'), then('named', 'errors', { records: 'items' })]));
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.pages])).toEqual([
      ['empty', 'success', 10, 2],
      ['null', 'success', 10, 2],
      ['errors', 'failed', 0, 1],
      ['moved', 'failed', 0, 1],
      ['named', 'failed', 0, 1],
    ]);
    const quota = 'the response has no records but errors: [{"code":"RATE","message":"quota exceeded"}]; the API reported a failure (a quota, a bad parameter?): fix it and run again';
    expect(report.endpoints[2]!.error).toBe(`api:shop/errors page 2: ${quota}`);
    expect(report.endpoints[3]!.error).toBe(
      'api:shop/moved page 2: the response has no "items" field, where page 1 had its records (an array) (its top-level fields: count, results); set records: <dotted.path> if the API puts them elsewhere on some pages',
    );
    expect(report.endpoints[4]!.error).toBe(`api:shop/named page 2: ${quota}`);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_errors' })).toBe(false);
    expect(await ids('bronze.shop_empty')).toEqual(ALL.slice(0, 10));
  });

  it('reads a 204 No Content or an empty body as a page without records, with a records path or one found on page 1', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        then('found_204', 'no-content'),
        then('found_blank', 'blank'),
        then('named_204', 'no-content', { records: 'items' }),
        { name: 'nothing', path: '/no-content', records: 'data.items', incremental: { cursorField: 'updated_at', param: 'since' } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.pages, e.error])).toEqual([
      ['found_204', 'success', 10, 2, undefined],
      ['found_blank', 'success', 10, 2, undefined],
      ['named_204', 'success', 10, 2, undefined],
      ['nothing', 'skipped', 0, 1, undefined],
    ]);
    expect(await ids('bronze.shop_named_204')).toEqual(ALL.slice(0, 10));
  });

  it('fails when the API ignores the page or offset parameter and serves the same page again, maxPages or not', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'pages', path: '/same-page', pagination: { type: 'page_number', maxPages: 50 } },
        { name: 'offsets', path: '/same-page', pagination: { type: 'offset', limit: 10 } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.status, e.pages])).toEqual([
      ['failed', 2],
      ['failed', 2],
    ]);
    expect(report.endpoints[0]!.error).toBe(
      `api:shop/pages page 2: ${server.url}/same-page?page=2 returned the same 10 records as page 1; the API seems to ignore the page parameter "page": set pagination.param to its name for the page number (or pagination.size, when it repeats its last page past the end)`,
    );
    expect(report.endpoints[1]!.error).toBe(
      `api:shop/offsets page 2: ${server.url}/same-page?offset=10&limit=10 returned the same 10 records as page 1; the API seems to ignore the offset parameter "offset": set pagination.offsetParam (and limitParam) to its names`,
    );
    expect(server.count('/same-page')).toBe(4);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_pages' })).toBe(false);
  });
});

describe('ingestApi: encodings and cursors', () => {
  it('decodes the charset the content-type declares, and fails on bytes that are not UTF-8 when it declares none', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'latin1', path: '/charset', params: { as: 'latin1' } },
        { name: 'utf16', path: '/charset', params: { as: 'utf16' } },
        { name: 'undeclared', path: '/charset', params: { as: 'undeclared' } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.errorCode ?? null])).toEqual([
      ['latin1', 'success', null],
      ['utf16', 'success', null],
      ['undeclared', 'failed', 'SOURCE_NOT_JSON'],
    ]);
    for (const table of ['bronze.shop_latin1', 'bronze.shop_utf16']) expect(await fx.rat.query(`SELECT name FROM ${table}`)).toEqual([{ name: 'café Müller' }]);
    expect(report.endpoints[2]!.error).toBe(
      `api:shop/undeclared page 1: GET ${server.url}/charset?as=undeclared returned a body that is not valid UTF-8 at byte 20 (0xe9) (status 200, content-type application/json): "[{\\"id\\":1,\\"name\\":\\"caf� M�ller\\"}]"; JSON without a charset in its content-type must be UTF-8: the API sends another encoding than it says; ask its owner to send UTF-8 or to declare the charset it uses`,
    );
  });

  it('quarantines a record that cannot be stored, naming its page, URL and position, and loads the rest', async () => {
    server.rawPages.push('[{"id":1,"seq":1},5,{"id":2,"seq":2,"h":{"deep":[1e400]}},{"id":3,"seq":3}]', '["x",{"id":4,"seq":4}]');
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'mixed', path: '/raw', pagination: { type: 'page_number' } },
        { name: 'scalars', path: '/unstorable', params: { scalars: 1 }, records: 'items' },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.rowsRejected, e.error ?? null])).toEqual([
      ['mixed', 'success', 3, 3, null],
      ['scalars', 'success', 0, 3, null],
    ]);
    expect(report.rowsRejected).toBe(6);
    expect(await ids('bronze.shop_mixed')).toEqual([1, 3, 4]);
    const page = (n: number) => `${server.url}/raw?page=${n}`;
    expect(await fx.rat.query('SELECT file_path, line, reason, raw FROM bronze.shop_mixed__rejects ORDER BY reason')).toEqual([
      { file_path: 'api:shop/mixed', line: 2, reason: `page 1 (${page(1)}), record 2 is not an object of field values but number; point records: at an array of objects`, raw: '5' },
      { file_path: 'api:shop/mixed', line: 3, reason: `page 1 (${page(1)}), record 3 has a number beyond the range of a double in field "h" (such as 1e400, read as Infinity), which cannot be stored`, raw: '{"id":2,"seq":2,"h":{"deep":[1e400]}}' },
      { file_path: 'api:shop/mixed', line: 5, reason: `page 2 (${page(2)}), record 1 is not an object of field values but string; point records: at an array of objects`, raw: '"x"' },
    ]);
    // Every record of `scalars` is quarantined: the table gets no columns out of nothing, the quarantine has them.
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_scalars' })).toBe(false);
    expect((await fx.rat.query('SELECT raw FROM bronze.shop_scalars__rejects ORDER BY line')).map((r) => r.raw)).toEqual(['1', '2', '3']);
    const registry = async (table: string) => (await fx.ingestion.registry({ target: table })).map((e) => [e.status, e.rowsIngested, e.rowsRejected]);
    expect(await registry('bronze.shop_mixed')).toEqual([['success', 3, 3]]);
    expect(await registry('bronze.shop_scalars')).toEqual([['success', 0, 3]]);
  });

  it('quarantines a record holding a field twice with different values as sent, instead of keeping the last value', async () => {
    server.rawPages.push(
      '{"items":[{"id":1,"a":"x"},{"id":2,"a":"x","a":"y","n":1.50},{"id":3,"a":"z","n":2.50}]}',
      '{"items":[{"id":4,"h":1e400},{"id":5,"b":{"c":1,"c":2}},{"id":6,"a":"q", "a" : "q"}],"meta":{"n":3}}',
      '{"items":[]}',
    );
    const report = await ingestApi(fx.ingestion, shop([{ name: 'twice', path: '/raw', pagination: { type: 'page_number', size: 3 } }]));
    expect(report.endpoints.map((e) => [e.status, e.rowsIngested, e.rowsRejected, e.error ?? null])).toEqual([['success', 3, 3, null]]);
    expect((await fx.rat.query('SELECT id, a, n FROM bronze.shop_twice ORDER BY id')).map((r) => [Number(r.id), r.a, r.n === null ? null : Number(r.n)])).toEqual([
      [1, 'x', null],
      [3, 'z', 2.5],
      [6, 'q', null],
    ]);
    const page = (n: number) => `${server.url}/raw?page=${n}`;
    expect(await fx.rat.query('SELECT line, reason, raw FROM bronze.shop_twice__rejects ORDER BY line')).toEqual([
      { line: 2, reason: `page 1 (${page(1)}), record 2 has the field "a" twice with different values, and a row keeps one value of a field`, raw: '{"id":2,"a":"x","a":"y","n":1.50}' },
      { line: 4, reason: `page 2 (${page(2)}), record 1 has a number beyond the range of a double in field "h" (such as 1e400, read as Infinity), which cannot be stored`, raw: '{"id":4,"h":1e400}' },
      { line: 5, reason: `page 2 (${page(2)}), record 2 has the field "c" twice with different values, and a row keeps one value of a field`, raw: '{"id":5,"b":{"c":1,"c":2}}' },
    ]);
  });

  it('with onError fail, fails the endpoint on a record that cannot be stored, naming its page, URL and position', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'huge', path: '/unstorable', pagination: { type: 'page_number', maxPages: 2 }, ingest: { onError: 'fail' } },
        { name: 'scalars', path: '/unstorable', params: { scalars: 1 }, records: 'items', ingest: { onError: 'fail' } },
      ]),
    );
    const refused = '(with onError fail a bad record fails the whole run, and nothing is loaded)';
    expect(report.endpoints.map((e) => [e.status, e.errorCode, e.error])).toEqual([
      ['failed', 'INGEST_BAD_ROWS', `api:shop/huge page 2 (${server.url}/unstorable?page=2), record 2 has a number beyond the range of a double in field "h" (such as 1e400, read as Infinity), which cannot be stored ${refused}`],
      ['failed', 'INGEST_BAD_ROWS', `api:shop/scalars page 1 (${server.url}/unstorable?scalars=1), record 1 is not an object of field values but number; point records: at an array of objects ${refused}`],
    ]);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_huge' })).toBe(false);
    expect((await fx.ingestion.registry({ target: 'bronze.shop_huge' })).map((e) => [e.status, e.rowsRejected])).toEqual([['failed', 0]]);
  });

  it('moves the cursor past a quarantined record by its cursor, never to an unreadable one, and does not quarantine it again', async () => {
    server.rawPages.push('[{"id":1,"seq":1},"oops",{"id":2,"seq":1e400},{"id":3,"seq":3,"h":1e400}]');
    const config = shop([{ name: 'feed', path: '/raw', incremental: { cursorField: 'seq', param: 'after' } }]);
    const first = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    // Record 4 is kept in the quarantine with its cursor 3; record 3's cursor (1e400) is none: not Infinity, past every later record.
    expect(first).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 3, cursor: { field: 'seq', value: 3 } });
    // The API ignores `after`: the same page again. Nothing on it is after the cursor; the two without one to compare are in the quarantine already, so nothing is quarantined twice.
    const second = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(second).toMatchObject({ status: 'skipped', rowsRejected: 0, recordsFetched: 4, recordsSkipped: 2, recordsAlreadyQuarantined: 2, cursor: { previous: 3, value: 3 } });
    expect(second.reason).toBe('no new rows since seq = 3 (2 bad records already in the quarantine)');
    server.rawPages[0] = server.rawPages[0]!.replace(/]$/, ',{"id":4,"seq":4}]');
    const third = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(third).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0, cursor: { previous: 3, value: 4 } });
    expect(await ids('bronze.shop_feed')).toEqual([1, 4]);
    expect((await fx.rat.query('SELECT line FROM bronze.shop_feed__rejects ORDER BY line')).map((r) => r.line)).toEqual([2, 3, 4]);
  });

  it('quarantines a malformed record that arrives in a run after the first, once, with its page, URL and position', async () => {
    server.rawPages.push('[{"id":1,"seq":1}]');
    const config = shop([{ name: 'later', path: '/raw', incremental: { cursorField: 'seq', param: 'after' } }], { auth: { type: 'api_key', name: 'api_key', value: CREDENTIALS.apiKey, in: 'query' } });
    expect((await ingestApi(fx.ingestion, config)).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 0, cursor: { value: 1 } });
    // Run 2 (a stored cursor): a new record, and a null and a record with an unreadable cursor, which have no cursor to compare.
    server.rawPages[0] = '[{"id":1,"seq":1},{"id":9,"seq":9},null,{"id":10,"seq":1e400}]';
    const second = await ingestApi(fx.ingestion, config);
    expect(second.endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2, recordsFetched: 4, recordsSkipped: 1, recordsAlreadyQuarantined: 0, cursor: { previous: 1, value: 9 } });
    expect(second.rowsRejected).toBe(2);
    const page = `${server.url}/raw?after=1&api_key=***`;
    const quarantine = async () => fx.rat.query('SELECT file_path, line, reason, raw FROM bronze.shop_later__rejects ORDER BY rejected_at, line');
    expect(await quarantine()).toEqual([
      { file_path: 'api:shop/later', line: 3, reason: `page 1 (${page}), record 3 is not an object of field values but null; point records: at an array of objects`, raw: 'null' },
      { file_path: 'api:shop/later', line: 4, reason: `page 1 (${page}), record 4 has a number beyond the range of a double in field "seq" (such as 1e400, read as Infinity), which cannot be stored`, raw: '{"id":10,"seq":1e400}' },
    ]);
    expect((await fx.ingestion.registry({ target: 'bronze.shop_later' })).map((e) => [e.status, e.rowsIngested, e.rowsRejected])).toEqual([
      ['success', 1, 0],
      ['success', 1, 2],
    ]);
    // Run 3: the API ignores `after` and sends the page again. The two records are in the quarantine already: not again.
    const third = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(third).toMatchObject({ status: 'skipped', rowsRejected: 0, recordsFetched: 4, recordsSkipped: 2, recordsAlreadyQuarantined: 2 });
    // Run 4: a second null on the page is a record the quarantine does not hold yet (it holds one null from this endpoint).
    server.rawPages[0] = '[{"id":1,"seq":1},{"id":9,"seq":9},null,{"id":10,"seq":1e400},null]';
    const fourth = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(fourth).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 1, recordsSkipped: 2, recordsAlreadyQuarantined: 2 });
    const rows = await quarantine();
    expect(rows.map((r) => [r.line, r.raw])).toEqual([
      [3, 'null'],
      [4, '{"id":10,"seq":1e400}'],
      [5, 'null'],
    ]);
    expect(JSON.stringify(rows)).not.toContain(CREDENTIALS.apiKey);
    expect(await ids('bronze.shop_later')).toEqual([1, 9]);
  });

  it('with onError fail, fails a run after the first on a malformed record instead of skipping it', async () => {
    server.rawPages.push('[{"id":1,"seq":1}]');
    const config = shop([{ name: 'strict', path: '/raw', incremental: { cursorField: 'seq', param: 'after' }, ingest: { onError: 'fail' } }]);
    expect((await ingestApi(fx.ingestion, config)).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    server.rawPages[0] = '[{"id":2,"seq":2},7]';
    const second = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(second).toMatchObject({ status: 'failed', errorCode: 'INGEST_BAD_ROWS' });
    expect(second.error).toBe(`api:shop/strict page 1 (${server.url}/raw?after=1), record 2 is not an object of field values but number; point records: at an array of objects (with onError fail a bad record fails the whole run, and nothing is loaded)`);
    expect(await ids('bronze.shop_strict')).toEqual([1]);
  });

  it('numbers records across the run\'s pages, skipped ones included, in the quarantine and in errors', async () => {
    // Run 1 loads ids 1-2; run 2 gets them again (dropped as already loaded), then a bad count on page 2.
    server.rawPages.push('[{"id":1,"seq":1,"n":1},{"id":2,"seq":2,"n":2}]');
    const config = (onError: 'quarantine' | 'fail') => shop([{ name: 'counted', path: '/raw', pagination: { type: 'page_number' }, incremental: { cursorField: 'seq' }, ingest: { types: { n: 'INTEGER' }, onError } }]);
    expect((await ingestApi(fx.ingestion, config('quarantine'))).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
    server.rawPages.push('[{"id":3,"seq":3,"n":3},{"id":4,"seq":4,"n":"four"}]');
    const failed = (await ingestApi(fx.ingestion, config('fail'))).endpoints[0]!;
    expect(failed.error).toBe(
      'api:shop/counted (record 4 of the run): column n: cannot convert four to INTEGER (1 bad row in all; with endpoints[0].ingest.onError: fail the run is refused and the table is unchanged)',
    );
    server.rawPages[1] = '[{"id":3,"seq":3,"n":3},7,{"id":4,"seq":4,"n":"four"}]';
    const loaded = (await ingestApi(fx.ingestion, config('quarantine'))).endpoints[0]!;
    expect(loaded).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2, recordsSkipped: 2 });
    expect(await fx.rat.query('SELECT line, reason FROM bronze.shop_counted__rejects ORDER BY line')).toEqual([
      { line: 4, reason: `page 2 (${server.url}/raw?page=2), record 2 is not an object of field values but number; point records: at an array of objects` },
      { line: 5, reason: 'column n: cannot convert four to INTEGER' },
    ]);
  });

  it('loads records whose cursor is null or missing once, not again on every run', async () => {
    const config = shop([{ name: 'nulls', path: '/null-cursor', incremental: { cursorField: 'updated_at' } }]);
    const first = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(first).toMatchObject({ status: 'success', rowsIngested: 3, cursor: { value: day(0) } });
    const second = (await ingestApi(fx.ingestion, config)).endpoints[0]!;
    expect(second).toMatchObject({ status: 'skipped', recordsFetched: 3, recordsSkipped: 3 });
    expect(await ids('bronze.shop_nulls')).toEqual([1, 2, 3]);
  });
});

describe('ingestApi: cursor values as APIs send them', () => {
  const feed = (name: string, cursorField = 'ts') => shop([{ name, path: '/raw', incremental: { cursorField, param: 'after' } }]);
  const registry = async (target: string) => (await fx.ingestion.registry({ target })).map((e) => e.status);

  it('fails an endpoint whose cursorField no record has, instead of loading every record again on every run', async () => {
    server.rawPages.push('[{"id":1,"updated_at":"2024-05-01T10:00:00Z","name":"a"},{"id":2,"updated_at":"2024-05-02T10:00:00Z","name":"b"}]');
    const report = (await ingestApi(fx.ingestion, feed('typo', 'updatedAt'))).endpoints[0]!;
    expect(report).toMatchObject({ status: 'failed', errorCode: 'SOURCE_CURSOR_INVALID', recordsFetched: 2 });
    expect(report.error).toBe(
      'api:shop/typo: none of the 2 records fetched has a value in incremental.cursorField "updatedAt" (the first record\'s fields: id, updated_at, name); set cursorField to the top-level field holding each record\'s update time or sequence: without one no cursor is stored and every run loads every record again',
    );
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_typo' })).toBe(false);
    expect(await registry('bronze.shop_typo')).toEqual(['failed']);
  });

  it('fails on a cursor that is an object or a boolean, naming the record, in the first run and in later ones', async () => {
    server.rawPages.push('[{"id":1,"ts":{"$date":"2024-05-01T10:00:00Z"}}]');
    const first = (await ingestApi(fx.ingestion, feed('mongo'))).endpoints[0]!;
    expect(first).toMatchObject({ status: 'failed', errorCode: 'SOURCE_CURSOR_INVALID' });
    expect(first.error).toBe(
      `api:shop/mongo page 1 (${server.url}/raw), record 1: incremental.cursorField "ts" holds {"$date":"2024-05-01T10:00:00Z"} (an object), not a number or text to compare; point cursorField at a top-level field holding the record's update time or sequence`,
    );
    server.rawPages[0] = '[{"id":1,"ts":1}]';
    expect((await ingestApi(fx.ingestion, feed('mongo'))).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1 });
    // With a stored cursor an object used to count as "after": loaded again on every run.
    server.rawPages[0] = '[{"id":1,"ts":1},{"id":2,"ts":true}]';
    const later = (await ingestApi(fx.ingestion, feed('mongo'))).endpoints[0]!;
    expect(later.error).toBe(`api:shop/mongo page 1 (${server.url}/raw?after=1), record 2: incremental.cursorField "ts" holds true (a boolean), not a number or text to compare; point cursorField at a top-level field holding the record's update time or sequence`);
    expect(await ids('bronze.shop_mongo')).toEqual([1]);
  });

  it('compares timestamps as instants: a fraction Go leaves out, offsets, digits beyond milliseconds', async () => {
    server.rawPages.push('[{"id":1,"ts":"2024-05-01T09:59:59.5Z"},{"id":2,"ts":"2024-05-01T10:00:00Z"}]');
    expect((await ingestApi(fx.ingestion, feed('go'))).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 2, cursor: { value: '2024-05-01T10:00:00Z' } });
    // As text, "…:00.25Z" sorts before "…:00Z" and was dropped as already loaded.
    server.rawPages[0] = server.rawPages[0]!.replace(
      /]$/,
      ',{"id":3,"ts":"2024-05-01T10:00:00.25Z"},{"id":4,"ts":"2024-05-01T12:00:00.000001+02:00"},{"id":5,"ts":"2024-05-01T11:59:59.999999+02:00"}]',
    );
    const second = (await ingestApi(fx.ingestion, feed('go'))).endpoints[0]!;
    expect(second).toMatchObject({ status: 'success', rowsIngested: 2, recordsSkipped: 3, cursor: { previous: '2024-05-01T10:00:00Z', value: '2024-05-01T10:00:00.25Z' } });
    server.rawPages[0] = '[{"id":6,"ts":"2024-05-01T10:00:00.250000001Z"},{"id":7,"ts":"2024-05-01T12:00:00.25+02:00"}]';
    const third = (await ingestApi(fx.ingestion, feed('go'))).endpoints[0]!;
    // Record 7 is at the stored instant (12:00:00.25+02:00 is 10:00:00.25Z) but is not record 3, loaded there: it loads too.
    expect(third).toMatchObject({ status: 'success', rowsIngested: 2, recordsSkipped: 0, cursor: { value: '2024-05-01T10:00:00.250000001Z' } });
    expect(await ids('bronze.shop_go')).toEqual([1, 2, 3, 4, 6, 7]);
  });

  it('compares decimal text as numbers, and fails when the cursor changes kind, naming both values', async () => {
    server.rawPages.push('[{"id":1,"v":"9.5"}]');
    const config = feed('decimals', 'v');
    await ingestApi(fx.ingestion, config);
    server.rawPages[0] = '[{"id":1,"v":"9.5"},{"id":2,"v":"10.25"}]';
    expect((await ingestApi(fx.ingestion, config)).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 1, cursor: { previous: '9.5', value: '10.25' } });

    server.rawPages[0] = '[{"id":1,"v":1714557600}]';
    await ingestApi(fx.ingestion, feed('kinds', 'v'));
    server.rawPages[0] = '[{"id":2,"v":"2024-05-02T10:00:00Z"}]';
    const changed = (await ingestApi(fx.ingestion, feed('kinds', 'v'))).endpoints[0]!;
    expect(changed).toMatchObject({ status: 'failed', errorCode: 'SOURCE_CURSOR_INVALID', cursor: { previous: 1714557600, value: 1714557600 } });
    expect(changed.error).toBe(
      `api:shop/kinds page 1 (${server.url}/raw?after=1714557600), record 1: cursor field "v" holds "2024-05-02T10:00:00Z" (a timestamp with a zone), which does not compare with 1714557600 (a number): the source changed what the field holds; nothing was loaded. Reset the cursor (load into a new table, or roll the table back) or point cursorField at a field of one kind`,
    );
    expect(await ids('bronze.shop_kinds')).toEqual([1]);
    expect(await registry('bronze.shop_kinds')).toEqual(['success', 'failed']);
  });
});

describe('ingestApi: incremental loading with maxPages', () => {
  const orders = (maxPages: number, params: Record<string, string> = {}) =>
    shop([{ name: 'orders', path: '/orders', params, records: 'data', pagination: { type: 'page_number', size: 4, maxPages }, incremental: { cursorField: 'updated_at', param: 'since' } }]);

  it('leaves the records sharing the last cursor for the next run, so none past the page limit is lost', async () => {
    // Pages of 4: records 6, 7, 8 (page 2) and 9 (page 3) share day 6.
    server.addOrders(10, (id) => day(id < 6 ? id : id < 10 ? 6 : 7));
    const first = (await ingestApi(fx.ingestion, orders(2))).endpoints[0]!;
    expect(first).toMatchObject({ status: 'success', rowsIngested: 5, pages: 2, recordsSkipped: 3, stoppedAtMaxPages: true, cursor: { value: day(5) } });
    const second = (await ingestApi(fx.ingestion, orders(2))).endpoints[0]!;
    expect(second).toMatchObject({ status: 'success', rowsIngested: 5, pages: 2, recordsSkipped: 1, cursor: { previous: day(5), value: day(7) } });
    expect(second.stoppedAtMaxPages).toBeUndefined();
    expect(await ids('bronze.shop_orders')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('fails a run cut short that cannot move on: records newest first, or pages of ties only; nothing is committed', async () => {
    server.addOrders(6, day);
    const desc = (await ingestApi(fx.ingestion, orders(1, { order: 'desc' }))).endpoints[0]!;
    expect(desc).toMatchObject({ status: 'failed', errorCode: 'SOURCE_CURSOR_INVALID' });
    expect(desc.error).toBe(
      `api:shop/orders: stopped at maxPages 1 while the API had more pages, and the records are not oldest first (api:shop/orders page 1 (${server.url}/orders?order=desc&page=1), record 2 has updated_at "${day(5)}", before "${day(6)}" on an earlier record), so storing the largest cursor would pass records on the pages not fetched; remove maxPages, or have the API sort by updated_at ascending`,
    );
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shop_orders' })).toBe(false);

    server.orders.length = 0;
    server.addOrders(6, () => day(1));
    const ties = (await ingestApi(fx.ingestion, orders(1))).endpoints[0]!;
    expect(ties.error).toBe(
      `api:shop/orders: stopped at maxPages 1 while the API had more pages, and the 4 records it could load all have updated_at "${day(1)}", and more may follow on the next page: every run would stop at the same place; raise maxPages (or remove it)`,
    );
  });
});

describe('ingestApi: where the records are, how far offsets go', () => {
  it('finds the records beside empty errors and messages arrays (Cloudflare), and fails naming several candidates', async () => {
    server.rawPages.push('{"success":true,"errors":[],"messages":[],"result":[{"id":1},{"id":2}],"result_info":{"page":1}}');
    expect((await ingestApi(fx.ingestion, shop([{ name: 'zones', path: '/raw' }]))).endpoints[0]).toMatchObject({ status: 'success', rowsIngested: 2 });
    server.rawPages[0] = '{"data":[{"id":1}],"included":[{"id":9}]}';
    const ambiguous = (await ingestApi(fx.ingestion, shop([{ name: 'jsonapi', path: '/raw' }]))).endpoints[0]!;
    expect(ambiguous.error).toBe(
      'api:shop/jsonapi page 1: several top-level fields hold arrays of objects (data, included), so which holds the records is not clear; set records: <dotted.path> to the one that does (records: data)',
    );
  });

  it('follows totalPath when the API caps its pages below the limit, stepping by the records received', async () => {
    const report = await ingestApi(
      fx.ingestion,
      shop([
        { name: 'capped', path: '/offset', params: { cap: '3' }, pagination: { type: 'offset', limit: 5, totalPath: 'total' } },
        { name: 'untold', path: '/offset', params: { cap: '3' }, pagination: { type: 'offset', limit: 5 } },
      ]),
    );
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.pages])).toEqual([
      ['capped', 'success', 23, 8],
      ['untold', 'success', 3, 1],
    ]);
    expect(server.requests.filter((r) => r.path === '/offset').map((r) => r.query.offset)).toEqual(['0', '3', '6', '9', '12', '15', '18', '21', '0']);
    expect(await ids('bronze.shop_capped')).toEqual(ALL);
  });

  it('fails when totalPath holds null, empty text or false, instead of reading it as a total of 0 and stopping after page 1', async () => {
    const offset = (name: string, total: string): ApiEndpointConfig => ({ name, path: '/offset', params: { total }, pagination: { type: 'offset', limit: 5, totalPath: 'total' } });
    const report = await ingestApi(fx.ingestion, shop([offset('nulled', 'null'), offset('blank', '""'), offset('untrue', 'false'), offset('texted', '"23"')]));
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested])).toEqual([
      ['nulled', 'failed', 0],
      ['blank', 'failed', 0],
      ['untrue', 'failed', 0],
      ['texted', 'success', 23],
    ]);
    expect(report.endpoints[0]!.error).toBe(
      'api:shop/nulled page 1: pagination.totalPath "total" is not a number in the response (got null); point totalPath at the field holding the total count, or remove it to stop at a page shorter than limit',
    );
    expect(report.endpoints[1]!.error).toContain('(got "")');
    expect(await fx.rat.query("SELECT count(*) AS n FROM bronze._file_registry WHERE status = 'failed'")).toEqual([{ n: 3 }]);
  });
});
