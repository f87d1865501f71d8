import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { isRatError } from '../../core/errors.js';
import { type IngestFixture, openIngestFixture } from '../test-support/ingest-fixture.js';
import mysql from 'mysql2/promise';
import type { IngestProgress } from '../progress.js';
import { parseDatabaseUrl } from './database-url.js';
import { ingestDatabase, queryLayoutFree } from './ingest-database.js';
import { mysqlCursorValue } from './mysql-connection.js';
import { queryPostgres } from '../../catalog/test-support/postgres-server.js';
import { closedPort, openMariadbSource, openPostgresSource, openSqliteSource, type TestSourceDatabase } from './test-support/source-databases.js';

const engines: [string, () => Promise<TestSourceDatabase>][] = [
  ['PostgreSQL', () => openPostgresSource(inject('ratTestPostgresUrl'))],
  ['MariaDB', () => openMariadbSource(inject('ratTestMariadbUrl'))],
  ['SQLite', () => openSqliteSource()],
];

let fx: IngestFixture;
let source: TestSourceDatabase | undefined;
beforeEach(async () => {
  fx = await openIngestFixture();
});
afterEach(async () => {
  await source?.close();
  source = undefined;
  await fx.close();
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await fx.rat.query(sql)) as Record<string, unknown>[];
}

async function thrown(work: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await work;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail');
}

