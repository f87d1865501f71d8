import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { avroMetadata, avroRead } from 'icebird';
import { describe, expect, it } from 'vitest';
import { isRatError } from '../core/errors.js';
import { manifestEntrySchema, type PartitionStructType } from './avro-schemas.js';
import { manifestFileFromEntries, readManifest, writeManifest, type ManifestContents, type ManifestWriteContext } from './manifest.js';
import { readManifestList, writeManifestList } from './manifest-list.js';
import type { DataFile, ManifestEntry, PartitionSpec } from './types.js';
import { encodeValue } from './values.js';

const REFERENCE = fileURLToPath(new URL('../../../../../shared/reference/iceberg/', import.meta.url));
const TABLES = join(REFERENCE, 'tables');

function listFiles(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && match(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function tableManifest(path: string): ManifestContents {
  const full = join(TABLES, path);
  return readManifest(new Uint8Array(readFileSync(full)), full);
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex');
}

function hexMap(map: Map<number, Uint8Array> | undefined): [number, string | undefined][] | undefined {
  return map === undefined ? undefined : [...map].map(([key, value]) => [key, hex(value)]);
}

/** The header as icebird reads it (its data reader has no fixed type, so not for every file). */
function readHeaderWithIcebird(bytes: Uint8Array): Record<string, unknown> {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  return avroMetadata(reader).metadata;
}

function readWithIcebird(bytes: Uint8Array): { metadata: Record<string, unknown>; records: Record<string, unknown>[] } {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const { metadata, syncMarker } = avroMetadata(reader);
  return { metadata, records: avroRead({ reader, metadata, syncMarker }) };
}

/** Writes a container file with avsc's own streaming encoder (a second, independent writer). */
async function writeWithAvsc(schema: object, records: unknown[], metadata: Record<string, string>): Promise<Uint8Array> {
  const encoder = new avro.streams.BlockEncoder(schema as avro.schema.AvroSchema, {
    codec: 'null',
    metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value)])),
  } as Partial<avro.EncoderOptions>);
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', () => resolve());
    encoder.on('error', reject);
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

function expectCorrupt(action: () => unknown, source: string): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(isRatError(thrown), String(thrown)).toBe(true);
  expect(thrown).toMatchObject({ code: 'METADATA_CORRUPT' });
  expect((thrown as Error).message).toContain(source);
}

