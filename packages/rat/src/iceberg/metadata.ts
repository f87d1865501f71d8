/**
 * Table metadata JSON (spec "Table Metadata", Appendix C "Table Metadata and Snapshots") to and
 * from the domain TableMetadata, plus lookups on it. Reads v1 and v2; v1 is filled with the v2
 * defaults of Appendix E "Reading v1 metadata for v2". Ids are bigint-exact: snapshot ids are
 * always bigint, even small ones, and are written as plain JSON numbers at any size.
 */
import { nowMs } from '../core/clock.js';
import { ExternalError, ValidationError, isRatError, type ErrorCode } from '../core/errors.js';
import { newUuid } from '../core/ids.js';
import { parseJsonBigint, stringifyJsonBigint } from '../core/json.js';
import { highestFieldId, indexById } from './schema-index.js';
import { schemaFromJson, schemaToJson } from './schema-json.js';
import { isPrimitive } from './type-parse.js';
import { parseTransform, validateTransform } from './transforms.js';
import type {
  MetadataLogEntry,
  Operation,
  PartitionField,
  PartitionSpec,
  Schema,
  Snapshot,
  SnapshotLogEntry,
  SnapshotRef,
  SortField,
  SortOrder,
  TableMetadata,
} from './types.js';
import {
  asObject,
  fieldPath,
  type JsonObject,
  missingField,
  readArray,
  readInteger,
  readLong,
  readObject,
  readOptionalArray,
  readOptionalInteger,
  readOptionalLong,
  readOptionalObject,
  readOptionalString,
  readString,
  readStringMap,
  wrongField,
} from './wire-json.js';

/** Spec "Partition Evolution": v1 assigned partition field ids from 1000; unpartitioned tables use 999. */
const FIRST_PARTITION_FIELD_ID = 1000;
const OPERATIONS: ReadonlySet<string> = new Set<Operation>(['append', 'replace', 'overwrite', 'delete']);
const UNSORTED: SortOrder = { orderId: 0, fields: [] };

function readTransform(obj: JsonObject, path: string): PartitionField['transform'] {
  const text = readString(obj, 'transform', path);
  try {
    return parseTransform(text);
  } catch (error) {
    if (isRatError(error)) throw new ValidationError('UNSUPPORTED', `field "${fieldPath(path, 'transform')}": ${error.message}`, { cause: error });
    throw error;
  }
}

function readSourceId(obj: JsonObject, path: string): number {
  // v3 multi-argument transforms write `source-ids` instead; no v1/v2 transform takes several columns.
  if (obj['source-id'] === undefined && obj['source-ids'] !== undefined) {
    throw new ValidationError('UNSUPPORTED', `field "${fieldPath(path, 'source-ids')}": multi-argument transforms are not supported`);
  }
  return readInteger(obj, 'source-id', path);
}

/**
 * One partition spec object, or (with `specId`) the bare field list of v1's `partition-spec`.
 * Field ids missing in v1 are assigned from 1000 in order, as the reference implementation did.
 */
export function partitionSpecFromJson(json: unknown, path = 'partition-spec', specId?: number): PartitionSpec {
  const fieldsJson = specId === undefined ? readArray(asObject(json, path), 'fields', path) : json;
  const fieldsPath = specId === undefined ? fieldPath(path, 'fields') : path;
  if (!Array.isArray(fieldsJson)) throw wrongField(fieldsPath, 'a list', fieldsJson);
  const fields = fieldsJson.map((fieldJson, i): PartitionField => {
    const itemPath = fieldPath(fieldsPath, i);
    const obj = asObject(fieldJson, itemPath);
    return {
      sourceId: readSourceId(obj, itemPath),
      fieldId: readOptionalInteger(obj, 'field-id', itemPath) ?? FIRST_PARTITION_FIELD_ID + i,
      name: readString(obj, 'name', itemPath),
      transform: readTransform(obj, itemPath),
    };
  });
  return { specId: specId ?? readInteger(asObject(json, path), 'spec-id', path), fields };
}

export function partitionSpecToJson(spec: PartitionSpec): JsonObject {
  return {
    'spec-id': spec.specId,
    fields: spec.fields.map((field) => ({
      name: field.name,
      transform: field.transform,
      'source-id': field.sourceId,
      'field-id': field.fieldId,
    })),
  };
}

