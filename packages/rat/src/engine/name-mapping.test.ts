/**
 * Data files without Parquet field ids, as PyIceberg's and Spark's add_files register them, read
 * through the table property `schema.name-mapping.default` (spec "Column Projection", rule 2; Appendix
 * C "Name Mapping Serialization") before and after the schema changes.
 */
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogOptions } from '../catalog/test-support/test-catalog.js';
import { newUuid } from '../core/ids.js';
import { currentSchema } from '../iceberg/metadata.js';
import { nextMetadata } from '../iceberg/snapshot-producer.js';
import type { DataFile, StructField } from '../iceberg/types.js';
import { openDuckDb, quoteString, type DuckDb } from './duckdb.js';
import { openLakehouse, type Lakehouse } from './lakehouse.js';
import { dataFileFromParquet } from './parquet-stats.js';
import { commitPositionDeletes } from './test-support/position-deletes.js';

const TABLES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/', import.meta.url));

describe('files without field ids, read through schema.name-mapping.default', () => {
  let home: string;
  let rat: Lakehouse;
  let db: DuckDb;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-namemap-'));
    rat = await openLakehouse({ home, threads: 2, ...catalogOptions(home) });
    db = await openDuckDb({ threads: 1 });
  });
  afterAll(async () => {
    db?.close();
    await rat?.close();
    await rm(home, { recursive: true, force: true });
  });

  /** Writes `select` as plain Parquet (no FIELD_IDS, as another engine would) and appends it to the table, as add_files does. */
  async function addPlainFile(table: string, select: string): Promise<DataFile> {
    return addFile(table, (localPath) => db.run(`COPY (${select}) TO ${quoteString(localPath)} (FORMAT parquet)`));
  }

  /** Appends the Parquet file `write` puts at the path it is given, as add_files does. */
  async function addFile(table: string, write: (localPath: string) => Promise<unknown>): Promise<DataFile> {
    const base = await rat.loadTable(table);
    const staging = await rat.store.stagingDir();
    try {
      const localPath = join(staging, 'plain.parquet');
      await write(localPath);
      expect(await fieldIdsOf(localPath)).toEqual([]);
      const key = `${rat.store.keyOf(base.metadata.location)!}/data/${newUuid()}-plain.parquet`;
      await rat.store.putFile(key, localPath);
      const size = (await stat(localPath)).size;
      const dataFile = await dataFileFromParquet(db, { localPath, filePath: rat.store.uri(key), fileSizeInBytes: size, schema: currentSchema(base.metadata), partition: {} });
      await rat.executor.writer.commitChange(base, { operation: 'append', addedDataFiles: [dataFile] });
      return dataFile;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async function fieldIdsOf(localPath: string): Promise<unknown[]> {
    return (await db.rows<{ field_id: unknown }>(`SELECT field_id FROM parquet_schema(${quoteString(localPath)}) WHERE field_id IS NOT NULL`)).map((r) => r.field_id);
  }

  async function rows(sql: string): Promise<unknown[][]> {
    const last = (await rat.sql(sql)).at(-1);
    if (last?.kind !== 'rows') throw new Error(`expected rows from: ${sql}`);
    return last.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  }

  async function fieldIds(table: string): Promise<Record<string, number>> {
    const ids: Record<string, number> = {};
    const walk = (fields: StructField[], prefix: string): void => {
      for (const f of fields) {
        ids[prefix + f.name] = f.id;
        if (typeof f.type !== 'string' && f.type.type === 'struct') walk(f.type.fields, `${prefix}${f.name}.`);
      }
    };
    walk((await rat.describeTable(table)).schema.fields, '');
    return ids;
  }

  function setMapping(table: string, mapping: unknown): Promise<unknown> {
    return rat.sql(`ALTER TABLE ${table} SET TBLPROPERTIES ('schema.name-mapping.default' = ${quoteString(JSON.stringify(mapping))})`);
  }

  it('reads by name before and after ADD COLUMN and RENAME COLUMN, an alias in names, mixed with files rat wrote', async () => {
    await rat.sql('CREATE TABLE bronze.imported (id BIGINT, name VARCHAR, score DOUBLE)');
    await setMapping('bronze.imported', [
      { 'field-id': 1, names: ['id', 'record_id'] },
      { 'field-id': 2, names: ['name'] },
      { 'field-id': 3, names: ['score'] },
      { names: ['ignored'] },
    ]);
    await addPlainFile('bronze.imported', `SELECT * FROM (VALUES (1::BIGINT, 'a', 1.5::DOUBLE), (2, 'b', NULL)) t(id, name, score)`);
    // Another import: the id column under an alias, columns in another order, an int where the table has a long, a column the schema lacks.
    await addPlainFile('bronze.imported', `SELECT * FROM (VALUES (2.5::DOUBLE, 'c', 3::INTEGER, 'x')) t(score, name, record_id, ignored)`);
    expect(await rows('SELECT * FROM bronze.imported ORDER BY id')).toEqual([
      [1, 'a', 1.5],
      [2, 'b', null],
      [3, 'c', 2.5],
    ]);

    await rat.sql('ALTER TABLE bronze.imported ADD COLUMN city VARCHAR');
    expect(await rows('SELECT * FROM bronze.imported ORDER BY id')).toEqual([
      [1, 'a', 1.5, null],
      [2, 'b', null, null],
      [3, 'c', 2.5, null],
    ]);

    await rat.sql('ALTER TABLE bronze.imported RENAME COLUMN name TO full_name');
    await rat.sql(`INSERT INTO bronze.imported VALUES (4, 'd', 4.5, 'oslo')`);
    expect(await rows('SELECT * FROM bronze.imported ORDER BY id')).toEqual([
      [1, 'a', 1.5, null],
      [2, 'b', null, null],
      [3, 'c', 2.5, null],
      [4, 'd', 4.5, 'oslo'],
    ]);
    expect(await rows(`SELECT id FROM bronze.imported WHERE full_name IN ('a', 'c', 'd') AND city IS NULL ORDER BY id`)).toEqual([[1], [3]]);
    expect(await rows('SELECT count(*), sum(score) FROM bronze.imported')).toEqual([[4, 8.5]]);
    // A time-travel read of the first snapshot still reads its file under the schema of then.
    const first = (await rat.loadTable('bronze.imported')).metadata.snapshots[0]!;
    expect(await rows(`SELECT * FROM bronze.imported AT (VERSION => ${first.snapshotId}) ORDER BY id`)).toEqual([
      [1, 'a', 1.5],
      [2, 'b', null],
    ]);
  });

  it('DELETE and UPDATE rewrite files without field ids into files with them; a position delete applies to a mapped file', async () => {
    await rat.sql('CREATE TABLE bronze.deletes (id BIGINT, name VARCHAR)');
    await setMapping('bronze.deletes', [
      { 'field-id': 1, names: ['id'] },
      { 'field-id': 2, names: ['name'] },
    ]);
    const plain = await addPlainFile('bronze.deletes', `SELECT i::BIGINT AS id, chr(96 + i::INTEGER) AS name FROM range(1, 7) t(i)`);
    await rat.sql(`INSERT INTO bronze.deletes VALUES (7, 'g')`);
    await rat.sql('ALTER TABLE bronze.deletes ADD COLUMN n INTEGER');

    // A position delete (spec "Position Delete Files") for the rows at positions 1 and 3 of the plain file (ids 2 and 4).
    await commitPositionDeletes(rat, db, await rat.loadTable('bronze.deletes'), [
      { location: plain.filePath, pos: 1 },
      { location: plain.filePath, pos: 3 },
    ]);
    expect(await rows('SELECT * FROM bronze.deletes ORDER BY id')).toEqual([
      [1, 'a', null],
      [3, 'c', null],
      [5, 'e', null],
      [6, 'f', null],
      [7, 'g', null],
    ]);

    await rat.sql('DELETE FROM bronze.deletes WHERE id = 5');
    await rat.sql(`UPDATE bronze.deletes SET n = 10 WHERE id = 1`);
    expect(await rows('SELECT * FROM bronze.deletes ORDER BY id')).toEqual([
      [1, 'a', 10],
      [3, 'c', null],
      [6, 'f', null],
      [7, 'g', null],
    ]);
    // The plain file is gone from the table: rat's rewrite of its rows stores field ids.
    const table = await rat.loadTable('bronze.deletes');
    const { scan } = await rat.executor.reader.plan(table);
    expect(scan.tasks.map((t) => t.dataFile.filePath)).not.toContain(plain.filePath);
    for (const task of scan.tasks) {
      expect((await fieldIdsOf(await rat.store.localPath(rat.store.keyOf(task.dataFile.filePath)!))).length, task.dataFile.filePath).toBeGreaterThan(0);
    }
  });

  it('nested: a struct with renamed and aliased children, a list of structs, a map of structs', async () => {
    await rat.sql(`CREATE TABLE bronze.nested (id BIGINT, location STRUCT(latitude DOUBLE, longitude DOUBLE), stops STRUCT(name VARCHAR, minutes INTEGER)[], tags MAP(VARCHAR, STRUCT(weight DOUBLE)))`);
    const described = await rat.describeTable('bronze.nested');
    const [, location, stops, tags] = described.schema.fields as [StructField, StructField, StructField, StructField];
    if (typeof location.type === 'string' || location.type.type !== 'struct') throw new Error('location is a struct');
    if (typeof stops.type === 'string' || stops.type.type !== 'list' || typeof stops.type.element === 'string' || stops.type.element.type !== 'struct') throw new Error('stops is a list of structs');
    if (typeof tags.type === 'string' || tags.type.type !== 'map' || typeof tags.type.value === 'string' || tags.type.value.type !== 'struct') throw new Error('tags is a map of structs');
    const [lat, long] = location.type.fields as [StructField, StructField];
    const [stopName, stopMinutes] = stops.type.element.fields as [StructField, StructField];
    const [weight] = tags.type.value.fields as [StructField];
    await setMapping('bronze.nested', [
      { 'field-id': 1, names: ['id'] },
      {
        'field-id': location.id,
        names: ['loc'],
        fields: [
          { 'field-id': lat.id, names: ['latitude', 'lat'] },
          { 'field-id': long.id, names: ['longitude', 'long'] },
        ],
      },
      { 'field-id': stops.id, names: ['stops'], fields: [{ 'field-id': stops.type.elementId, names: ['element'], fields: [{ 'field-id': stopName.id, names: ['stop'] }, { 'field-id': stopMinutes.id, names: ['minutes'] }] }] },
      { 'field-id': tags.id, names: ['tags'], fields: [{ 'field-id': tags.type.keyId, names: ['key'] }, { 'field-id': tags.type.valueId, names: ['value'], fields: [{ 'field-id': weight.id, names: ['w'] }] }] },
    ]);
    await addPlainFile(
      'bronze.nested',
      `SELECT 1::BIGINT AS id, {'lat': 59.9::DOUBLE, 'long': 10.7::DOUBLE} AS loc, [{'stop': 'a', 'minutes': 3::INTEGER}, {'stop': 'b', 'minutes': NULL::INTEGER}] AS stops, MAP {'x': {'w': 0.5::DOUBLE}} AS tags
       UNION ALL SELECT 2, NULL, NULL, NULL`,
    );
    const expected = [
      [1, { latitude: 59.9, longitude: 10.7 }, [{ name: 'a', minutes: 3 }, { name: 'b', minutes: null }], [{ key: 'x', value: { weight: 0.5 } }]],
      [2, null, null, null],
    ];
    expect(await rows('SELECT id, location, stops, tags FROM bronze.nested ORDER BY id')).toEqual(expected);
    await rat.sql('ALTER TABLE bronze.nested ADD COLUMN note VARCHAR');
    expect(await rows('SELECT id, location, stops, tags, note FROM bronze.nested ORDER BY id')).toEqual(expected.map((r) => [...r, null]));
    expect(await rows('SELECT location.latitude, stops[1].name FROM bronze.nested WHERE id = 1')).toEqual([[59.9, 'a']]);
  });

  it('files of one shape share a read_parquet; a file of another shape reads on its own', async () => {
    await rat.sql('CREATE TABLE bronze.shapes (id BIGINT, point STRUCT(x DOUBLE))');
    const ids = await fieldIds('bronze.shapes');
    await setMapping('bronze.shapes', [
      { 'field-id': ids['id'], names: ['id'] },
      { 'field-id': ids['point'], names: ['point'], fields: [{ 'field-id': ids['point.x'], names: ['x'] }] },
    ]);
    await addPlainFile('bronze.shapes', `SELECT 1::BIGINT AS id, {'x': 1.5::DOUBLE} AS point`);
    await addPlainFile('bronze.shapes', `SELECT 2::BIGINT AS id, {'x': 2.5::DOUBLE} AS point`);
    // The same projection, but the struct has one more child, and id is an INTEGER.
    await addPlainFile('bronze.shapes', `SELECT 3::INTEGER AS id, {'x': 3.5::DOUBLE, 'y': 0.0::DOUBLE} AS point`);
    await rat.sql(`INSERT INTO bronze.shapes VALUES (4, {'x': 4.5})`);
    const { sql } = await rat.executor.reader.plan(await rat.loadTable('bronze.shapes'));
    expect(sql.match(/read_parquet\(/g)).toHaveLength(3);
    expect(await rows('SELECT id, point.x FROM bronze.shapes ORDER BY id')).toEqual([
      [1, 1.5],
      [2, 2.5],
      [3, 3.5],
      [4, 4.5],
    ]);
  });

  it('ALTER TABLE keeps the mapping in step: a file imported after a RENAME under the new name, or with an added column, reads', async () => {
    await rat.sql('CREATE TABLE bronze.evolving (id BIGINT, name VARCHAR)');
    await setMapping('bronze.evolving', [
      { 'field-id': 1, names: ['id'] },
      { 'field-id': 2, names: ['name'] },
    ]);
    await addPlainFile('bronze.evolving', `SELECT 1::BIGINT AS id, 'old' AS name`);
    await rat.sql('ALTER TABLE bronze.evolving RENAME COLUMN name TO label');
    await rat.sql('ALTER TABLE bronze.evolving ADD COLUMN city VARCHAR');
    expect((await rat.loadTable('bronze.evolving')).metadata.properties['schema.name-mapping.default']).toBe(
      '[{"names":["id"],"field-id":1},{"names":["name","label"],"field-id":2},{"names":["city"],"field-id":3}]',
    );
    await addPlainFile('bronze.evolving', `SELECT 2::BIGINT AS id, 'new' AS label, 'oslo' AS city`);
    expect(await rows('SELECT * FROM bronze.evolving ORDER BY id')).toEqual([
      [1, 'old', null],
      [2, 'new', 'oslo'],
    ]);
  });

  it('a malformed mapping is refused when set, and fails a scan that needs it naming the table and the property', async () => {
    await rat.sql('CREATE TABLE bronze.malformed (id BIGINT, name VARCHAR)');
    await expect(rat.sql(`ALTER TABLE bronze.malformed SET TBLPROPERTIES ('schema.name-mapping.default' = '[{"field-id": 1}]')`)).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/bronze\.malformed.*schema\.name-mapping\.default.*\$\[0\]\.names/),
    });
    await expect(rat.sql(`ALTER TABLE bronze.malformed SET TBLPROPERTIES ('schema.name-mapping.default' = '{oops')`)).rejects.toMatchObject({ code: 'INVALID_NAME_MAPPING' });
    await rat.sql(`INSERT INTO bronze.malformed VALUES (1, 'rat')`);
    // Another engine may have committed one: rat's own files (with field ids) still read; a file without them fails the scan.
    await rat.executor.writer.commitMetadata({ namespace: 'bronze', name: 'malformed' }, (base) => ({
      ...nextMetadata(base.metadata, base.metadataLocation),
      properties: { ...base.metadata.properties, 'schema.name-mapping.default': '[{"field-id": "one", "names": ["id"]}]' },
    }));
    expect(await rows('SELECT * FROM bronze.malformed')).toEqual([[1, 'rat']]);
    await addPlainFile('bronze.malformed', `SELECT 2::BIGINT AS id, 'plain' AS name`);
    await expect(rat.sql('SELECT * FROM bronze.malformed')).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/table bronze\.malformed: property schema\.name-mapping\.default .*\$\[0\]\.field-id must be an integer, found "one"/),
    });
    await setMapping('bronze.malformed', [
      { 'field-id': 1, names: ['id'] },
      { 'field-id': 2, names: ['name'] },
    ]);
    expect(await rows('SELECT * FROM bronze.malformed ORDER BY id')).toEqual([
      [1, 'rat'],
      [2, 'plain'],
    ]);
  });

  it('a file column whose kind differs from the mapped field fails with the file and column named', async () => {
    await rat.sql('CREATE TABLE bronze.kinds (id BIGINT, point STRUCT(x DOUBLE))');
    const ids = await fieldIds('bronze.kinds');
    await setMapping('bronze.kinds', [
      { 'field-id': ids['id'], names: ['id'] },
      { 'field-id': ids['point'], names: ['point'], fields: [{ 'field-id': ids['point.x'], names: ['x'] }] },
    ]);
    await addPlainFile('bronze.kinds', `SELECT 1::BIGINT AS id, 2.0::DOUBLE AS point`);
    await expect(rat.sql('SELECT * FROM bronze.kinds')).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/table bronze\.kinds, data file .*plain\.parquet: column "point" is a primitive in the file, but the name mapping gives it to point, a struct/),
    });
  });

  /** A table of one column `v` of `type`, mapped by name, with one plain file holding `select` as `v`. */
  async function oneColumnTable(table: string, type: string, select: string): Promise<void> {
    await rat.sql(`CREATE TABLE ${table} (v ${type})`);
    const ids = await fieldIds(table);
    const v = ids['v'];
    const mapping: unknown[] = [{ 'field-id': v, names: ['v'] }];
    const schemaType = (await rat.describeTable(table)).schema.fields[0]!.type;
    if (typeof schemaType !== 'string' && schemaType.type === 'list') mapping[0] = { 'field-id': v, names: ['v'], fields: [{ 'field-id': schemaType.elementId, names: ['element'] }] };
    if (typeof schemaType !== 'string' && schemaType.type === 'map') {
      mapping[0] = { 'field-id': v, names: ['v'], fields: [{ 'field-id': schemaType.keyId, names: ['key'] }, { 'field-id': schemaType.valueId, names: ['value'] }] };
    }
    await setMapping(table, mapping);
    await addFile(table, (localPath) => db.run(`COPY (SELECT ${select} AS v) TO ${quoteString(localPath)} (FORMAT parquet)`));
  }

  it.each([
    ['int', 'BIGINT', '1::TINYINT', 1],
    ['int to long', 'BIGINT', '7::INTEGER', 7],
    ['float to double', 'DOUBLE', '1.5::FLOAT', 1.5],
    ['decimal(5,2) to decimal(10,2)', 'DECIMAL(10,2)', '1.25::DECIMAL(5,2)', '1.25'],
    ['timestamp in ms', 'TIMESTAMP', "TIMESTAMP_MS '2024-01-01 01:02:03.456'", '2024-01-01 01:02:03.456'],
    ['timestamp in ns', 'TIMESTAMP', "TIMESTAMP_NS '2024-01-01 01:02:03.456789'", '2024-01-01 01:02:03.456789'],
    ['timestamp to timestamptz', 'TIMESTAMPTZ', "TIMESTAMP '2024-01-01 01:02:03'", '2024-01-01 01:02:03+00'],
    ['timestamptz', 'TIMESTAMPTZ', "TIMESTAMPTZ '2024-01-01 01:02:03+00'", '2024-01-01 01:02:03+00'],
    ['a BYTE_ARRAY without string annotation to string, as text', 'VARCHAR', "'caf\\xC3\\xA9'::BLOB", 'café'],
    ['a list of such BYTE_ARRAYs', 'VARCHAR[]', "['\\xC3\\xA9'::BLOB, NULL]", ['é', null]],
    ['a map with such BYTE_ARRAY values', 'MAP(VARCHAR, VARCHAR)', "MAP {'k': '\\xC3\\xA9'::BLOB}", [{ key: 'k', value: 'é' }]],
  ])('a file column reads as the table type where Iceberg allows it: %s', async (name, type, select, expected) => {
    const table = `bronze.ok_${Math.abs(hashOf(name))}`;
    await oneColumnTable(table, type, select);
    const [[value]] = (await rows(`SELECT v FROM ${table}`)) as [[unknown]];
    expect(typeof value === 'object' && value !== null ? JSON.parse(JSON.stringify(value)) : String(value)).toEqual(
      typeof expected === 'object' ? expected : String(expected),
    );
  });

  it.each([
    ['DOUBLE into int', 'INTEGER', '1.7::DOUBLE', 'DOUBLE', 'int'],
    ['long into int', 'INTEGER', '7::BIGINT', 'BIGINT', 'int'],
    ['a narrower scale', 'DECIMAL(10,2)', '1.2371::DECIMAL(10,4)', 'DECIMAL\\(10,4\\)', 'decimal\\(10, ?2\\)'],
    ['a wider precision', 'DECIMAL(5,2)', '1.25::DECIMAL(10,2)', 'DECIMAL\\(10,2\\)', 'decimal\\(5, ?2\\)'],
    ['a timestamp into date', 'DATE', "TIMESTAMP '2024-01-01 23:59:00'", 'TIMESTAMP', 'date'],
    ['a UTC-adjusted timestamp into timestamp', 'TIMESTAMP', "TIMESTAMPTZ '2024-01-01 23:59:00+00'", 'TIMESTAMP WITH TIME ZONE', 'timestamp'],
    ['DOUBLE into string', 'VARCHAR', '12.5::DOUBLE', 'DOUBLE', 'string'],
    ['text into boolean', 'BOOLEAN', "'yes'", 'VARCHAR', 'boolean'],
    ['a list element', 'INTEGER[]', '[1.5::DOUBLE]', 'DOUBLE', 'int'],
  ])('a file column of a type Iceberg does not read as the table type fails naming both: %s', async (name, type, select, fileType, tableType) => {
    const table = `bronze.bad_${Math.abs(hashOf(name))}`;
    await oneColumnTable(table, type, select);
    await expect(rat.sql(`SELECT * FROM ${table}`)).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(new RegExp(`^table ${table.replace('.', '\\.')}, data file .*plain\\.parquet: file column "v(\\.element)?" of type ${fileType} cannot be read as table column v(\\.element)? of type ${tableType};`)),
    });
  });

  it('a BYTE_ARRAY read as string that is not valid UTF-8 fails naming the table, file and column', async () => {
    await oneColumnTable('bronze.badutf8', 'VARCHAR', "'\\xFF'::BLOB");
    await expect(rat.sql('SELECT * FROM bronze.badutf8')).rejects.toThrow(
      /table bronze\.badutf8, data file .*plain\.parquet: file column "v" \(Parquet BYTE_ARRAY without a string annotation, read as the string column v\) holds a value that is not valid UTF-8/,
    );
  });

  it('a name reassigned to a field of another type by ALTER TABLE fails clearly for the old files (Java MappingUtil.update)', async () => {
    await rat.sql('CREATE TABLE bronze.reassigned (id INT, name VARCHAR)');
    await setMapping('bronze.reassigned', [
      { 'field-id': 1, names: ['id'] },
      { 'field-id': 2, names: ['name'] },
    ]);
    await addPlainFile('bronze.reassigned', `SELECT 1 AS id, 'a' AS name`);
    await rat.sql('ALTER TABLE bronze.reassigned RENAME COLUMN name TO title');
    await rat.sql('ALTER TABLE bronze.reassigned ADD COLUMN name INT');
    await expect(rat.sql('SELECT * FROM bronze.reassigned')).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/table bronze\.reassigned, data file .*: file column "name" of type VARCHAR cannot be read as table column name of type int/),
    });
    // Described from its manifests alone: the table can still be looked at (and fixed).
    expect(await rat.describeTable('bronze.reassigned')).toMatchObject({ dataFileCount: 1, recordCount: 1 });
  });

  it('a file whose column names differ only by case is refused naming both', async () => {
    await rat.sql('CREATE TABLE bronze.cases (lo INT, hi INT)');
    await setMapping('bronze.cases', [
      { 'field-id': 1, names: ['qqqq'] },
      { 'field-id': 2, names: ['QQQQ'] },
    ]);
    // DuckDB cannot write such a file; rename a column in the footer's bytes (same length, so offsets hold).
    await addFile('bronze.cases', async (localPath) => {
      await db.run(`COPY (SELECT 1 AS qqqq, 2 AS rrrr) TO ${quoteString(localPath)} (FORMAT parquet)`);
      const bytes = await readFile(localPath);
      await writeFile(localPath, Buffer.from(bytes.toString('latin1').replaceAll('rrrr', 'QQQQ'), 'latin1'));
    });
    await expect(rat.sql('SELECT * FROM bronze.cases')).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/table bronze\.cases, data file .*plain\.parquet: the file has columns "qqqq" and "QQQQ", whose names differ only by case/),
    });
  });

  it('a mapping with a name twice among siblings, or a field id twice, is refused when set and fails a scan that needs it', async () => {
    await rat.sql('CREATE TABLE bronze.dups (a INT, b INT)');
    await expect(setMapping('bronze.dups', [{ 'field-id': 1, names: ['a'] }, { 'field-id': 2, names: ['a', 'b'] }])).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/the name "a" is under both \$\[0\] and \$\[1\]/),
    });
    await expect(setMapping('bronze.dups', [{ 'field-id': 1, names: ['a'] }, { 'field-id': 1, names: ['x'] }, { 'field-id': 2, names: ['b'] }])).rejects.toMatchObject({
      code: 'INVALID_NAME_MAPPING',
      message: expect.stringMatching(/field-id 1 is given to both \$\[0\] and \$\[1\]/),
    });
    await rat.executor.writer.commitMetadata({ namespace: 'bronze', name: 'dups' }, (base) => ({
      ...nextMetadata(base.metadata, base.metadataLocation),
      properties: { ...base.metadata.properties, 'schema.name-mapping.default': '[{"field-id": 1, "names": ["a"]}, {"field-id": 2, "names": ["a", "b"]}]' },
    }));
    await addPlainFile('bronze.dups', `SELECT 1 AS a, 2 AS b`);
    await expect(rat.sql('SELECT * FROM bronze.dups')).rejects.toMatchObject({ code: 'INVALID_NAME_MAPPING', message: expect.stringMatching(/table bronze\.dups: .*the name "a"/) });
  });

  it('without a mapping, a file without field ids reads by name while every schema reads alike, as NULLs after (spec rule 4), until one is set', async () => {
    await rat.sql('CREATE TABLE bronze.unmapped (id BIGINT, name VARCHAR)');
    await addPlainFile('bronze.unmapped', `SELECT 1::BIGINT AS id, 'a' AS name`);
    expect(await rows('SELECT * FROM bronze.unmapped')).toEqual([[1, 'a']]);
    await rat.sql('ALTER TABLE bronze.unmapped ADD COLUMN city VARCHAR');
    expect(await rows('SELECT * FROM bronze.unmapped')).toEqual([[null, null, null]]);
    await setMapping('bronze.unmapped', [
      { 'field-id': 1, names: ['id'] },
      { 'field-id': 2, names: ['name'] },
    ]);
    expect(await rows('SELECT * FROM bronze.unmapped')).toEqual([[1, 'a', null]]);
  });

  it('column_mapping (PyIceberg add_files, nested map, list and struct): the same rows after ADD COLUMN', async () => {
    const copy = join(home, 'column_mapping');
    await cp(join(TABLES, 'column_mapping'), join(copy, 'column_mapping'), { recursive: true });
    await rat.registerTable('bronze.column_mapping', join(copy, 'column_mapping/warehouse/default.db/my_table/metadata/00001-75643dae-a7a7-46ae-ab30-ea80d3793f3f.metadata.json'), {
      pathMap: [{ from: 'data/persistent/', to: `${copy}/` }],
    });
    const expected = [
      [1, 'Alice', 25, [{ key: 'height', value: '5.5' }, { key: 'weight', value: '130' }], [85, 90], { email: 'alice@example.com', verified: true }],
      [2, 'Bob', 30, [{ key: 'height', value: '6.0' }, { key: 'weight', value: '180' }], [78, 82, 88], { email: 'bob@example.com', verified: false }],
      [3, 'Charlie', 35, [{ key: 'height', value: '5.8' }, { key: 'weight', value: '160' }], [92], { email: 'charlie@example.com', verified: true }],
    ];
    expect(await rows('SELECT * FROM bronze.column_mapping ORDER BY id')).toEqual(expected);
    await rat.sql('ALTER TABLE bronze.column_mapping ADD COLUMN note VARCHAR');
    await rat.sql('ALTER TABLE bronze.column_mapping RENAME COLUMN age TO years');
    expect(await rows('SELECT * FROM bronze.column_mapping ORDER BY id')).toEqual(expected.map((r) => [...r, null]));
    expect(await rows('SELECT id FROM bronze.column_mapping WHERE years > 26 ORDER BY id')).toEqual([[2], [3]]);
  });
});

function hashOf(text: string): number {
  let hash = 0;
  for (const c of text) hash = (hash * 31 + c.charCodeAt(0)) | 0;
  return hash;
}
