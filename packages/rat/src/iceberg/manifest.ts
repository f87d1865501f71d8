/**
 * Manifest files: one Avro `manifest_entry` record per data or delete file.
 * Spec: "Manifests" (file metadata keys, "Manifest Entry Fields", "Data File Fields"),
 * "Sequence Number Inheritance", "Manifest Lists" (field summaries), Appendix A "Avro",
 * Appendix E "Version 2" (reading v1 manifests).
 */
import { ExternalError, ValidationError } from '../core/errors.js';
import { readAvroFile, writeAvroFile, type AvroCodec } from './avro-file.js';
import { recordFieldKey } from './avro-decoder.js';
import { AvroRecord } from './avro-record.js';
import { avroName, decimalFixedSize, manifestEntrySchema, type AvroSchema, type PartitionStructType } from './avro-schemas.js';
import { decimalParams, fixedLength, primitiveKind } from './type-parse.js';
import type { DataFile, FieldSummary, IcebergValue, ManifestEntry, ManifestFile, PartitionSpec, PartitionValues, PrimitiveType } from './types.js';
import { bytesToUuid, compareValues, encodeValue, uuidToBytes } from './values.js';

export type ManifestContentName = 'data' | 'deletes';

export interface ManifestWriteContext {
  /** The table schema as Iceberg JSON (Appendix C), written under the `schema` key. */
  schemaJson: string;
  schemaId: number;
  spec: PartitionSpec;
  /** Result types of `spec`'s fields, in spec order. */
  partitionType: PartitionStructType;
  content: ManifestContentName;
  codec?: AvroCodec;
}

export interface ManifestContents {
  entries: ManifestEntry[];
  content: ManifestContentName;
  /** `format-version`; 1 when the key is absent (it is optional in v1). */
  formatVersion: 1 | 2;
  specId?: number;
  schemaId?: number;
  /** The `schema` key: the table schema when the manifest was written. */
  schemaJson?: string;
  /** The `partition-spec` key: JSON array of the spec's fields. */
  partitionSpecJson?: string;
}

export interface ManifestSummaryContext {
  manifestPath: string;
  /** Byte length of the manifest file (`writeManifest(...).length`). */
  manifestLength: number;
  partitionSpecId: number;
  partitionType: PartitionStructType;
  content: ManifestContentName;
  addedSnapshotId: bigint;
  /** The sequence number of the snapshot that adds the manifest. */
  sequenceNumber: number;
}

type AvroRecordValue = Record<string, unknown>;

/**
 * Writes a v2 manifest. Entries must match `ctx.content` (data files in data manifests, delete
 * files in delete manifests), hold one partition value per partition field (keyed by partition
 * field id, null allowed) and, when EXISTING or DELETED, explicit sequence numbers (spec
 * "Manifest Entry Fields"). ADDED entries may leave snapshot id and sequence numbers undefined
 * so they are inherited from the manifest list.
 */
export function writeManifest(entries: ManifestEntry[], ctx: ManifestWriteContext): Uint8Array {
  checkPartitionType(ctx.spec, ctx.partitionType);
  const records = entries.map((entry) => entryToAvro(entry, ctx));
  const partitionSpec = ctx.spec.fields.map((field) => ({
    name: field.name,
    transform: field.transform,
    'source-id': field.sourceId,
    'field-id': field.fieldId,
  }));
  return writeAvroFile(manifestEntrySchema(ctx.partitionType), records, {
    metadata: {
      schema: ctx.schemaJson,
      'schema-id': String(ctx.schemaId),
      'partition-spec': JSON.stringify(partitionSpec),
      'partition-spec-id': String(ctx.spec.specId),
      'format-version': '2',
      content: ctx.content,
    },
    ...(ctx.codec ? { codec: ctx.codec } : {}),
  });
}

/**
 * Reads a v1 or v2 manifest written by any engine, resolving every field by field id (the
 * partition struct by partition field id; v1 partition fields without ids get 1000 + position,
 * as the spec's "Partition Specs" note describes). Partition values follow the IcebergValue
 * convention (decimal -> unscaled bigint, uuid -> text). Null snapshot ids and sequence numbers
 * are left undefined (inherited, see "Sequence Number Inheritance"); a v1 manifest, which has no
 * sequence number fields, gets 0. Snapshot ids are unsigned 64-bit (as in manifest-list.ts).
 * Throws ExternalError METADATA_CORRUPT naming `source` on invalid bytes or missing fields.
 */
