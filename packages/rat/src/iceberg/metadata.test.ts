import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExternalError } from '../core/errors.js';
import { parseJsonBigint, stringifyJsonBigint } from '../core/json.js';
import {
  currentSchema,
  currentSnapshot,
  defaultSpec,
  newTableMetadata,
  parseTableMetadata,
  schemaById,
  serializeTableMetadata,
  snapshotAsOf,
  snapshotById,
  specById,
  tableMetadataFromJson,
  tableMetadataToJson,
} from './metadata.js';
import type { Schema } from './types.js';

const REFERENCE = fileURLToPath(new URL('../../../../../shared/reference/iceberg/', import.meta.url));
const FIXTURES = join(REFERENCE, 'fixtures');
const TABLES = join(REFERENCE, 'tables');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const fixtureMetadata = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => join(FIXTURES, name))
  .filter((path) => 'format-version' in (parseJsonBigint(readFileSync(path, 'utf8')) as object));
const tableMetadata = walk(TABLES).filter((path) => /\/metadata\/[^/]+\.json$/.test(path));

function load(path: string) {
  return parseTableMetadata(readFileSync(path, 'utf8'), path);
}

function expectRoundTrip(path: string): void {
  const meta = load(path);
  const text = serializeTableMetadata(meta);
  expect(parseTableMetadata(text, `${path} (rewritten)`)).toEqual(meta);
}