function oneOf<T extends string>(obj: JsonObject, key: string, path: string, allowed: readonly T[]): T {
  const value = readString(obj, key, path);
  if (!(allowed as readonly string[]).includes(value)) throw wrongField(fieldPath(path, key), allowed.map((a) => `"${a}"`).join(' or '), value);
  return value as T;
}

export function sortOrderFromJson(json: unknown, path = 'sort-order'): SortOrder {
  const obj = asObject(json, path);
  const fields = readArray(obj, 'fields', path).map((fieldJson, i): SortField => {
    const itemPath = fieldPath(fieldPath(path, 'fields'), i);
    const field = asObject(fieldJson, itemPath);
    return {
      sourceId: readSourceId(field, itemPath),
      transform: readTransform(field, itemPath),
      direction: oneOf(field, 'direction', itemPath, ['asc', 'desc'] as const),
      nullOrder: oneOf(field, 'null-order', itemPath, ['nulls-first', 'nulls-last'] as const),
    };
  });
  return { orderId: readInteger(obj, 'order-id', path), fields };
}

export function sortOrderToJson(order: SortOrder): JsonObject {
  return {
    'order-id': order.orderId,
    fields: order.fields.map((field) => ({
      transform: field.transform,
      'source-id': field.sourceId,
      direction: field.direction,
      'null-order': field.nullOrder,
    })),
  };
}

/** One snapshot. v1 snapshots default `sequence-number` to 0 (Appendix E). */
export function snapshotFromJson(json: unknown, path = 'snapshot', formatVersion: 1 | 2 = 2): Snapshot {
  const obj = asObject(json, path);
  const manifestList = formatVersion === 1 ? readOptionalString(obj, 'manifest-list', path) : readString(obj, 'manifest-list', path);
  if (manifestList === undefined) {
    // v1 snapshots could list manifests inline; TableMetadata only models manifest lists.
    if (obj.manifests !== undefined) {
      throw new ValidationError('UNSUPPORTED', `field "${fieldPath(path, 'manifests')}": v1 snapshots without a manifest list are not supported`);
    }
    throw missingField(fieldPath(path, 'manifest-list'));
  }
  const summaryJson = formatVersion === 1 ? readOptionalObject(obj, 'summary', path) : readObject(obj, 'summary', path);
  // A v1 snapshot may lack a summary; "overwrite" claims the least about what it changed.
  const summary = summaryJson === undefined ? { operation: 'overwrite' } : readStringMap(obj, 'summary', path);
  const operation = summary.operation;
  if (operation === undefined || !OPERATIONS.has(operation)) {
    throw wrongField(fieldPath(fieldPath(path, 'summary'), 'operation'), '"append", "replace", "overwrite" or "delete"', operation ?? null);
  }
  const snapshot: Snapshot = {
    snapshotId: readLong(obj, 'snapshot-id', path),
    sequenceNumber: formatVersion === 1 ? (readOptionalInteger(obj, 'sequence-number', path) ?? 0) : readInteger(obj, 'sequence-number', path),
    timestampMs: readInteger(obj, 'timestamp-ms', path),
    manifestList,
    summary: { ...summary, operation: operation as Operation },
  };
  const parent = readOptionalLong(obj, 'parent-snapshot-id', path);
  if (parent !== undefined) snapshot.parentSnapshotId = parent;
  const schemaId = readOptionalInteger(obj, 'schema-id', path);
  if (schemaId !== undefined) snapshot.schemaId = schemaId;
  return snapshot;
}

export function snapshotToJson(snapshot: Snapshot, formatVersion: 1 | 2 = 2): JsonObject {
  const json: JsonObject = { 'snapshot-id': snapshot.snapshotId };
  if (snapshot.parentSnapshotId !== undefined) json['parent-snapshot-id'] = snapshot.parentSnapshotId;
  // Appendix E: v1 writers should not write a snapshot's sequence-number.
  if (formatVersion === 2) json['sequence-number'] = snapshot.sequenceNumber;
  json['timestamp-ms'] = snapshot.timestampMs;
  json['manifest-list'] = snapshot.manifestList;
  json.summary = { ...snapshot.summary };
  if (snapshot.schemaId !== undefined) json['schema-id'] = snapshot.schemaId;
  return json;
}