export function readManifest(bytes: Uint8Array, source: string): ManifestContents {
  const file = readAvroFile(bytes, source);
  const formatVersion = parseFormatVersion(file.metadata.get('format-version'), source);
  const contentKey = file.metadata.get('content') ?? 'data';
  if (contentKey !== 'data' && contentKey !== 'deletes') {
    throw new ExternalError('METADATA_CORRUPT', `${source}: manifest metadata content is "${contentKey}", expected "data" or "deletes"`);
  }
  const partitionFields = partitionFieldsOf(file.schema, source);
  const entries = file.records.map((value, index) => readEntry(new AvroRecord(value, source, `manifest_entry ${index}`), partitionFields));
  const contents: ManifestContents = { entries, content: contentKey, formatVersion };
  const specId = optionalIntKey(file.metadata, 'partition-spec-id', source);
  if (specId !== undefined) contents.specId = specId;
  const schemaId = optionalIntKey(file.metadata, 'schema-id', source);
  if (schemaId !== undefined) contents.schemaId = schemaId;
  const schemaJson = file.metadata.get('schema');
  if (schemaJson !== undefined) contents.schemaJson = schemaJson;
  const partitionSpecJson = file.metadata.get('partition-spec');
  if (partitionSpecJson !== undefined) contents.partitionSpecJson = partitionSpecJson;
  return contents;
}

/**
 * The manifest list entry of a manifest just written with `entries` (spec "Manifest Lists"):
 * file and row counts by status, the lowest data sequence number of the live entries (null ones
 * inherit `ctx.sequenceNumber`) and one field summary per partition field, bounds over every
 * entry's non-null, non-NaN values in binary single-value serialization (Appendix D).
 */
export function manifestFileFromEntries(entries: ManifestEntry[], ctx: ManifestSummaryContext): ManifestFile {
  const counts = { added: [0, 0], existing: [0, 0], deleted: [0, 0] };
  let minSequenceNumber: number | undefined;
  for (const entry of entries) {
    const bucket = entry.status === 1 ? counts.added : entry.status === 0 ? counts.existing : counts.deleted;
    bucket[0] = (bucket[0] ?? 0) + 1;
    bucket[1] = (bucket[1] ?? 0) + entry.dataFile.recordCount;
    if (entry.status !== 2) {
      const sequenceNumber = entry.sequenceNumber ?? ctx.sequenceNumber;
      minSequenceNumber = minSequenceNumber === undefined ? sequenceNumber : Math.min(minSequenceNumber, sequenceNumber);
    }
  }
  return {
    manifestPath: ctx.manifestPath,
    manifestLength: ctx.manifestLength,
    partitionSpecId: ctx.partitionSpecId,
    content: ctx.content === 'data' ? 0 : 1,
    sequenceNumber: ctx.sequenceNumber,
    minSequenceNumber: minSequenceNumber ?? ctx.sequenceNumber,
    addedSnapshotId: ctx.addedSnapshotId,
    addedFilesCount: counts.added[0] ?? 0,
    existingFilesCount: counts.existing[0] ?? 0,
    deletedFilesCount: counts.deleted[0] ?? 0,
    addedRowsCount: counts.added[1] ?? 0,
    existingRowsCount: counts.existing[1] ?? 0,
    deletedRowsCount: counts.deleted[1] ?? 0,
    partitions: ctx.partitionType.fields.map((field) =>
      fieldSummary(
        field.type,
        entries.map((entry) => (entry.dataFile.partition[field.fieldId] ?? null) as IcebergValue),
      ),
    ),
  };
}

function fieldSummary(type: PrimitiveType, values: IcebergValue[]): FieldSummary {
  let containsNull = false;
  let containsNan = false;
  let lower: IcebergValue = null;
  let upper: IcebergValue = null;
  for (const value of values) {
    if (value === null) {
      containsNull = true;
      continue;
    }
    if (typeof value === 'number' && Number.isNaN(value)) {
      containsNan = true;
      continue;
    }
    if (lower === null || compareValues(type, value, lower) < 0) lower = value;
    if (upper === null || compareValues(type, value, upper) > 0) upper = value;
  }
  const summary: FieldSummary = { containsNull, containsNan };
  if (lower !== null) summary.lowerBound = encodeValue(type, lower);
  if (upper !== null) summary.upperBound = encodeValue(type, upper);
  return summary;
}