describe('golden fixtures', () => {
  it('finds the table metadata fixtures', () => {
    expect(fixtureMetadata.map((path) => relative(FIXTURES, path)).sort()).toEqual([
      'TableMetadataV2Valid.json',
      'TableMetadataV2ValidMinimal.json',
      'example_table_metadata_v2.json',
    ]);
  });

  it.each(fixtureMetadata.map((path) => [relative(FIXTURES, path), path]))('%s loads and round-trips', (_name, path) => {
    expectRoundTrip(path);
  });

  it('converts TableMetadataV2Valid.json to the domain model', () => {
    const meta = load(join(FIXTURES, 'TableMetadataV2Valid.json'));
    expect(meta).toMatchObject({
      formatVersion: 2,
      tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
      location: 's3://bucket/test/location',
      lastSequenceNumber: 34,
      lastUpdatedMs: 1602638573590,
      lastColumnId: 3,
      currentSchemaId: 1,
      defaultSpecId: 0,
      lastPartitionId: 1000,
      defaultSortOrderId: 3,
      properties: {},
      currentSnapshotId: 3055729675574597004n,
    });
    expect(meta.schemas[1]).toEqual({
      type: 'struct',
      schemaId: 1,
      identifierFieldIds: [1, 2],
      fields: [
        { id: 1, name: 'x', required: true, type: 'long' },
        { id: 2, name: 'y', required: true, type: 'long', doc: 'comment' },
        { id: 3, name: 'z', required: true, type: 'long' },
      ],
    });
    expect(meta.partitionSpecs).toEqual([{ specId: 0, fields: [{ sourceId: 1, fieldId: 1000, name: 'x', transform: 'identity' }] }]);
    expect(meta.sortOrders).toEqual([
      {
        orderId: 3,
        fields: [
          { sourceId: 2, transform: 'identity', direction: 'asc', nullOrder: 'nulls-first' },
          { sourceId: 3, transform: 'bucket[4]', direction: 'desc', nullOrder: 'nulls-last' },
        ],
      },
    ]);
    expect(meta.snapshots).toEqual([
      { snapshotId: 3051729675574597004n, sequenceNumber: 0, timestampMs: 1515100955770, manifestList: 's3://a/b/1.avro', summary: { operation: 'append' } },
      {
        snapshotId: 3055729675574597004n,
        parentSnapshotId: 3051729675574597004n,
        sequenceNumber: 1,
        timestampMs: 1555100955770,
        manifestList: 's3://a/b/2.avro',
        summary: { operation: 'append' },
        schemaId: 1,
      },
    ]);
    expect(meta.snapshotLog).toEqual([
      { snapshotId: 3051729675574597004n, timestampMs: 1515100955770 },
      { snapshotId: 3055729675574597004n, timestampMs: 1555100955770 },
    ]);
    // Spec: there is always a main branch pointing at current-snapshot-id, even without refs.
    expect(meta.refs).toEqual({ main: { snapshotId: 3055729675574597004n, type: 'branch' } });
  });

  it('reads refs and the minimal fixture without optional fields', () => {
    const example = load(join(FIXTURES, 'example_table_metadata_v2.json'));
    expect(example.refs.test).toEqual({ snapshotId: 3051729675574597004n, type: 'tag', maxRefAgeMs: 10000000 });
    expect(example.metadataLog).toEqual([{ metadataFile: '{{ table_metadata_1_location }}', timestampMs: 1515100 }]);
    const minimal = load(join(FIXTURES, 'TableMetadataV2ValidMinimal.json'));
    expect(minimal.currentSnapshotId).toBeUndefined();
    expect(minimal).toMatchObject({ snapshots: [], snapshotLog: [], metadataLog: [], refs: {}, properties: {} });
  });

  it('writes the text the whole-document serializer writes, snapshots reused from earlier versions included', () => {
    for (const path of [...fixtureMetadata, ...tableMetadata]) {
      const meta = load(path);
      const whole = stringifyJsonBigint(tableMetadataToJson(meta), 2);
      expect(serializeTableMetadata(meta), path).toBe(whole);
      // The next version repeats the snapshots (cached texts now) and adds one with odd text in its summary.
      const added = { ...meta.snapshots[0]!, snapshotId: 2n ** 63n + 5n, summary: { operation: 'append' as const, 'rat.ingest.file': 'a "quoted"\nname, [1] {2}' } };
      const next = { ...meta, snapshots: [...meta.snapshots, ...(meta.snapshots.length > 0 ? [added] : [])] };
      expect(serializeTableMetadata(next), path).toBe(stringifyJsonBigint(tableMetadataToJson(next), 2));
      expect(parseTableMetadata(serializeTableMetadata(next), path).snapshots).toEqual(next.snapshots);
    }
  });

  it('writes every required v2 field in spec spelling, ids as plain JSON numbers', () => {
    const text = serializeTableMetadata(load(join(FIXTURES, 'TableMetadataV2Valid.json')));
    const json = JSON.parse(text) as Record<string, unknown>;
    for (const key of [
      'format-version',
      'table-uuid',
      'location',
      'last-sequence-number',
      'last-updated-ms',
      'last-column-id',
      'schemas',
      'current-schema-id',
      'partition-specs',
      'default-spec-id',
      'last-partition-id',
      'properties',
      'current-snapshot-id',
      'snapshots',
      'snapshot-log',
      'metadata-log',
      'sort-orders',
      'default-sort-order-id',
      'refs',
    ]) {
      expect(json).toHaveProperty([key]);
    }
    expect(json).not.toHaveProperty(['schema']);
    expect(json).not.toHaveProperty(['partition-spec']);
    expect(text).toContain('"current-snapshot-id": 3055729675574597004');
    expect(text).toContain('"snapshot-id": 3051729675574597004');
    expect(text).toContain('"parent-snapshot-id": 3051729675574597004');
    expect(text).toMatch(/"sequence-number": 1,\s+"timestamp-ms": 1555100955770,\s+"manifest-list": "s3:\/\/a\/b\/2.avro"/);
    expect(text).toContain('"schema-id": 1');
  });

  it('writes -1 for no current snapshot, as Java does for v1 and v2 tables', () => {
    const text = serializeTableMetadata(load(join(FIXTURES, 'TableMetadataV2ValidMinimal.json')));
    expect(text).toContain('"current-snapshot-id": -1');
  });
});