function refFromJson(json: unknown, path: string): SnapshotRef {
  const obj = asObject(json, path);
  const ref: SnapshotRef = { snapshotId: readLong(obj, 'snapshot-id', path), type: oneOf(obj, 'type', path, ['branch', 'tag'] as const) };
  const maxRefAgeMs = readOptionalInteger(obj, 'max-ref-age-ms', path);
  if (maxRefAgeMs !== undefined) ref.maxRefAgeMs = maxRefAgeMs;
  const maxSnapshotAgeMs = readOptionalInteger(obj, 'max-snapshot-age-ms', path);
  if (maxSnapshotAgeMs !== undefined) ref.maxSnapshotAgeMs = maxSnapshotAgeMs;
  const minSnapshotsToKeep = readOptionalInteger(obj, 'min-snapshots-to-keep', path);
  if (minSnapshotsToKeep !== undefined) ref.minSnapshotsToKeep = minSnapshotsToKeep;
  return ref;
}

function refToJson(ref: SnapshotRef): JsonObject {
  const json: JsonObject = { 'snapshot-id': ref.snapshotId, type: ref.type };
  if (ref.maxRefAgeMs !== undefined) json['max-ref-age-ms'] = ref.maxRefAgeMs;
  if (ref.maxSnapshotAgeMs !== undefined) json['max-snapshot-age-ms'] = ref.maxSnapshotAgeMs;
  if (ref.minSnapshotsToKeep !== undefined) json['min-snapshots-to-keep'] = ref.minSnapshotsToKeep;
  return json;
}

function listOf<T>(obj: JsonObject, key: string, read: (item: unknown, path: string) => T): T[] {
  return (readOptionalArray(obj, key, '') ?? []).map((item, i) => read(item, fieldPath(key, i)));
}

function requireUniqueIds<T>(items: T[], id: (item: T) => number | bigint, key: string, what: string): void {
  const seen = new Set<number | bigint>();
  for (const [i, item] of items.entries()) {
    if (seen.has(id(item))) throw wrongField(fieldPath(key, i), `a ${what} with a unique id`, id(item));
    seen.add(id(item));
  }
}

function requireKnownId<T>(items: T[], id: (item: T) => number | bigint, wanted: number | bigint, key: string, what: string): void {
  if (!items.some((item) => id(item) === wanted)) {
    throw new ValidationError('INVALID_ARGUMENT', `field "${key}": no ${what} with id ${wanted}`);
  }
}

function readSchemas(obj: JsonObject, formatVersion: 1 | 2): { schemas: Schema[]; currentSchemaId: number } {
  if (formatVersion === 2 || obj.schemas !== undefined) {
    if (obj.schemas === undefined || obj.schemas === null) throw missingField('schemas');
    const schemas = listOf(obj, 'schemas', schemaFromJson);
    const legacy = obj.schema === undefined ? undefined : schemaFromJson(obj.schema, 'schema');
    const currentSchemaId = formatVersion === 2 ? readInteger(obj, 'current-schema-id', '') : (readOptionalInteger(obj, 'current-schema-id', '') ?? legacy?.schemaId ?? 0);
    return { schemas, currentSchemaId };
  }
  // Appendix E: a v1 table may only carry the deprecated single `schema`.
  if (obj.schema === undefined) throw missingField('schemas');
  const schema = schemaFromJson(obj.schema, 'schema');
  return { schemas: [schema], currentSchemaId: schema.schemaId };
}

function readSpecs(obj: JsonObject, formatVersion: 1 | 2): { partitionSpecs: PartitionSpec[]; defaultSpecId: number } {
  if (formatVersion === 2 || obj['partition-specs'] !== undefined) {
    if (obj['partition-specs'] === undefined || obj['partition-specs'] === null) throw missingField('partition-specs');
    const partitionSpecs = listOf(obj, 'partition-specs', (item, path) => partitionSpecFromJson(item, path));
    const defaultSpecId = formatVersion === 2 ? readInteger(obj, 'default-spec-id', '') : (readOptionalInteger(obj, 'default-spec-id', '') ?? 0);
    return { partitionSpecs, defaultSpecId };
  }
  if (obj['partition-spec'] === undefined) throw missingField('partition-specs');
  return { partitionSpecs: [partitionSpecFromJson(obj['partition-spec'], 'partition-spec', 0)], defaultSpecId: 0 };
}

