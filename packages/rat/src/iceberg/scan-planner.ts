/**
 * Scan planning (spec "Scan Planning"): from a snapshot's manifest list to the data files a query
 * must read, each with the delete files that apply to it. Pruning is inclusive everywhere: a file
 * is dropped only when its metadata proves that no row can match the pushed predicates; the engine
 * still applies the full WHERE clause to what is read.
 */
import { ExternalError, NotFoundError, isRatError } from '../core/errors.js';
import { checkPredicate, type CompareOp, type Predicate } from './predicate.js';
import { applyTransform, transformIsOrderPreserving, transformResultType } from './transforms.js';
import { indexById } from './schema-index.js';
import { compareValues, decodeValue, promotedValue } from './values.js';
import type { readManifest } from './manifest.js';
import { currentSchema, schemaById, snapshotById, specById } from './metadata.js';
import {
  EntryStatus,
  FileContent,
  ManifestContent,
  type DataFile,
  type FieldSummary,
  type IcebergValue,
  type ManifestEntry,
  type ManifestFile,
  type PartitionField,
  type PartitionSpec,
  type PrimitiveType,
  type Schema,
  type Snapshot,
  type TableMetadata,
} from './types.js';

export type LoadedManifest = ReturnType<typeof readManifest>;

export interface PlanScanInput {
  metadata: TableMetadata;
  /** Time travel; the table's current snapshot when omitted. */
  snapshotId?: bigint;
  /** A conjunction: a file is read only if every predicate might hold for one of its rows. */
  predicates: Predicate[];
  loadManifestList(location: string): Promise<ManifestFile[]>;
  loadManifest(location: string): Promise<LoadedManifest>;
}

export interface ScanTask {
  dataFile: DataFile;
  dataSequenceNumber: number;
  specId: number;
  /**
   * The snapshot that added the file (its entry's snapshot id, inherited from the manifest for an
   * ADDED entry); unknown for an EXISTING entry without one. Not the manifest's `schema`: a manifest
   * rewritten or merged by a later commit lists files written under older schemas.
   */
  addedSnapshotId?: bigint;
  /** Position delete files that may hold positions of this file; the reader matches `file_path`. */
  positionDeletes: DataFile[];
  equalityDeletes: { file: DataFile; sequenceNumber: number }[];
}

export interface ScanStats {
  manifestsTotal: number;
  /** Manifests not read: no live files, or partition summaries exclude the predicates. */
  manifestsSkipped: number;
  /** Live data files in the data manifests that were read (= skipped + selected). */
  dataFilesTotal: number;
  dataFilesSkippedByPartition: number;
  dataFilesSkippedByBounds: number;
  dataFilesSelected: number;
  /** Distinct delete files attached to at least one task. */
  deleteFilesSelected: number;
}

export interface PlannedScan {
  snapshotId?: bigint;
  /** The snapshot's schema for time travel, else the current schema. */
  schema: Schema;
  tasks: ScanTask[];
  stats: ScanStats;
}

/** Manifests are read with this many requests in flight. */
const MANIFEST_CONCURRENCY = 8;

/** Reserved field id of `file_path` in position delete files (spec "Position Delete Files"). */
const DELETE_FILE_PATH_FIELD_ID = 2147483546;