describe('readManifest: tables written by Spark and PyIceberg', () => {
  const manifests = listFiles(TABLES, (name) => /-m\d+\.avro$/.test(name));

  it('finds the reference manifests', () => {
    expect(manifests.length).toBe(19);
  });

  it.each(manifests.map((path) => [relative(TABLES, path), path]))('reads %s', (_name, path) => {
    const manifest = readManifest(new Uint8Array(readFileSync(path)), path);
    expect(manifest.formatVersion).toBe(2);
    expect(manifest.specId).toBe(0);
    expect(manifest.schemaJson).toMatch(/^\{"type":\s*"struct"/);
    expect(manifest.entries.length).toBeGreaterThan(0);
    for (const entry of manifest.entries) {
      expect(entry.status).toBe(1);
      expect(entry.dataFile.filePath).toMatch(/^data\/persistent\/.*\.parquet$/);
      expect(entry.dataFile.fileFormat).toBe('PARQUET');
      expect(entry.dataFile.content === 0).toBe(manifest.content === 'data');
      expect(entry.dataFile.recordCount).toBeGreaterThan(0);
    }
  });

  it('equality_deletes/mytable: a Spark equality delete manifest (content 2, equality_ids, stats maps)', () => {
    const manifest = tableManifest('equality_deletes/warehouse/mydb/mytable/metadata/c4028cec-4266-45e9-bf74-77cbf1b55328-m0.avro');
    expect(manifest.content).toBe('deletes');
    expect(manifest.partitionSpecJson).toBe('[]');
    expect(manifest.entries).toEqual([
      {
        status: 1,
        snapshotId: 842401149381792626n,
        dataFile: {
          content: 2,
          filePath: 'data/persistent/equality_deletes/warehouse/mydb/mytable/data/delete-6b31fafe-0aa5-4197-b4e8-052dbc2afa98.parquet',
          fileFormat: 'PARQUET',
          partition: {},
          recordCount: 1,
          fileSizeInBytes: 706,
          columnSizes: new Map([
            [1, 45],
            [2, 46],
          ]),
          valueCounts: new Map([
            [1, 1],
            [2, 1],
          ]),
          nullValueCounts: new Map([
            [1, 0],
            [2, 0],
          ]),
          nanValueCounts: new Map(),
          lowerBounds: new Map([
            [1, Uint8Array.of(3, 0, 0, 0)],
            [2, Uint8Array.of(0x63)],
          ]),
          upperBounds: new Map([
            [1, Uint8Array.of(3, 0, 0, 0)],
            [2, Uint8Array.of(0x63)],
          ]),
          splitOffsets: [4],
          equalityIds: [1, 2],
          sortOrderId: 0,
        },
      },
    ]);
    const others = ['34f7dec7-90c5-4cd5-b158-5782b73fc010', '61648895-78fc-44d6-bf55-298a7614c4f8', '91bf4420-2bae-484f-b724-8184d56d3029'].map(
      (name) => tableManifest(`equality_deletes/warehouse/mydb/mytable/metadata/${name}-m0.avro`).entries[0]?.dataFile,
    );
    expect(others.map((file) => [file?.content, file?.equalityIds, hexMap(file?.lowerBounds)])).toEqual([
      [2, [2], [[2, '62']]], // name = 'b'
      [2, [2], [[2, '66']]], // name = 'f'
      [2, [1], [[1, '01000000']]], // id = 1
    ]);
  });

  it('equality_deletes/mytable: the data manifest leaves sequence numbers to inheritance', () => {
    const manifest = tableManifest('equality_deletes/warehouse/mydb/mytable/metadata/bcc5469e-83b4-4a41-be7e-af79ed029353-m0.avro');
    expect(manifest.content).toBe('data');
    const [entry] = manifest.entries;
    expect(entry?.sequenceNumber).toBeUndefined();
    expect(entry?.fileSequenceNumber).toBeUndefined();
    expect(entry?.snapshotId).toBe(853766660775201079n);
    expect(entry?.dataFile.recordCount).toBe(4);
    expect(entry?.dataFile.equalityIds).toBeUndefined();
    expect(hexMap(entry?.dataFile.upperBounds)).toEqual([
      [1, '04000000'],
      [2, '64'],
      [3, '7c4e0000'],
    ]);
  });

  it('equality_deletes/mytable_partitioned: identity(name) partition values keyed by partition field id', () => {
    const data = tableManifest('equality_deletes/warehouse/mydb/mytable_partitioned/metadata/2b5d4ce3-154e-4498-a648-89be96ebd74a-m0.avro');
    expect(data.partitionSpecJson).toBe('[{"name":"name","transform":"identity","source-id":2,"field-id":1000}]');
    expect(data.entries.map((entry) => entry.dataFile.partition)).toEqual([{ 1000: 'a' }, { 1000: 'b' }, { 1000: 'c' }, { 1000: 'd' }]);
    const deletes = tableManifest('equality_deletes/warehouse/mydb/mytable_partitioned/metadata/36f9b154-c2d2-411f-9f29-9d23d46d688b-m0.avro');
    expect(deletes.content).toBe('deletes');
    expect(deletes.entries.map((entry) => [entry.dataFile.content, entry.dataFile.partition, entry.dataFile.equalityIds])).toEqual([[2, { 1000: 'c' }, [2, 1]]]);
  });

  it('partition_decimal_integer: decimal(8, 4) identity partitions as unscaled bigint', () => {
    const manifest = tableManifest('partition_decimal_integer/metadata/701af831-4140-47e7-bd56-1a374428e380-m0.avro');
    expect(manifest.schemaJson).toContain('"decimal(8, 4)"');
    expect(manifest.entries.map((entry) => [entry.dataFile.filePath.split('/')[4], entry.dataFile.partition])).toEqual([
      ['partition_col=1234.5432', { 1000: 12345432n }],
      ['partition_col=1.2300', { 1000: 12300n }],
      ['partition_col=42.5630', { 1000: 425630n }],
    ]);
    expect(hexMap(manifest.entries[2]?.dataFile.lowerBounds)?.[0]).toEqual([1, '067e9e']);
  });

  it('partition_timestamp (PyIceberg): timestamp identity partitions as microseconds bigint', () => {
    const manifest = tableManifest('partition_timestamp/default.db/partition_timestamp/metadata/6b55fc2b-ce03-407e-9585-336c4675e611-m0.avro');
    expect(manifest.entries.map((entry) => entry.dataFile.partition)).toEqual([{ 1000: 1684161045000000n }, { 1000: 1692695720000000n }]);
    expect(manifest.entries[0]?.dataFile.sortOrderId).toBeUndefined();
    expect(manifest.entries[0]?.dataFile.splitOffsets).toEqual([4]);
  });

  it('equality_delete_cross_partition: hand-written long partition, long equality ids, explicit sequence number', () => {
    const manifest = tableManifest('equality_delete_cross_partition/warehouse/ns/t/metadata/70f6c185-6fa4-423d-83f6-105b51d9a46e-m0.avro');
    expect(manifest.entries).toEqual([
      {
        status: 1,
        snapshotId: 2n ** 64n - 653171173268680982n,
        sequenceNumber: 2,
        dataFile: {
          content: 2,
          filePath: 'data/persistent/equality_delete_cross_partition/warehouse/ns/t/data/part=0/eq-delete-71f65611-0c65-4565-9173-c885638427c1.parquet',
          fileFormat: 'PARQUET',
          partition: { 1000: 0n },
          recordCount: 1,
          fileSizeInBytes: 586,
          equalityIds: [2],
        },
      },
    ]);
  });

  it('null_stats: null stats maps are absent, bounds present', () => {
    const manifest = tableManifest('null_stats/default/test_nulls/metadata/9a932c99-3823-49c8-b9a2-ccbb8959f8d9-m0.avro');
    const file = manifest.entries[0]?.dataFile;
    expect(file?.columnSizes).toBeUndefined();
    expect(file?.nullValueCounts).toBeUndefined();
    expect(hexMap(file?.lowerBounds)).toEqual([
      [1, '01000000'],
      [2, '61'],
      [3, '0088506b99120600'],
      [4, '00'],
    ]);
  });
});

const spec: PartitionSpec = {
  specId: 4,
  fields: [
    { sourceId: 1, fieldId: 1000, name: 'id_bucket', transform: 'bucket[16]' },
    { sourceId: 2, fieldId: 1001, name: 'ts_day', transform: 'day' },
    { sourceId: 3, fieldId: 1002, name: 'big', transform: 'identity' },
    { sourceId: 4, fieldId: 1003, name: 'ts', transform: 'identity' },
    { sourceId: 5, fieldId: 1004, name: 'tstz', transform: 'identity' },
    { sourceId: 6, fieldId: 1005, name: 'price', transform: 'identity' },
    { sourceId: 7, fieldId: 1006, name: 'huge', transform: 'identity' },
    { sourceId: 8, fieldId: 1007, name: 'name', transform: 'truncate[4]' },
    { sourceId: 9, fieldId: 1008, name: 'uid', transform: 'identity' },
    { sourceId: 10, fieldId: 1009, name: 'flag', transform: 'identity' },
    { sourceId: 11, fieldId: 1010, name: 'blob', transform: 'identity' },
    { sourceId: 12, fieldId: 1011, name: 'code', transform: 'identity' },
    { sourceId: 13, fieldId: 1012, name: 'ratio', transform: 'identity' },
    { sourceId: 14, fieldId: 1013, name: 'f', transform: 'identity' },
    { sourceId: 15, fieldId: 1014, name: 'time', transform: 'identity' },
    { sourceId: 16, fieldId: 1015, name: 'tsns', transform: 'identity' },
    { sourceId: 17, fieldId: 1016, name: 'weird-name', transform: 'identity' },
    { sourceId: 6, fieldId: 1017, name: 'price2', transform: 'identity' },
  ],
};

const partitionType: PartitionStructType = {
  fields: [
    { fieldId: 1000, name: 'id_bucket', type: 'int' },
    { fieldId: 1001, name: 'ts_day', type: 'date' },
    { fieldId: 1002, name: 'big', type: 'long' },
    { fieldId: 1003, name: 'ts', type: 'timestamp' },
    { fieldId: 1004, name: 'tstz', type: 'timestamptz' },
    { fieldId: 1005, name: 'price', type: 'decimal(9, 2)' },
    { fieldId: 1006, name: 'huge', type: 'decimal(38, 10)' },
    { fieldId: 1007, name: 'name', type: 'string' },
    { fieldId: 1008, name: 'uid', type: 'uuid' },
    { fieldId: 1009, name: 'flag', type: 'boolean' },
    { fieldId: 1010, name: 'blob', type: 'binary' },
    { fieldId: 1011, name: 'code', type: 'fixed[3]' },
    { fieldId: 1012, name: 'ratio', type: 'double' },
    { fieldId: 1013, name: 'f', type: 'float' },
    { fieldId: 1014, name: 'time', type: 'time' },
    { fieldId: 1015, name: 'tsns', type: 'timestamp_ns' },
    { fieldId: 1016, name: 'weird-name', type: 'string' },
    { fieldId: 1017, name: 'price2', type: 'decimal(9, 2)' },
  ],
};

const fullPartition = {
  1000: 7,
  1001: 19_723, // 2024-01-01
  1002: 2n ** 62n + 1n,
  1003: 1_684_161_045_000_000n,
  1004: -1n,
  1005: -12_345n, // -123.45
  1006: -(10n ** 37n) - 42n,
  1007: 'héllo',
  1008: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
  1009: true,
  1010: Uint8Array.of(0, 1, 2, 255),
  1011: Uint8Array.of(9, 8, 7),
  1012: -0.5,
  1013: 1.5,
  1014: 86_399_999_999n,
  1015: 1_684_161_045_000_000_123n,
  1016: 'x',
  1017: 99_999_999n,
};

const nullPartition = Object.fromEntries(partitionType.fields.map((field) => [field.fieldId, null]));

function dataFile(overrides: Partial<DataFile>): DataFile {
  return {
    content: 0,
    filePath: 's3://bucket/wh/db/t/data/00000-0.parquet',
    fileFormat: 'PARQUET',
    partition: fullPartition,
    recordCount: 1_000,
    fileSizeInBytes: 123_456,
    ...overrides,
  };
}

const dataEntries: ManifestEntry[] = [
  {
    status: 1,
    dataFile: dataFile({
      columnSizes: new Map([
        [1, 100],
        [2, 2 ** 40],
      ]),
      valueCounts: new Map([[1, 1_000]]),
      nullValueCounts: new Map([[1, 0]]),
      nanValueCounts: new Map(),
      lowerBounds: new Map([[1, Uint8Array.of(1, 0, 0, 0)]]),
      upperBounds: new Map([[1, Uint8Array.of(0xff, 0, 0, 0)]]),
      keyMetadata: Uint8Array.of(1, 2),
      splitOffsets: [4, 1_048_576],
      sortOrderId: 1,
    }),
  },
  {
    status: 0,
    snapshotId: 9_007_199_254_740_993n, // 2^53 + 1
    sequenceNumber: 3,
    fileSequenceNumber: 4,
    dataFile: dataFile({ filePath: 's3://bucket/wh/db/t/data/00001-0.parquet', partition: nullPartition, recordCount: 0, fileSizeInBytes: 10 }),
  },
  {
    status: 2,
    snapshotId: 9_876_543_210_123_456_789n, // above 2^63 - 1
    sequenceNumber: 1,
    fileSequenceNumber: 1,
    dataFile: dataFile({ filePath: 's3://bucket/wh/db/t/data/00002-0.parquet', fileFormat: 'ORC', partition: { ...fullPartition, 1005: 0n, 1007: '' } }),
  },
];

const writeContext: ManifestWriteContext = {
  schemaJson: '{"type":"struct","schema-id":3,"fields":[]}',
  schemaId: 3,
  spec,
  partitionType,
  content: 'data',
};

describe('writeManifest', () => {
  it('round-trips entries, partitions of every type, nulls, maps and 64-bit snapshot ids', () => {
    for (const codec of ['deflate', 'null'] as const) {
      const read = readManifest(writeManifest(dataEntries, { ...writeContext, codec }), 'mem://m.avro');
      expect(read).toEqual({
        entries: dataEntries,
        content: 'data',
        formatVersion: 2,
        specId: 4,
        schemaId: 3,
        schemaJson: writeContext.schemaJson,
        partitionSpecJson: expect.any(String),
      });
    }
  });

  it('round-trips a delete manifest with position and equality deletes, unpartitioned', () => {
    const deletes: ManifestEntry[] = [
      { status: 1, dataFile: { content: 1, filePath: 'pos.parquet', fileFormat: 'PARQUET', partition: {}, recordCount: 3, fileSizeInBytes: 30 } },
      { status: 1, snapshotId: 5n, dataFile: { content: 2, filePath: 'eq.parquet', fileFormat: 'AVRO', partition: {}, recordCount: 1, fileSizeInBytes: 9, equalityIds: [2, 1] } },
    ];
    const ctx = { ...writeContext, spec: { specId: 0, fields: [] }, partitionType: { fields: [] }, content: 'deletes' as const };
    const read = readManifest(writeManifest(deletes, ctx), 'mem://d.avro');
    expect(read.content).toBe('deletes');
    expect(read.partitionSpecJson).toBe('[]');
    expect(read.entries).toEqual(deletes);
  });

  it('writes the manifest_entry schema with all field ids and the spec metadata keys into the header', () => {
    const metadata = readHeaderWithIcebird(writeManifest(dataEntries, writeContext));
    expect(metadata['avro.schema']).toEqual(manifestEntrySchema(partitionType));
    expect(metadata['schema']).toEqual(JSON.parse(writeContext.schemaJson));
    expect(metadata['schema-id']).toBe('3');
    expect(metadata['partition-spec-id']).toBe('4');
    expect(metadata['format-version']).toBe('2');
    expect(metadata['content']).toBe('data');
    expect(JSON.parse(String(metadata['partition-spec']))[16]).toEqual({ name: 'weird-name', transform: 'identity', 'source-id': 17, 'field-id': 1016 });
    expect(JSON.parse(String(metadata['partition-spec']))).toHaveLength(18);
  });

  it('is read the same by an independent Avro reader (icebird)', () => {
    // icebird has no fixed type: cross-check with the partition types it reads.
    const simpleType: PartitionStructType = {
      fields: [
        { fieldId: 1000, name: 'day', type: 'date' },
        { fieldId: 1001, name: 'name', type: 'string' },
        { fieldId: 1002, name: 'big', type: 'long' },
        { fieldId: 1003, name: 'ts', type: 'timestamp' },
      ],
    };
    const simpleSpec: PartitionSpec = {
      specId: 1,
      fields: simpleType.fields.map((field, index) => ({ sourceId: index + 1, fieldId: field.fieldId, name: field.name, transform: 'identity' })),
    };
    const entries: ManifestEntry[] = [
      {
        status: 1,
        snapshotId: 9_007_199_254_740_993n,
        dataFile: dataFile({
          partition: { 1000: 19_723, 1001: 'a', 1002: -(2n ** 62n), 1003: 1_684_161_045_000_000n },
          columnSizes: new Map([[3, 77]]),
          lowerBounds: new Map([[3, Uint8Array.of(5)]]),
          splitOffsets: [4],
        }),
      },
      { status: 1, dataFile: dataFile({ partition: { 1000: null, 1001: null, 1002: null, 1003: null } }) },
    ];
    const bytes = writeManifest(entries, { ...writeContext, spec: simpleSpec, partitionType: simpleType });
    const { records } = readWithIcebird(bytes);
    expect(records[0]).toMatchObject({
      status: 1,
      snapshot_id: 9_007_199_254_740_993n,
      sequence_number: undefined,
      data_file: {
        content: 0,
        file_path: 's3://bucket/wh/db/t/data/00000-0.parquet',
        file_format: 'PARQUET',
        partition: { day: new Date(Date.UTC(2024, 0, 1)), name: 'a', big: -(2n ** 62n), ts: new Date(1_684_161_045_000) },
        record_count: 1000n,
        file_size_in_bytes: 123_456n,
        column_sizes: [{ key: 3, value: 77n }],
        value_counts: undefined,
        split_offsets: [4n],
        equality_ids: undefined,
      },
    });
    const first = records[0]?.data_file as { lower_bounds: { key: number; value: Uint8Array }[] };
    expect(first.lower_bounds.map((kv) => [kv.key, hex(kv.value)])).toEqual([[3, '05']]);
    expect((records[1]?.data_file as { partition: unknown }).partition).toEqual({ day: undefined, name: undefined, big: undefined, ts: undefined });
  });

  it('refuses entries that break the spec rules, naming the file', () => {
    const fail = (entries: ManifestEntry[], ctx: ManifestWriteContext = writeContext): unknown => {
      try {
        writeManifest(entries, ctx);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const added = dataEntries[0]!;
    expect(fail([{ ...added, dataFile: { ...added.dataFile, content: 1 } }])).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('00000-0.parquet') });
    expect(fail([added], { ...writeContext, content: 'deletes' })).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, content: 2 } }], { ...writeContext, content: 'deletes' })).toMatchObject({ message: expect.stringContaining('equality ids') });
    expect(fail([{ ...added, status: 0 }])).toMatchObject({ message: expect.stringContaining('explicit sequence numbers') });
    const { 1005: _dropped, ...missing } = fullPartition;
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: missing } }])).toMatchObject({ code: 'INVALID_PARTITION', message: expect.stringContaining('1005 price') });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 2000: 1 } } }])).toMatchObject({ code: 'INVALID_PARTITION', message: expect.stringContaining('2000') });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 1002: 5 } } }])).toMatchObject({ code: 'INVALID_PARTITION', message: expect.stringContaining('1002 big') });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 1005: 10n ** 9n } } }])).toMatchObject({ code: 'INVALID_PARTITION', message: expect.stringContaining('decimal(9, 2)') });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 1000: 2 ** 31 } } }])).toMatchObject({ code: 'INVALID_PARTITION' });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 1008: 'not-a-uuid' } } }])).toMatchObject({ code: 'INVALID_PARTITION' });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, partition: { ...fullPartition, 1011: Uint8Array.of(1) } } }])).toMatchObject({ code: 'INVALID_PARTITION' });
    expect(fail([{ ...added, dataFile: { ...added.dataFile, recordCount: 1.5 } }])).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('record_count=1.5') });
    expect(fail([added], { ...writeContext, partitionType: { fields: partitionType.fields.slice(1) } })).toMatchObject({ code: 'INVALID_PARTITION' });
  });
});