function readSortOrders(obj: JsonObject, formatVersion: 1 | 2): { sortOrders: SortOrder[]; defaultSortOrderId: number } {
  if (formatVersion === 1 && obj['sort-orders'] === undefined) return { sortOrders: [UNSORTED], defaultSortOrderId: 0 };
  if (obj['sort-orders'] === undefined || obj['sort-orders'] === null) throw missingField('sort-orders');
  const sortOrders = listOf(obj, 'sort-orders', sortOrderFromJson);
  const defaultSortOrderId = formatVersion === 2 ? readInteger(obj, 'default-sort-order-id', '') : (readOptionalInteger(obj, 'default-sort-order-id', '') ?? 0);
  return { sortOrders, defaultSortOrderId };
}

function readFormatVersion(obj: JsonObject): 1 | 2 {
  const version = readInteger(obj, 'format-version', '');
  if (version !== 1 && version !== 2) {
    throw new ValidationError('METADATA_UNSUPPORTED_VERSION', `format-version ${version} is not supported (only 1 and 2)`);
  }
  return version;
}

/**
 * Table metadata from its parsed JSON (bigint-safe, see parseJsonBigint). Throws ValidationError
 * naming the field path; METADATA_UNSUPPORTED_VERSION for a format version other than 1 or 2.
 */
export function tableMetadataFromJson(json: unknown): TableMetadata {
  const obj = asObject(json, 'table metadata');
  const formatVersion = readFormatVersion(obj);
  const v2 = formatVersion === 2;
  const { schemas, currentSchemaId } = readSchemas(obj, formatVersion);
  const { partitionSpecs, defaultSpecId } = readSpecs(obj, formatVersion);
  const { sortOrders, defaultSortOrderId } = readSortOrders(obj, formatVersion);
  const highestPartitionFieldId = Math.max(FIRST_PARTITION_FIELD_ID - 1, ...partitionSpecs.flatMap((spec) => spec.fields.map((f) => f.fieldId)));
  let currentSnapshotId = readOptionalLong(obj, 'current-snapshot-id', '');
  // Appendix F: Java writes -1 for "no current snapshot" in v1 and v2 tables.
  if (currentSnapshotId === -1n) currentSnapshotId = undefined;
  const snapshots = listOf(obj, 'snapshots', (item, path) => snapshotFromJson(item, path, formatVersion));
  const refsJson = readOptionalObject(obj, 'refs', '');
  const refs: Record<string, SnapshotRef> = {};
  for (const [name, refJson] of Object.entries(refsJson ?? {})) refs[name] = refFromJson(refJson, fieldPath('refs', name));

  const meta: TableMetadata = {
    formatVersion,
    // v1 tables may predate table-uuid; '' marks "none" and is omitted again when written as v1.
    tableUuid: v2 ? readString(obj, 'table-uuid', '') : (readOptionalString(obj, 'table-uuid', '') ?? ''),
    location: readString(obj, 'location', ''),
    lastSequenceNumber: v2 ? readInteger(obj, 'last-sequence-number', '') : (readOptionalInteger(obj, 'last-sequence-number', '') ?? 0),
    lastUpdatedMs: readInteger(obj, 'last-updated-ms', ''),
    lastColumnId: readInteger(obj, 'last-column-id', ''),
    schemas,
    currentSchemaId,
    partitionSpecs,
    defaultSpecId,
    lastPartitionId: v2 ? readInteger(obj, 'last-partition-id', '') : (readOptionalInteger(obj, 'last-partition-id', '') ?? highestPartitionFieldId),
    properties: obj.properties === undefined || obj.properties === null ? {} : readStringMap(obj, 'properties', ''),
    snapshots,
    snapshotLog: listOf(obj, 'snapshot-log', (item, path): SnapshotLogEntry => {
      const entry = asObject(item, path);
      return { timestampMs: readInteger(entry, 'timestamp-ms', path), snapshotId: readLong(entry, 'snapshot-id', path) };
    }),
    metadataLog: listOf(obj, 'metadata-log', (item, path): MetadataLogEntry => {
      const entry = asObject(item, path);
      return { timestampMs: readInteger(entry, 'timestamp-ms', path), metadataFile: readString(entry, 'metadata-file', path) };
    }),
    sortOrders,
    defaultSortOrderId,
    refs,
  };
  if (currentSnapshotId !== undefined) meta.currentSnapshotId = currentSnapshotId;
  validateReferences(meta);
  return meta;
}