export async function planScan(input: PlanScanInput): Promise<PlannedScan> {
  const { metadata } = input;
  const snapshot = resolveSnapshot(metadata, input.snapshotId);
  const schema = resolveSchema(metadata, input.snapshotId === undefined ? undefined : snapshot);
  const stats: ScanStats = {
    manifestsTotal: 0,
    manifestsSkipped: 0,
    dataFilesTotal: 0,
    dataFilesSkippedByPartition: 0,
    dataFilesSkippedByBounds: 0,
    dataFilesSelected: 0,
    deleteFilesSelected: 0,
  };
  if (snapshot === undefined) return { schema, tasks: [], stats };

  const columnTypes = primitiveTypesById(schema);
  const columnFilters = bindPredicates(input.predicates, columnTypes);
  const partitionFiltersBySpec = new Map<number, PartitionFilter[]>();
  const partitionFiltersFor = (spec: PartitionSpec): PartitionFilter[] => {
    let filters = partitionFiltersBySpec.get(spec.specId);
    if (filters === undefined) {
      filters = projectFilters(spec, columnFilters);
      partitionFiltersBySpec.set(spec.specId, filters);
    }
    return filters;
  };

  const manifestFiles = await input.loadManifestList(snapshot.manifestList);
  stats.manifestsTotal = manifestFiles.length;
  const toRead: { manifestFile: ManifestFile; spec: PartitionSpec }[] = [];
  for (const manifestFile of manifestFiles) {
    const spec = specOf(metadata, manifestFile.partitionSpecId, manifestFile.manifestPath);
    // Unknown counts of v1 lists are read as UNKNOWN_COUNT, never 0 ("assumed to be non-zero").
    const empty = manifestFile.addedFilesCount === 0 && manifestFile.existingFilesCount === 0;
    // Delete manifests are never pruned by the predicates (see DeleteIndex).
    const excluded = manifestFile.content === ManifestContent.data && !summariesMightMatch(partitionFiltersFor(spec), manifestFile.partitions);
    if (empty || excluded) stats.manifestsSkipped += 1;
    else toRead.push({ manifestFile, spec });
  }

  const manifests = await mapWithConcurrency(toRead, MANIFEST_CONCURRENCY, async (item): Promise<ReadManifest> => ({
    ...item,
    manifest: await input.loadManifest(item.manifestFile.manifestPath),
  }));

  const deletes = indexDeletes(manifests, metadata.formatVersion);

  const tasks: ScanTask[] = [];
  const usedDeleteFiles = new Set<DataFile>();
  for (const { manifestFile, spec, manifest } of manifests) {
    if (manifestFile.content !== ManifestContent.data) continue;
    const partitionFilters = partitionFiltersFor(spec);
    for (const entry of liveEntries(manifest.entries)) {
      const file = entry.dataFile;
      if (file.content !== FileContent.data) {
        throw new ExternalError('METADATA_CORRUPT', `data manifest ${manifestFile.manifestPath} lists delete file ${file.filePath} (content ${file.content})`);
      }
      stats.dataFilesTotal += 1;
      if (!partitionMightMatch(partitionFilters, file.partition)) {
        stats.dataFilesSkippedByPartition += 1;
        continue;
      }
      if (!columnFilters.every((filter) => metricsMightMatch(filter, file))) {
        stats.dataFilesSkippedByBounds += 1;
        continue;
      }
      const sequenceNumber = dataSequenceNumber(entry, manifestFile, metadata.formatVersion);
      const applicable = deletes.forDataFile(file, sequenceNumber, spec);
      for (const deleteFile of applicable.positionDeletes) usedDeleteFiles.add(deleteFile);
      for (const { file: deleteFile } of applicable.equalityDeletes) usedDeleteFiles.add(deleteFile);
      const task: ScanTask = { dataFile: file, dataSequenceNumber: sequenceNumber, specId: spec.specId, ...applicable };
      const addedSnapshotId = entry.snapshotId ?? (entry.status === EntryStatus.added ? manifestFile.addedSnapshotId : undefined);
      if (addedSnapshotId !== undefined) task.addedSnapshotId = addedSnapshotId;
      tasks.push(task);
    }
  }
  stats.dataFilesSelected = tasks.length;
  stats.deleteFilesSelected = usedDeleteFiles.size;
  return { snapshotId: snapshot.snapshotId, schema, tasks, stats };
}

interface ReadManifest {
  manifestFile: ManifestFile;
  spec: PartitionSpec;
  manifest: LoadedManifest;
}

function indexDeletes(manifests: ReadManifest[], formatVersion: number): DeleteIndex {
  const deletes = new DeleteIndex();
  for (const { manifestFile, spec, manifest } of manifests) {
    if (manifestFile.content !== ManifestContent.deletes) continue;
    for (const entry of liveEntries(manifest.entries)) {
      const file = entry.dataFile;
      if (file.content === FileContent.data) {
        throw new ExternalError('METADATA_CORRUPT', `delete manifest ${manifestFile.manifestPath} lists data file ${file.filePath}`);
      }
      deletes.add(file, dataSequenceNumber(entry, manifestFile, formatVersion), spec);
    }
  }
  return deletes;
}

// ---------------------------------------------------------------------------------------------
// Snapshot, schema, spec and sequence numbers

