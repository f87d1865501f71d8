import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { avroMetadata, avroRead } from 'icebird';
import { describe, expect, it } from 'vitest';
import { isRatError } from '../core/errors.js';
import { manifestListSchema } from './avro-schemas.js';
import { readManifestList, UNKNOWN_COUNT, writeManifestList } from './manifest-list.js';
import type { ManifestFile } from './types.js';

const REFERENCE = fileURLToPath(new URL('../../../../../shared/reference/iceberg/', import.meta.url));
const TABLES = join(REFERENCE, 'tables');

function listFiles(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && match(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function readList(path: string): ManifestFile[] {
  return readManifestList(new Uint8Array(readFileSync(path)), path);
}

function tableList(path: string): ManifestFile[] {
  return readList(join(TABLES, path));
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex');
}

/** An independent Avro reader (icebird's), for cross-checking what we write. */
function readWithIcebird(bytes: Uint8Array): { metadata: Record<string, unknown>; records: Record<string, unknown>[] } {
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const { metadata, syncMarker } = avroMetadata(reader);
  return { metadata, records: avroRead({ reader, metadata, syncMarker }) };
}

/** Writes a container file with avsc's own streaming encoder (a second, independent writer). */
async function writeWithAvsc(schema: object, records: unknown[], metadata: Record<string, string>): Promise<Uint8Array> {
  const encoder = new avro.streams.BlockEncoder(schema as avro.schema.AvroSchema, {
    codec: 'deflate',
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
  expect(thrown).toMatchObject({ code: 'METADATA_CORRUPT', name: 'ExternalError' });
  expect((thrown as Error).message).toContain(source);
  expect((thrown as Error).message).not.toContain('\n');
}

const sample: ManifestFile[] = [
  {
    manifestPath: 's3://bucket/warehouse/db/t/metadata/a-m0.avro',
    manifestLength: 7_104,
    partitionSpecId: 3,
    content: 0,
    sequenceNumber: 12,
    minSequenceNumber: 7,
    addedSnapshotId: 9_007_199_254_740_993n, // 2^53 + 1: not exact as a double
    addedFilesCount: 4,
    existingFilesCount: 2,
    deletedFilesCount: 1,
    addedRowsCount: 10_000_000_000,
    existingRowsCount: 20,
    deletedRowsCount: 5,
    partitions: [
      { containsNull: true, containsNan: false, lowerBound: Uint8Array.of(1, 0, 0, 0), upperBound: Uint8Array.of(9, 0, 0, 0) },
      { containsNull: true },
      { containsNull: false, containsNan: true, lowerBound: new Uint8Array(0), upperBound: Uint8Array.of(0xff) },
    ],
  },
  {
    manifestPath: 's3://bucket/warehouse/db/t/metadata/b-m1.avro',
    manifestLength: 1,
    partitionSpecId: 0,
    content: 1,
    sequenceNumber: 13,
    minSequenceNumber: 13,
    addedSnapshotId: 9_876_543_210_123_456_789n, // above 2^63 - 1, as a hand-written table has
    addedFilesCount: 1,
    existingFilesCount: 0,
    deletedFilesCount: 0,
    addedRowsCount: 1,
    existingRowsCount: 0,
    deletedRowsCount: 0,
    partitions: [],
    keyMetadata: Uint8Array.of(0xde, 0xad),
  },
  {
    manifestPath: 'relative/c.avro',
    manifestLength: 2,
    partitionSpecId: 0,
    content: 0,
    sequenceNumber: 0,
    minSequenceNumber: 0,
    addedSnapshotId: 1n,
    addedFilesCount: 0,
    existingFilesCount: 0,
    deletedFilesCount: 0,
    addedRowsCount: 0,
    existingRowsCount: 0,
    deletedRowsCount: 0,
  },
];

describe('readManifestList: Java-written fixtures', () => {
  const common = {
    manifestLength: 6658,
    partitionSpecId: 0,
    content: 0,
    sequenceNumber: 1,
    minSequenceNumber: 1,
    addedFilesCount: 1,
    existingFilesCount: 0,
    deletedFilesCount: 0,
    addedRowsCount: 1,
    existingRowsCount: 0,
    deletedRowsCount: 0,
    partitions: [],
  };

  it('manifest-list-v2-1.avro (counts named added_data_files_count, resolved by id 504-506)', () => {
    expect(readList(join(REFERENCE, 'fixtures/manifest-list-v2-1.avro'))).toEqual([
      {
        ...common,
        manifestPath: 'iceberg-warehouse/people/metadata/794bd2ee-052c-449c-9a6f-3a88857c747f-m0.avro',
        addedSnapshotId: 6653143792592159268n,
      },
    ]);
  });

  it('manifest-list-v2-2.avro', () => {
    expect(readList(join(REFERENCE, 'fixtures/manifest-list-v2-2.avro'))).toEqual([
      {
        ...common,
        manifestPath: 'iceberg-warehouse_2/people/metadata/80064d99-bd75-4cf3-9b27-13a60f189039-m0.avro',
        manifestLength: 6660,
        addedSnapshotId: 3083072880052097243n,
      },
    ]);
  });
});

describe('readManifestList: tables written by Spark and PyIceberg', () => {
  const lists = listFiles(TABLES, (name) => name.startsWith('snap-') && name.endsWith('.avro'));

  it('finds the reference manifest lists', () => {
    expect(lists.length).toBe(20);
  });

  it.each(lists.map((path) => [relative(TABLES, path), path]))('reads %s', (_name, path) => {
    const manifests = readList(path);
    expect(manifests.length).toBeGreaterThan(0);
    for (const manifest of manifests) {
      expect(manifest.manifestPath).toMatch(/^data\/persistent\/.*-m\d+\.avro$/);
      expect(manifest.manifestLength).toBeGreaterThan(0);
      expect(manifest.sequenceNumber).toBeGreaterThanOrEqual(manifest.minSequenceNumber);
      expect(manifest.addedSnapshotId).toBeGreaterThan(0n);
    }
  });

  it('equality_deletes/mytable, snapshot 6: two data manifests and four delete manifests', () => {
    const manifests = tableList('equality_deletes/warehouse/mydb/mytable/metadata/snap-1916084761853986166-1-61648895-78fc-44d6-bf55-298a7614c4f8.avro');
    const prefix = 'data/persistent/equality_deletes/warehouse/mydb/mytable/metadata/';
    expect(
      manifests.map((m) => [m.manifestPath.slice(prefix.length), m.manifestLength, m.content, m.sequenceNumber, m.minSequenceNumber, m.addedSnapshotId, m.addedFilesCount, m.addedRowsCount]),
    ).toEqual([
      ['8057d23a-ed01-40cb-bfd6-44b145234c6d-m0.avro', 7105, 0, 5, 5, 3340507003387467420n, 1, 2],
      ['bcc5469e-83b4-4a41-be7e-af79ed029353-m0.avro', 7104, 0, 1, 1, 853766660775201079n, 1, 4],
      ['61648895-78fc-44d6-bf55-298a7614c4f8-m0.avro', 7073, 1, 6, 6, 1916084761853986166n, 1, 1],
      ['c4028cec-4266-45e9-bf74-77cbf1b55328-m0.avro', 7086, 1, 4, 4, 842401149381792626n, 1, 1],
      ['91bf4420-2bae-484f-b724-8184d56d3029-m0.avro', 7075, 1, 3, 3, 1584331123492059582n, 1, 1],
      ['34f7dec7-90c5-4cd5-b158-5782b73fc010-m0.avro', 7075, 1, 2, 2, 7342794868382145167n, 1, 1],
    ]);
    for (const manifest of manifests) {
      expect(manifest.partitions).toEqual([]);
      expect(manifest.existingFilesCount).toBe(0);
      expect(manifest.deletedFilesCount).toBe(0);
      expect(manifest.keyMetadata).toBeUndefined();
    }
  });

  it('equality_deletes/mytable_partitioned: string partition summaries per manifest', () => {
    const manifests = tableList('equality_deletes/warehouse/mydb/mytable_partitioned/metadata/snap-3138177759849079112-1-ff275eec-b23b-435f-a6a5-1ab7ce1c8749.avro');
    expect(manifests.map((m) => [m.content, m.sequenceNumber, m.partitions?.map((p) => [p.containsNull, p.containsNan, hex(p.lowerBound), hex(p.upperBound)])])).toEqual([
      [0, 4, [[false, false, '65', '66']]], // e..f
      [0, 1, [[false, false, '61', '64']]], // a..d
      [1, 5, [[false, false, '66', '66']]],
      [1, 3, [[false, false, '63', '63']]],
      [1, 2, [[false, false, '62', '62']]],
    ]);
  });

  it('equality_delete_cross_partition: a hand-written negative snapshot id comes back unsigned', () => {
    const manifests = tableList('equality_delete_cross_partition/warehouse/ns/t/metadata/snap-9876543210123456789-1-05ab0eba-8e2d-4f10-b28f-8b0b9cb2573b.avro');
    expect(manifests.map((m) => [m.content, m.addedSnapshotId, hex(m.partitions?.[0]?.lowerBound), hex(m.partitions?.[0]?.upperBound)])).toEqual([
      [0, 4327154639183968397n, '0000000000000000', '0100000000000000'],
      // Stored as the signed long -653171173268680982.
      [1, 2n ** 64n - 653171173268680982n, '0000000000000000', '0000000000000000'],
    ]);
  });

  it('partition_decimal_integer: decimal(8, 4) summary bounds (Spark, minimal two-complement bytes)', () => {
    const [manifest] = tableList('partition_decimal_integer/metadata/snap-2266524373707409896-1-701af831-4140-47e7-bd56-1a374428e380.avro');
    expect(manifest).toEqual({
      manifestPath: 'data/persistent/partition_decimal_integer/metadata/701af831-4140-47e7-bd56-1a374428e380-m0.avro',
      manifestLength: 7202,
      partitionSpecId: 0,
      content: 0,
      sequenceNumber: 1,
      minSequenceNumber: 1,
      addedSnapshotId: 2266524373707409896n,
      addedFilesCount: 3,
      existingFilesCount: 0,
      deletedFilesCount: 0,
      addedRowsCount: 3,
      existingRowsCount: 0,
      deletedRowsCount: 0,
      // 1.2300 -> unscaled 12300 = 0x300c; 1234.5432 -> 12345432 = 0xbc6058 (sign byte 00).
      partitions: [{ containsNull: false, containsNan: false, lowerBound: Uint8Array.of(0x30, 0x0c), upperBound: Uint8Array.of(0x00, 0xbc, 0x60, 0x58) }],
    });
  });

  it('partition_timestamp (PyIceberg, codec null): timestamp summary bounds', () => {
    const [manifest] = tableList('partition_timestamp/default.db/partition_timestamp/metadata/snap-2508913168551256223-0-6b55fc2b-ce03-407e-9585-336c4675e611.avro');
    const bounds = manifest?.partitions?.map((p) => [Buffer.from(p.lowerBound ?? []).readBigInt64LE(), Buffer.from(p.upperBound ?? []).readBigInt64LE()]);
    // 2023-05-15T14:30:45 and 2023-08-22T09:15:20 in microseconds.
    expect(bounds).toEqual([[1684161045000000n, 1692695720000000n]]);
    expect(manifest).toMatchObject({ addedFilesCount: 2, addedRowsCount: 2, sequenceNumber: 1, addedSnapshotId: 2508913168551256223n });
  });
});

describe('writeManifestList', () => {
  const meta = { snapshotId: 9_876_543_210_123_456_789n, parentSnapshotId: 4_327_154_639_183_968_397n, sequenceNumber: 13 };

  it('round-trips every field, ids above 2^53 and 2^63 - 1, null summaries and key metadata', () => {
    expect(readManifestList(writeManifestList(sample, meta), 'mem://list.avro')).toEqual(sample);
    expect(readManifestList(writeManifestList(sample, meta, { codec: 'null' }), 'mem://list.avro')).toEqual(sample);
  });

  it('writes the spec schema with its field ids and the manifest list metadata keys into the header', () => {
    const { metadata } = readWithIcebird(writeManifestList(sample, meta));
    expect(metadata['avro.schema']).toEqual(manifestListSchema());
    // A small list is written uncompressed; a large one with deflate.
    expect(metadata['avro.codec']).toBe('null');
    const many = Array.from({ length: 200 }, (_, i) => ({ ...sample[0]!, manifestPath: `s3://bucket/m-${i}.avro` }));
    const large = writeManifestList(many, meta);
    expect(readWithIcebird(large).metadata['avro.codec']).toBe('deflate');
    expect(readManifestList(large, 'mem://large.avro')).toEqual(many);
    expect(metadata['snapshot-id']).toBe('9876543210123456789');
    expect(metadata['parent-snapshot-id']).toBe('4327154639183968397');
    expect(metadata['sequence-number']).toBe('13');
    expect(metadata['format-version']).toBe('2');
    const orphan = readWithIcebird(writeManifestList([], { snapshotId: 5n, sequenceNumber: 1 }));
    expect(orphan.metadata['parent-snapshot-id']).toBe('null');
    expect(orphan.records).toEqual([]);
  });

  it('is read the same by an independent Avro reader (icebird)', () => {
    const { records } = readWithIcebird(writeManifestList(sample, meta, { codec: 'null' }));
    expect(records).toHaveLength(sample.length);
    const first = records[0] ?? {};
    expect(first).toMatchObject({
      manifest_path: 's3://bucket/warehouse/db/t/metadata/a-m0.avro',
      manifest_length: 7104n,
      partition_spec_id: 3,
      content: 0,
      sequence_number: 12n,
      min_sequence_number: 7n,
      added_snapshot_id: 9_007_199_254_740_993n,
      added_files_count: 4,
      existing_files_count: 2,
      deleted_files_count: 1,
      added_rows_count: 10_000_000_000n,
      existing_rows_count: 20n,
      deleted_rows_count: 5n,
      key_metadata: undefined,
    });
    const partitions = first.partitions as Record<string, unknown>[];
    expect(partitions.map((p) => [p.contains_null, p.contains_nan, p.lower_bound === undefined ? undefined : hex(p.lower_bound as Uint8Array)])).toEqual([
      [true, false, '01000000'],
      [true, undefined, undefined],
      [false, true, ''],
    ]);
    // The Avro long holds the two's complement of an id above 2^63 - 1.
    expect(records[1]?.added_snapshot_id).toBe(9_876_543_210_123_456_789n - 2n ** 64n);
    expect(hex(records[1]?.key_metadata as Uint8Array)).toBe('dead');
  });

  it('refuses ids that do not fit 64 bits and values that do not fit their Avro type', () => {
    expect(() => writeManifestList(sample, { snapshotId: 2n ** 64n, sequenceNumber: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => writeManifestList([{ ...sample[2]!, addedSnapshotId: -(2n ** 63n) - 1n }], meta)).toThrow(/added_snapshot_id/);
    expect(() => writeManifestList([{ ...sample[2]!, addedFilesCount: 2 ** 31 }], meta)).toThrow(/added_files_count=2147483648/);
    expect(() => writeManifestList([{ ...sample[2]!, existingRowsCount: UNKNOWN_COUNT }], meta)).toThrow(/existing_rows_count is -1/);
  });
});

describe('readManifestList: v1 manifest lists (Appendix E)', () => {
  // The v1 manifest_file struct: no content or sequence numbers, optional counts, v1 names.
  const v1Schema = {
    type: 'record',
    name: 'manifest_file',
    fields: [
      { name: 'manifest_path', type: 'string', 'field-id': 500 },
      { name: 'manifest_length', type: 'long', 'field-id': 501 },
      { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
      { name: 'added_snapshot_id', type: ['null', 'long'], default: null, 'field-id': 503 },
      { name: 'added_data_files_count', type: ['null', 'int'], default: null, 'field-id': 504 },
      { name: 'existing_data_files_count', type: ['null', 'int'], default: null, 'field-id': 505 },
      { name: 'deleted_data_files_count', type: ['null', 'int'], default: null, 'field-id': 506 },
      {
        name: 'partitions',
        type: ['null', { type: 'array', items: { type: 'record', name: 'r508', fields: [{ name: 'contains_null', type: 'boolean', 'field-id': 509 }] }, 'element-id': 508 }],
        default: null,
        'field-id': 507,
      },
    ],
  };

  it('defaults content and sequence numbers to 0 and marks null counts unknown', async () => {
    const bytes = await writeWithAvsc(
      v1Schema,
      [
        { manifest_path: 'v1-m0.avro', manifest_length: 100, partition_spec_id: 0, added_snapshot_id: 7, added_data_files_count: 2, existing_data_files_count: 1, deleted_data_files_count: 0, partitions: [{ contains_null: true }] },
        { manifest_path: 'v1-m1.avro', manifest_length: 200, partition_spec_id: 1, added_snapshot_id: 8, added_data_files_count: null, existing_data_files_count: null, deleted_data_files_count: null, partitions: null },
      ],
      { 'snapshot-id': '8', 'format-version': '1' },
    );
    expect(readManifestList(bytes, 'mem://v1.avro')).toEqual([
      {
        manifestPath: 'v1-m0.avro',
        manifestLength: 100,
        partitionSpecId: 0,
        content: 0,
        sequenceNumber: 0,
        minSequenceNumber: 0,
        addedSnapshotId: 7n,
        addedFilesCount: 2,
        existingFilesCount: 1,
        deletedFilesCount: 0,
        addedRowsCount: UNKNOWN_COUNT,
        existingRowsCount: UNKNOWN_COUNT,
        deletedRowsCount: UNKNOWN_COUNT,
        partitions: [{ containsNull: true }],
      },
      {
        manifestPath: 'v1-m1.avro',
        manifestLength: 200,
        partitionSpecId: 1,
        content: 0,
        sequenceNumber: 0,
        minSequenceNumber: 0,
        addedSnapshotId: 8n,
        addedFilesCount: UNKNOWN_COUNT,
        existingFilesCount: UNKNOWN_COUNT,
        deletedFilesCount: UNKNOWN_COUNT,
        addedRowsCount: UNKNOWN_COUNT,
        existingRowsCount: UNKNOWN_COUNT,
        deletedRowsCount: UNKNOWN_COUNT,
      },
    ]);
  });

  it('reads a list written by avsc with the v2 schema like our own', async () => {
    const records = sample.slice(2).map((m) => ({
      manifest_path: m.manifestPath,
      manifest_length: m.manifestLength,
      partition_spec_id: m.partitionSpecId,
      content: m.content,
      sequence_number: m.sequenceNumber,
      min_sequence_number: m.minSequenceNumber,
      added_snapshot_id: Number(m.addedSnapshotId),
      added_files_count: m.addedFilesCount,
      existing_files_count: m.existingFilesCount,
      deleted_files_count: m.deletedFilesCount,
      added_rows_count: m.addedRowsCount,
      existing_rows_count: m.existingRowsCount,
      deleted_rows_count: m.deletedRowsCount,
      partitions: null,
      key_metadata: null,
    }));
    const bytes = await writeWithAvsc(manifestListSchema(), records, {});
    expect(readManifestList(bytes, 'mem://avsc.avro')).toEqual(sample.slice(2));
  });

  it('throws METADATA_CORRUPT when a required field is missing', async () => {
    const schema = { type: 'record', name: 'manifest_file', fields: v1Schema.fields.filter((f) => f['field-id'] !== 500) };
    const bytes = await writeWithAvsc(schema, [{ manifest_length: 1, partition_spec_id: 0, added_snapshot_id: 1, added_data_files_count: null, existing_data_files_count: null, deleted_data_files_count: null, partitions: null }], {});
    expectCorrupt(() => readManifestList(bytes, 'mem://missing.avro'), 'mem://missing.avro');
    expect(() => readManifestList(bytes, 'mem://missing.avro')).toThrow('field 500 manifest_path is missing');
  });
});

describe('readManifestList: corrupt input', () => {
  const good = writeManifestList(sample, { snapshotId: 1n, sequenceNumber: 1 }, { codec: 'null' });

  it('every truncation throws METADATA_CORRUPT naming the file (the header alone is an empty list)', () => {
    const parsed: number[] = [];
    for (let length = 0; length < good.length; length += 1) {
      try {
        expect(readManifestList(good.subarray(0, length), 'mem://cut.avro')).toEqual([]);
        parsed.push(length);
      } catch (error) {
        expect(error).toMatchObject({ code: 'METADATA_CORRUPT' });
        expect((error as Error).message).toContain('mem://cut.avro');
      }
    }
    expect(parsed).toHaveLength(1);
  });

  it('random bytes, with and without the Avro magic', () => {
    let seed = 42;
    const random = (length: number): Uint8Array =>
      Uint8Array.from({ length }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed >> 16;
      });
    for (let i = 0; i < 50; i += 1) {
      expectCorrupt(() => readManifestList(random(64 + i * 7), 'mem://random.avro'), 'mem://random.avro');
      const withMagic = Uint8Array.from([...Buffer.from('Obj\x01', 'latin1'), ...random(64 + i * 7)]);
      expectCorrupt(() => readManifestList(withMagic, 'mem://magic.avro'), 'mem://magic.avro');
    }
    expectCorrupt(() => readManifestList(new Uint8Array(0), 'mem://empty.avro'), 'mem://empty.avro');
  });

  it('flipped bytes in the data blocks and a wrong sync marker', () => {
    const deflated = writeManifestList(sample, { snapshotId: 1n, sequenceNumber: 1 }, { codec: 'deflate' });
    const broken = deflated.slice();
    broken.set([(broken[broken.length - 40] ?? 0) ^ 0xff], broken.length - 40); // inside the deflate stream
    expectCorrupt(() => readManifestList(broken, 'mem://flip.avro'), 'mem://flip.avro');
    const badSync = good.slice();
    badSync.set([(badSync[badSync.length - 1] ?? 0) ^ 0x01], badSync.length - 1);
    expectCorrupt(() => readManifestList(badSync, 'mem://sync.avro'), 'mem://sync.avro');
  });

  it('a Parquet file and a manifest JSON file', () => {
    const parquet = listFiles(TABLES, (name) => name.endsWith('.parquet'))[0] ?? '';
    expectCorrupt(() => readList(parquet), parquet);
    const json = join(REFERENCE, 'fixtures/TableMetadataV2Valid.json');
    expectCorrupt(() => readList(json), json);
  });

  it('an Avro file of some other schema', async () => {
    const bytes = await writeWithAvsc({ type: 'record', name: 'other', fields: [{ name: 'x', type: 'int' }] }, [{ x: 1 }], {});
    expectCorrupt(() => readManifestList(bytes, 'mem://other.avro'), 'mem://other.avro');
  });

  it('an unsupported codec is named', async () => {
    const bytes = writeManifestList([], { snapshotId: 1n, sequenceNumber: 1 }, { codec: 'null' });
    const text = Buffer.from(bytes).toString('latin1').replace('avro.codec\u0008null', 'avro.codec\u0008zstd');
    expect(() => readManifestList(Buffer.from(text, 'latin1'), 'mem://zstd.avro')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('zstd') }));
  });
});