/** Cross-references the spec requires to hold; also adds the implicit `main` branch (spec "Table Metadata Fields", refs). */
function validateReferences(meta: TableMetadata): void {
  requireUniqueIds(meta.schemas, (s) => s.schemaId, 'schemas', 'schema');
  requireUniqueIds(meta.partitionSpecs, (s) => s.specId, 'partition-specs', 'partition spec');
  requireUniqueIds(meta.sortOrders, (s) => s.orderId, 'sort-orders', 'sort order');
  requireUniqueIds(meta.snapshots, (s) => s.snapshotId, 'snapshots', 'snapshot');
  requireKnownId(meta.schemas, (s) => s.schemaId, meta.currentSchemaId, 'current-schema-id', 'schema');
  requireKnownId(meta.partitionSpecs, (s) => s.specId, meta.defaultSpecId, 'default-spec-id', 'partition spec');
  // Order 0 is the reserved unsorted order (spec "Sorting"), valid even when not listed.
  if (meta.defaultSortOrderId !== 0) {
    requireKnownId(meta.sortOrders, (s) => s.orderId, meta.defaultSortOrderId, 'default-sort-order-id', 'sort order');
  }
  const current = meta.currentSnapshotId;
  if (current !== undefined) requireKnownId(meta.snapshots, (s) => s.snapshotId, current, 'current-snapshot-id', 'snapshot');
  const main = meta.refs.main;
  if (main && main.snapshotId !== current) {
    throw new ValidationError('INVALID_ARGUMENT', `field "refs.main": snapshot ${main.snapshotId} differs from current-snapshot-id ${current ?? 'none'}`);
  }
  if (!main && current !== undefined) meta.refs.main = { snapshotId: current, type: 'branch' };
}

function errorCodeForFile(error: ValidationError): ErrorCode {
  return error.code === 'METADATA_UNSUPPORTED_VERSION' || error.code === 'UNSUPPORTED' ? error.code : 'METADATA_CORRUPT';
}

/**
 * Parses a table metadata file. `location` names the file in errors. Malformed JSON or a missing or
 * wrong field -> ExternalError METADATA_CORRUPT; format-version other than 1 or 2 ->
 * METADATA_UNSUPPORTED_VERSION; a v1/v3 feature the domain model cannot hold -> UNSUPPORTED.
 */
export function parseTableMetadata(text: string, location = '<unnamed>'): TableMetadata {
  let json: unknown;
  try {
    json = parseJsonBigint(text);
  } catch (error) {
    throw new ExternalError('METADATA_CORRUPT', `table metadata ${location} is not valid JSON: ${isRatError(error) ? error.message : String(error)}`, { cause: error });
  }
  try {
    return tableMetadataFromJson(json);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const code = errorCodeForFile(error);
    const what = code === 'METADATA_CORRUPT' ? 'is corrupt' : 'cannot be read';
    throw new ExternalError(code, `table metadata ${location} ${what}: ${error.message}`, { cause: error });
  }
}

/**
 * The JSON object of table metadata in spec spelling. v2 metadata is written with every field v2
 * requires; v1 metadata additionally carries the deprecated `schema` and `partition-spec` and leaves
 * out sequence numbers (Appendix E "Writing v1 metadata").
 */
export function tableMetadataToJson(meta: TableMetadata): JsonObject {
  const v2 = meta.formatVersion === 2;
  if (v2 && meta.tableUuid === '') throw new ValidationError('INVALID_ARGUMENT', `table ${meta.location} has no table-uuid, which format-version 2 requires`);
  const json: JsonObject = { 'format-version': meta.formatVersion };
  if (meta.tableUuid !== '') json['table-uuid'] = meta.tableUuid;
  json.location = meta.location;
  if (v2) json['last-sequence-number'] = meta.lastSequenceNumber;
  json['last-updated-ms'] = meta.lastUpdatedMs;
  json['last-column-id'] = meta.lastColumnId;
  if (!v2) json.schema = schemaToJson(currentSchema(meta));
  json['current-schema-id'] = meta.currentSchemaId;
  json.schemas = meta.schemas.map(schemaToJson);
  if (!v2) json['partition-spec'] = partitionSpecToJson(defaultSpec(meta)).fields;
  json['default-spec-id'] = meta.defaultSpecId;
  json['partition-specs'] = meta.partitionSpecs.map(partitionSpecToJson);
  json['last-partition-id'] = meta.lastPartitionId;
  json['default-sort-order-id'] = meta.defaultSortOrderId;
  json['sort-orders'] = meta.sortOrders.map(sortOrderToJson);
  json.properties = { ...meta.properties };
  // Appendix F: Java readers of v1/v2 tables expect -1 for "no current snapshot".
  json['current-snapshot-id'] = meta.currentSnapshotId ?? -1;
  json.refs = Object.fromEntries(Object.entries(meta.refs).map(([name, ref]) => [name, refToJson(ref)]));
  json.snapshots = meta.snapshots.map((snapshot) => snapshotToJson(snapshot, meta.formatVersion));
  json['snapshot-log'] = meta.snapshotLog.map((entry) => ({ 'timestamp-ms': entry.timestampMs, 'snapshot-id': entry.snapshotId }));
  json['metadata-log'] = meta.metadataLog.map((entry) => ({ 'timestamp-ms': entry.timestampMs, 'metadata-file': entry.metadataFile }));
  return json;
}