// ---- writing ---------------------------------------------------------------------------------

function checkPartitionType(spec: PartitionSpec, partitionType: PartitionStructType): void {
  const specIds = spec.fields.map((field) => field.fieldId).join(',');
  const typeIds = partitionType.fields.map((field) => field.fieldId).join(',');
  if (specIds !== typeIds) {
    throw new ValidationError(
      'INVALID_PARTITION',
      `partition type fields [${typeIds}] do not match partition spec ${spec.specId} fields [${specIds}]`,
    );
  }
}

function entryToAvro(entry: ManifestEntry, ctx: ManifestWriteContext): AvroRecordValue {
  const file = entry.dataFile;
  const path = file.filePath;
  const expected = ctx.content === 'data' ? [0] : [1, 2];
  if (!expected.includes(file.content)) {
    throw new ValidationError('INVALID_ARGUMENT', `manifest entry ${path}: content ${file.content} cannot be written to a ${ctx.content} manifest`);
  }
  if (file.content === 2 && (file.equalityIds === undefined || file.equalityIds.length === 0)) {
    throw new ValidationError('INVALID_ARGUMENT', `manifest entry ${path}: an equality delete file needs equality ids`);
  }
  if (entry.status !== 1 && (entry.sequenceNumber === undefined || entry.fileSequenceNumber === undefined)) {
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `manifest entry ${path}: status ${entry.status} (existing/deleted) needs explicit sequence numbers, got ${entry.sequenceNumber}/${entry.fileSequenceNumber}`,
    );
  }
  if (entry.snapshotId !== undefined && (entry.snapshotId < -(2n ** 63n) || entry.snapshotId >= 2n ** 64n)) {
    throw new ValidationError('INVALID_ARGUMENT', `manifest entry ${path}: snapshot id ${entry.snapshotId} does not fit 64 bits`);
  }
  return {
    status: entry.status,
    snapshot_id: entry.snapshotId ?? null,
    sequence_number: entry.sequenceNumber ?? null,
    file_sequence_number: entry.fileSequenceNumber ?? null,
    data_file: {
      content: file.content,
      file_path: path,
      file_format: file.fileFormat,
      partition: partitionToAvro(file, ctx.partitionType),
      record_count: file.recordCount,
      file_size_in_bytes: file.fileSizeInBytes,
      column_sizes: mapToAvro(file.columnSizes),
      value_counts: mapToAvro(file.valueCounts),
      null_value_counts: mapToAvro(file.nullValueCounts),
      nan_value_counts: mapToAvro(file.nanValueCounts),
      lower_bounds: mapToAvro(file.lowerBounds),
      upper_bounds: mapToAvro(file.upperBounds),
      key_metadata: file.keyMetadata ?? null,
      split_offsets: file.splitOffsets ?? null,
      equality_ids: file.equalityIds ?? null,
      sort_order_id: file.sortOrderId ?? null,
      referenced_data_file: null,
    },
  };
}

function partitionToAvro(file: DataFile, partitionType: PartitionStructType): AvroRecordValue {
  const known = new Set(partitionType.fields.map((field) => String(field.fieldId)));
  for (const key of Object.keys(file.partition)) {
    if (!known.has(key)) {
      throw new ValidationError('INVALID_PARTITION', `data file ${file.filePath}: partition value for field id ${key}, which the partition spec does not have`);
    }
  }
  const record: AvroRecordValue = {};
  for (const field of partitionType.fields) {
    if (!(field.fieldId in file.partition)) {
      throw new ValidationError('INVALID_PARTITION', `data file ${file.filePath}: no value (not even null) for partition field ${field.fieldId} ${field.name}`);
    }
    const value = file.partition[field.fieldId];
    record[avroName(field.name)] = value === null ? null : partitionValueToAvro(field.type, value, `${file.filePath} partition field ${field.fieldId} ${field.name}`);
  }
  return record;
}