describe.each(engines)('database source: %s', (_engine, open) => {
  async function orders(db: TestSourceDatabase): Promise<void> {
    await db.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2), updated_at ${db.timestampType})`);
    await db.exec(`INSERT INTO orders VALUES (1, 'ada', 10.50, '2024-01-01 10:00:00'), (2, 'bob', 20.00, '2024-01-02 10:00:00'), (3, 'ada', 30.25, '2024-01-03 10:00:00')`);
  }

  it('loads a query result, registered under the URL and a hash of the query', async () => {
    source = await open();
    await orders(source);
    const query = `SELECT id, customer, amount FROM orders WHERE customer = 'ada'`;
    const report = await ingestDatabase(fx.ingestion, { url: source.url, query, target: 'bronze.ada_orders' });
    expect([report.status, report.rowsIngested, report.rowsRead]).toEqual(['success', 2, 2]);
    expect(report.file).toMatch(/#query:[0-9a-f]{12}$/);
    expect(await rows(`SELECT id, customer, amount::VARCHAR AS amount, _source_file FROM bronze.ada_orders ORDER BY id`)).toEqual([
      { id: 1, customer: 'ada', amount: '10.50', _source_file: report.file },
      { id: 3, customer: 'ada', amount: '30.25', _source_file: report.file },
    ]);
    const registry = await fx.ingestion.registry({ target: 'bronze.ada_orders' });
    expect(registry.map((e) => [e.filePath, e.status, e.rowsIngested])).toEqual([[report.file, 'success', 2]]);
  });

  it('loads incrementally by a cursor column: the next run reads only new and changed rows, merge replaces updated ones', async () => {
    source = await open();
    await orders(source);
    const options = { url: source.url, table: 'orders', target: 'bronze.orders', cursor: 'updated_at', mode: 'merge' as const, keys: ['id'], chunkSize: 2 };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsRead, first.cursor?.previous, first.cursor?.value]).toEqual(['success', 3, undefined, expect.stringMatching(/^2024-01-03 10:00:00/)]);

    await source.exec(`UPDATE orders SET amount = 99.99, updated_at = '2024-01-05 08:00:00' WHERE id = 2`);
    await source.exec(`INSERT INTO orders VALUES (4, 'cy', 5.00, '2024-01-04 09:00:00'), (5, 'dee', 6.00, '2024-01-05 09:00:00')`);
    const second = await ingestDatabase(fx.ingestion, options);
    // Read from the stored value on: row 3, loaded by the first run, is read again and left out.
    expect([second.status, second.rowsRead, second.alreadyLoaded, second.rowsIngested]).toEqual(['success', 4, 1, 3]);
    expect(second.cursor?.previous).toBe(first.cursor?.value);
    expect(String(second.cursor?.value)).toMatch(/^2024-01-05 09:00:00/);
    expect(await rows(`SELECT id, amount::VARCHAR AS amount FROM bronze.orders ORDER BY id`)).toEqual([
      { id: 1, amount: '10.50' },
      { id: 2, amount: '99.99' },
      { id: 3, amount: '30.25' },
      { id: 4, amount: '5.00' },
      { id: 5, amount: '6.00' },
    ]);

    const third = await ingestDatabase(fx.ingestion, options);
    expect([third.status, third.rowsRead, third.alreadyLoaded]).toEqual(['skipped', 1, 1]);
    expect(third.reason).toContain('no new rows since updated_at');
    expect((await fx.ingestion.sourceCursor('bronze.orders', first.file))?.value).toBe(second.cursor?.value);
  });

  it('appends only rows after an integer cursor', async () => {
    source = await open();
    await orders(source);
    const options = { url: source.url, table: 'orders', target: 'bronze.orders', cursor: 'id' };
    expect((await ingestDatabase(fx.ingestion, options)).cursor).toEqual({ field: 'id', value: 3 });
    await source.exec(`INSERT INTO orders VALUES (7, 'eve', 1.00, '2023-12-31 00:00:00')`);
    const second = await ingestDatabase(fx.ingestion, options);
    expect([second.rowsRead, second.alreadyLoaded, second.rowsIngested, second.cursor?.previous, second.cursor?.value]).toEqual([2, 1, 1, 3, 7]);
    expect((await rows(`SELECT id FROM bronze.orders ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 7]);
  });

  it('loads a row written after a run with the same cursor value as the last row loaded, once; rows at that value are not loaded twice', async () => {
    source = await open();
    const db = source;
    await db.exec(`CREATE TABLE ev (id INTEGER, note VARCHAR(20), at ${db.timestampType})`);
    await db.exec(`INSERT INTO ev VALUES (1, 'a', '2024-01-01 10:00:00'), (2, 'b', '2024-01-01 11:00:00'), (3, 'c', '2024-01-01 11:00:00')`);
    const options = { url: db.url, table: 'ev', target: 'bronze.ev', cursor: 'at' };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsIngested]).toEqual(['success', 3]);
    // Written after the run, in the same second as the last rows loaded: a read after 11:00:00 would never see it.
    await db.exec(`INSERT INTO ev VALUES (4, 'd', '2024-01-01 11:00:00')`);
    const second = await ingestDatabase(fx.ingestion, options);
    expect([second.status, second.rowsRead, second.alreadyLoaded, second.rowsIngested]).toEqual(['success', 3, 2, 1]);
    await db.exec(`INSERT INTO ev VALUES (5, 'e', '2024-01-01 11:00:00'), (6, 'f', '2024-01-01 12:00:00')`);
    const third = await ingestDatabase(fx.ingestion, options);
    expect([third.status, third.rowsIngested, String(third.cursor?.value)]).toEqual(['success', 2, expect.stringMatching(/^2024-01-01 12:00:00/)]);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    expect((await rows(`SELECT id FROM bronze.ev ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('leaves out the rows at the stored cursor value after a column was added to the source table: they are not loaded twice', async () => {
    source = await open();
    const db = source;
    await db.exec(`CREATE TABLE grow (id INTEGER, at ${db.timestampType})`);
    await db.exec(`INSERT INTO grow VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 11:00:00'), (3, '2024-01-01 11:00:00')`);
    const options = { url: db.url, table: 'grow', target: 'bronze.grow', cursor: 'at' };
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(3);
    // NULL in the rows already loaded: they are the same rows.
    await db.exec(`ALTER TABLE grow ADD COLUMN note VARCHAR(20)`);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    await db.exec(`INSERT INTO grow VALUES (4, '2024-01-01 11:00:00', 'new')`);
    const third = await ingestDatabase(fx.ingestion, options);
    expect([third.status, third.rowsRead, third.alreadyLoaded, third.rowsIngested]).toEqual(['success', 3, 2, 1]);
    expect(await rows(`SELECT id, note FROM bronze.grow ORDER BY id`)).toEqual([
      { id: 1, note: null },
      { id: 2, note: null },
      { id: 3, note: null },
      { id: 4, note: 'new' },
    ]);
  });

  it('leaves out the rows at the stored cursor value after a column was dropped or renamed: they are not loaded twice', async () => {
    source = await open();
    const db = source;
    await db.exec(`CREATE TABLE shrink (id INTEGER, note VARCHAR(20), extra VARCHAR(20), at ${db.timestampType})`);
    await db.exec(`INSERT INTO shrink VALUES (1, 'a', 'x', '2024-01-01 10:00:00'), (2, 'b', 'y', '2024-01-01 11:00:00'), (3, 'c', 'z', '2024-01-01 11:00:00')`);
    const options = { url: db.url, table: 'shrink', target: 'bronze.shrink', cursor: 'at' };
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(3);
    await db.exec(`ALTER TABLE shrink DROP COLUMN extra`);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    await db.exec(`ALTER TABLE shrink RENAME COLUMN note TO remark`);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    await db.exec(`INSERT INTO shrink VALUES (4, 'd', '2024-01-01 11:00:00')`);
    const fourth = await ingestDatabase(fx.ingestion, options);
    expect([fourth.status, fourth.rowsRead, fourth.alreadyLoaded, fourth.rowsIngested]).toEqual(['success', 3, 2, 1]);
    expect((await rows(`SELECT id FROM bronze.shrink ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('says how many rows with a NULL cursor written since the first run no run could load, on every run until they get a value', async () => {
    source = await open();
    const db = source;
    await db.exec(`CREATE TABLE nc (id INTEGER, at ${db.timestampType})`);
    await db.exec(`INSERT INTO nc VALUES (1, '2024-01-01 10:00:00'), (2, NULL)`);
    const options = { url: db.url, table: 'nc', target: 'bronze.nc', cursor: 'at' };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsIngested, first.warnings]).toEqual(['success', 2, undefined]);
    expect((await fx.ingestion.sourceCursor('bronze.nc', first.file))?.nulls).toBe(1);
    await db.exec(`INSERT INTO nc VALUES (3, NULL), (4, '2024-01-02 10:00:00')`);
    const second = await ingestDatabase(fx.ingestion, options);
    expect([second.status, second.rowsIngested, second.rowsWithoutCursor]).toEqual(['success', 1, 1]);
    expect(second.warnings).toEqual([expect.stringContaining(`${first.file}: 1 row has a NULL at and was not loaded (2 such rows now, 1 when the first run loaded them)`)]);
    const third = await ingestDatabase(fx.ingestion, options);
    expect([third.status, third.rowsWithoutCursor]).toEqual(['skipped', 1]);
    await db.exec(`UPDATE nc SET at = '2024-01-03 10:00:00' WHERE id = 3`);
    const fourth = await ingestDatabase(fx.ingestion, options);
    expect([fourth.status, fourth.rowsIngested, fourth.warnings]).toEqual(['success', 1, undefined]);
    expect((await rows(`SELECT id FROM bronze.nc ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('stores the last cursor value in the database order for decimal, float and collated text cursors: the next run reads nothing', async () => {
    source = await open();
    const db = source;
    // Each engine's float and case-insensitive (collated) text: 'a' < 'B' there, unlike in JavaScript.
    const columns = {
      postgres: 'score DOUBLE PRECISION, code TEXT COLLATE "en-x-icu"',
      mariadb: 'score DOUBLE, code VARCHAR(10) COLLATE utf8mb4_unicode_ci',
      sqlite: 'score REAL, code TEXT COLLATE NOCASE',
    }[db.engine];
    await db.exec(`CREATE TABLE pay (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), ${columns})`);
    await db.exec(`INSERT INTO pay VALUES (1, 9.50, 9.5, 'a'), (2, 10.50, 10.5, 'B')`);
    for (const [cursor, last] of [['amount', /^10\.50?$/], ['score', /^10\.5$/], ['code', /^B$/]] as const) {
      const options = { url: db.url, table: 'pay', target: `bronze.pay_${cursor}`, cursor };
      const first = await ingestDatabase(fx.ingestion, options);
      expect([first.status, first.rowsRead]).toEqual(['success', 2]);
      expect(String(first.cursor?.value)).toMatch(last);
      const second = await ingestDatabase(fx.ingestion, options);
      expect([cursor, second.status, second.rowsRead, second.alreadyLoaded, second.cursor?.previous]).toEqual([cursor, 'skipped', 1, 1, first.cursor?.value]);
      expect((await rows(`SELECT id FROM bronze.pay_${cursor} ORDER BY id`)).map((r) => r.id)).toEqual([1, 2]);
    }
    await db.exec(`INSERT INTO pay VALUES (3, 100.25, 100.25, 'c')`);
    for (const cursor of ['amount', 'score', 'code']) {
      const third = await ingestDatabase(fx.ingestion, { url: db.url, table: 'pay', target: `bronze.pay_${cursor}`, cursor });
      expect([cursor, third.status, third.rowsIngested]).toEqual([cursor, 'success', 1]);
    }
  });

  it('compares a cursor past 15 significant digits exactly: a value one unit past the stored one is read, once', async () => {
    source = await open();
    const db = source;
    // SQLite has no exact decimal (a DECIMAL column holds doubles): its cursor past a double's digits is an integer beyond 2^53.
    const [type, first, next, low] = db.engine === 'sqlite' ? ['INTEGER', '9007199254740993', '9007199254740994', '1'] : ['DECIMAL(20,2)', '12345678901234567.01', '12345678901234567.02', '1.00'];
    await db.exec(`CREATE TABLE ledger (id INTEGER PRIMARY KEY, pos ${type})`);
    await db.exec(`INSERT INTO ledger VALUES (1, 1), (2, ${first})`);
    const options = { url: db.url, table: 'ledger', target: 'bronze.ledger', cursor: 'pos' };
    const one = await ingestDatabase(fx.ingestion, options);
    expect([one.status, one.rowsRead, one.cursor?.value]).toEqual(['success', 2, first]);
    // A number kept as its exact text, bound as a number by the next run (not as text, which MySQL compares with a DECIMAL as doubles).
    expect(await fx.ingestion.sourceCursor('bronze.ledger', one.file)).toEqual({ field: 'pos', value: first, kind: 'number', seen: [expect.stringMatching(/^[0-9a-f]{16}$/)], columns: ['id', 'pos'], cells: [expect.stringMatching(/^[0-9a-f]{16}$/)], nulls: 0 });
    await db.exec(`INSERT INTO ledger VALUES (3, ${next})`);
    const two = await ingestDatabase(fx.ingestion, options);
    expect([two.status, two.rowsIngested, two.cursor?.previous, two.cursor?.value]).toEqual(['success', 1, first, next]);
    const three = await ingestDatabase(fx.ingestion, options);
    expect([three.status, three.rowsIngested]).toEqual(['skipped', 0]);
    expect((await rows(`SELECT pos::VARCHAR AS pos FROM bronze.ledger ORDER BY id`)).map((r) => r.pos)).toEqual([low, first, next]);
  });

  it('reads after a binary cursor (UUIDv7 keys as bytes): the stored hex is compared as the bytes it spells', async () => {
    source = await open();
    const kinds: Record<string, [string, (hex: string) => string]> = {
      postgres: ['bytea', (hex) => `decode('${hex}', 'hex')`],
      mariadb: ['BINARY(16)', (hex) => `X'${hex}'`],
      sqlite: ['BLOB', (hex) => `X'${hex}'`],
    };
    const [type, bytes] = kinds[source.engine]!;
    const key = (n: number) => `018f000000007000800000000000000${n}`;
    await source.exec(`CREATE TABLE bk (id ${type} PRIMARY KEY, v INTEGER)`);
    await source.exec(`INSERT INTO bk VALUES (${bytes(key(1))}, 1), (${bytes(key(2))}, 2)`);
    const options = { url: source.url, table: 'bk', target: 'bronze.bk', cursor: 'id' };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsRead, first.cursor?.value]).toEqual(['success', 2, key(2)]);
    expect(await fx.ingestion.sourceCursor('bronze.bk', first.file)).toEqual({ field: 'id', value: key(2), kind: 'bytes', seen: [expect.stringMatching(/^[0-9a-f]{16}$/)], columns: ['id', 'v'], cells: [expect.stringMatching(/^[0-9a-f]{16}$/)], nulls: 0 });
    await source.exec(`INSERT INTO bk VALUES (${bytes(key(3))}, 3)`);
    const second = await ingestDatabase(fx.ingestion, options);
    expect([second.status, second.rowsIngested, second.cursor?.value]).toEqual(['success', 1, key(3)]);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    expect((await rows(`SELECT v FROM bronze.bk ORDER BY v`)).map((r) => r.v)).toEqual([1, 2, 3]);
  });

  it("loads into a table whose column type differs from the source's: the table's type wins, values that do not convert go to the quarantine", async () => {
    source = await open();
    await source.exec('CREATE TABLE codes (id INTEGER PRIMARY KEY, code VARCHAR(10))');
    await source.exec("INSERT INTO codes VALUES (1, '10'), (2, 'abc')");
    await fx.rat.sql('CREATE TABLE bronze.codes (id BIGINT, code BIGINT)');
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'codes', target: 'bronze.codes' });
    expect([report.status, report.rowsIngested, report.rowsRejected], report.error).toEqual(['success', 1, 1]);
    expect(await rows('SELECT id, code FROM bronze.codes')).toEqual([{ id: 1, code: 10 }]);
    expect(await rows('SELECT reason FROM bronze.codes__rejects')).toEqual([{ reason: 'column code: cannot convert abc to BIGINT' }]);
  });

  it('reads a query that ends in a line comment, also after a final semicolon', async () => {
    source = await open();
    await orders(source);
    const comment = source.engine === 'mariadb' ? '# note' : '-- note';
    for (const query of [`SELECT id FROM orders -- only ids`, `SELECT id FROM orders; -- done`, `SELECT id FROM orders ${comment}`, `SELECT id FROM orders; /* a */ ${comment}`]) {
      const report = await ingestDatabase(fx.ingestion, { url: source.url, query, target: 'bronze.ids', cursor: 'id', name: query });
      expect([query, report.status, report.rowsRead]).toEqual([query, 'success', 3]);
    }
  });

  it('with --mode overwrite, a source table that was emptied empties the bronze table, with a registry row', async () => {
    source = await open();
    await orders(source);
    const full = await ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.mirror', mode: 'overwrite' });
    expect([full.status, full.rowsIngested]).toEqual(['success', 3]);
    await source.exec('DELETE FROM orders');
    const emptied = await ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.mirror', mode: 'overwrite' });
    expect([emptied.status, emptied.rowsIngested], emptied.error).toEqual(['success', 0]);
    expect(await rows('SELECT count(*)::INT AS n FROM bronze.mirror')).toEqual([{ n: 0 }]);
    const [last] = (await fx.ingestion.registry({ target: 'bronze.mirror' })).slice(-1);
    expect(last).toMatchObject({ status: 'success', rowsIngested: 0 });
    expect(last!.snapshotId).toBeDefined();
    // Appending nothing still changes nothing: a skip.
    expect((await ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.mirror' })).status).toBe('skipped');
  });

  it('refuses --mode overwrite with a cursor (the table would keep only the new rows), before reading', async () => {
    source = await open();
    await orders(source);
    const error = await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.orders', cursor: 'id', mode: 'overwrite' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('#orders: --mode overwrite with --cursor id would replace the table with only the rows after the stored cursor: use --mode append or --mode merge');
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'orders' })).toBe(false);
  });

  it('records a failed registry row when the table is missing, the query is refused or the cursor column is not in the result', async () => {
    source = await open();
    await orders(source);
    await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'ordres', target: 'bronze.orders' }));
    const refused = await thrown(ingestDatabase(fx.ingestion, { url: source.url, query: 'SELEC 1', target: 'bronze.orders', name: 'typo' }));
    expect(refused.code).toBe('SOURCE_DB_ERROR');
    await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.orders', cursor: 'nosuch' }));
    const registry = await fx.ingestion.registry({ target: 'bronze.orders' });
    expect(registry.map((e) => [e.filePath.replace(/^.*#/, ''), e.status])).toEqual([
      ['ordres', 'failed'],
      ['typo', 'failed'],
      ['orders', 'failed'],
    ]);
    expect(registry[1]!.error).toBe(refused.message);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'orders' })).toBe(false);
  });

  it('refuses a table that does not exist, naming the source and table, and creates nothing', async () => {
    source = await open();
    await orders(source);
    const error = await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'ordres', target: 'bronze.orders' }));
    expect(error.code).toBe('SOURCE_TABLE_NOT_FOUND');
    expect(error.message).toContain('#ordres: table ordres not found');
    expect(error.message).toContain('list tables with');
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'orders' })).toBe(false);
  });
});