describe('readManifest: other writers and v1 manifests', () => {
  const v1Schema = JSON.parse(readFileSync(join(REFERENCE, 'fixtures/avro_schema_manifest_entry.json'), 'utf8')) as {
    fields: { name: string; type: { fields: { name: string; type: { fields: Record<string, unknown>[] } }[] } }[];
  };
  const v1Record = {
    status: 1,
    snapshot_id: 77,
    data_file: {
      file_path: 'file:/tmp/v1/data/a.parquet',
      file_format: 'parquet',
      partition: { VendorID: 2, tpep_pickup_datetime: 19_000 },
      record_count: 10,
      file_size_in_bytes: 1_000,
      block_size_in_bytes: 67_108_864,
      column_sizes: [{ key: 1, value: 50 }],
      value_counts: null,
      null_value_counts: null,
      nan_value_counts: null,
      lower_bounds: null,
      upper_bounds: null,
      key_metadata: null,
      split_offsets: null,
      sort_order_id: null,
    },
  };

  it('reads a v1 manifest (the fixture manifest_entry schema, written by avsc): content and sequence numbers default', async () => {
    const bytes = await writeWithAvsc(v1Schema, [v1Record], {
      schema: '{"type":"struct","fields":[]}',
      'partition-spec': '[{"name":"VendorID","transform":"identity","source-id":1,"field-id":1000}]',
    });
    expect(readManifest(bytes, 'mem://v1.avro')).toEqual({
      content: 'data',
      formatVersion: 1,
      schemaJson: '{"type":"struct","fields":[]}',
      partitionSpecJson: '[{"name":"VendorID","transform":"identity","source-id":1,"field-id":1000}]',
      entries: [
        {
          status: 1,
          snapshotId: 77n,
          sequenceNumber: 0,
          fileSequenceNumber: 0,
          dataFile: {
            content: 0,
            filePath: 'file:/tmp/v1/data/a.parquet',
            fileFormat: 'PARQUET',
            partition: { 1000: 2, 1001: 19_000 },
            recordCount: 10,
            fileSizeInBytes: 1_000,
            columnSizes: new Map([[1, 50]]),
          },
        },
      ],
    });
  });

  it('gives v1 partition fields without ids the ids 1000, 1001, ... by position', async () => {
    const schema = structuredClone(v1Schema);
    const partition = schema.fields[2]?.type.fields[2]?.type.fields ?? [];
    for (const field of partition) delete field['field-id'];
    const bytes = await writeWithAvsc(schema, [v1Record], {});
    expect(readManifest(bytes, 'mem://v1.avro').entries[0]?.dataFile.partition).toEqual({ 1000: 2, 1001: 19_000 });
  });

  it('resolves a named decimal type referenced twice (as the Java writer does) and other field names', async () => {
    const decimal = { type: 'fixed', name: 'decimal_9_2', size: 4, logicalType: 'decimal', precision: 9, scale: 2 };
    const schema = structuredClone(manifestEntrySchema({ fields: [] })) as unknown as {
      fields: { name: string; type: { fields: { name: string; type: unknown }[] } }[];
    };
    const dataFileFields = schema.fields[4]?.type.fields ?? [];
    const partitionField = dataFileFields.find((field) => field.name === 'partition');
    if (partitionField === undefined) throw new Error('no partition field');
    partitionField.type = {
      type: 'record',
      name: 'r102',
      fields: [
        { name: 'a', type: ['null', decimal], default: null, 'field-id': 1000 },
        { name: 'b', type: ['null', 'decimal_9_2'], default: null, 'field-id': 1001 },
      ],
    };
    for (const field of dataFileFields) field.name = `renamed_${field.name}`;
    const record = {
      status: 1,
      snapshot_id: null,
      sequence_number: 6,
      file_sequence_number: 6,
      data_file: Object.fromEntries(
        Object.entries({
          content: 0,
          file_path: 'x.parquet',
          file_format: 'PARQUET',
          partition: { a: Buffer.from([0xff, 0xff, 0xff, 0xfe]), b: Buffer.from([0, 0, 1, 0]) },
          record_count: 1,
          file_size_in_bytes: 2,
          column_sizes: null,
          value_counts: null,
          null_value_counts: null,
          nan_value_counts: null,
          lower_bounds: null,
          upper_bounds: null,
          key_metadata: null,
          split_offsets: null,
          equality_ids: null,
          sort_order_id: null,
          referenced_data_file: null,
        }).map(([key, value]) => [`renamed_${key}`, value]),
      ),
    };
    const bytes = await writeWithAvsc(schema, [record], { 'format-version': '2', content: 'data' });
    const [entry] = readManifest(bytes, 'mem://named.avro').entries;
    expect(entry?.sequenceNumber).toBe(6);
    expect(entry?.dataFile.filePath).toBe('x.parquet');
    expect(entry?.dataFile.partition).toEqual({ 1000: -2n, 1001: 256n });
  });

  it('refuses manifests it cannot represent', async () => {
    const v3 = writeManifest([], writeContext);
    const text = Buffer.from(v3).toString('latin1').replace('format-version\u00022', 'format-version\u00023');
    expect(() => readManifest(Buffer.from(text, 'latin1'), 'mem://v3.avro')).toThrow(expect.objectContaining({ code: 'METADATA_UNSUPPORTED_VERSION' }));
    const puffin = await writeWithAvsc(v1Schema, [{ ...v1Record, data_file: { ...v1Record.data_file, file_format: 'puffin' } }], {});
    expect(() => readManifest(puffin, 'mem://puffin.avro')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('PUFFIN') }));
  });
});

