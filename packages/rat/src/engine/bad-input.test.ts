import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RatError } from '../core/errors.js';
import { type Lakehouse, openLakehouse } from './lakehouse.js';
import { catalogEnv, catalogOptions } from '../catalog/test-support/test-catalog.js';

/**
 * Wrong input of every kind (unknown names, bad SQL, values a column cannot hold, invalid identifiers
 * and partitions, corrupt or unsupported metadata): the `rat` CLI exits non-zero with one line on
 * stderr naming the object and the offending value, and nothing is committed.
 */

const BIN = fileURLToPath(new URL('../../bin/rat.js', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, with RAT_* variables removed so the lakehouse is the local one under `home`. */
function cli(home: string, args: string[]): Promise<CliRun> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('RAT_'))), ...catalogEnv(home) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', home, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit code 1 and exactly one `rat: CODE: message` line on stderr that contains every `mention`. */
function expectOneLineError(run: CliRun, expected: { code?: string; mentions: string[] }): void {
  expect(run.code, `exit code; stderr: ${run.stderr}`).toBe(1);
  expect(run.stderr.endsWith('\n'), `stderr ends with a newline: ${JSON.stringify(run.stderr)}`).toBe(true);
  const lines = run.stderr.slice(0, -1).split('\n');
  expect(lines, 'stderr lines').toHaveLength(1);
  const match = /^rat: ([A-Z_]+): (.+)$/.exec(lines[0]!);
  expect(match, `stderr format: ${lines[0]}`).not.toBeNull();
  if (expected.code) expect(match![1]).toBe(expected.code);
  for (const mention of expected.mentions) expect(lines[0]).toContain(mention);
  expect(run.stdout).toBe('');
}

/** Every file under a directory with its size, so any new, removed or rewritten file shows. */
async function fileTree(root: string): Promise<Record<string, number>> {
  const tree: Record<string, number> = {};
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else tree[path.relative(root, full)] = (await stat(full)).size;
    }
  }
  await walk(root);
  return tree;
}

interface TableState {
  metadataLocation: string;
  snapshots: string[];
  currentSnapshotId: string | undefined;
  schema: string;
  rows: Record<string, Json>[];
}

async function tableState(lake: Lakehouse, table: string): Promise<TableState> {
  const described = await lake.describeTable(table);
  return {
    metadataLocation: described.metadataLocation,
    snapshots: (await lake.snapshots(table)).map((s) => String(s.snapshotId)),
    currentSnapshotId: described.currentSnapshotId === undefined ? undefined : String(described.currentSnapshotId),
    schema: JSON.stringify(described.schema),
    rows: await lake.query(`SELECT * FROM ${table} ORDER BY ALL`),
  };
}

async function rejection(run: Promise<unknown>): Promise<RatError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e as RatError,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

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

