import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestServer, CREDENTIALS, startApiTestServer } from '../ingest/http/test-support/api-test-server.js';

const bin = resolve(import.meta.dirname, '../../bin/rat.js');

function rat(home: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--home', home, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const CONFIG = `
name: shop
baseUrl: \${SHOP_URL}
auth: { type: bearer, token: "\${SHOP_TOKEN}" }
retry: { backoffSeconds: 0.001 }
endpoints:
  - name: orders
    path: /orders
    records: data
    pagination: { type: page_number, size: 4 }
    incremental: { cursorField: updated_at, param: since }
  - name: catalog
    path: /flaky/cursor
    pagination: { type: cursor, cursorPath: meta.next_cursor }
  - name: portal
    path: /html
`;

describe('rat ingest-api', () => {
  let dir: string;
  let home: string;
  let server: ApiTestServer;
  let config: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rat-ingest-api-cli-'));
    home = join(dir, 'home');
    server = await startApiTestServer();
    config = join(dir, 'shop.yaml');
    await writeFile(config, CONFIG);
    // The bearer token is checked by /auth routes only; it must still never show up in the output.
    env = { SHOP_URL: server.url, SHOP_TOKEN: CREDENTIALS.token };
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the endpoints asked for, prints JSON for scripts, and a second run adds only new records', async () => {
    server.addOrders(5, (id) => `2024-02-0${id}T00:00:00Z`);
    server.faults.every = 4;
    const first = await rat(home, ['--json', 'ingest-api', config, '--endpoint', 'orders', 'catalog'], env);
    expect(first.stderr).not.toContain('rat:');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { endpoints: ({ endpoint: string; status: string; rowsIngested: number; pages: number; retries: number; cursor?: { value?: string } } & Record<string, unknown>)[] };
    expect(report.endpoints.map((e) => [e.endpoint, e.status, e.rowsIngested, e.pages])).toEqual([
      ['orders', 'success', 5, 2],
      ['catalog', 'success', 23, 4],
    ]);
    expect(report.endpoints[0]!.cursor?.value).toBe('2024-02-05T00:00:00Z');
    // The report is of the API, not of rat's scratch spool: no bytes, no format.
    for (const endpoint of report.endpoints) {
      expect(Object.keys(endpoint)).not.toContain('bytes');
      expect(Object.keys(endpoint)).not.toContain('format');
    }
    expect(report.endpoints[1]!.retries).toBe(1);
    expect(first.stderr).toContain('catalog page 4: 429 Too Many Requests; retry 1 of 5 in 0.0s');
    expect(first.stderr).toContain('orders: 2 pages, 5 records fetched');
    // Each endpoint's line has its rate, timed from that endpoint's start.
    expect(first.stderr).toMatch(/^orders: 2 pages, 5 records fetched {2}[\d,]+ records\/s$/m);
    expect(first.stderr).toMatch(/^catalog: 4 pages, 23 records fetched {2}[\d,]+ records\/s$/m);

    server.addOrders(2, (id) => `2024-02-0${id}T00:00:00Z`);
    const second = await rat(home, ['ingest-api', config, '--endpoint', 'orders'], env);
    expect(second.code).toBe(0);
    const lines = second.stdout.split('\n');
    expect(lines[0]).toMatch(/^endpoint \| target\s+\| status\s+\| rows \| rejected \| pages \| cursor\s+\| duration \| note$/);
    expect(lines[2]).toMatch(/^orders\s+\| bronze\.shop_orders \| success \| 2\s+\| 0\s+\| 1\s+\| updated_at: 2024-02-05T00:00:00Z -> 2024-02-07T00:00:00Z \| \d+\.\ds /);
    expect(second.stdout).toContain('shop: 2 rows from 1 endpoint; 0 skipped, 0 failed');
    expect(second.stderr).toContain('orders: 1 page, 3 records fetched (1 already loaded)');
    const count = await rat(home, ['--json', 'sql', 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM bronze.shop_orders']);
    expect(JSON.parse(count.stdout)).toEqual([{ n: 7, ids: 7 }]);
  });

  it('exits 3 when an endpoint fails and others load, with one error line naming the URL', async () => {
    server.faults.every = undefined;
    const run = await rat(home, ['ingest-api', config], env);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/portal\s+\| bronze\.shop_portal\s+\| failed/);
    expect(run.stdout).toMatch(/orders\s+\| bronze\.shop_orders\s+\| skipped/);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('rat:'));
    expect(errors).toEqual([
      `rat: SOURCE_NOT_JSON: 1 of 3 endpoints failed (recorded in bronze._file_registry; its table is unchanged): api:shop/portal page 1: GET ${server.url}/html returned HTML, not JSON (status 200, content-type text/html; charset=utf-8): "<html><body><h1>Welcome to our developer portal</h1></body></html>"; check baseUrl, path and auth (a login or error page?)`,
    ]);
    expect(run.stdout + run.stderr).not.toContain(CREDENTIALS.token);
    const registry = await rat(home, ['--json', 'sql', "SELECT file_path, status FROM bronze._file_registry WHERE file_path = 'api:shop/portal'"]);
    expect(JSON.parse(registry.stdout)).toEqual([{ file_path: 'api:shop/portal', status: 'failed' }]);
  });

  it('prints every failed endpoint\'s error in full on stderr, no cursor for an endpoint without one, and counts in the singular', async () => {
    const several = join(dir, 'several.yaml');
    await writeFile(
      several,
      [
        'name: several',
        `baseUrl: ${server.url}`,
        'retry: { maxRetries: 1, backoffSeconds: 0.001 }',
        'endpoints:',
        '  - { name: portal, path: /html }',
        '  - { name: refused, path: /bad-request }',
        '  - { name: typo, path: /orders, records: data, ingest: { types: { id: FOO } } }',
        '  - { name: one, path: /flaky/raw }',
        '',
      ].join('\n'),
    );
    server.rawPages.push('[{"id":1}]');
    // Every 2nd flaky request fails: the next one after a success does, so `one` needs one retry.
    server.faults.every = 2;
    while ((await fetch(`${server.url}/flaky/raw`)).ok);
    await fetch(`${server.url}/flaky/raw`);
    const run = await rat(home, ['ingest-api', several]);
    server.faults.every = undefined;
    expect(run.code).toBe(3);
    const errors = run.stderr.split('\n').filter((line) => line.startsWith('rat:'));
    expect(errors).toEqual([
      `rat: SOURCE_NOT_JSON: api:several/portal page 1: GET ${server.url}/html returned HTML, not JSON (status 200, content-type text/html; charset=utf-8): "<html><body><h1>Welcome to our developer portal</h1></body></html>"; check baseUrl, path and auth (a login or error page?)`,
      expect.stringMatching(/^rat: SOURCE_HTTP_ERROR: api:several\/refused page 1: GET http:\/\/127\.0\.0\.1:\d+\/bad-request failed with 400 Bad Request: .*unknown filter/),
      'rat: INVALID_TYPE: api:several/typo: endpoints[2].ingest.types.id: FOO: there is no type "FOO"; use a DuckDB type such as BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP, TIMESTAMPTZ or VARCHAR',
      'rat: SOURCE_NOT_JSON: 3 of 4 endpoints failed (recorded in bronze._file_registry; their tables are unchanged); their errors are above',
    ]);
    const row = run.stdout.split('\n').find((line) => line.startsWith('one '))!;
    expect(row.split('|').map((cell) => cell.trim())).toEqual(['one', 'bronze.several_one', 'success', '1', '0', '1', '-', expect.stringMatching(/^\d+\.\ds$/), '1 retry']);
    expect(run.stdout).toContain('several: 1 row from 1 endpoint; 0 skipped, 3 failed');
    expect(run.stdout).not.toContain('NULL');
    const registry = await rat(home, ['--json', 'sql', "SELECT file_path, status FROM bronze._file_registry WHERE file_path LIKE 'api:several/%' ORDER BY file_path"]);
    expect(JSON.parse(registry.stdout)).toEqual([
      { file_path: 'api:several/one', status: 'success' },
      { file_path: 'api:several/portal', status: 'failed' },
      { file_path: 'api:several/refused', status: 'failed' },
      { file_path: 'api:several/typo', status: 'failed' },
    ]);
  });

  it('refuses a bad config file with the field, an unknown endpoint with the list, and a missing variable by name', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'name: shop\nbaseUrl: http://127.0.0.1:1\nendpoints:\n  - { name: a, path: /a, pagination: { type: pages } }\n');
    const badRun = await rat(home, ['ingest-api', bad]);
    expect(badRun.code).toBe(1);
    expect(badRun.stderr.trim()).toBe(`rat: CONFIG_INVALID: ${bad}: endpoints[0].pagination.type: unknown value "pages": use none, page_number, offset, cursor, next_link, link_header`);
    const unknown = await rat(home, ['ingest-api', config, '--endpoint', 'invoices'], env);
    expect(unknown.stderr.trim()).toBe('rat: INVALID_ARGUMENT: API source shop has no endpoint "invoices"; its endpoints are orders, catalog, portal');
    const missing = await rat(home, ['ingest-api', config], { SHOP_URL: server.url, SHOP_TOKEN: '' });
    expect(missing.stderr.trim()).toBe(`rat: CONFIG_INVALID: ${config}: auth.token: environment variable SHOP_TOKEN is not set; export it, or write \${SHOP_TOKEN:-default}`);
  });
});
