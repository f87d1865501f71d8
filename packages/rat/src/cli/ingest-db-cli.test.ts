import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';
import { createTestDatabase, queryPostgres, type TestDatabase } from '../catalog/test-support/postgres-server.js';
import { openSqliteSource } from '../ingest/database/test-support/source-databases.js';

const bin = resolve(import.meta.dirname, '../../bin/rat.js');

function rat(home: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--home', home, ...args], { env: { ...process.env, ...catalogEnv(home), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const ROWS = 200_000;
/** The JavaScript heap the CLI gets: far less than the rows' payload (ROWS x 768 characters, ~150 MB), enough for the CLI itself. */
const HEAP_MB = 96;

describe('rat ingest-db', () => {
  let dir: string;
  let db: TestDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rat-ingest-db-cli-'));
    db = await createTestDatabase(inject('ratTestPostgresUrl'));
    await queryPostgres(
      db.url,
      `CREATE TABLE big AS SELECT g::bigint AS id, repeat(md5(g::text), 24) AS payload, ((g % 100000) * 0.01)::numeric(12,2) AS amount, timestamp '2024-01-01' + g * interval '1 second' AS at
       FROM generate_series(1, ${ROWS}) g`,
    );
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`streams ${ROWS.toLocaleString('en-US')} rows through a small JavaScript heap, then loads only new rows by the cursor`, async () => {
    const home = join(dir, 'big');
    // The heap cannot hold the table's rows (~150 MB of text alone): only streaming fits.
    const first = await rat(home, ['--json', 'ingest-db', db.url, 'bronze.big', '--table', 'public.big', '--cursor', 'id', '--chunk-size', '5000'], { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` });
    expect(first.stderr).not.toContain('heap out of memory');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { status: string; rowsIngested: number; rowsRead: number; cursor: { field: string; value: number } };
    expect(report).toMatchObject({ status: 'success', rowsIngested: ROWS, rowsRead: ROWS, cursor: { field: 'id', value: ROWS } });
    const check = await rat(home, ['--json', 'sql', `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount)::VARCHAR AS total, typeof(any_value(amount)) AS t, max(length(payload)) AS width FROM bronze.big`]);
    const total = (await queryPostgres<{ total: string }>(db.url, 'SELECT sum(amount)::text AS total FROM big'))[0]!.total;
    expect(JSON.parse(check.stdout)).toEqual([{ n: ROWS, ids: ROWS, total, t: 'DECIMAL(12,2)', width: 768 }]);

    await queryPostgres(db.url, `INSERT INTO big VALUES (${ROWS + 1}, 'new', 1.00, now())`);
    const second = await rat(home, ['ingest-db', db.url, 'bronze.big', '--table', 'public.big', '--cursor', 'id']);
    expect(second.code).toBe(0);
    const lines = second.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^source +\| target +\| status +\| rows \| rejected \| cursor +\| duration \| note$/);
    // The source cell is clipped to the table's column width; the rest is exact.
    expect(lines[2]!.startsWith(db.url.slice(0, 40))).toBe(true);
    expect(lines[2]).toContain(` | bronze.big | success | 1    | 0        | id: ${ROWS} -> ${ROWS + 1} | `);
    const again = JSON.parse((await rat(home, ['--json', 'ingest-db', db.url, 'bronze.big', '--table', 'public.big', '--cursor', 'id'])).stdout) as { status: string; file: string };
    expect(again).toMatchObject({ status: 'skipped', file: `${db.url}#public.big` });
    // Four CLI runs over a large table: a generous bound for a loaded 2-core machine (no timing is asserted).
  }, 180_000);

  it("leaves the source's name, which the table's row shows, out of a failed run's note", async () => {
    await queryPostgres(db.url, "CREATE TABLE codes (code text); INSERT INTO codes VALUES ('1'), ('abc')");
    const result = await rat(join(dir, 'note'), ['ingest-db', db.url, 'bronze.codes', '--table', 'public.codes', '--type', 'code=BIGINT', '--on-error', 'fail']);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').find((line) => line.includes('| failed'))).toMatch(/\| \(line 2\): column code: cannot convert abc to BIGINT/);
  });

  it('exits 1 with one line naming the source when the table does not exist, and never prints the password', async () => {
    const home = join(dir, 'missing');
    const url = new URL(db.url);
    url.password = 'hunter2';
    const result = await rat(home, ['ingest-db', url.href, 'bronze.x', '--table', 'public.nope']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`rat: SOURCE_TABLE_NOT_FOUND: ${db.url}#public.nope: table public.nope not found`);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    const usage = await rat(home, ['ingest-db', db.url, 'bronze.x']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('needs exactly one of a table or a query');
    const timeout = await rat(home, ['ingest-db', db.url, 'bronze.x', '--table', 'public.big', '--read-timeout', 'soon']);
    expect([timeout.code, timeout.stderr.trim()]).toEqual([1, 'rat: INVALID_ARGUMENT: --read-timeout must be a number of seconds (0 for no limit), got "soon"']);
  });
});

/** Runs `work` with a SQLite source database and a RAT_HOME of its own, both removed after. */
async function withSqlite(work: (source: Awaited<ReturnType<typeof openSqliteSource>>, home: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rat-ingest-db-sqlite-'));
  const source = await openSqliteSource();
  try {
    await work(source, join(dir, 'home'));
  } finally {
    await source.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('rat ingest-db reports (SQLite)', () => {
  it('prints the cursor with its field and the duration as ingest-api does; --json says nothing of the scratch spool (no bytes, no format)', async () => {
    await withSqlite(async (source, home) => {
      await source.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders VALUES (1, \'a\'), (2, \'b\')');
      const first = await rat(home, ['ingest-db', source.url, 'bronze.orders', '--table', 'orders', '--cursor', 'id']);
      expect(first.code, first.stderr).toBe(0);
      const row = first.stdout.split('\n').find((line) => line.includes('| success'))!;
      expect(row.split('|').map((cell) => cell.trim()).slice(1)).toEqual(['bronze.orders', 'success', '2', '0', 'id: (none) -> 2', expect.stringMatching(/^\d+\.\ds$/), '']);
      await source.exec("INSERT INTO orders VALUES (3, 'c')");
      const report = JSON.parse((await rat(home, ['--json', 'ingest-db', source.url, 'bronze.orders', '--table', 'orders', '--cursor', 'id'])).stdout) as Record<string, unknown>;
      expect(report).toMatchObject({ status: 'success', rowsIngested: 1, cursor: { field: 'id', previous: 2, value: 3 } });
      expect(Object.keys(report)).not.toContain('bytes');
      expect(Object.keys(report)).not.toContain('format');
    });
  });

  it('lists the source cursors in rat table show; unsetting one starts that source over', async () => {
    await withSqlite(async (source, home) => {
      await source.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders VALUES (1, 'a'), (2, 'b')");
      const load = ['ingest-db', source.url, 'bronze.orders', '--table', 'orders', '--cursor', 'id', '--mode', 'merge', '--key', 'id'];
      expect((await rat(home, load)).code).toBe(0);
      const name = `${source.url}#orders`;
      const shown = await rat(home, ['table', 'show', 'bronze.orders']);
      expect(shown.stdout).toContain('source cursors (the next incremental run reads from these):\n');
      expect(shown.stdout.split('\n').find((line) => line.startsWith(name))?.split('|').map((cell) => cell.trim())).toEqual([name, 'id', '2']);
      expect(JSON.parse((await rat(home, ['--json', 'table', 'show', 'bronze.orders'])).stdout).sourceCursors).toEqual([{ source: name, field: 'id', value: 2 }]);
      expect((await rat(home, ['sql', `ALTER TABLE bronze.orders UNSET TBLPROPERTIES ('rat.cursor.${name}')`])).code).toBe(0);
      const again = JSON.parse((await rat(home, ['--json', ...load])).stdout) as Record<string, unknown>;
      expect(again).toMatchObject({ status: 'success', rowsRead: 2, cursor: { field: 'id', value: 2 } });
    });
  });
});
