/**
 * Manifest list files: one Avro `manifest_file` record per manifest of a snapshot.
 * Spec: "Manifest Lists", Appendix A "Avro", Appendix E "Version 2" (reading v1 lists).
 */
import { ValidationError } from '../core/errors.js';
import { readAvroFile, writeAvroFile, type AvroCodec } from './avro-file.js';
import { AvroRecord } from './avro-record.js';
import { manifestListSchema } from './avro-schemas.js';
import type { FieldSummary, ManifestFile } from './types.js';

export interface ManifestListMeta {
  snapshotId: bigint;
  parentSnapshotId?: bigint;
  sequenceNumber: number;
}

/**
 * Counts a v1 manifest list leaves null come back as this value: the spec says "when null this
 * is assumed to be non-zero", so test counts with `!== 0`, never `> 0`.
 */
export const UNKNOWN_COUNT = -1;

/**
 * Writes a v2 manifest list. File metadata keys as the Java reference writes them: `snapshot-id`,
 * `parent-snapshot-id` ("null" without a parent), `sequence-number`, `format-version` = "2".
 * Snapshot ids may be any bigint in [-2^63, 2^64) (ids from 2^63 are stored as the two's
 * complement, which `readManifestList` turns back into the same unsigned value).
 */
/** Each manifest entry's encoded record: a commit's list repeats every entry of its parent's list. */
const encodedEntries = new WeakMap<ManifestFile, Buffer>();

export function writeManifestList(entries: ManifestFile[], meta: ManifestListMeta, options: { codec?: AvroCodec } = {}): Uint8Array {
  checkSnapshotId(meta.snapshotId, 'snapshot-id');
  if (meta.parentSnapshotId !== undefined) checkSnapshotId(meta.parentSnapshotId, 'parent-snapshot-id');
  const toRecord = (entry: ManifestFile) => {
    checkSnapshotId(entry.addedSnapshotId, `added_snapshot_id of ${entry.manifestPath}`);
    checkCounts(entry);
    return {
      manifest_path: entry.manifestPath,
      manifest_length: entry.manifestLength,
      partition_spec_id: entry.partitionSpecId,
      content: entry.content,
      sequence_number: entry.sequenceNumber,
      min_sequence_number: entry.minSequenceNumber,
      added_snapshot_id: entry.addedSnapshotId,
      added_files_count: entry.addedFilesCount,
      existing_files_count: entry.existingFilesCount,
      deleted_files_count: entry.deletedFilesCount,
      added_rows_count: entry.addedRowsCount,
      existing_rows_count: entry.existingRowsCount,
      deleted_rows_count: entry.deletedRowsCount,
      partitions: entry.partitions?.map((summary) => ({
        contains_null: summary.containsNull,
        contains_nan: summary.containsNan ?? null,
        lower_bound: summary.lowerBound ?? null,
        upper_bound: summary.upperBound ?? null,
      })) ?? null,
      key_metadata: entry.keyMetadata ?? null,
    };
  };
  // The v2 list schema never changes, so an entry's bytes are valid for every list it is in.
  return writeAvroFile(manifestListSchema(), { items: entries, toRecord, encoded: encodedEntries }, {
    metadata: {
      'snapshot-id': meta.snapshotId.toString(),
      'parent-snapshot-id': meta.parentSnapshotId === undefined ? 'null' : meta.parentSnapshotId.toString(),
      'sequence-number': String(meta.sequenceNumber),
      'format-version': '2',
    },
    ...(options.codec ? { codec: options.codec } : {}),
  });
}

/**
 * Reads a v1 or v2 manifest list written by any engine, resolving fields by field id.
 * v1 lists: `content` defaults to 0, sequence numbers to 0 (Appendix E), null counts to
 * UNKNOWN_COUNT. `addedSnapshotId` is returned as an unsigned 64-bit value
 * (BigInt.asUintN(64, ...)) so that it equals the id table metadata JSON holds even for ids
 * above 2^63 - 1 (which Avro stores as negative longs). Throws ExternalError METADATA_CORRUPT
 * naming `source` when the file is not Avro or a required field is missing.
 */