describe.each(engines.slice(0, 2))('database source that drops the connection: %s', (_engine, open) => {
  /** A source with table events(id, payload) holding `count` rows. */
  async function events(count: number): Promise<TestSourceDatabase> {
    source = await open();
    await source.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, payload VARCHAR(200))`);
    await source.exec(`INSERT INTO events VALUES ${Array.from({ length: count }, (_, i) => `(${i + 1}, 'first ${i + 1}')`).join(', ')}`);
    return source;
  }

  it('mid-stream: fails with the position, records a failed registry row, leaves the table and cursor unchanged, and the next run succeeds', async () => {
    const db = await events(20);
    const options = { url: db.url, table: 'events', target: 'bronze.events', cursor: 'id' };
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('success');
    // Enough rows after the cursor that the server is still sending when its connection is killed.
    await db.exec(`INSERT INTO events SELECT id + 20, payload FROM (${db.engine === 'postgres' ? `SELECT g AS id, repeat('x', 200) AS payload FROM generate_series(1, 60000) g` : `SELECT seq AS id, REPEAT('x', 200) AS payload FROM seq_1_to_60000`}) s`);

    let killed = 0;
    const report = await ingestDatabase(fx.ingestion, {
      ...options,
      chunkSize: 500,
      onRowsRead: async (progress) => {
        if (progress.rows >= 1_000 && killed === 0) killed = await db.killReaders!();
      },
    });
    expect(killed).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.errorCode).toBe('SOURCE_DB_ERROR');
    expect(report.error).toMatch(new RegExp(`^${report.file.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: reading stopped after [\\d,]+ rows \\(last id = \\d+\\): .+; nothing was committed and the cursor did not move: run again to retry$`));
    // The kill lands between two fetches: the server's reason, not the driver's generic "not queryable".
    if (db.engine === 'postgres') expect(report.error).toContain('): terminating connection due to administrator command; nothing was committed');
    expect(report.rowsRead).toBeGreaterThanOrEqual(1_000);
    expect(report.rowsRead).toBeLessThan(60_000);
    expect((await rows(`SELECT count(*)::INTEGER AS n FROM bronze.events`))[0]!.n).toBe(20);
    expect((await fx.ingestion.sourceCursor('bronze.events', report.file))?.value).toBe(20);
    expect((await fx.ingestion.registry({ target: 'bronze.events' })).map((e) => e.status)).toEqual(['success', 'failed']);

    const retry = await ingestDatabase(fx.ingestion, options);
    expect([retry.status, retry.rowsIngested, retry.cursor?.value]).toEqual(['success', 60_000, 60_020]);
  });

  it('before the first row: fails as a dropped read after 0 rows (not a refused query) and records a failed registry row', async () => {
    const db = await events(10);
    // The server sleeps 0.3 s per row before it can sort and send the first one: the kill lands while it works.
    const query = db.engine === 'postgres' ? 'SELECT id, payload, pg_sleep(0.3)::text AS pause FROM events' : 'SELECT id, payload, SLEEP(0.3) AS pause FROM events';
    const running = ingestDatabase(fx.ingestion, { url: db.url, query, target: 'bronze.events', cursor: 'id', name: 'slow' });
    let killed = 0;
    await new Promise((resolve) => setTimeout(resolve, 800));
    for (let tries = 0; killed === 0 && tries < 20; tries++) {
      killed = await db.killReaders!();
      if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(killed).toBe(1);
    const report = await running;
    expect([report.status, report.errorCode, report.rowsRead]).toEqual(['failed', 'SOURCE_DB_ERROR', 0]);
    expect(report.error).toMatch(/^slow: reading stopped after 0 rows: .+; nothing was committed and the cursor did not move: run again to retry$/);
    expect(report.error).not.toContain('refused');
    expect((await fx.ingestion.registry({ target: 'bronze.events' })).map((e) => [e.filePath, e.status])).toEqual([['slow', 'failed']]);
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'events' })).toBe(false);
  });
});

describe('database source cursor values the source sorts after every other', () => {
  /** Loads `table` by `cursor` twice around inserting `later`: the later rows load, the odd row is quarantined once. */
  async function loadsPast(db: TestSourceDatabase, table: string, cursor: string, later: string, odd: RegExp): Promise<void> {
    const options = { url: db.url, table, target: `bronze.${table}_${cursor}`, cursor };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsIngested, first.rowsRejected, String(first.cursor?.value)]).toEqual(['success', 2, 1, expect.stringMatching(/^3|-03 /)]);
    await db.exec(later);
    const second = await ingestDatabase(fx.ingestion, options);
    // The odd row is read again (it sorts last), but the quarantine holds it already.
    expect([second.status, second.rowsIngested, second.rowsRejected, second.alreadyQuarantined, String(second.cursor?.value)]).toEqual(['success', 1, 0, 1, expect.stringMatching(/^4|-04 /)]);
    expect((await rows(`SELECT id FROM bronze.${table}_${cursor} ORDER BY id`)).map((r) => Number(r.id))).toEqual([1, 3, 4]);
    const rejects = await fx.rat.query<{ reason: string }>(`SELECT reason FROM bronze.${table}_${cursor}__rejects`);
    expect(rejects.map((r) => r.reason)).toEqual([expect.stringMatching(odd)]);
  }

  it('PostgreSQL: NaN, Infinity and infinity never become the stored cursor; their row goes to the quarantine once and later rows load', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE cn (id int PRIMARY KEY, v numeric(10,2), f float8, ts timestamptz)`);
    await source.exec(`INSERT INTO cn VALUES (1, 1, 1, '2024-01-01'), (2, 'NaN', 'Infinity', 'infinity'), (3, 2, 2, '2024-01-02')`);
    await source.exec(`CREATE TABLE cf AS SELECT id, f FROM cn; CREATE TABLE ct AS SELECT id, ts FROM cn`);
    // v's values must stay below the later row's for the check to hold (3 loads after 2).
    await source.exec(`UPDATE cn SET v = 3 WHERE id = 3; UPDATE cf SET f = 3 WHERE id = 3; UPDATE ct SET ts = '2024-01-03' WHERE id = 3`);
    const db = source;
    await loadsPast(db, 'cn', 'v', `INSERT INTO cn VALUES (4, 4, 4, '2024-01-04')`, /^row 3: cursor column "v" holds NaN, which cannot be a cursor \(PostgreSQL sorts NaN after every other value: no later row would load\)/);
    await loadsPast(db, 'cf', 'f', `INSERT INTO cf VALUES (4, 4)`, /^row 3: cursor column "f" holds Infinity, which cannot be a cursor/);
    await loadsPast(db, 'ct', 'ts', `INSERT INTO ct VALUES (4, '2024-01-04')`, /^row 3: cursor column "ts" holds infinity, which cannot be a cursor/);
  });

  it('SQLite: a text or a BLOB in an INTEGER cursor column never becomes the stored cursor; its row goes to the quarantine once and later rows load', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE sc (id INTEGER, v TEXT)`);
    await source.exec(`INSERT INTO sc VALUES (1, 'a'), ('n/a', 'b'), (3, 'c')`);
    await loadsPast(source, 'sc', 'id', `INSERT INTO sc VALUES (4, 'd')`, /^row 3: cursor column "id" holds n\/a, which cannot be a cursor \(SQLite sorts text after every number: no later row would load\)/);
    await source.exec(`CREATE TABLE sb (id INTEGER, v TEXT); INSERT INTO sb VALUES (1, 'a'), (X'12', 'b'), (3, 'c')`);
    await loadsPast(
      source,
      'sb',
      'id',
      `INSERT INTO sb VALUES (4, 'd')`,
      /^row 3: cursor column "id" holds the BLOB x'12', which cannot be a cursor \(SQLite sorts a BLOB after every number: no later row would load\); the cursor stays at the last other value; also row 3: column "id" holds the BLOB x'12', not a value of its declared type INTEGER$/,
    );
  });
});

describe('database source that stops answering', () => {
  // It stops the backend process with a signal: only on the server the tests start here, not on one RAT_TEST_POSTGRES_URL names.
  it.skipIf(process.env.RAT_TEST_POSTGRES_URL !== undefined)('PostgreSQL: a frozen backend fails the read after the read timeout, naming the source and position, with a failed registry row', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    const db = source;
    await db.exec(`CREATE TABLE events AS SELECT g AS id, repeat('x', 100) AS payload FROM generate_series(1, 3000) g`);
    const stopped: number[] = [];
    try {
      const started = Date.now();
      const report = await ingestDatabase(fx.ingestion, {
        url: db.url,
        table: 'events',
        target: 'bronze.events',
        cursor: 'id',
        chunkSize: 500,
        readTimeoutMs: 1_500,
        onRowsRead: async () => {
          if (stopped.length > 0) return;
          // The reader's backend stops (SIGSTOP): its socket stays open, and nothing more comes.
          const readers = await queryPostgres<{ pid: number }>(db.url, `SELECT pid FROM pg_stat_activity WHERE application_name = 'rat ingest-db' AND datname = current_database()`);
          for (const { pid } of readers) {
            process.kill(pid, 'SIGSTOP');
            stopped.push(pid);
          }
        },
      });
      expect(stopped).toHaveLength(1);
      expect([report.status, report.errorCode, report.rowsRead]).toEqual(['failed', 'SOURCE_DB_ERROR', 500]);
      expect(report.error).toBe(
        `${report.file}: reading stopped after 500 rows (last id = 500): the server sent nothing for 1.5 s (the read timeout, --read-timeout): it stopped answering, or the network dropped the connection without closing it; nothing was committed and the cursor did not move: run again to retry`,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      expect((await fx.ingestion.registry({ target: 'bronze.events' })).map((e) => e.status)).toEqual(['failed']);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
    }
  }, 30_000);
});

describe('database source cursor on PostgreSQL', () => {
  it('refuses a number cursor whose column now holds text (compared as text, "10" < "3"), and reads on from it through a query that casts the column back', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE retyped (id int, v text); INSERT INTO retyped VALUES (1, 'a'), (3, 'c')`);
    const options = { url: source.url, table: 'retyped', target: 'bronze.retyped', cursor: 'id' };
    const first = await ingestDatabase(fx.ingestion, options);
    await source.exec(`ALTER TABLE retyped ALTER COLUMN id TYPE text; INSERT INTO retyped VALUES ('10', 'j')`);
    const error = await thrown(ingestDatabase(fx.ingestion, options));
    expect([error.code, error.message]).toEqual(['INVALID_ARGUMENT', expect.stringContaining(`#retyped: the stored cursor is the number 3, but cursor column "id" now holds text`)]);
    const again = await ingestDatabase(fx.ingestion, { url: source.url, query: 'SELECT CAST(id AS BIGINT) AS id, v FROM retyped', name: first.file, target: 'bronze.retyped', cursor: 'id' });
    expect([again.status, again.rowsIngested, again.cursor?.value]).toEqual(['success', 1, 10]);
    expect((await rows(`SELECT id FROM bronze.retyped ORDER BY id`)).map((r) => r.id)).toEqual([1, 3, 10]);
  });

  it('treats numeric values equal but for their scale (1.0 and 1.00 in a numeric without one) as one cursor value: the rows there are not loaded twice', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    await source.exec(`CREATE TABLE nv (id int, v numeric); INSERT INTO nv VALUES (1, 0.5), (2, 1.0), (3, 1.00)`);
    const options = { url: source.url, table: 'nv', target: 'bronze.nv', cursor: 'v' };
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(3);
    const second = await ingestDatabase(fx.ingestion, options);
    expect([second.status, second.rowsRead, second.alreadyLoaded]).toEqual(['skipped', 2, 2]);
    await source.exec(`INSERT INTO nv VALUES (4, 1.000)`);
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(1);
    expect((await rows(`SELECT id FROM bronze.nv ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });
});

describe('database source whose server refuses a row mid-read', () => {
  it('PostgreSQL: fails naming the position and saying that a retry fails the same way, with a failed registry row and nothing committed', async () => {
    source = await openPostgresSource(inject('ratTestPostgresUrl'));
    // Rows 1..20 arrive in two chunks; the server fails computing row 25, in the third (no cursor: no ORDER BY computes every row first).
    const query = 'SELECT id, 100 / (id - 25) AS q FROM generate_series(1, 30) AS id';
    const report = await ingestDatabase(fx.ingestion, { url: source.url, query, target: 'bronze.q', chunkSize: 10, name: 'divide' });
    expect([report.status, report.errorCode, report.rowsRead]).toEqual(['failed', 'SOURCE_DB_ERROR', 20]);
    expect(report.error).toBe(
      'divide: the database refused to send the rows after 20 rows: division by zero; nothing was committed and the cursor did not move. Running again fails the same way until the query or its data is fixed (a query can leave out or convert the rows it stops at)',
    );
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'q' })).toBe(false);
    expect((await fx.ingestion.registry({ target: 'bronze.q' })).map((e) => [e.filePath, e.status])).toEqual([['divide', 'failed']]);
  });
});

describe('database source query names', () => {
  it('keeps the cursor of a query laid out anew (line breaks, indents): the next run loads only new rows', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE t (id INTEGER, v TEXT);\nINSERT INTO t VALUES (1, 'a  b'), (2, 'c'), (3, 'd')`);
    const options = { url: source.url, target: 'bronze.q', cursor: 'id' };
    const first = await ingestDatabase(fx.ingestion, { ...options, query: `SELECT id, v FROM t WHERE v <> 'x  y'` });
    expect(first.rowsIngested).toBe(3);
    await source.exec(`INSERT INTO t VALUES (4, 'e')`);
    const second = await ingestDatabase(fx.ingestion, { ...options, query: `SELECT id, v\n  FROM t\n  WHERE v <> 'x  y';\n` });
    expect([second.file, second.status, second.rowsIngested]).toEqual([first.file, 'success', 1]);
    // Inside quotes white space counts: another query, another name.
    expect((await ingestDatabase(fx.ingestion, { ...options, target: 'bronze.q2', query: `SELECT id, v FROM t WHERE v <> 'x y'` })).file).not.toBe(first.file);
    expect((await rows(`SELECT id FROM bronze.q ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('goes on from a cursor stored under the name of the query as typed, as earlier versions named it', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE t (id INTEGER);\nINSERT INTO t VALUES (1), (2)`);
    const query = `SELECT id\nFROM t`;
    const former = `${parseDatabaseUrl(source.url).display}#query:${createHash('sha256').update(query).digest('hex').slice(0, 12)}`;
    const first = await ingestDatabase(fx.ingestion, { url: source.url, query, target: 'bronze.q', cursor: 'id', name: former });
    expect(first.rowsIngested).toBe(2);
    await source.exec(`INSERT INTO t VALUES (3)`);
    const second = await ingestDatabase(fx.ingestion, { url: source.url, query, target: 'bronze.q', cursor: 'id' });
    expect([second.file, second.rowsIngested]).toEqual([former, 1]);
  });

  it('makes white space between tokens one space, keeping quotes, comments and the line break ending a line comment', () => {
    expect(queryLayoutFree(`  SELECT a,\n\t b  FROM "my  t"\nWHERE s = 'x  y' AND c = $$ z  $$ -- note  here\n  AND /* a  b */ d = 1  `)).toBe(
      `SELECT a, b FROM "my  t" WHERE s = 'x  y' AND c = $$ z  $$ -- note  here\nAND /* a  b */ d = 1`,
    );
    expect(queryLayoutFree(`SELECT 1 -- x\nFROM t`)).not.toBe(queryLayoutFree(`SELECT 1 -- x FROM t`));
  });
});

describe('database source cursor on SQLite', () => {
  it('keeps a TIMESTAMP cursor over text with UTC offsets at the text SQLite compares: each row loads once, as the UTC time it names', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE ev (id INTEGER PRIMARY KEY, ts TIMESTAMP)`);
    // In SQLite's text order 09:30Z comes first, though 10:00+02:00 is the earlier instant (08:00 UTC).
    await source.exec(`INSERT INTO ev VALUES (1, '2024-01-02T09:30:00Z'), (2, '2024-01-02T10:00:00+02:00')`);
    const options = { url: source.url, table: 'ev', target: 'bronze.ev', cursor: 'ts' };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.rowsIngested, first.cursor?.value]).toEqual([2, '2024-01-02T10:00:00+02:00']);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
    await source.exec(`INSERT INTO ev VALUES (3, '2024-01-02T11:00:00+02:00')`);
    const third = await ingestDatabase(fx.ingestion, options);
    expect([third.rowsIngested, third.cursor?.value]).toEqual([1, '2024-01-02T11:00:00+02:00']);
    expect(await rows(`SELECT id, ts::VARCHAR AS ts FROM bronze.ev ORDER BY id`)).toEqual([
      { id: 1, ts: '2024-01-02 09:30:00' },
      { id: 2, ts: '2024-01-02 08:00:00' },
      { id: 3, ts: '2024-01-02 09:00:00' },
    ]);
  });
});

describe('database source cursor on MariaDB', () => {
  it('refuses an ENUM or SET cursor column (sorted by list position, compared as text) before loading anything; the column as text in a query works', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    await source.exec(`CREATE TABLE shipments (id INTEGER PRIMARY KEY, state ENUM('shipped', 'new', 'paid'), tags SET('b', 'a'));\nINSERT INTO shipments VALUES (1, 'new', 'a'), (2, 'paid', 'b'), (3, 'shipped', 'a,b')`);
    for (const cursor of ['state', 'tags']) {
      const error = await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'shipments', target: 'bronze.shipments', cursor }));
      expect([error.code, error.message]).toEqual([
        'INVALID_ARGUMENT',
        expect.stringContaining(`#shipments: cursor column "${cursor}" is ${cursor === 'state' ? 'an ENUM' : 'a SET'}, which MySQL sorts by its position in the list but compares with a stored value as text`),
      ]);
    }
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'shipments' })).toBe(false);
    expect((await fx.ingestion.registry({ target: 'bronze.shipments' })).map((e) => e.status)).toEqual(['failed', 'failed']);
    const options = { url: source.url, query: 'SELECT id, CAST(state AS CHAR) AS state FROM shipments', target: 'bronze.shipments', cursor: 'state' };
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(3);
    await source.exec(`INSERT INTO shipments VALUES (4, 'shipped', 'b')`);
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(1);
    expect((await rows(`SELECT id FROM bronze.shipments ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a BIT cursor column (compared with its stored bytes, every row is greater): the column as a number in a query works', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    await source.exec(`CREATE TABLE flags (id INTEGER PRIMARY KEY, v BIT(16));\nINSERT INTO flags VALUES (1, 2), (2, 256), (3, 300)`);
    const error = await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'flags', target: 'bronze.flags', cursor: 'v' }));
    expect(error.message).toContain('#flags: cursor column "v" is a BIT column, which MySQL does not compare with a stored value in the order it sorts it');
    expect(error.message).toContain('a query that selects it as a number (CAST(v AS UNSIGNED) AS v)');
    const options = { url: source.url, query: 'SELECT id, CAST(v AS UNSIGNED) AS v FROM flags', target: 'bronze.flags', cursor: 'v' };
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(3);
    await source.exec(`INSERT INTO flags VALUES (4, 400)`);
    expect((await ingestDatabase(fx.ingestion, options)).rowsIngested).toBe(1);
    expect((await rows(`SELECT id FROM bronze.flags ORDER BY id`)).map((r) => r.id)).toEqual([1, 2, 3, 4]);
  });

  it('binds a stored decimal cursor as a DECIMAL of its digits: compared where the server applies its string-to-DECIMAL rule (doubles), it still tells .01 from .02', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    await source.exec(`CREATE TABLE ledger (id INTEGER PRIMARY KEY, pos DECIMAL(20,2));\nINSERT INTO ledger VALUES (1, 12345678901234567.01), (2, 12345678901234567.02)`);
    const stored = { field: 'pos', value: '12345678901234567.01', kind: 'number' as const };
    const bound = mysqlCursorValue(stored);
    expect(bound).toEqual({ sql: 'CAST(? AS DECIMAL(19,2))', param: '12345678901234567.01' });
    expect(mysqlCursorValue({ field: 'id', value: '9007199254740993', kind: 'number' })).toEqual({ sql: '?', param: 9007199254740993n });
    expect(mysqlCursorValue({ field: 'code', value: '10.5', kind: 'string' })).toEqual({ sql: '?', param: '10.5' });
    // MariaDB turns a constant string into the column's type, but compares a string column with a DECIMAL as doubles (MySQL does both ways):
    // the bound value held in a column shows what a server comparing by that rule makes of it.
    const connection = await mysql.createConnection({ uri: source.url });
    try {
      const greater = async (sql: string, param: unknown) => {
        await connection.query(`CREATE OR REPLACE TABLE bound AS SELECT ${sql} AS v`, [param]);
        const [found] = await connection.query<mysql.RowDataPacket[]>('SELECT ledger.id FROM ledger JOIN bound ON ledger.pos > bound.v ORDER BY ledger.id');
        return found.map((r) => r.id as number);
      };
      expect(await greater('?', stored.value)).toEqual([]);
      expect(await greater(bound.sql, bound.param)).toEqual([2]);
    } finally {
      await connection.end();
    }
  });
});

describe('database source FLOAT on MariaDB', () => {
  it('reads FLOAT exactly (the text protocol would round it to 6 digits): as a cursor the last row is not read again', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    await source.exec(`CREATE TABLE fl (id INTEGER PRIMARY KEY, f FLOAT, d DOUBLE)`);
    await source.exec(`INSERT INTO fl VALUES (1, 0.123456789, 0.5), (2, 3.14159274, 1.5), (3, 1234567, 2.5), (4, 16777215, 3.5)`);
    const options = { url: source.url, table: 'fl', target: 'bronze.fl', cursor: 'f' };
    const first = await ingestDatabase(fx.ingestion, options);
    expect([first.status, first.rowsRead, first.cursor?.value]).toEqual(['success', 4, 16777215]);
    const loaded = await rows(`SELECT typeof(f) AS type, f::DOUBLE AS f, d FROM bronze.fl ORDER BY id`);
    expect(loaded).toEqual([
      { type: 'FLOAT', f: Math.fround(0.123456789), d: 0.5 },
      { type: 'FLOAT', f: Math.fround(3.14159274), d: 1.5 },
      { type: 'FLOAT', f: 1234567, d: 2.5 },
      { type: 'FLOAT', f: 16777215, d: 3.5 },
    ]);
    expect((await ingestDatabase(fx.ingestion, options)).status).toBe('skipped');
  });
});

describe('database source errors', () => {
  it('names the server and a hint when it cannot connect, and never prints the password', async () => {
    for (const scheme of ['postgres', 'mysql']) {
      const port = await closedPort();
      const error = await thrown(ingestDatabase(fx.ingestion, { url: `${scheme}://rat:s3cret@127.0.0.1:${port}/shop`, table: 'orders', target: 'bronze.orders' }));
      expect(isRatError(error) && error.code).toBe('SOURCE_DB_ERROR');
      expect(error.message).toContain(`cannot connect to ${scheme}://rat@127.0.0.1:${port}/shop (host 127.0.0.1, database shop)`);
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain('check that the server runs');
      expect(error.message).not.toContain('s3cret');
    }
    const error = await thrown(ingestDatabase(fx.ingestion, { url: `sqlite:${fx.dir}/missing.db`, table: 'orders', target: 'bronze.orders' }));
    expect(error.message).toBe(`cannot open SQLite database ${fx.dir}/missing.db: unable to open database file; check that the file exists and is readable`);
    await writeFile(join(fx.dir, 'notes.db'), 'not a database, only text '.repeat(100));
    const notDb = await thrown(ingestDatabase(fx.ingestion, { url: `sqlite:${fx.dir}/notes.db`, table: 'orders', target: 'bronze.orders' }));
    expect(notDb.message).toBe(`cannot open SQLite database ${fx.dir}/notes.db: file is not a database; the file is not a SQLite database (or an encrypted one)`);
    // Each failed attempt is in the registry.
    expect((await fx.ingestion.registry({ target: 'bronze.orders' })).map((e) => e.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
  });

  it('PostgreSQL: says that the server asks for a password none was given, not the driver\'s "client password must be a string"', async () => {
    // A server that asks for a SCRAM password (AuthenticationSASL), then sends its first message (AuthenticationSASLContinue).
    const message = (code: number, body: string) => {
      const payload = Buffer.concat([Buffer.alloc(4), Buffer.from(body)]);
      payload.writeInt32BE(code, 0);
      const head = Buffer.alloc(5);
      head.write('R');
      head.writeInt32BE(4 + payload.length, 1);
      return Buffer.concat([head, payload]);
    };
    const server = createServer((socket) => {
      let step = 0;
      socket.on('data', () => socket.write(step++ === 0 ? message(10, 'SCRAM-SHA-256\0\0') : message(11, 'r=abc,s=c2FsdA==,i=4096')));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const error = await thrown(ingestDatabase(fx.ingestion, { url: `postgres://app@127.0.0.1:${port}/shop`, table: 'orders', target: 'bronze.orders', env: {} }));
      expect(error.message).toContain(
        `cannot connect to postgres://app@127.0.0.1:${port}/shop (host 127.0.0.1, database shop): the server asks for a password, and none was given (no RAT_SOURCE_PASSWORD, PGPASSWORD, ~/.pgpass entry or password in the URL); check that`,
      );
    } finally {
      server.close();
    }
  });

  it('MariaDB: with ?sslmode=REQUIRED the connection is encrypted, or refused by a server without TLS, never made in clear text', async () => {
    source = await openMariadbSource(inject('ratTestMariadbUrl'));
    const url = new URL(source.url);
    url.search = '?sslmode=REQUIRED';
    const query = `SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'`;
    const report = await ingestDatabase(fx.ingestion, { url: url.href, query, target: 'bronze.tls' }).catch((error: Error) => error);
    if (report instanceof Error) expect(report.message).toContain('Server does not support secure connection');
    else expect((await rows(`SELECT cipher FROM bronze.tls`))[0]!.cipher).not.toBe('');
  });

  it('names the tables that match but for case when a table is not found (names are case-sensitive in PostgreSQL and MariaDB)', async () => {
    for (const [open, schemaOf] of [
      [() => openPostgresSource(inject('ratTestPostgresUrl')), () => 'public'],
      [() => openMariadbSource(inject('ratTestMariadbUrl')), (url: string) => url.replace(/^.*\//, '')],
    ] as const) {
      source = await open();
      await source.exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY)`);
      const error = await thrown(ingestDatabase(fx.ingestion, { url: source.url, table: 'ORDERS', target: 'bronze.orders' }));
      expect([error.code, error.message]).toEqual(['SOURCE_TABLE_NOT_FOUND', expect.stringContaining(`; names are case-sensitive here: did you mean --table ${schemaOf(source.url)}.orders?; check the name`)]);
      await source.close();
      source = undefined;
    }
  });

  it('wants exactly one of a table and a query, and a positive chunk size', async () => {
    await expect(ingestDatabase(fx.ingestion, { url: 'sqlite:x.db', target: 'bronze.t' })).rejects.toThrow('needs exactly one of a table or a query (got neither)');
    await expect(ingestDatabase(fx.ingestion, { url: 'sqlite:x.db', table: 't', query: 'SELECT 1', target: 'bronze.t' })).rejects.toThrow('(got both)');
    await expect(ingestDatabase(fx.ingestion, { url: 'sqlite:x.db', table: 't', target: 'bronze.t', chunkSize: 0 })).rejects.toThrow('chunk size must be a positive number of rows, got 0');
    await expect(ingestDatabase(fx.ingestion, { url: 'oracle://db/x', table: 't', target: 'bronze.t' })).rejects.toThrow('database URL "oracle://db/x": use postgres://');
  });
});

describe('database source text columns', () => {
  it('loads ISO date-times in a text column as written, not as timestamps reformatted (SQLite)', async () => {
    source = await openSqliteSource();
    await source.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, said TEXT)`);
    await source.exec(`INSERT INTO notes VALUES (1, '2024-01-01T10:00:00'), (2, '2024-01-01T10:00:00.50')`);
    const report = await ingestDatabase(fx.ingestion, { url: source.url, query: 'SELECT id, said FROM notes', target: 'bronze.notes' });
    expect(report.status, report.error).toBe('success');
    expect(await rows(`SELECT said FROM bronze.notes ORDER BY id`)).toEqual([{ said: '2024-01-01T10:00:00' }, { said: '2024-01-01T10:00:00.50' }]);
  });
});

describe('database source progress', () => {
  it("tells the steps after the read in the rows read, as typing and writing them, never rat's scratch file's bytes or hash", async () => {
    source = await openSqliteSource();
    await source.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INTEGER, note)');
    await source.exec(`INSERT INTO orders VALUES ${Array.from({ length: 500 }, (_, i) => `(${i}, ${i % 7 === 0 ? "'many'" : i}, 'n${i}')`).join(', ')}`);
    const events: IngestProgress[] = [];
    const report = await ingestDatabase(fx.ingestion, { url: source.url, table: 'orders', target: 'bronze.progress_db', onProgress: (e) => events.push(e) });
    expect([report.status, report.rowsIngested, report.rowsRejected]).toEqual(['success', 428, 72]);
    expect(events.length).toBeGreaterThan(0);
    // The untyped column's type is inferred from the rows read (no share done to tell), then they are written.
    expect([...new Set(events.map((e) => e.phase))]).toEqual(['typing', 'writing']);
    expect(events.filter((e) => e.phase === 'typing').every((e) => e.indeterminate)).toBe(true);
    // Every event counts the 500 rows read (loaded and quarantined), and the last one has them all done.
    expect(events.every((e) => e.file === report.file && e.rowsTotal === 500 && e.rowsDone! <= 500)).toBe(true);
    expect(events.at(-1)).toMatchObject({ rowsDone: 500 });
  });
});
