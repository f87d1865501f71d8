/**
 * Iceberg domain types (camelCase). Wire names (`format-version`, ...) are converted in
 * metadata.ts (JSON) and manifest-*.ts (Avro) only. Spec: ../shared/reference/iceberg/spec.md
 */

export type PrimitiveTypeName =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'timestamp_ns'
  | 'timestamptz_ns'
  | 'string'
  | 'uuid'
  | 'binary';

/** `decimal(P,S)` and `fixed[L]` carry parameters; every other primitive is its bare name. */
export type PrimitiveType = PrimitiveTypeName | `decimal(${number}, ${number})` | `decimal(${number},${number})` | `fixed[${number}]`;

export interface StructField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
  initialDefault?: unknown;
  writeDefault?: unknown;
}

export interface StructType {
  type: 'struct';
  fields: StructField[];
}

export interface ListType {
  type: 'list';
  elementId: number;
  elementRequired: boolean;
  element: IcebergType;
}

export interface MapType {
  type: 'map';
  keyId: number;
  key: IcebergType;
  valueId: number;
  valueRequired: boolean;
  value: IcebergType;
}

export type IcebergType = PrimitiveType | StructType | ListType | MapType;

export interface Schema extends StructType {
  schemaId: number;
  identifierFieldIds?: number[];
}

export type Transform =
  | 'identity'
  | 'year'
  | 'month'
  | 'day'
  | 'hour'
  | 'void'
  | `bucket[${number}]`
  | `truncate[${number}]`;

export interface PartitionField {
  sourceId: number;
  fieldId: number;
  name: string;
  transform: Transform;
}

export interface PartitionSpec {
  specId: number;
  fields: PartitionField[];
}

export interface SortField {
  sourceId: number;
  transform: Transform;
  direction: 'asc' | 'desc';
  nullOrder: 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  orderId: number;
  fields: SortField[];
}

export type Operation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  snapshotId: bigint;
  parentSnapshotId?: bigint;
  sequenceNumber: number;
  timestampMs: number;
  manifestList: string;
  /** `operation` plus free-form string properties, as in the spec's summary map. */
  summary: { operation: Operation } & Record<string, string>;
  schemaId?: number;
}

export interface SnapshotRef {
  snapshotId: bigint;
  type: 'branch' | 'tag';
  maxRefAgeMs?: number;
  maxSnapshotAgeMs?: number;
  minSnapshotsToKeep?: number;
}

export interface SnapshotLogEntry {
  timestampMs: number;
  snapshotId: bigint;
}

export interface MetadataLogEntry {
  timestampMs: number;
  metadataFile: string;
}

export interface TableMetadata {
  formatVersion: 1 | 2;
  tableUuid: string;
  location: string;
  lastSequenceNumber: number;
  lastUpdatedMs: number;
  lastColumnId: number;
  schemas: Schema[];
  currentSchemaId: number;
  partitionSpecs: PartitionSpec[];
  defaultSpecId: number;
  lastPartitionId: number;
  properties: Record<string, string>;
  currentSnapshotId?: bigint;
  snapshots: Snapshot[];
  snapshotLog: SnapshotLogEntry[];
  metadataLog: MetadataLogEntry[];
  sortOrders: SortOrder[];
  defaultSortOrderId: number;
  refs: Record<string, SnapshotRef>;
}

/** manifest_file.content / data_file.content values. */
export const ManifestContent = { data: 0, deletes: 1 } as const;
export const FileContent = { data: 0, positionDeletes: 1, equalityDeletes: 2 } as const;
export const EntryStatus = { existing: 0, added: 1, deleted: 2 } as const;

export interface FieldSummary {
  containsNull: boolean;
  containsNan?: boolean;
  lowerBound?: Uint8Array;
  upperBound?: Uint8Array;
}

/** One entry of a manifest list (spec: "Manifest Lists"). */
export interface ManifestFile {
  manifestPath: string;
  manifestLength: number;
  partitionSpecId: number;
  content: 0 | 1;
  sequenceNumber: number;
  minSequenceNumber: number;
  addedSnapshotId: bigint;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: number;
  existingRowsCount: number;
  deletedRowsCount: number;
  partitions?: FieldSummary[];
  keyMetadata?: Uint8Array;
}

/** Partition tuple of a data file: partition field id -> transformed value (null allowed). */
export type PartitionValues = Record<number, unknown>;

/** A data or delete file (spec: "Manifests", data_file struct). Maps are keyed by field id. */
export interface DataFile {
  content: 0 | 1 | 2;
  filePath: string;
  fileFormat: 'PARQUET' | 'AVRO' | 'ORC';
  partition: PartitionValues;
  recordCount: number;
  fileSizeInBytes: number;
  columnSizes?: Map<number, number>;
  valueCounts?: Map<number, number>;
  nullValueCounts?: Map<number, number>;
  nanValueCounts?: Map<number, number>;
  lowerBounds?: Map<number, Uint8Array>;
  upperBounds?: Map<number, Uint8Array>;
  keyMetadata?: Uint8Array;
  splitOffsets?: number[];
  equalityIds?: number[];
  sortOrderId?: number;
}

/** One manifest entry (spec: manifest_entry). Sequence numbers are inherited when null. */
export interface ManifestEntry {
  status: 0 | 1 | 2;
  snapshotId?: bigint;
  sequenceNumber?: number;
  fileSequenceNumber?: number;
  dataFile: DataFile;
}

/**
 * How Iceberg values are held in memory (partition tuples, decoded bounds):
 * boolean -> boolean; int, date (days since epoch) -> number; long -> bigint;
 * float, double -> number; time, timestamp[tz] (micros), timestamp[tz]_ns (nanos) -> bigint;
 * string, uuid (canonical text) -> string; binary, fixed -> Uint8Array;
 * decimal(P,S) -> bigint holding the unscaled value (scale from the type).
 */
export type IcebergValue = boolean | number | bigint | string | Uint8Array | null;
