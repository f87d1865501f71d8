import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lakehouse, openLakehouse } from './lakehouse.js';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';
import { BUILT_CLI, cli, expectOneLineError, fileTree, rejection, type TableState, tableState } from './test-support/bad-input-cli.js';
import { fileURLToPath } from 'node:url';

/**
 * Wrong input of every kind (unknown names, bad SQL, values a column cannot hold, invalid identifiers
 * and partitions, corrupt or unsupported metadata): the `rat` CLI exits non-zero with one line on
 * stderr naming the object and the offending value, and nothing is committed.
 */

beforeAll(() => {
  if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build before these tests`);
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
    const listed = JSON.parse(listing.stdout) as { namespace: string; table: string; records: number | null; error?: string | null }[];
    expect(listed.map((t) => `${t.namespace}.${t.table}`).sort()).toEqual([...tables].sort());
    expect(listed.find((t) => t.table === 'good')).toMatchObject({ records: 3, error: null });
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