describe('tables written by Spark and PyIceberg', () => {
  it('finds every metadata file', () => {
    expect(tableMetadata.length).toBe(24);
  });

  it.each(tableMetadata.map((path) => [relative(TABLES, path), path]))('%s parses and round-trips', (_name, path) => {
    const meta = load(path);
    expect(currentSchema(meta).schemaId).toBe(meta.currentSchemaId);
    expectRoundTrip(path);
  });

  it('keeps a hand-written snapshot id above 2^63 - 1 exact', () => {
    const path = join(TABLES, 'equality_delete_cross_partition/warehouse/ns/t/metadata/vfinal.metadata.json');
    const meta = load(path);
    const big = 9876543210123456789n;
    expect(big > (1n << 63n) - 1n).toBe(true);
    expect(meta.currentSnapshotId).toBe(big);
    expect(meta.snapshots[1]?.snapshotId).toBe(big);
    expect(meta.refs.main).toEqual({ snapshotId: big, type: 'branch' });
    expect(currentSnapshot(meta)?.summary).toEqual({ operation: 'overwrite', 'added-delete-files': '1' });
    const text = serializeTableMetadata(meta);
    expect(text).toContain('"current-snapshot-id": 9876543210123456789');
    expect(text).not.toContain('"9876543210123456789"');
    expect(parseTableMetadata(text).currentSnapshotId).toBe(big);
  });

  it('makes every snapshot id a bigint, small ones too', () => {
    const meta = load(join(TABLES, 'partition_timestamp/default.db/partition_timestamp/metadata/00001-0c9938a5-103e-4185-b46d-331368ae4db7.metadata.json'));
    expect(meta.currentSnapshotId).toBe(2508913168551256223n);
    expect(typeof meta.snapshots[0]?.snapshotId).toBe('bigint');
    const small = parseTableMetadata(serializeTableMetadata({ ...meta, snapshots: [{ ...meta.snapshots[0]!, snapshotId: 7n }], currentSnapshotId: 7n, snapshotLog: [], refs: {} }));
    expect(small.currentSnapshotId).toBe(7n);
    expect(small.snapshots[0]?.snapshotId).toBe(7n);
  });

  it('reads -1 as no current snapshot and keeps decimal types (Java writer)', () => {
    const meta = load(join(TABLES, 'partition_decimal_integer/metadata/v1.metadata.json'));
    expect(meta.currentSnapshotId).toBeUndefined();
    expect(meta.refs).toEqual({});
    expect(currentSchema(meta).fields[0]?.type).toBe('decimal(8, 4)');
  });
});