/**
 * Each snapshot's text in the metadata file, by snapshot and format version. Snapshots never change
 * and every new metadata version repeats all of them: a table with one snapshot per ingested file
 * would otherwise re-serialize thousands of them on every commit.
 */
const snapshotTexts = new WeakMap<Snapshot, { formatVersion: number; text: string }>();

/** Indentation of a snapshot object inside `"snapshots": [...]` (depth 2, 2 spaces a level). */
const SNAPSHOT_INDENT = '    ';

function snapshotText(snapshot: Snapshot, formatVersion: 1 | 2): string {
  const cached = snapshotTexts.get(snapshot);
  if (cached?.formatVersion === formatVersion) return cached.text;
  // JSON text holds no raw line breaks (they are escaped in strings), so re-indenting is per line.
  const text = stringifyJsonBigint(snapshotToJson(snapshot, formatVersion), 2).split('\n').join(`\n${SNAPSHOT_INDENT}`);
  snapshotTexts.set(snapshot, { formatVersion, text });
  return text;
}

/** The metadata file text (pretty-printed; ids above 2^53 stay exact). */
export function serializeTableMetadata(meta: TableMetadata): string {
  const json = tableMetadataToJson({ ...meta, snapshots: [] });
  const text = stringifyJsonBigint(json, 2);
  if (meta.snapshots.length === 0) return text;
  const empty = '"snapshots": []';
  const at = text.indexOf(empty);
  const list = meta.snapshots.map((snapshot) => `${SNAPSHOT_INDENT}${snapshotText(snapshot, meta.formatVersion)}`).join(',\n');
  return `${text.slice(0, at)}"snapshots": [\n${list}\n  ]${text.slice(at + empty.length)}`;
}

export interface NewPartitionField {
  sourceId: number;
  name: string;
  transform: PartitionField['transform'];
}

export interface NewTableOptions {
  location: string;
  schema: Schema;
  /** Partition fields; their ids are assigned from 1000. Omitted: unpartitioned. */
  spec?: { fields: readonly NewPartitionField[] };
  properties?: Record<string, string>;
  tableUuid?: string;
  lastUpdatedMs?: number;
}

function invalidPartition(message: string): ValidationError {
  return new ValidationError('INVALID_PARTITION', message);
}

/**
 * Checks a new partition spec against the schema (spec "Partitioning"): sources are primitive
 * columns outside lists and maps, transforms fit their source, names are unique and do not shadow
 * another column.
 */
function checkPartitionFields(schema: Schema, fields: readonly NewPartitionField[]): void {
  const index = indexById(schema);
  const columnNames = new Map([...index.values()].map((entry) => [entry.path.join('.'), entry.field.id]));
  const names = new Set<string>();
  const sources = new Set<string>();
  for (const field of fields) {
    const source = index.get(field.sourceId);
    if (!source) throw invalidPartition(`cannot partition by ${field.transform}: source column id ${field.sourceId} is not in the schema`);
    const columnName = source.path.join('.');
    validateTransform(field.transform, source.field.type, columnName);
    const inCollection = source.parentIds.some((id) => {
      const parent = index.get(id)?.field.type;
      return parent !== undefined && !isPrimitive(parent) && parent.type !== 'struct';
    });
    if (inCollection) throw invalidPartition(`cannot partition by ${field.transform}(${columnName}): column "${columnName}" is inside a list or map`);
    if (field.name === '') throw invalidPartition(`partition field on column "${columnName}" has an empty name`);
    if (names.has(field.name)) throw invalidPartition(`partition field name "${field.name}" is used twice`);
    const shadowed = columnNames.get(field.name);
    if (shadowed !== undefined && !(field.transform === 'identity' && shadowed === field.sourceId)) {
      throw invalidPartition(`partition field name "${field.name}" conflicts with column "${field.name}"`);
    }
    const key = `${field.sourceId}:${field.transform}`;
    if (sources.has(key)) throw invalidPartition(`cannot partition by ${field.transform}(${columnName}) twice`);
    names.add(field.name);
    sources.add(key);
  }
}

