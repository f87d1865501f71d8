import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lakehouse, openLakehouse } from './lakehouse.js';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';
import { BUILT_CLI, cli, expectOneLineError, fileTree, tableState } from './test-support/bad-input-cli.js';

/**
 * Wrong statements through the `rat` CLI (unknown names, bad SQL, values a column cannot hold, invalid
 * identifiers and partitions): exit 1 with one line on stderr naming the object and the offending
 * value, and nothing committed. A CLI process per case, so vitest.config.ts runs this file in the
 * sqlite project only; the catalog's own errors are covered on PostgreSQL by bad-input.test.ts and catalog/.
 */

beforeAll(() => {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build before these tests`);
});

describe('bad statements through the CLI', () => {
  let home: string;
  let rat: Lakehouse;

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-bad-input-'));
    rat = await openLakehouse({ home, env: {}, threads: 2, ...catalogOptions(home) });
    await rat.sql(`
      CREATE TABLE bronze.orders (id INT NOT NULL, amount DECIMAL(10, 2), note VARCHAR, ts TIMESTAMP) PARTITIONED BY (day(ts));
      INSERT INTO bronze.orders VALUES (1, 9.99, 'first', TIMESTAMP '2024-01-01 10:00:00'), (2, 20.00, NULL, TIMESTAMP '2024-01-02 11:00:00');
      INSERT INTO bronze.orders VALUES (3, 0.50, 'third', TIMESTAMP '2024-01-02 12:00:00');
    `);
  });

  afterAll(async () => {
    await rat?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const cases: { name: string; args: string[]; code?: string; mentions: string[] }[] = [
    // Unknown names.
    { name: 'SELECT from an unknown namespace', args: ['sql', 'SELECT * FROM nope.orders'], mentions: ['nope'] },
    { name: 'INSERT into an unknown namespace', args: ['sql', 'INSERT INTO nope.orders VALUES (1)'], code: 'CATALOG_NAMESPACE_NOT_FOUND', mentions: ['"nope"'] },
    { name: 'SELECT from an unknown table', args: ['sql', 'SELECT * FROM bronze.missing'], code: 'CATALOG_TABLE_NOT_FOUND', mentions: ['bronze.missing'] },
    { name: 'INSERT into an unknown table', args: ['sql', 'INSERT INTO bronze.missing VALUES (1)'], code: 'CATALOG_TABLE_NOT_FOUND', mentions: ['bronze.missing'] },
    { name: 'UPDATE of an unknown table', args: ['sql', 'UPDATE bronze.missing SET a = 1'], code: 'CATALOG_TABLE_NOT_FOUND', mentions: ['bronze.missing'] },
    { name: 'table show of an unknown table', args: ['table', 'show', 'bronze.missing'], code: 'CATALOG_TABLE_NOT_FOUND', mentions: ['bronze.missing'] },
    { name: 'SELECT of an unknown column', args: ['sql', 'SELECT nocol FROM bronze.orders'], mentions: ['nocol'] },
    { name: 'INSERT naming an unknown column', args: ['sql', 'INSERT INTO bronze.orders (id, nocol) VALUES (1, 2)'], code: 'COLUMN_NOT_FOUND', mentions: ['"nocol"', 'bronze.orders'] },
    { name: 'UPDATE of an unknown column', args: ['sql', 'UPDATE bronze.orders SET nocol = 1'], mentions: ['nocol', 'bronze.orders'] },
    { name: 'DROP COLUMN of an unknown column', args: ['sql', 'ALTER TABLE bronze.orders DROP COLUMN nocol'], code: 'COLUMN_NOT_FOUND', mentions: ['"nocol"', 'bronze.orders'] },
    { name: 'RENAME of an unknown column', args: ['sql', 'ALTER TABLE bronze.orders RENAME COLUMN nocol TO x'], code: 'COLUMN_NOT_FOUND', mentions: ['"nocol"', 'bronze.orders'] },
    { name: 'time travel to an unknown snapshot', args: ['sql', 'SELECT * FROM bronze.orders AT (VERSION => 42)'], code: 'CATALOG_SNAPSHOT_NOT_FOUND', mentions: ['bronze.orders', '42'] },
    { name: 'rollback to an unknown snapshot', args: ['rollback', 'bronze.orders', '--to', '42'], code: 'CATALOG_SNAPSHOT_NOT_FOUND', mentions: ['bronze.orders', '42'] },
    // SQL syntax.
    { name: 'a misspelt keyword', args: ['sql', 'SELEC * FROM bronze.orders'], code: 'SQL_ERROR', mentions: ['SELEC'] },
    { name: 'a statement cut short', args: ['sql', 'SELECT * FROM bronze.orders WHERE'], code: 'SQL_ERROR', mentions: ['syntax error'] },
    { name: 'an unclosed column list', args: ['sql', 'CREATE TABLE bronze.half (a INT'], code: 'SQL_ERROR', mentions: ['('] },
    // Values the column cannot hold.
    { name: "'abc' into an INT column", args: ['sql', "INSERT INTO bronze.orders VALUES ('abc', 1.00, 'x', TIMESTAMP '2024-01-03 00:00:00')"], code: 'TYPE_MISMATCH', mentions: ["'abc'", 'bronze.orders.id', 'int'] },
    { name: 'a BIGINT too large for an INT column', args: ['sql', "INSERT INTO bronze.orders VALUES (5000000000, 1.00, 'x', TIMESTAMP '2024-01-03 00:00:00')"], code: 'TYPE_MISMATCH', mentions: ['5000000000', 'bronze.orders.id'] },
    { name: 'text into a DECIMAL column', args: ['sql', "INSERT INTO bronze.orders SELECT 4, 'lots', 'x', TIMESTAMP '2024-01-03 00:00:00'"], code: 'TYPE_MISMATCH', mentions: ["'lots'", 'bronze.orders.amount', 'decimal(10, 2)'] },
    { name: 'a decimal with too many digits', args: ['sql', "INSERT INTO bronze.orders VALUES (4, 123456789012.5, 'x', TIMESTAMP '2024-01-03 00:00:00')"], code: 'TYPE_MISMATCH', mentions: ['123456789012.5', 'bronze.orders.amount'] },
    { name: 'text into a TIMESTAMP column', args: ['sql', "INSERT INTO bronze.orders VALUES (4, 1.00, 'x', 'not a time')"], code: 'TYPE_MISMATCH', mentions: ["'not a time'", 'bronze.orders.ts'] },
    { name: 'UPDATE setting text into an INT column', args: ['sql', "UPDATE bronze.orders SET id = 'abc' WHERE id = 1"], code: 'TYPE_MISMATCH', mentions: ["'abc'", 'bronze.orders'] },
    { name: 'NULL into a NOT NULL column', args: ['sql', "INSERT INTO bronze.orders VALUES (NULL, 1.00, 'x', TIMESTAMP '2024-01-03 00:00:00')"], code: 'TYPE_MISMATCH', mentions: ['NULL', 'bronze.orders.id'] },
    { name: 'NULL into a NOT NULL column left out of the column list', args: ['sql', "INSERT INTO bronze.orders (note) VALUES ('x')"], code: 'TYPE_MISMATCH', mentions: ['NULL', 'bronze.orders.id'] },
    { name: 'UPDATE setting a NOT NULL column to NULL', args: ['sql', 'UPDATE bronze.orders SET id = NULL WHERE id = 2'], code: 'TYPE_MISMATCH', mentions: ['NULL', 'bronze.orders.id'] },
    { name: 'MERGE inserting NULL into a NOT NULL column', args: ['sql', "MERGE INTO bronze.orders t USING (SELECT 9 AS id) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (NULL, 1, 'x', NULL)"], code: 'TYPE_MISMATCH', mentions: ['NULL', 'bronze.orders.id'] },
    { name: 'too many values', args: ['sql', "INSERT INTO bronze.orders VALUES (4, 1.00, 'x', TIMESTAMP '2024-01-03 00:00:00', 'extra')"], code: 'SQL_ERROR', mentions: ['bronze.orders', 'has 4 columns', 'returns 5'] },
    { name: 'too few values', args: ['sql', 'INSERT INTO bronze.orders VALUES (4, 1.00)'], code: 'SQL_ERROR', mentions: ['bronze.orders', 'has 4 columns', 'returns 2'] },
    { name: 'fewer values than listed columns', args: ['sql', 'INSERT INTO bronze.orders (id, note) VALUES (4)'], code: 'SQL_ERROR', mentions: ['bronze.orders', '2 columns', 'returns 1'] },
    // Schema changes that are not allowed.
    { name: 'ALTER to an incompatible type', args: ['sql', 'ALTER TABLE bronze.orders ALTER COLUMN note TYPE INT'], code: 'TYPE_MISMATCH', mentions: ['bronze.orders.note', 'string', 'int'] },
    { name: 'ALTER narrowing a decimal', args: ['sql', 'ALTER TABLE bronze.orders ALTER COLUMN amount TYPE DECIMAL(8, 2)'], code: 'TYPE_MISMATCH', mentions: ['bronze.orders.amount', 'decimal(10, 2)', 'decimal(8, 2)'] },
    { name: 'ADD COLUMN of an unknown type', args: ['sql', 'ALTER TABLE bronze.orders ADD COLUMN x NOTATYPE'], code: 'INVALID_TYPE', mentions: ['NOTATYPE', 'bronze.orders.x'] },
    { name: 'ADD COLUMN of an existing name', args: ['sql', 'ALTER TABLE bronze.orders ADD COLUMN note INT'], code: 'COLUMN_EXISTS', mentions: ['"note"', 'bronze.orders'] },
    { name: 'DROP COLUMN of the partition source', args: ['sql', 'ALTER TABLE bronze.orders DROP COLUMN ts'], code: 'INVALID_PARTITION', mentions: ['"ts"', 'bronze.orders'] },
    // Partitions and identifiers of new tables.
    { name: 'year() of a VARCHAR', args: ['sql', 'CREATE TABLE bronze.p_year (a VARCHAR) PARTITIONED BY (year(a))'], code: 'INVALID_PARTITION', mentions: ['year', '"a"', 'string'] },
    { name: 'bucket() of a DOUBLE', args: ['sql', 'CREATE TABLE bronze.p_bucket (a DOUBLE) PARTITIONED BY (bucket(4, a))'], code: 'INVALID_PARTITION', mentions: ['bucket[4]', '"a"', 'double'] },
    { name: 'an unknown transform', args: ['sql', 'CREATE TABLE bronze.p_fn (a INT) PARTITIONED BY (frobnicate(a))'], code: 'INVALID_PARTITION', mentions: ['"frobnicate"'] },
    { name: 'a partition on a missing column', args: ['sql', 'CREATE TABLE bronze.p_col (a INT) PARTITIONED BY (b)'], code: 'COLUMN_NOT_FOUND', mentions: ['bronze.p_col', '"b"'] },
    { name: 'a table name with a space', args: ['sql', 'CREATE TABLE bronze."bad name" (a INT)'], code: 'INVALID_IDENTIFIER', mentions: ['"bad name"'] },
    { name: 'a table name starting with a digit', args: ['sql', 'CREATE TABLE bronze.1abc (a INT)'], code: 'INVALID_IDENTIFIER', mentions: ['"1abc"'] },
    { name: 'a CTAS into a table name starting with a digit', args: ['sql', 'CREATE TABLE bronze.2fast AS SELECT 1 AS a'], code: 'INVALID_IDENTIFIER', mentions: ['"2fast"'] },
    { name: 'a namespace name with a space', args: ['sql', 'CREATE SCHEMA "my schema"'], code: 'INVALID_IDENTIFIER', mentions: ['"my schema"'] },
    { name: 'an invalid name given to table show', args: ['table', 'show', 'bronze.1abc'], code: 'INVALID_IDENTIFIER', mentions: ['"1abc"'] },
    { name: 'a column type Iceberg cannot store', args: ['sql', 'CREATE TABLE bronze.iv AS SELECT INTERVAL 1 DAY AS i'], code: 'INVALID_TYPE', mentions: ['bronze.iv.i', 'INTERVAL'] },
    { name: 'CREATE TABLE of an existing name', args: ['sql', 'CREATE TABLE bronze.orders (a INT)'], code: 'CATALOG_TABLE_EXISTS', mentions: ['bronze.orders'] },
  ];

  it.each(cases)('$name', async ({ args, code, mentions }) => {
    const before = await tableState(rat, 'bronze.orders');
    const tablesBefore = await rat.listTables();
    const namespacesBefore = await rat.listNamespaces();
    const filesBefore = await fileTree(path.join(home, 'warehouse'));

    expectOneLineError(await cli(home, args), { ...(code ? { code } : {}), mentions });

    expect(await tableState(rat, 'bronze.orders')).toEqual(before);
    expect(await rat.listTables()).toEqual(tablesBefore);
    expect(await rat.listNamespaces()).toEqual(namespacesBefore);
    expect(await fileTree(path.join(home, 'warehouse'))).toEqual(filesBefore);
  });

  it('--json prints the error as one JSON line with the code', async () => {
    const run = await cli(home, ['--json', 'sql', "INSERT INTO bronze.orders VALUES ('abc', 1.00, 'x', NULL)"]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ error: { code: 'TYPE_MISMATCH', message: "cannot write 'abc' into column bronze.orders.id of type int" } });
  });

  it('a failing statement in a script leaves the statements before it committed and runs none after it', async () => {
    const before = await tableState(rat, 'bronze.orders');
    const run = await cli(home, ['sql', "INSERT INTO bronze.orders VALUES (10, 1.00, 'ok', NULL); INSERT INTO bronze.orders VALUES ('bad', 1.00, 'x', NULL); INSERT INTO bronze.orders VALUES (11, 1.00, 'never', NULL)"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual(["rat: TYPE_MISMATCH: cannot write 'bad' into column bronze.orders.id of type int"]);
    const after = await tableState(rat, 'bronze.orders');
    expect(after.snapshots).toEqual([...before.snapshots, after.currentSnapshotId]);
    expect(after.rows.map((r) => r.id)).toEqual([1, 2, 3, 10]);
  });
});