describe('corrupt and unsupported metadata', () => {
  let home: string;
  /** Opened before any file is damaged: it holds the good state to compare with. */
  let setup: Lakehouse;
  const states = new Map<string, TableState>();
  const originals = new Map<string, Buffer>();

  const tables = ['bronze.good', 'bronze.meta_junk', 'bronze.meta_v3', 'bronze.list_junk', 'bronze.manifest_cut', 'bronze.manifest_v3'];

  async function metadataJson(table: string): Promise<{ file: string; json: Record<string, unknown> }> {
    const file = fileURLToPath((await setup.describeTable(table)).metadataLocation);
    return { file, json: JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> };
  }

  /** Replaces a file's bytes, keeping the original to put back. */
  async function damage(file: string, bytes: string | Buffer): Promise<void> {
    if (!originals.has(file)) originals.set(file, await readFile(file));
    await writeFile(file, bytes);
  }

  let files: { metaJunk: string; metaV3: string; manifestList: string; manifest: string; manifestV3: string };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'rat-corrupt-'));
    setup = await openLakehouse({ home, env: {}, threads: 2, ...catalogOptions(home) });
    for (const table of tables) {
      await setup.sql(`CREATE TABLE ${table} (id INT, s VARCHAR) PARTITIONED BY (s)`);
      await setup.sql(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b')`);
      await setup.sql(`INSERT INTO ${table} VALUES (3, 'a')`);
      states.set(table, await tableState(setup, table));
    }
    const junk = await metadataJson('bronze.meta_junk');
    const v3 = await metadataJson('bronze.meta_v3');
    const listed = await metadataJson('bronze.list_junk');
    const current = (listed.json.snapshots as { 'snapshot-id': number; 'manifest-list': string }[]).at(-1)!;
    const manifestOf = async (table: string): Promise<string> => {
      const dir = path.dirname((await metadataJson(table)).file);
      const manifests = (await readdir(dir)).filter((f) => f.endsWith('.avro') && !f.startsWith('snap-'));
      expect(manifests.length).toBeGreaterThan(0);
      return path.join(dir, manifests[0]!);
    };
    files = {
      metaJunk: junk.file,
      metaV3: v3.file,
      manifestList: fileURLToPath(current['manifest-list']),
      manifest: await manifestOf('bronze.manifest_cut'),
      manifestV3: await manifestOf('bronze.manifest_v3'),
    };
    await damage(files.metaJunk, '{ "format-version": 2, "table-uuid": ');
    await damage(files.metaV3, JSON.stringify({ ...v3.json, 'format-version': 3 }));
    await damage(files.manifestList, 'this is not an avro file');
    const manifestBytes = await readFile(files.manifest);
    await damage(files.manifest, manifestBytes.subarray(0, manifestBytes.length - 64));
    // The Avro header holds "format-version" -> "2" (zigzag lengths 14 and 1); make it "3" in place.
    const v3Bytes = Buffer.from(await readFile(files.manifestV3));
    const marker = Buffer.from('\x1cformat-version\x022', 'latin1');
    const at = v3Bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    v3Bytes[at + marker.length - 1] = '3'.charCodeAt(0);
    await damage(files.manifestV3, v3Bytes);
  });

  afterAll(async () => {
    await setup?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  // A fast append does not read existing manifests (spec: appends only add a manifest), so a cut manifest
  // stops reads and row-level changes; metadata and manifest lists stop every statement.
  const damaged: { table: string; file: () => string; code: string; mentions: string[]; write: string }[] = [
    { table: 'bronze.meta_junk', file: () => files.metaJunk, code: 'METADATA_CORRUPT', mentions: ['not valid JSON'], write: "INSERT INTO bronze.meta_junk VALUES (9, 'z')" },
    { table: 'bronze.meta_v3', file: () => files.metaV3, code: 'METADATA_UNSUPPORTED_VERSION', mentions: ['format-version 3'], write: "INSERT INTO bronze.meta_v3 VALUES (9, 'z')" },
    { table: 'bronze.list_junk', file: () => files.manifestList, code: 'METADATA_CORRUPT', mentions: ['not a valid Avro file'], write: "INSERT INTO bronze.list_junk VALUES (9, 'z')" },
    { table: 'bronze.manifest_cut', file: () => files.manifest, code: 'METADATA_CORRUPT', mentions: ['not a valid Avro file'], write: "UPDATE bronze.manifest_cut SET s = 'q' WHERE id = 1" },
    { table: 'bronze.manifest_v3', file: () => files.manifestV3, code: 'METADATA_UNSUPPORTED_VERSION', mentions: ['format-version "3"'], write: 'DELETE FROM bronze.manifest_v3 WHERE id = 2' },
  ];

  it.each(damaged)('$table: reads and writes fail naming the damaged file, and nothing is committed', async ({ table, file, code, mentions, write }) => {
    const treeBefore = await fileTree(path.join(home, 'warehouse'));
    for (const sql of [`SELECT * FROM ${table}`, write]) {
      expectOneLineError(await cli(home, ['sql', sql]), { code, mentions: [path.basename(file()), ...mentions] });
    }
    // The same process keeps answering for other tables after each failure.
    const lake = await openLakehouse({ home, env: {}, threads: 1, ...catalogOptions(home) });
    try {
      const statements = [`SELECT * FROM ${table}`, `UPDATE ${table} SET s = 'q' WHERE id = 1`, `DELETE FROM ${table} WHERE id = 2`, `MERGE INTO ${table} t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE`];
      for (const sql of statements) {
        const error = await rejection(lake.sql(sql));
        expect(error.code, sql).toBe(code);
        expect(error.message, sql).toContain(file());
        expect(await lake.query('SELECT id FROM bronze.good ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
      }
    } finally {
      await lake.close();
    }
    // No metadata, manifest or data file was added, not even an unreferenced one.
    expect(await fileTree(path.join(home, 'warehouse'))).toEqual(treeBefore);
  });

  it('the CLI still lists every table and serves the good one while others are damaged', async () => {
    const listing = await cli(home, ['--json', 'tables']);
    expect(listing.code, listing.stderr).toBe(0);
    const listed = JSON.parse(listing.stdout) as { namespace: string; table: string; records: string | null; error?: string | null }[];
    expect(listed.map((t) => `${t.namespace}.${t.table}`).sort()).toEqual([...tables].sort());
    expect(listed.find((t) => t.table === 'good')).toMatchObject({ records: '3', error: null });
    expect(listed.find((t) => t.table === 'meta_junk')).toMatchObject({ records: null, error: expect.stringContaining(path.basename(files.metaJunk)) });
    expect(listed.find((t) => t.table === 'meta_v3')?.error).toMatch(/^METADATA_UNSUPPORTED_VERSION: /);
    const good = await cli(home, ['--json', 'sql', 'SELECT id, s FROM bronze.good ORDER BY id']);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual([
      { id: 1, s: 'a' },
      { id: 2, s: 'b' },
      { id: 3, s: 'a' },
    ]);
  });

  it('registering a corrupt or format-version 3 metadata file fails naming it and registers nothing', async () => {
    const corrupt = path.join(home, 'elsewhere', 'corrupt.metadata.json');
    const v3 = path.join(home, 'elsewhere', 'v3.metadata.json');
    const missingField = path.join(home, 'elsewhere', 'no-schemas.metadata.json');
    const { json } = await metadataJson('bronze.good');
    await mkdir(path.dirname(corrupt), { recursive: true });
    await writeFile(corrupt, '\u0000\u0001 definitely not json');
    await writeFile(v3, JSON.stringify({ ...json, 'format-version': 3 }));
    const { schemas: _schemas, ...withoutSchemas } = json;
    await writeFile(missingField, JSON.stringify(withoutSchemas));

    const tablesBefore = await setup.listTables();
    expectOneLineError(await cli(home, ['table', 'register', 'bronze.reg_corrupt', corrupt]), { code: 'METADATA_CORRUPT', mentions: [corrupt] });
    expectOneLineError(await cli(home, ['table', 'register', 'bronze.reg_v3', v3]), { code: 'METADATA_UNSUPPORTED_VERSION', mentions: [v3, 'format-version 3'] });
    expectOneLineError(await cli(home, ['table', 'register', 'bronze.reg_partial', missingField]), { code: 'METADATA_CORRUPT', mentions: [missingField, '"schemas"'] });
    expectOneLineError(await cli(home, ['table', 'register', 'bronze.reg_missing', path.join(home, 'nowhere.metadata.json')]), { mentions: ['nowhere.metadata.json'] });
    expect(await setup.listTables()).toEqual(tablesBefore);

    const error = await rejection(setup.registerTable('bronze.reg_v3', v3));
    expect(error.code).toBe('METADATA_UNSUPPORTED_VERSION');
    expect(error.message).toContain(v3);
    expect(await setup.listTables()).toEqual(tablesBefore);
    // The instance that saw the failure answers queries on good tables.
    expect(await setup.query('SELECT count(*) AS n FROM bronze.good')).toEqual([{ n: 3 }]);
  });

  it('putting the original bytes back restores every table exactly: no pointer moved', async () => {
    for (const [file, bytes] of originals) await writeFile(file, bytes);
    const lake = await openLakehouse({ home, env: {}, threads: 1, ...catalogOptions(home) });
    try {
      for (const table of tables) expect(await tableState(lake, table), table).toEqual(states.get(table));
    } finally {
      await lake.close();
    }
  });
});