/** Metadata of a new, empty v2 table: schema id 0, spec id 0 with field ids from 1000, unsorted. */
export function newTableMetadata(options: NewTableOptions): TableMetadata {
  const schema: Schema = { ...options.schema, schemaId: 0 };
  const specFields = options.spec?.fields ?? [];
  checkPartitionFields(schema, specFields);
  const fields = specFields.map((field, i): PartitionField => ({
    sourceId: field.sourceId,
    fieldId: FIRST_PARTITION_FIELD_ID + i,
    name: field.name,
    transform: field.transform,
  }));
  return {
    formatVersion: 2,
    tableUuid: options.tableUuid ?? newUuid(),
    location: options.location,
    lastSequenceNumber: 0,
    lastUpdatedMs: options.lastUpdatedMs ?? nowMs(),
    lastColumnId: highestFieldId(schema),
    schemas: [schema],
    currentSchemaId: 0,
    partitionSpecs: [{ specId: 0, fields }],
    defaultSpecId: 0,
    lastPartitionId: FIRST_PARTITION_FIELD_ID - 1 + fields.length,
    properties: { ...options.properties },
    snapshots: [],
    snapshotLog: [],
    metadataLog: [],
    sortOrders: [UNSORTED],
    defaultSortOrderId: 0,
    refs: {},
  };
}

export function schemaById(meta: TableMetadata, schemaId: number): Schema | undefined {
  return meta.schemas.find((schema) => schema.schemaId === schemaId);
}

export function specById(meta: TableMetadata, specId: number): PartitionSpec | undefined {
  return meta.partitionSpecs.find((spec) => spec.specId === specId);
}

export function snapshotById(meta: TableMetadata, snapshotId: bigint): Snapshot | undefined {
  return meta.snapshots.find((snapshot) => snapshot.snapshotId === snapshotId);
}

function corrupt(meta: TableMetadata, message: string): ExternalError {
  return new ExternalError('METADATA_CORRUPT', `table ${meta.location}: ${message}`);
}

export function currentSchema(meta: TableMetadata): Schema {
  const schema = schemaById(meta, meta.currentSchemaId);
  if (!schema) throw corrupt(meta, `current-schema-id ${meta.currentSchemaId} names no schema`);
  return schema;
}

export function defaultSpec(meta: TableMetadata): PartitionSpec {
  const spec = specById(meta, meta.defaultSpecId);
  if (!spec) throw corrupt(meta, `default-spec-id ${meta.defaultSpecId} names no partition spec`);
  return spec;
}

export function currentSnapshot(meta: TableMetadata): Snapshot | undefined {
  return meta.currentSnapshotId === undefined ? undefined : snapshotById(meta, meta.currentSnapshotId);
}

/**
 * The snapshot that was current at `timestampMs` (Appendix F "Point in Time Reads"): the last
 * snapshot-log entry at or before it. When the log lacks the current snapshot (hand-edited or
 * truncated logs), the current snapshot counts as logged at its own timestamp-ms. Undefined when
 * nothing was current then or the snapshot has expired; the caller reports that.
 */
export function snapshotAsOf(meta: TableMetadata, timestampMs: number): Snapshot | undefined {
  const log = [...meta.snapshotLog];
  const current = currentSnapshot(meta);
  if (current && log.at(-1)?.snapshotId !== current.snapshotId) log.push({ timestampMs: current.timestampMs, snapshotId: current.snapshotId });
  let found: bigint | undefined;
  for (const entry of log) {
    if (entry.timestampMs <= timestampMs) found = entry.snapshotId;
  }
  return found === undefined ? undefined : snapshotById(meta, found);
}