function resolveSnapshot(metadata: TableMetadata, snapshotId: bigint | undefined): Snapshot | undefined {
  if (snapshotId === undefined) {
    // -1 is how some writers spell "no current snapshot" (spec "Table Metadata Fields").
    const current = metadata.currentSnapshotId;
    if (current === undefined || current === -1n) return undefined;
    const snapshot = snapshotById(metadata, current);
    if (snapshot === undefined) {
      throw new ExternalError('METADATA_CORRUPT', `table ${metadata.location}: current snapshot ${current} is not in its snapshot list`);
    }
    return snapshot;
  }
  const snapshot = snapshotById(metadata, snapshotId);
  if (snapshot === undefined) {
    throw new NotFoundError('CATALOG_SNAPSHOT_NOT_FOUND', `table ${metadata.location} has no snapshot ${snapshotId}`);
  }
  return snapshot;
}

/** Time travel reads with the schema the snapshot was written with (spec "Point in Time Reads"). */
function resolveSchema(metadata: TableMetadata, timeTravel: Snapshot | undefined): Schema {
  // v1 snapshots may not record a schema id: they are read with the current schema.
  if (timeTravel?.schemaId === undefined) return currentSchema(metadata);
  const schema = schemaById(metadata, timeTravel.schemaId);
  if (schema === undefined) {
    throw new ExternalError('METADATA_CORRUPT', `table ${metadata.location}: snapshot ${timeTravel.snapshotId} has schema-id ${timeTravel.schemaId}, which names no schema`);
  }
  return schema;
}

function specOf(metadata: TableMetadata, specId: number, manifestPath: string): PartitionSpec {
  const spec = specById(metadata, specId);
  if (spec === undefined) {
    throw new ExternalError('METADATA_CORRUPT', `manifest ${manifestPath} uses partition spec ${specId}, which the table metadata does not list`);
  }
  return spec;
}

/** Deleted entries are informational only (spec "Manifest Entry Fields"). */
function liveEntries(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.filter((entry) => entry.status === EntryStatus.existing || entry.status === EntryStatus.added);
}

/** Spec "Sequence Number Inheritance": null is inherited from the manifest only for ADDED entries. */
function dataSequenceNumber(entry: ManifestEntry, manifestFile: ManifestFile, formatVersion: number): number {
  if (formatVersion === 1) return 0;
  if (entry.sequenceNumber != null) return entry.sequenceNumber;
  if (entry.status === EntryStatus.added) return manifestFile.sequenceNumber;
  throw new ExternalError(
    'METADATA_CORRUPT',
    `manifest ${manifestFile.manifestPath}: existing entry ${entry.dataFile.filePath} has no data sequence number`,
  );
}

// ---------------------------------------------------------------------------------------------
// Binding predicates to column types

interface ColumnFilter {
  predicate: Predicate;
  type: PrimitiveType;
}

/**
 * Primitive columns a row predicate can refer to: top-level or nested in structs only. Inside a
 * list or map, counts and bounds describe elements, not rows.
 */
function primitiveTypesById(schema: Schema): Map<number, PrimitiveType> {
  const index = indexById(schema);
  const types = new Map<number, PrimitiveType>();
  for (const [id, { field, parentIds }] of index) {
    const inStructsOnly = parentIds.every((parentId) => {
      const parentType = index.get(parentId)?.field.type;
      return typeof parentType === 'object' && parentType.type === 'struct';
    });
    if (typeof field.type === 'string' && inStructsOnly) types.set(id, field.type);
  }
  return types;
}

/** Predicates on ids that are not primitive columns of the scan schema are kept out: they never prune. */
function bindPredicates(predicates: Predicate[], columnTypes: Map<number, PrimitiveType>): ColumnFilter[] {
  const filters: ColumnFilter[] = [];
  for (const predicate of predicates) {
    const type = columnTypes.get(predicate.fieldId);
    if (type === undefined) continue;
    checkPredicate(predicate, type);
    filters.push({ predicate, type });
  }
  return filters;
}

// ---------------------------------------------------------------------------------------------
// Value helpers

function isFloating(type: PrimitiveType): boolean {
  return type === 'float' || type === 'double';
}

function isNanValue(value: unknown): boolean {
  return typeof value === 'number' && Number.isNaN(value);
}