/** Appendix A type mapping, from the IcebergValue convention (see types.ts) to avsc values. */
function partitionValueToAvro(type: PrimitiveType, value: unknown, where: string): unknown {
  const mismatch = (expected: string): ValidationError =>
    new ValidationError('INVALID_PARTITION', `${where}: ${describeValue(value)} is not a valid ${type} value (expected ${expected})`);
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch('boolean');
      return value;
    case 'int':
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value) || value !== (value | 0)) throw mismatch('a 32-bit integer number');
      return value;
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      if (typeof value !== 'bigint' || value !== BigInt.asIntN(64, value)) throw mismatch('a 64-bit bigint');
      return value;
    case 'float':
    case 'double':
      if (typeof value !== 'number') throw mismatch('number');
      return value;
    case 'string':
      if (typeof value !== 'string') throw mismatch('string');
      return value;
    case 'uuid':
      if (typeof value !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw mismatch('uuid text');
      return uuidToBytes(value);
    case 'binary':
      if (!(value instanceof Uint8Array)) throw mismatch('Uint8Array');
      return value;
    case 'fixed': {
      const length = fixedLength(type);
      if (!(value instanceof Uint8Array) || value.length !== length) throw mismatch(`Uint8Array of ${length} bytes`);
      return value;
    }
    case 'decimal': {
      const { precision } = decimalParams(type);
      const limit = 10n ** BigInt(precision);
      if (typeof value !== 'bigint' || value <= -limit || value >= limit) throw mismatch(`an unscaled bigint of at most ${precision} digits`);
      return decimalToFixed(value, decimalFixedSize(precision));
    }
  }
}