describe('errors', () => {
  const valid = readFileSync(join(FIXTURES, 'TableMetadataV2Valid.json'), 'utf8');
  const withChange = (change: (json: Record<string, unknown>) => void): string => {
    const json = parseJsonBigint(valid) as Record<string, unknown>;
    change(json);
    return stringifyJsonBigint(json);
  };
  const FILE = 's3://bucket/t/metadata/v9.metadata.json';

  it.each([3, 7])('format-version %s -> METADATA_UNSUPPORTED_VERSION naming the file and version', (version) => {
    const text = withChange((json) => {
      json['format-version'] = version;
    });
    expect(() => parseTableMetadata(text, FILE)).toThrow(ExternalError);
    expect(() => parseTableMetadata(text, FILE)).toThrow(
      expect.objectContaining({
        code: 'METADATA_UNSUPPORTED_VERSION',
        message: `table metadata ${FILE} cannot be read: format-version ${version} is not supported (only 1 and 2)`,
      }),
    );
  });

  it('malformed JSON -> METADATA_CORRUPT naming the file', () => {
    const error = (() => {
      try {
        parseTableMetadata('{"format-version": 2,', FILE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ExternalError);
    expect(error).toMatchObject({ code: 'METADATA_CORRUPT', message: expect.stringContaining(`table metadata ${FILE} is not valid JSON`) });
    expect((error as Error).message).not.toContain('\n');
  });

  it('missing schemas -> METADATA_CORRUPT naming the file and the field', () => {
    const text = withChange((json) => {
      delete json.schemas;
    });
    expect(() => parseTableMetadata(text, FILE)).toThrow(
      expect.objectContaining({ code: 'METADATA_CORRUPT', message: `table metadata ${FILE} is corrupt: missing required field "schemas"` }),
    );
  });

  it.each([
    ['table-uuid', (j: Record<string, unknown>) => delete j['table-uuid'], 'missing required field "table-uuid"'],
    ['format-version', (j: Record<string, unknown>) => delete j['format-version'], 'missing required field "format-version"'],
    ['last-sequence-number', (j: Record<string, unknown>) => delete j['last-sequence-number'], 'missing required field "last-sequence-number"'],
    ['sort-orders', (j: Record<string, unknown>) => delete j['sort-orders'], 'missing required field "sort-orders"'],
    ['snapshot manifest-list', (j: Record<string, unknown>) => delete (j.snapshots as Record<string, unknown>[])[1]!['manifest-list'], 'missing required field "snapshots[1].manifest-list"'],
    ['schema-id type', (j: Record<string, unknown>) => ((j.schemas as Record<string, unknown>[])[0]!['schema-id'] = 'zero'), 'field "schemas[0].schema-id" must be an integer, got "zero"'],
    ['current-schema-id', (j: Record<string, unknown>) => (j['current-schema-id'] = 5), 'field "current-schema-id": no schema with id 5'],
    ['current-snapshot-id', (j: Record<string, unknown>) => (j['current-snapshot-id'] = 5), 'field "current-snapshot-id": no snapshot with id 5'],
    ['operation', (j: Record<string, unknown>) => ((j.snapshots as Record<string, unknown>[])[0]!.summary = { operation: 'merge' }), 'field "snapshots[0].summary.operation" must be'],
    ['refs main', (j: Record<string, unknown>) => (j.refs = { main: { 'snapshot-id': 3051729675574597004n, type: 'branch' } }), 'field "refs.main": snapshot 3051729675574597004 differs'],
  ])('%s -> METADATA_CORRUPT naming the field', (_name, change, message) => {
    const text = withChange(change);
    expect(() => parseTableMetadata(text, FILE)).toThrow(expect.objectContaining({ code: 'METADATA_CORRUPT', message: expect.stringContaining(`table metadata ${FILE} is corrupt: ${message}`) }));
  });

  it('an unknown transform is UNSUPPORTED, not corrupt', () => {
    const text = withChange((json) => {
      ((json['partition-specs'] as Record<string, unknown>[])[0]!.fields as Record<string, unknown>[])[0]!.transform = 'zorder';
    });
    expect(() => parseTableMetadata(text, FILE)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('"zorder"') }));
  });

  it('tableMetadataFromJson throws ValidationError for REST bodies', () => {
    expect(() => tableMetadataFromJson({ 'format-version': 2 })).toThrow(expect.objectContaining({ name: 'ValidationError', code: 'INVALID_ARGUMENT' }));
  });
});

describe('format-version 1', () => {
  const v1 = {
    'format-version': 1,
    location: 's3://bucket/test/location',
    'last-updated-ms': 1602638573874,
    'last-column-id': 3,
    schema: {
      type: 'struct',
      fields: [
        { id: 1, name: 'x', required: true, type: 'long' },
        { id: 2, name: 'y', required: true, type: 'long', doc: 'comment' },
        { id: 3, name: 'z', required: true, type: 'long' },
      ],
    },
    'partition-spec': [
      { name: 'x', transform: 'identity', 'source-id': 1 },
      { name: 'z_bucket', transform: 'bucket[8]', 'source-id': 3 },
    ],
    properties: {},
    'current-snapshot-id': 200,
    snapshots: [
      { 'snapshot-id': 100, 'timestamp-ms': 1515100955770, 'manifest-list': 's3://a/b/1.avro', summary: { operation: 'append' } },
      { 'snapshot-id': 200, 'parent-snapshot-id': 100, 'timestamp-ms': 1515100955780, 'manifest-list': 's3://a/b/2.avro' },
    ],
  };

  it('fills the v2 defaults of "Reading v1 metadata for v2"', () => {
    const meta = parseTableMetadata(JSON.stringify(v1), 'v1.metadata.json');
    expect(meta).toMatchObject({
      formatVersion: 1,
      tableUuid: '',
      lastSequenceNumber: 0,
      currentSchemaId: 0,
      defaultSpecId: 0,
      lastPartitionId: 1001,
      sortOrders: [{ orderId: 0, fields: [] }],
      defaultSortOrderId: 0,
      snapshotLog: [],
      metadataLog: [],
      refs: { main: { snapshotId: 200n, type: 'branch' } },
    });
    expect(meta.schemas).toHaveLength(1);
    expect(meta.schemas[0]?.schemaId).toBe(0);
    expect(meta.partitionSpecs).toEqual([
      {
        specId: 0,
        fields: [
          { sourceId: 1, fieldId: 1000, name: 'x', transform: 'identity' },
          { sourceId: 3, fieldId: 1001, name: 'z_bucket', transform: 'bucket[8]' },
        ],
      },
    ]);
    expect(meta.snapshots.map((s) => s.sequenceNumber)).toEqual([0, 0]);
    expect(meta.snapshots[1]?.summary).toEqual({ operation: 'overwrite' });
  });

  it('writes v1 back as v1, with the deprecated fields and without sequence numbers', () => {
    const meta = parseTableMetadata(JSON.stringify(v1));
    const json = JSON.parse(serializeTableMetadata(meta)) as Record<string, unknown>;
    expect(json['format-version']).toBe(1);
    expect(json).toHaveProperty(['schema']);
    expect(json['partition-spec']).toEqual([
      { name: 'x', transform: 'identity', 'source-id': 1, 'field-id': 1000 },
      { name: 'z_bucket', transform: 'bucket[8]', 'source-id': 3, 'field-id': 1001 },
    ]);
    expect(json).not.toHaveProperty(['last-sequence-number']);
    expect(json).not.toHaveProperty(['table-uuid']);
    expect((json.snapshots as object[])[0]).not.toHaveProperty(['sequence-number']);
    expect(parseTableMetadata(serializeTableMetadata(meta))).toEqual(meta);
  });

  it('refuses to write v2 without a table uuid', () => {
    const meta = parseTableMetadata(JSON.stringify(v1));
    expect(() => serializeTableMetadata({ ...meta, formatVersion: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('reports v1 snapshots with inline manifests as unsupported', () => {
    const text = JSON.stringify({ ...v1, 'current-snapshot-id': -1, snapshots: [{ 'snapshot-id': 1, 'timestamp-ms': 1, manifests: ['a.avro'] }] });
    expect(() => parseTableMetadata(text, 'v1.json')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('snapshots[0].manifests') }));
  });
});

describe('lookups', () => {
  const meta = load(join(FIXTURES, 'TableMetadataV2Valid.json'));

  it('finds schemas, specs and snapshots by id', () => {
    expect(currentSchema(meta).schemaId).toBe(1);
    expect(schemaById(meta, 0)?.fields).toHaveLength(1);
    expect(schemaById(meta, 9)).toBeUndefined();
    expect(specById(meta, 0)?.fields[0]?.name).toBe('x');
    expect(defaultSpec(meta).specId).toBe(0);
    expect(snapshotById(meta, 3051729675574597004n)?.manifestList).toBe('s3://a/b/1.avro');
    expect(snapshotById(meta, 1n)).toBeUndefined();
    expect(currentSnapshot(meta)?.snapshotId).toBe(3055729675574597004n);
  });

  it('time-travels by the snapshot log (Appendix F "Point in Time Reads")', () => {
    expect(snapshotAsOf(meta, 1515100955769)).toBeUndefined();
    expect(snapshotAsOf(meta, 1515100955770)?.snapshotId).toBe(3051729675574597004n);
    expect(snapshotAsOf(meta, 1555100955769)?.snapshotId).toBe(3051729675574597004n);
    expect(snapshotAsOf(meta, 1555100955770)?.snapshotId).toBe(3055729675574597004n);
    expect(snapshotAsOf(meta, Date.now())?.snapshotId).toBe(3055729675574597004n);
  });

  it('counts a current snapshot missing from the log at its own timestamp', () => {
    const cross = load(join(TABLES, 'equality_delete_cross_partition/warehouse/ns/t/metadata/vfinal.metadata.json'));
    expect(snapshotAsOf(cross, 1784900857112)?.snapshotId).toBe(4327154639183968397n);
    expect(snapshotAsOf(cross, 1784900858112)?.snapshotId).toBe(9876543210123456789n);
  });

  it('follows the equality_deletes history snapshot by snapshot', () => {
    const seven = load(join(TABLES, 'equality_deletes/warehouse/mydb/mytable/metadata/v7.metadata.json'));
    expect(seven.snapshots).toHaveLength(6);
    for (const entry of seven.snapshotLog) expect(snapshotAsOf(seven, entry.timestampMs)?.snapshotId).toBe(entry.snapshotId);
  });
});

describe('newTableMetadata', () => {
  const schema: Schema = {
    type: 'struct',
    schemaId: 5,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'name', required: false, type: 'string' },
      { id: 3, name: 'ts', required: false, type: 'timestamptz' },
      { id: 4, name: 'tags', required: false, type: { type: 'list', elementId: 6, elementRequired: false, element: 'string' } },
      { id: 5, name: 'price', required: false, type: 'double' },
    ],
  };

  it('creates an empty v2 table with partition field ids from 1000', () => {
    const meta = newTableMetadata({
      location: 's3://b/wh/ns/t',
      schema,
      spec: {
        fields: [
          { sourceId: 3, name: 'ts_day', transform: 'day' },
          { sourceId: 1, name: 'id_bucket', transform: 'bucket[16]' },
        ],
      },
      properties: { owner: 'rat' },
      tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
      lastUpdatedMs: 1700000000000,
    });
    expect(meta).toEqual({
      formatVersion: 2,
      tableUuid: '9c12d441-03fe-4693-9a96-a0705ddf69c1',
      location: 's3://b/wh/ns/t',
      lastSequenceNumber: 0,
      lastUpdatedMs: 1700000000000,
      lastColumnId: 6,
      schemas: [{ ...schema, schemaId: 0 }],
      currentSchemaId: 0,
      partitionSpecs: [
        {
          specId: 0,
          fields: [
            { sourceId: 3, fieldId: 1000, name: 'ts_day', transform: 'day' },
            { sourceId: 1, fieldId: 1001, name: 'id_bucket', transform: 'bucket[16]' },
          ],
        },
      ],
      defaultSpecId: 0,
      lastPartitionId: 1001,
      properties: { owner: 'rat' },
      snapshots: [],
      snapshotLog: [],
      metadataLog: [],
      sortOrders: [{ orderId: 0, fields: [] }],
      defaultSortOrderId: 0,
      refs: {},
    });
    expect(parseTableMetadata(serializeTableMetadata(meta))).toEqual(meta);
  });

  it('defaults to unpartitioned (last-partition-id 999) with a fresh uuid', () => {
    const meta = newTableMetadata({ location: 'file:///tmp/t', schema });
    expect(meta.partitionSpecs).toEqual([{ specId: 0, fields: [] }]);
    expect(meta.lastPartitionId).toBe(999);
    expect(meta.tableUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(meta.lastUpdatedMs).toBeGreaterThan(1_600_000_000_000);
  });

  it('rejects partition fields that do not fit the schema with INVALID_PARTITION', () => {
    const create = (fields: Array<{ sourceId: number; name: string; transform: 'year' | 'identity' | 'bucket[4]' | 'day' }>) => () =>
      newTableMetadata({ location: 'l', schema, spec: { fields } });
    expect(create([{ sourceId: 2, name: 'name_year', transform: 'year' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('cannot partition by year(name): column "name" is string') }),
    );
    expect(create([{ sourceId: 5, name: 'p', transform: 'bucket[4]' }])).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(create([{ sourceId: 9, name: 'x', transform: 'identity' }])).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('source column id 9') }));
    expect(create([{ sourceId: 6, name: 'tag', transform: 'identity' }])).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('inside a list or map') }));
    expect(
      create([
        { sourceId: 3, name: 'd', transform: 'day' },
        { sourceId: 1, name: 'd', transform: 'identity' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('"d" is used twice') }));
    expect(create([{ sourceId: 3, name: 'name', transform: 'day' }])).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('conflicts with column "name"') }));
    expect(create([{ sourceId: 2, name: 'name', transform: 'identity' }])).not.toThrow();
  });
});