describe('readManifest: corrupt input', () => {
  const good = writeManifest(dataEntries, { ...writeContext, codec: 'null' });

  it('every truncation throws METADATA_CORRUPT naming the file (the header alone is an empty manifest)', () => {
    let parsed = 0;
    // Every cut in the last 1000 bytes (all the records), every 7th in the header before them.
    const lengths = Array.from({ length: good.length }, (_, length) => length).filter((length) => length >= good.length - 1000 || length % 7 === 0);
    for (const length of lengths) {
      try {
        expect(readManifest(good.subarray(0, length), 'mem://cut.avro').entries).toEqual([]);
        parsed += 1;
      } catch (error) {
        expect(error).toMatchObject({ code: 'METADATA_CORRUPT' });
        expect((error as Error).message).toContain('mem://cut.avro');
      }
    }
    expect(parsed).toBeLessThanOrEqual(1);
  });

  it('random bytes, a Parquet file and a manifest list', () => {
    let seed = 7;
    for (let i = 0; i < 50; i += 1) {
      const bytes = Uint8Array.from({ length: 100 + i }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed >> 16;
      });
      expectCorrupt(() => readManifest(bytes, 'mem://random.avro'), 'mem://random.avro');
    }
    const parquet = listFiles(TABLES, (name) => name.endsWith('.parquet'))[0] ?? '';
    expectCorrupt(() => readManifest(new Uint8Array(readFileSync(parquet)), parquet), parquet);
    const list = writeManifestList([], { snapshotId: 1n, sequenceNumber: 1 });
    expectCorrupt(() => readManifest(list, 'mem://list.avro'), 'mem://list.avro');
  });

  it('every single flipped byte in the records is either caught or decodes to some entries', () => {
    // Avro has no checksum: a flipped byte may still decode. It must never hang or throw anything
    // but METADATA_CORRUPT (or UNSUPPORTED for a file format it changed).
    const headerEnd = good.length - 16 - 400;
    for (let index = Math.max(0, headerEnd); index < good.length; index += 1) {
      const broken = good.slice();
      broken.set([(broken[index] ?? 0) ^ 0x5a], index);
      try {
        readManifest(broken, 'mem://flip.avro');
      } catch (error) {
        expect(['METADATA_CORRUPT', 'UNSUPPORTED', 'METADATA_UNSUPPORTED_VERSION']).toContain((error as { code?: string }).code);
      }
    }
  });
});