export function readManifestList(bytes: Uint8Array, source: string): ManifestFile[] {
  const file = readAvroFile(bytes, source);
  return file.records.map((value, index) => readManifestFile(new AvroRecord(value, source, `manifest_file ${index}`)));
}

function readManifestFile(record: AvroRecord): ManifestFile {
  const content = record.has(517) ? record.integer(517, 'content') : 0;
  if (content !== 0 && content !== 1) throw record.corrupt(517, 'content', `is ${content}, expected 0 (data) or 1 (deletes)`);
  const manifest: ManifestFile = {
    manifestPath: record.string(500, 'manifest_path'),
    manifestLength: record.integer(501, 'manifest_length'),
    partitionSpecId: record.integer(502, 'partition_spec_id'),
    content,
    sequenceNumber: record.has(515) ? record.integer(515, 'sequence_number') : 0,
    minSequenceNumber: record.has(516) ? record.integer(516, 'min_sequence_number') : 0,
    addedSnapshotId: BigInt.asUintN(64, record.long(503, 'added_snapshot_id')),
    addedFilesCount: record.optionalInteger(504, 'added_files_count') ?? UNKNOWN_COUNT,
    existingFilesCount: record.optionalInteger(505, 'existing_files_count') ?? UNKNOWN_COUNT,
    deletedFilesCount: record.optionalInteger(506, 'deleted_files_count') ?? UNKNOWN_COUNT,
    addedRowsCount: record.optionalInteger(512, 'added_rows_count') ?? UNKNOWN_COUNT,
    existingRowsCount: record.optionalInteger(513, 'existing_rows_count') ?? UNKNOWN_COUNT,
    deletedRowsCount: record.optionalInteger(514, 'deleted_rows_count') ?? UNKNOWN_COUNT,
  };
  const partitions = record.optionalArray(507, 'partitions');
  if (partitions !== undefined) {
    manifest.partitions = partitions.map((value, index) =>
      readFieldSummary(new AvroRecord(value, record.source, `${record.label} partitions[${index}]`)),
    );
  }
  const keyMetadata = record.optionalBytes(519, 'key_metadata');
  if (keyMetadata !== undefined) manifest.keyMetadata = keyMetadata;
  return manifest;
}

function readFieldSummary(record: AvroRecord): FieldSummary {
  const summary: FieldSummary = { containsNull: record.boolean(509, 'contains_null') };
  const containsNan = record.optionalBoolean(518, 'contains_nan');
  if (containsNan !== undefined) summary.containsNan = containsNan;
  const lowerBound = record.optionalBytes(510, 'lower_bound');
  if (lowerBound !== undefined) summary.lowerBound = lowerBound;
  const upperBound = record.optionalBytes(511, 'upper_bound');
  if (upperBound !== undefined) summary.upperBound = upperBound;
  return summary;
}

/** v2 requires every count (spec "Manifest Lists"): UNKNOWN_COUNT from a v1 list must be computed first. */
function checkCounts(entry: ManifestFile): void {
  const counts = {
    added_files_count: entry.addedFilesCount,
    existing_files_count: entry.existingFilesCount,
    deleted_files_count: entry.deletedFilesCount,
    added_rows_count: entry.addedRowsCount,
    existing_rows_count: entry.existingRowsCount,
    deleted_rows_count: entry.deletedRowsCount,
  };
  for (const [name, count] of Object.entries(counts)) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new ValidationError('INVALID_ARGUMENT', `manifest list entry ${entry.manifestPath}: ${name} is ${count}, not a count (recount a v1 manifest before writing it to a v2 list)`);
    }
  }
}

function checkSnapshotId(id: bigint, what: string): void {
  if (id < -(2n ** 63n) || id >= 2n ** 64n) {
    throw new ValidationError('INVALID_ARGUMENT', `manifest list ${what} ${id} does not fit 64 bits`);
  }
}