/**
 * UUID bounds written by older Java versions used a signed order, which disagrees with the spec's
 * unsigned byte order, so a UUID bound proves nothing about a literal.
 */
function hasTrustedBounds(type: PrimitiveType): boolean {
  return type !== 'uuid';
}

/** Types whose bounds may be truncated prefixes (spec "Field-level Metrics", metrics mode truncate). */
function hasTruncatableBounds(type: PrimitiveType): boolean {
  return type === 'string' || type === 'binary';
}

/**
 * A bound in the IcebergValue form of `type`, or undefined when absent or undecodable: a string
 * bound truncated inside a UTF-8 sequence, or bytes of a width the type does not allow, prove
 * nothing and must not prune.
 */
function decodeBound(type: PrimitiveType, bytes: Uint8Array | undefined): IcebergValue | undefined {
  if (bytes === undefined) return undefined;
  try {
    return promotedValue(type, decodeValue(type, bytes));
  } catch (error) {
    if (isRatError(error)) return undefined;
    throw error;
  }
}

/**
 * Order used for pruning: the spec order, except that floats compare numerically so that
 * -0.0 equals 0.0 as it does in SQL (the spec's total order puts -0.0 first).
 */
function compare(type: PrimitiveType, a: IcebergValue, b: IcebergValue): number {
  if (isFloating(type)) {
    const x = a as number;
    const y = b as number;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return compareValues(type, a, b);
}

function isPrefix(type: PrimitiveType, prefix: IcebergValue, value: IcebergValue): boolean {
  if (typeof prefix === 'string' && typeof value === 'string') return value.startsWith(prefix);
  if (prefix instanceof Uint8Array && value instanceof Uint8Array) {
    return prefix.length <= value.length && prefix.every((byte, i) => value[i] === byte);
  }
  return compare(type, prefix, value) === 0;
}

/**
 * Whether `value` is certainly greater than every value bounded above by `upper`.
 *
 * For strings and binary, an upper bound may be a truncated prefix of the real maximum M: writers
 * that follow the Java implementation increment the last kept character (then upper >= M), others
 * just cut (then upper <= M and upper is a prefix of M). `value > upper` alone proves nothing in the
 * second case. But if also `upper` is not a prefix of `value`, the first position where they differ
 * lies inside `upper`, where `upper` and M agree, so `value > M` in both cases.
 */
function aboveUpperBound(type: PrimitiveType, value: IcebergValue, upper: IcebergValue): boolean {
  if (compare(type, value, upper) <= 0) return false;
  return !hasTruncatableBounds(type) || !isPrefix(type, upper, value);
}

/**
 * Whether some value in [lower, upper] might satisfy `op literal`. Either bound may be unknown.
 * Lower bounds are safe as they are: a truncated prefix is still <= every value. Upper bounds go
 * through aboveUpperBound, so they only prune when the literal is provably above the maximum.
 */
function rangeMightMatch(
  type: PrimitiveType,
  op: CompareOp,
  literal: IcebergValue,
  lower: IcebergValue | undefined,
  upper: IcebergValue | undefined,
): boolean {
  // Bounds must never be NaN, but old writers produced them: such a bound proves nothing.
  const lo = lower === undefined || isNanValue(lower) ? undefined : lower;
  const hi = upper === undefined || isNanValue(upper) ? undefined : upper;
  switch (op) {
    case 'eq':
      return (lo === undefined || compare(type, literal, lo) >= 0) && (hi === undefined || !aboveUpperBound(type, literal, hi));
    case 'lt':
      return lo === undefined || compare(type, lo, literal) < 0;
    case 'lte':
      return lo === undefined || compare(type, lo, literal) <= 0;
    case 'gt':
      // max > literal fails only if max <= literal. With an exact upper bound that is upper <= literal;
      // with a possibly truncated one only "literal above the bound" is a proof (equality is not).
      if (hi === undefined) return true;
      return hasTruncatableBounds(type) ? !aboveUpperBound(type, literal, hi) : compare(type, hi, literal) > 0;
    case 'gte':
      return hi === undefined || !aboveUpperBound(type, literal, hi);
    case 'neq':
      // Only an exact single-valued range could exclude it; bounds are not known to be exact.
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Partition projection (spec "Scan Planning": inclusive projection through the partition transform)

type PartitionPredicate =
  | { kind: 'compare'; op: CompareOp; value: IcebergValue }
  | { kind: 'in'; values: IcebergValue[] }
  | { kind: 'isNull' | 'notNull' | 'isNan' };

interface PartitionFilter {
  /** Index of the partition field in the spec, which is also its index in the manifest's summaries. */
  position: number;
  partitionFieldId: number;
  /** Type of the partition values (the transform's result type). */
  type: PrimitiveType;
  predicate: PartitionPredicate;
}

const KNOWN_TRANSFORM = /^(identity|year|month|day|hour|void|bucket\[\d+\]|truncate\[\d+\])$/;

function projectFilters(spec: PartitionSpec, filters: ColumnFilter[]): PartitionFilter[] {
  const projected: PartitionFilter[] = [];
  spec.fields.forEach((field, position) => {
    for (const filter of filters) {
      if (filter.predicate.fieldId !== field.sourceId) continue;
      const bound = projectPredicate(field, filter);
      if (bound !== undefined) projected.push({ position, partitionFieldId: field.fieldId, ...bound });
    }
  });
  return projected;
}

/**
 * Inclusive projection of one column predicate through one partition field: if a row matches the
 * predicate, its partition value matches the result. `undefined` means "true" (no pruning), which is
 * the answer for void and unknown transforms (spec "Partitioning": readers ignore unknown transforms)
 * and for any transform that cannot be applied to the literal.
 */
function projectPredicate(field: PartitionField, filter: ColumnFilter): { type: PrimitiveType; predicate: PartitionPredicate } | undefined {
  const { predicate, type: sourceType } = filter;
  const transform = field.transform;
  if (!KNOWN_TRANSFORM.test(transform) || transform === 'void') return undefined;
  try {
    const resultType = transformResultType(transform, sourceType);
    const identity = transform === 'identity';
    const apply = (value: IcebergValue): IcebergValue => (identity ? value : applyTransform(transform, sourceType, value));
    switch (predicate.kind) {
      // Every transform maps null to null and only null to null (spec "Partition Transforms").
      case 'isNull':
      case 'notNull':
        return { type: resultType, predicate: { kind: predicate.kind } };
      case 'isNan':
        return identity && isFloating(sourceType) ? { type: resultType, predicate: { kind: 'isNan' } } : undefined;
      case 'in': {
        const values = predicate.values.filter((value) => value !== null);
        if (values.some(isNanValue)) return undefined;
        return { type: resultType, predicate: { kind: 'in', values: values.map(apply) } };
      }
      case 'compare': {
        if (isNanValue(predicate.value)) return undefined;
        if (identity) return { type: resultType, predicate: { kind: 'compare', op: predicate.op, value: predicate.value } };
        if (predicate.op === 'eq') return { type: resultType, predicate: { kind: 'compare', op: 'eq', value: apply(predicate.value) } };
        if (predicate.op === 'neq' || !transformIsOrderPreserving(transform)) return undefined;
        // col < v implies t(col) <= t(v) for a monotonic t, and likewise for >, >=.
        const op: CompareOp = predicate.op === 'lt' || predicate.op === 'lte' ? 'lte' : 'gte';
        return { type: resultType, predicate: { kind: 'compare', op, value: apply(predicate.value) } };
      }
    }
  } catch {
    // A transform that cannot be evaluated here projects to "true": keeping files is always correct.
    return undefined;
  }
}

/** Manifest pruning by the manifest list's partition field summaries. Missing summaries never prune. */
function summariesMightMatch(filters: PartitionFilter[], summaries: FieldSummary[] | undefined): boolean {
  if (summaries === undefined) return true;
  return filters.every((filter) => {
    const summary = summaries[filter.position];
    return summary === undefined || summaryMightMatch(filter, summary);
  });
}

function summaryMightMatch(filter: PartitionFilter, summary: FieldSummary): boolean {
  const { type, predicate } = filter;
  // Bounds are absent when every value is null or NaN (spec "Manifest Lists", field_summary).
  const onlyNulls = summary.containsNull && summary.lowerBound === undefined && (!isFloating(type) || summary.containsNan === false);
  switch (predicate.kind) {
    case 'isNull':
      return summary.containsNull;
    case 'notNull':
      return !onlyNulls;
    case 'isNan':
      return !onlyNulls && summary.containsNan !== false;
    case 'compare':
    case 'in': {
      if (onlyNulls) return false;
      if ((isFloating(type) && summary.containsNan !== false) || !hasTrustedBounds(type)) return true;
      const lower = decodeBound(type, summary.lowerBound);
      const upper = decodeBound(type, summary.upperBound);
      if (predicate.kind === 'compare') return rangeMightMatch(type, predicate.op, predicate.value, lower, upper);
      return predicate.values.some((value) => rangeMightMatch(type, 'eq', value, lower, upper));
    }
  }
}

/** Data file pruning by its exact partition tuple. A value missing from the tuple never prunes. */
function partitionMightMatch(filters: PartitionFilter[], partition: DataFile['partition']): boolean {
  return filters.every((filter) => {
    if (!(filter.partitionFieldId in partition)) return true;
    const raw = partition[filter.partitionFieldId];
    const value = raw === undefined || raw === null ? null : promotedValue(filter.type, raw);
    return partitionValueMightMatch(filter, value);
  });
}

function partitionValueMightMatch(filter: PartitionFilter, value: IcebergValue): boolean {
  const { type, predicate } = filter;
  switch (predicate.kind) {
    case 'isNull':
      return value === null;
    case 'notNull':
      return value !== null;
    case 'isNan':
      return isNanValue(value);
    case 'compare':
    case 'in': {
      // A null partition value means a null source value, which no comparison with a literal matches.
      if (value === null) return false;
      if (isNanValue(value)) return true;
      if (predicate.kind === 'in') return predicate.values.some((literal) => compare(type, value, literal) === 0);
      const order = compare(type, value, predicate.value);
      switch (predicate.op) {
        case 'eq':
          return order === 0;
        case 'neq':
          return order !== 0;
        case 'lt':
          return order < 0;
        case 'lte':
          return order <= 0;
        case 'gt':
          return order > 0;
        case 'gte':
          return order >= 0;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Column metrics (spec "Field-level Metrics and Statistics"; missing metrics never prune)

function metricsMightMatch(filter: ColumnFilter, file: DataFile): boolean {
  const { predicate, type } = filter;
  const id = predicate.fieldId;
  const valueCount = file.valueCounts?.get(id);
  const nullCount = file.nullValueCounts?.get(id);
  const nanCount = file.nanValueCounts?.get(id);
  // value_counts include nulls and NaNs, so equal counts mean a column of nulls only.
  const onlyNulls = valueCount !== undefined && nullCount !== undefined && valueCount === nullCount;
  switch (predicate.kind) {
    case 'isNull':
      return nullCount !== 0;
    case 'notNull':
      return !onlyNulls;
    case 'isNan':
      return !onlyNulls && nanCount !== 0;
    case 'compare':
    case 'in': {
      if (onlyNulls) return false;
      // Bounds exclude NaN; NaN sorts above every number in SQL engines, so while NaNs may be
      // present the bounds do not describe all matching rows.
      if ((isFloating(type) && (nanCount === undefined || nanCount > 0)) || !hasTrustedBounds(type)) return true;
      const lower = decodeBound(type, file.lowerBounds?.get(id));
      const upper = decodeBound(type, file.upperBounds?.get(id));
      if (predicate.kind === 'compare') {
        if (isNanValue(predicate.value)) return true;
        return rangeMightMatch(type, predicate.op, predicate.value, lower, upper);
      }
      return predicate.values.some(
        (value) => value !== null && (isNanValue(value) || rangeMightMatch(type, 'eq', value, lower, upper)),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Delete files (spec "Scan Planning", scope rules for delete files)

interface IndexedDelete {
  file: DataFile;
  sequenceNumber: number;
  pathLower?: string;
  pathUpper?: string;
}

/**
 * Finds the delete files that apply to a data file.
 *
 * - Equality deletes apply to data with a strictly smaller data sequence number, in the same spec
 *   and partition, or everywhere when written with an unpartitioned spec (global deletes).
 * - Position deletes apply to data with a smaller or equal data sequence number in the same spec
 *   and partition, narrowed by the delete file's `file_path` bounds (lower bound as is, upper bound
 *   with the truncation-safe test). A position delete whose `file_path` bounds are equal names one
 *   data file exactly (as the Java reference reads it); it is also attached to that path outside
 *   its partition, which is harmless because the reader matches `file_path` against the data
 *   file's path anyway. Equal bounds that are a cut prefix match no path there, and the
 *   in-partition rule still attaches the file.
 *
 * Delete manifests and delete files are never pruned by the scan predicates: a planned data file
 * may be rewritten whole (copy-on-write DML), so every delete that applies to any of its rows
 * must come with it, not only the deletes of rows the predicates select.
 */
class DeleteIndex {
  private readonly positionByPartition = new Map<string, IndexedDelete[]>();
  private readonly positionByExactPath = new Map<string, IndexedDelete[]>();
  private readonly equalityByPartition = new Map<string, IndexedDelete[]>();
  private readonly globalEquality: IndexedDelete[] = [];

  add(file: DataFile, sequenceNumber: number, spec: PartitionSpec): void {
    if (file.content === FileContent.equalityDeletes) {
      const indexed = { file, sequenceNumber };
      if (isUnpartitioned(spec)) this.globalEquality.push(indexed);
      else pushTo(this.equalityByPartition, partitionKey(spec, file.partition), indexed);
      return;
    }
    const lower = file.lowerBounds?.get(DELETE_FILE_PATH_FIELD_ID);
    const upper = file.upperBounds?.get(DELETE_FILE_PATH_FIELD_ID);
    const indexed: IndexedDelete = { file, sequenceNumber };
    const pathLower = decodeBound('string', lower);
    const pathUpper = decodeBound('string', upper);
    if (typeof pathLower === 'string') indexed.pathLower = pathLower;
    if (typeof pathUpper === 'string') indexed.pathUpper = pathUpper;
    pushTo(this.positionByPartition, partitionKey(spec, file.partition), indexed);
    if (indexed.pathLower !== undefined && indexed.pathLower === indexed.pathUpper) {
      pushTo(this.positionByExactPath, indexed.pathLower, indexed);
    }
  }

  forDataFile(file: DataFile, sequenceNumber: number, spec: PartitionSpec): Pick<ScanTask, 'positionDeletes' | 'equalityDeletes'> {
    const key = partitionKey(spec, file.partition);
    const positionDeletes = new Set<DataFile>();
    for (const candidate of this.positionByPartition.get(key) ?? []) {
      if (candidate.sequenceNumber >= sequenceNumber && pathMayBeInRange(file.filePath, candidate)) positionDeletes.add(candidate.file);
    }
    for (const candidate of this.positionByExactPath.get(file.filePath) ?? []) {
      if (candidate.sequenceNumber >= sequenceNumber) positionDeletes.add(candidate.file);
    }
    const equalityDeletes = [...this.globalEquality, ...(this.equalityByPartition.get(key) ?? [])]
      .filter((candidate) => candidate.sequenceNumber > sequenceNumber)
      .map((candidate) => ({ file: candidate.file, sequenceNumber: candidate.sequenceNumber }));
    return { positionDeletes: [...positionDeletes], equalityDeletes };
  }
}

function pathMayBeInRange(path: string, bounds: IndexedDelete): boolean {
  if (bounds.pathLower !== undefined && compare('string', path, bounds.pathLower) < 0) return false;
  return bounds.pathUpper === undefined || !aboveUpperBound('string', path, bounds.pathUpper);
}

function pushTo<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** As in the Java implementation, a spec whose fields are all void partitions nothing. */
function isUnpartitioned(spec: PartitionSpec): boolean {
  return spec.fields.every((field) => field.transform === 'void');
}

/**
 * Spec id plus partition values, in spec order, as a string. Every field counts, including unknown
 * transforms (spec "Scan Planning" note 4). Numbers compare by bit layout with NaN normalized
 * (note 3): -0 and 0 differ, NaN equals NaN. Integers print the same as number and bigint, so a
 * value written before an int -> long promotion still matches.
 */
function partitionKey(spec: PartitionSpec, partition: DataFile['partition']): string {
  const parts = spec.fields.map((field) => partitionKeyPart(partition[field.fieldId]));
  return `${spec.specId}|${parts.join('|')}`;
}

function partitionKeyPart(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
}

// ---------------------------------------------------------------------------------------------

async function mapWithConcurrency<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