/** Appendix A: a decimal is its unscaled value, two's complement big-endian, sign-extended to `size`. */
function decimalToFixed(unscaled: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let rest = BigInt.asUintN(size * 8, unscaled);
  for (let i = size - 1; i >= 0; i -= 1) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

function mapToAvro(map: Map<number, number> | Map<number, Uint8Array> | undefined): { key: number; value: unknown }[] | null {
  if (map === undefined) return null;
  const out: { key: number; value: unknown }[] = [];
  for (const [key, value] of map) out.push({ key, value });
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

interface PartitionFieldReader {
  fieldId: number;
  /** Key of the field in the decoded partition record. */
  key: string;
  decode: (value: unknown, where: string) => IcebergValue;
}

function readEntry(record: AvroRecord, partitionFields: PartitionFieldReader[]): ManifestEntry {
  const status = record.integer(0, 'status');
  if (status !== 0 && status !== 1 && status !== 2) throw record.corrupt(0, 'status', `is ${status}, expected 0, 1 or 2`);
  const entry: ManifestEntry = { status, dataFile: readDataFile(record.record(2, 'data_file'), partitionFields) };
  const snapshotId = record.optionalLong(1, 'snapshot_id');
  if (snapshotId !== undefined) entry.snapshotId = BigInt.asUintN(64, snapshotId);
  // Appendix E: v1 manifests have no sequence number fields; they default to 0.
  const sequenceNumber = record.has(3) ? record.optionalInteger(3, 'sequence_number') : 0;
  if (sequenceNumber !== undefined) entry.sequenceNumber = sequenceNumber;
  const fileSequenceNumber = record.has(4) ? record.optionalInteger(4, 'file_sequence_number') : 0;
  if (fileSequenceNumber !== undefined) entry.fileSequenceNumber = fileSequenceNumber;
  return entry;
}

function readDataFile(record: AvroRecord, partitionFields: PartitionFieldReader[]): DataFile {
  const content = record.has(134) ? record.integer(134, 'content') : 0;
  if (content !== 0 && content !== 1 && content !== 2) throw record.corrupt(134, 'content', `is ${content}, expected 0, 1 or 2`);
  const format = record.string(101, 'file_format').toUpperCase();
  if (format !== 'PARQUET' && format !== 'AVRO' && format !== 'ORC') {
    throw new ExternalError('UNSUPPORTED', `${record.source}: ${record.label} file_format "${format}" is not supported (PARQUET, AVRO, ORC)`);
  }
  const file: DataFile = {
    content,
    filePath: record.string(100, 'file_path'),
    fileFormat: format,
    partition: readPartition(record.record(102, 'partition'), partitionFields),
    recordCount: record.integer(103, 'record_count'),
    fileSizeInBytes: record.integer(104, 'file_size_in_bytes'),
  };
  const columnSizes = readCountMap(record, 108, 'column_sizes');
  if (columnSizes) file.columnSizes = columnSizes;
  const valueCounts = readCountMap(record, 109, 'value_counts');
  if (valueCounts) file.valueCounts = valueCounts;
  const nullValueCounts = readCountMap(record, 110, 'null_value_counts');
  if (nullValueCounts) file.nullValueCounts = nullValueCounts;
  const nanValueCounts = readCountMap(record, 137, 'nan_value_counts');
  if (nanValueCounts) file.nanValueCounts = nanValueCounts;
  const lowerBounds = readBytesMap(record, 125, 'lower_bounds');
  if (lowerBounds) file.lowerBounds = lowerBounds;
  const upperBounds = readBytesMap(record, 128, 'upper_bounds');
  if (upperBounds) file.upperBounds = upperBounds;
  const keyMetadata = record.optionalBytes(131, 'key_metadata');
  if (keyMetadata) file.keyMetadata = keyMetadata;
  const splitOffsets = readIntegerList(record, 132, 'split_offsets');
  if (splitOffsets) file.splitOffsets = splitOffsets;
  const equalityIds = readIntegerList(record, 135, 'equality_ids');
  if (equalityIds) file.equalityIds = equalityIds;
  const sortOrderId = record.optionalInteger(140, 'sort_order_id');
  if (sortOrderId !== undefined) file.sortOrderId = sortOrderId;
  return file;
}

function readPartition(record: AvroRecord, fields: PartitionFieldReader[]): PartitionValues {
  const values: PartitionValues = {};
  for (const field of fields) {
    const value = record.rawByKey(field.key);
    values[field.fieldId] = value === undefined ? null : field.decode(value, `${record.source}: ${record.label} field ${field.fieldId}`);
  }
  return values;
}

/** Spec Appendix A: a map with int keys is an array of 2-field records, key first. */
function readMapEntries(record: AvroRecord, fieldId: number, name: string): [unknown, unknown][] | undefined {
  const array = record.optionalArray(fieldId, name);
  if (array === undefined) return undefined;
  return array.map((item) => {
    if (typeof item !== 'object' || item === null) throw record.corrupt(fieldId, name, 'has an entry that is not a key/value record');
    const [key, value] = Object.values(item as Record<string, unknown>);
    return [key, value];
  });
}

function readCountMap(record: AvroRecord, fieldId: number, name: string): Map<number, number> | undefined {
  const entries = readMapEntries(record, fieldId, name);
  if (entries === undefined) return undefined;
  return new Map(entries.map(([key, value]) => [record.toInteger(key, fieldId, `${name} key`), record.toInteger(value, fieldId, `${name} value`)]));
}

function readBytesMap(record: AvroRecord, fieldId: number, name: string): Map<number, Uint8Array> | undefined {
  const entries = readMapEntries(record, fieldId, name);
  if (entries === undefined) return undefined;
  return new Map(
    entries.map(([key, value]) => {
      if (!(value instanceof Uint8Array)) throw record.corrupt(fieldId, name, `has a value for key ${String(key)} that is not binary`);
      return [record.toInteger(key, fieldId, `${name} key`), new Uint8Array(value)];
    }),
  );
}

function readIntegerList(record: AvroRecord, fieldId: number, name: string): number[] | undefined {
  return record.optionalArray(fieldId, name)?.map((item) => record.toInteger(item, fieldId, name));
}

/** The partition struct's fields (data_file 2 -> partition 102) and how to decode each. */
function partitionFieldsOf(schema: AvroSchema, source: string): PartitionFieldReader[] {
  const named = new Map<string, AvroSchema>();
  collectNamed(schema, named);
  const fail = (problem: string): ExternalError => new ExternalError('METADATA_CORRUPT', `${source}: manifest schema ${problem}`);
  const dataFile = recordFieldType(resolve(schema, named), 2, named);
  if (dataFile === undefined) throw fail('has no data_file field (field id 2)');
  const partition = recordFieldType(dataFile, 102, named);
  if (partition === undefined) throw fail('has no data_file.partition field (field id 102)');
  if (!isObject(partition) || partition.type !== 'record' || !Array.isArray(partition.fields)) throw fail('has a partition field that is not a record');
  return (partition.fields as Record<string, unknown>[]).map((field, index) => {
    const id = typeof field['field-id'] === 'number' ? field['field-id'] : 1000 + index;
    const type = resolve(nonNull(field.type as AvroSchema), named);
    return { fieldId: id, key: recordFieldKey(field, index), decode: partitionDecoder(type) };
  });
}

/** Decoded partition value (see avro-decoder.ts) -> IcebergValue, chosen by the writer's Avro type. */
function partitionDecoder(type: AvroSchema): PartitionFieldReader['decode'] {
  const base = isObject(type) ? (type.type as string) : String(type);
  const logicalType = isObject(type) ? type.logicalType : undefined;
  const corrupt = (where: string, value: unknown): ExternalError =>
    new ExternalError('METADATA_CORRUPT', `${where}: partition value ${describeValue(value)} does not match its Avro type ${JSON.stringify(type)}`);
  if ((base === 'fixed' || base === 'bytes') && logicalType === 'decimal') {
    return (value, where) => {
      if (!(value instanceof Uint8Array)) throw corrupt(where, value);
      return fromTwosComplement(value);
    };
  }
  if (base === 'fixed' && logicalType === 'uuid') {
    return (value, where) => {
      if (!(value instanceof Uint8Array) || value.length !== 16) throw corrupt(where, value);
      return bytesToUuid(value);
    };
  }
  switch (base) {
    case 'boolean':
    case 'int':
    case 'float':
    case 'double':
    case 'string':
      return (value, where) => {
        const ok = base === 'boolean' ? typeof value === 'boolean' : base === 'string' ? typeof value === 'string' : typeof value === 'number';
        if (!ok) throw corrupt(where, value);
        return value as IcebergValue;
      };
    case 'long':
      // The decoder gives longs within 2^53 as numbers; the IcebergValue of a long is a bigint.
      return (value, where) => {
        if (typeof value === 'bigint') return value;
        if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
        throw corrupt(where, value);
      };
    case 'bytes':
    case 'fixed':
      return (value, where) => {
        if (!(value instanceof Uint8Array)) throw corrupt(where, value);
        return new Uint8Array(value);
      };
    default:
      return (value, where) => {
        throw corrupt(where, value);
      };
  }
}

function fromTwosComplement(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return bytes.length === 0 ? 0n : BigInt.asIntN(bytes.length * 8, value);
}

function recordFieldType(schema: AvroSchema, fieldId: number, named: Map<string, AvroSchema>): AvroSchema | undefined {
  if (!isObject(schema) || schema.type !== 'record' || !Array.isArray(schema.fields)) return undefined;
  const field = (schema.fields as Record<string, unknown>[]).find((candidate) => candidate['field-id'] === fieldId);
  return field === undefined ? undefined : resolve(nonNull(field.type as AvroSchema), named);
}

function nonNull(schema: AvroSchema): AvroSchema {
  if (!Array.isArray(schema)) return schema;
  const branches = schema.filter((branch) => branch !== 'null');
  return branches.length === 1 && branches[0] !== undefined ? branches[0] : schema;
}

function resolve(schema: AvroSchema, named: Map<string, AvroSchema>): AvroSchema {
  if (typeof schema === 'string') return named.get(schema) ?? named.get(schema.split('.').pop() ?? schema) ?? schema;
  return schema;
}

function collectNamed(schema: AvroSchema, named: Map<string, AvroSchema>): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNamed(branch, named);
    return;
  }
  if (!isObject(schema)) return;
  if (typeof schema.name === 'string' && (schema.type === 'record' || schema.type === 'fixed' || schema.type === 'enum')) {
    named.set(schema.name, schema);
    if (typeof schema.namespace === 'string' && schema.namespace !== '') named.set(`${schema.namespace}.${schema.name}`, schema);
  }
  if (Array.isArray(schema.fields)) for (const field of schema.fields as Record<string, unknown>[]) collectNamed(field.type as AvroSchema, named);
  if (schema.items !== undefined) collectNamed(schema.items as AvroSchema, named);
  if (schema.values !== undefined) collectNamed(schema.values as AvroSchema, named);
}

function parseFormatVersion(value: string | undefined, source: string): 1 | 2 {
  if (value === undefined || value === '1') return 1;
  if (value === '2') return 2;
  throw new ExternalError('METADATA_UNSUPPORTED_VERSION', `${source}: manifest format-version "${value}" is not supported (1 or 2)`);
}

function optionalIntKey(metadata: ReadonlyMap<string, string>, key: string, source: string): number | undefined {
  const text = metadata.get(key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new ExternalError('METADATA_CORRUPT', `${source}: manifest metadata ${key} is "${text}", not an integer`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