describe('manifestFileFromEntries', () => {
  const summaryType: PartitionStructType = {
    fields: [
      { fieldId: 1000, name: 'n', type: 'int' },
      { fieldId: 1001, name: 'r', type: 'double' },
      { fieldId: 1002, name: 's', type: 'string' },
      { fieldId: 1003, name: 'd', type: 'decimal(9, 2)' },
      { fieldId: 1004, name: 'none', type: 'date' },
    ],
  };
  const file = (partition: Record<number, unknown>, recordCount: number): DataFile => ({
    content: 0,
    filePath: `f${recordCount}.parquet`,
    fileFormat: 'PARQUET',
    partition,
    recordCount,
    fileSizeInBytes: 1,
  });
  const entries: ManifestEntry[] = [
    { status: 1, dataFile: file({ 1000: 3, 1001: Number.NaN, 1002: 'b', 1003: -5n, 1004: null }, 10) },
    { status: 1, dataFile: file({ 1000: null, 1001: 2.5, 1002: 'a', 1003: 300n, 1004: null }, 20) },
    { status: 0, sequenceNumber: 2, fileSequenceNumber: 2, dataFile: file({ 1000: 1, 1001: -0, 1002: 'c', 1003: 0n, 1004: null }, 40) },
    { status: 2, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: file({ 1000: 9, 1001: 1, 1002: 'a', 1003: 0n, 1004: null }, 80) },
  ];
  const ctx = {
    manifestPath: 'meta/m0.avro',
    manifestLength: 999,
    partitionSpecId: 2,
    partitionType: summaryType,
    content: 'data' as const,
    addedSnapshotId: 2n ** 63n + 5n,
    sequenceNumber: 7,
  };

  it('counts files and rows by status and takes the lowest live data sequence number', () => {
    expect(manifestFileFromEntries(entries, ctx)).toMatchObject({
      manifestPath: 'meta/m0.avro',
      manifestLength: 999,
      partitionSpecId: 2,
      content: 0,
      sequenceNumber: 7,
      minSequenceNumber: 2, // the deleted entry's 1 does not count
      addedSnapshotId: 2n ** 63n + 5n,
      addedFilesCount: 2,
      existingFilesCount: 1,
      deletedFilesCount: 1,
      addedRowsCount: 30,
      existingRowsCount: 40,
      deletedRowsCount: 80,
    });
    expect(manifestFileFromEntries(entries.slice(0, 2), ctx).minSequenceNumber).toBe(7);
    expect(manifestFileFromEntries([], { ...ctx, content: 'deletes' })).toMatchObject({ content: 1, minSequenceNumber: 7, addedFilesCount: 0 });
  });

  it('summarizes each partition field with binary single-value bounds', () => {
    const { partitions } = manifestFileFromEntries(entries, ctx);
    expect(partitions).toEqual([
      { containsNull: true, containsNan: false, lowerBound: encodeValue('int', 1), upperBound: encodeValue('int', 9) },
      // -0.0 sorts before +0.0 and 1 (spec "Manifest Lists" note 2); NaN is not a bound.
      { containsNull: false, containsNan: true, lowerBound: encodeValue('double', -0), upperBound: encodeValue('double', 2.5) },
      { containsNull: false, containsNan: false, lowerBound: Uint8Array.of(0x61), upperBound: Uint8Array.of(0x63) },
      { containsNull: false, containsNan: false, lowerBound: Uint8Array.of(0xfb), upperBound: Uint8Array.of(0x01, 0x2c) },
      { containsNull: true, containsNan: false },
    ]);
    expect(hex(partitions?.[1]?.lowerBound)).toBe('0000000000000080');
  });

  it('feeds a manifest list that reads back the same', () => {
    const manifestBytes = writeManifest(dataEntries, writeContext);
    const manifestFile = manifestFileFromEntries(dataEntries, {
      manifestPath: 'meta/m1.avro',
      manifestLength: manifestBytes.length,
      partitionSpecId: spec.specId,
      partitionType,
      content: 'data',
      addedSnapshotId: 42n,
      sequenceNumber: 5,
    });
    const list = writeManifestList([manifestFile], { snapshotId: 42n, sequenceNumber: 5 });
    expect(readManifestList(list, 'mem://list.avro')).toEqual([manifestFile]);
    expect(manifestFile.partitions?.[7]).toEqual({ containsNull: true, containsNan: false, lowerBound: Uint8Array.of(), upperBound: encodeValue('string', 'héllo') });
  });
});
