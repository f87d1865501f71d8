import { newSnapshotId, newUuid } from '../core/ids.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PartitionStructType } from './avro-schemas.js';
import type { ManifestContents } from './manifest.js';
import { manifestFileFromEntries, writeManifest } from './manifest.js';
import { writeManifestList } from './manifest-list.js';
import { indexById } from './schema-index.js';
import { schemaToJson } from './schema-json.js';
import { transformResultType } from './transforms.js';
import { promotedValue } from './values.js';
import type { DataFile, ManifestEntry, ManifestFile, Operation, PartitionSpec, Schema, Snapshot, TableMetadata } from './types.js';

export interface SnapshotChange {
  operation: Operation;
  /** New data files (written under the table's current schema and default spec). */
  addedDataFiles: DataFile[];
  /** New position or equality delete files. */
  addedDeleteFiles?: DataFile[];
  /** Locations of data or delete files this change removes from the table. */
  removedFiles?: ReadonlySet<string>;
  /** Extra summary properties (e.g. the statement that made the change). */
  summary?: Record<string, string>;
}

export interface ProduceContext {
  store: ObjectStore;
  /** Object store key of the table's location (manifests go to `<key>/metadata`). */
  locationKey: string;
  /** Location of the metadata file `base` was read from (for the metadata log). */
  baseMetadataLocation: string;
  loadManifestList(location: string): Promise<ManifestFile[]>;
  loadManifest(location: string): Promise<ManifestContents>;
  /** Told the manifest list written, so the next commit on top of it need not read it back. */
  rememberManifestList?(location: string, manifests: ManifestFile[]): void;
  nowMs?: number;
}

const MAX_METADATA_LOG = 100;
/** The table properties of manifest merging, with Iceberg's defaults (true, 100, 8 MiB). */
/**
 * Iceberg's manifest-merge properties of a table; a value rat cannot use is an error naming the
 * property and the value (checked at every commit, and by ALTER TABLE ... SET TBLPROPERTIES).
 */
export function mergeSettings(properties: Record<string, string>, table: string): { enabled: boolean; minCount: number; targetBytes: number } {
  const property = (name: string, fallback: number): number => {
    const text = properties[name];
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw new ValidationError('INVALID_ARGUMENT', `table property ${name} of ${table} is "${text}": use a whole number of at least 1`);
    }
    return value;
  };
  const enabled = properties['commit.manifest-merge.enabled'];
  if (enabled !== undefined && !/^(true|false)$/i.test(enabled)) {
    throw new ValidationError('INVALID_ARGUMENT', `table property commit.manifest-merge.enabled of ${table} is "${enabled}": use true or false`);
  }
  return {
    enabled: enabled?.toLowerCase() !== 'false',
    minCount: property('commit.manifest.min-count-to-merge', 100),
    targetBytes: property('commit.manifest.target-size-bytes', 8 * 1024 * 1024),
  };
}

/**
 * Writes the manifests and manifest list of one new snapshot on top of `base` and returns the new
 * table metadata (not yet committed). Manifests of the parent that hold no removed file are carried
 * over untouched; those that do are rewritten with the removed entries marked DELETED.
 * Throws ConflictError when a file to remove is no longer in the table (someone else changed it).
 * Spec: "Snapshots", "Manifests", "Sequence Numbers", "Commit Conflict Resolution and Retry".
 */
export async function produceSnapshot(base: TableMetadata, change: SnapshotChange, ctx: ProduceContext): Promise<TableMetadata> {
  const snapshotId = newSnapshotId();
  const sequenceNumber = base.lastSequenceNumber + 1;
  const timestampMs = ctx.nowMs ?? Date.now();
  const parent = base.currentSnapshotId === undefined ? undefined : base.snapshots.find((s) => s.snapshotId === base.currentSnapshotId);
  const schema = base.schemas.find((s) => s.schemaId === base.currentSchemaId)!;
  const schemaJson = JSON.stringify(schemaToJson(schema));
  const removed = change.removedFiles ?? new Set<string>();
  const manifests: ManifestFile[] = [];
  const metadataKey = `${ctx.locationKey}/metadata`;
  let deletedDataFiles = 0;
  let deletedRecords = 0;
  let deletedDeleteFiles = 0;
  const found = new Set<string>();

  async function addManifest(entries: ManifestEntry[], spec: PartitionSpec, content: 'data' | 'deletes', manifestSchema = schema, manifestSchemaJson = schemaJson): Promise<void> {
    if (entries.length === 0) return;
    const partitionType = partitionTypeOf(spec, manifestSchema);
    entries = entries.map((entry) => withPartitionType(entry, partitionType));
    const bytes = writeManifest(entries, { schemaJson: manifestSchemaJson, schemaId: manifestSchema.schemaId, spec, partitionType, content });
    const key = `${metadataKey}/${newUuid()}-m${manifests.length}.avro`;
    await ctx.store.put(key, bytes);
    manifests.push(
      manifestFileFromEntries(entries, {
        manifestPath: ctx.store.uri(key),
        manifestLength: bytes.length,
        partitionSpecId: spec.specId,
        partitionType,
        content,
        addedSnapshotId: snapshotId,
        sequenceNumber,
      }),
    );
  }

  const spec = base.partitionSpecs.find((s) => s.specId === base.defaultSpecId)!;
  const added = (files: DataFile[]): ManifestEntry[] => files.map((dataFile) => ({ status: 1, snapshotId, dataFile }));
  await addManifest(added(change.addedDataFiles), spec, 'data');
  await addManifest(added(change.addedDeleteFiles ?? []), spec, 'deletes');

  if (parent) {
    for (const manifest of await ctx.loadManifestList(parent.manifestList)) {
      if (removed.size === 0) {
        manifests.push(manifest);
        continue;
      }
      const contents = await ctx.loadManifest(manifest.manifestPath);
      const live = contents.entries.filter((e) => e.status !== 2);
      if (!live.some((e) => removed.has(e.dataFile.filePath))) {
        manifests.push(manifest);
        continue;
      }
      const rewritten: ManifestEntry[] = live.map((entry) => {
        // Rewritten entries keep their original sequence numbers explicitly (inheritance would give them ours).
        const dataSeq = entry.sequenceNumber ?? manifest.sequenceNumber;
        const fileSeq = entry.fileSequenceNumber ?? manifest.sequenceNumber;
        const isRemoved = removed.has(entry.dataFile.filePath);
        if (isRemoved) {
          found.add(entry.dataFile.filePath);
          if (entry.dataFile.content === 0) {
            deletedDataFiles += 1;
            deletedRecords += entry.dataFile.recordCount;
          } else deletedDeleteFiles += 1;
        }
        return {
          status: isRemoved ? 2 : 0,
          snapshotId: isRemoved ? snapshotId : (entry.snapshotId ?? manifest.addedSnapshotId),
          sequenceNumber: dataSeq,
          fileSequenceNumber: fileSeq,
          dataFile: entry.dataFile,
        };
      });
      const manifestSpec = base.partitionSpecs.find((s) => s.specId === manifest.partitionSpecId) ?? spec;
      await addManifest(rewritten, manifestSpec, manifest.content === 1 ? 'deletes' : 'data', schema, schemaJson);
    }
  }
  for (const path of removed) {
    if (!found.has(path)) throw new ConflictError('COMMIT_CONFLICT', `file ${path} was removed from the table by another commit`);
  }

  // Manifest merging (Iceberg's commit.manifest.min-count-to-merge and commit.manifest.target-size-bytes):
  // without it every commit adds a manifest, and a table of thousands of small commits has thousands
  // of manifests for every scan to read and every manifest list to carry. When the manifests carried
  // over for one partition spec and content reach the minimum count, the small ones are rewritten
  // into as few manifests as the target size allows, their live entries EXISTING with their own
  // snapshot ids and sequence numbers (spec "Manifest Entry Fields").
  const merging = mergeSettings(base.properties, base.location);
  const carried = new Map<string, ManifestFile[]>();
  for (const manifest of merging.enabled ? manifests : []) {
    if (manifest.addedSnapshotId === snapshotId || manifest.manifestLength >= merging.targetBytes) continue;
    const group = `${manifest.content}:${manifest.partitionSpecId}`;
    carried.set(group, [...(carried.get(group) ?? []), manifest]);
  }
  for (const group of carried.values()) {
    if (group.length < merging.minCount) continue;
    const bins: ManifestFile[][] = [[]];
    let binBytes = 0;
    for (const manifest of group) {
      if (binBytes + manifest.manifestLength > merging.targetBytes && bins.at(-1)!.length > 0) {
        bins.push([]);
        binBytes = 0;
      }
      bins.at(-1)!.push(manifest);
      binBytes += manifest.manifestLength;
    }
    for (const bin of bins) {
      if (bin.length < 2) continue;
      const entries: ManifestEntry[] = [];
      for (const manifest of bin) {
        for (const entry of (await ctx.loadManifest(manifest.manifestPath)).entries) {
          if (entry.status === 2) continue;
          entries.push({
            status: 0,
            snapshotId: entry.snapshotId ?? manifest.addedSnapshotId,
            sequenceNumber: entry.sequenceNumber ?? manifest.sequenceNumber,
            fileSequenceNumber: entry.fileSequenceNumber ?? manifest.sequenceNumber,
            dataFile: entry.dataFile,
          });
        }
      }
      const merged = new Set(bin);
      manifests.splice(0, manifests.length, ...manifests.filter((m) => !merged.has(m)));
      const first = bin[0]!;
      const manifestSpec = base.partitionSpecs.find((s) => s.specId === first.partitionSpecId) ?? spec;
      await addManifest(entries, manifestSpec, first.content === 1 ? 'deletes' : 'data', schema, schemaJson);
    }
  }

  const addedRecords = change.addedDataFiles.reduce((n, f) => n + f.recordCount, 0);
  const addedDeleteFiles = change.addedDeleteFiles?.length ?? 0;
  const previous = parent?.summary ?? { operation: 'append' as const };
  const total = (key: string, delta: number) => String(Math.max(0, Number(previous[key] ?? 0) + delta));
  const summary: Snapshot['summary'] = {
    operation: change.operation,
    'added-data-files': String(change.addedDataFiles.length),
    'added-records': String(addedRecords),
    'added-files-size': String(change.addedDataFiles.reduce((n, f) => n + f.fileSizeInBytes, 0)),
    'deleted-data-files': String(deletedDataFiles),
    'deleted-records': String(deletedRecords),
    'added-delete-files': String(addedDeleteFiles),
    'removed-delete-files': String(deletedDeleteFiles),
    'total-records': total('total-records', addedRecords - deletedRecords),
    'total-data-files': total('total-data-files', change.addedDataFiles.length - deletedDataFiles),
    'total-delete-files': total('total-delete-files', addedDeleteFiles - deletedDeleteFiles),
    ...(change.summary ?? {}),
  };
  const listBytes = writeManifestList(manifests, { snapshotId, ...(parent ? { parentSnapshotId: parent.snapshotId } : {}), sequenceNumber });
  const listKey = `${metadataKey}/snap-${snapshotId}-1-${newUuid()}.avro`;
  await ctx.store.put(listKey, listBytes);
  ctx.rememberManifestList?.(ctx.store.uri(listKey), manifests);
  const snapshot: Snapshot = {
    snapshotId,
    ...(parent ? { parentSnapshotId: parent.snapshotId } : {}),
    sequenceNumber,
    timestampMs,
    manifestList: ctx.store.uri(listKey),
    summary,
    schemaId: schema.schemaId,
  };
  return {
    ...nextMetadata(base, ctx.baseMetadataLocation, timestampMs),
    lastSequenceNumber: sequenceNumber,
    snapshots: [...base.snapshots, snapshot],
    currentSnapshotId: snapshotId,
    snapshotLog: [...base.snapshotLog, { timestampMs, snapshotId }],
    refs: { ...base.refs, main: { snapshotId, type: 'branch' } },
  };
}

/** Common part of every new metadata version: timestamp and the metadata log entry for `base`. */
/**
 * An entry as a manifest with `partitionType` holds it. A manifest rewritten or merged is written
 * with the current schema's partition type, and a file written before its partition source column
 * was promoted (int -> long) holds the old type's value: readers decode the new manifest by the new
 * type, so the value takes its form.
 */
function withPartitionType(entry: ManifestEntry, partitionType: PartitionStructType): ManifestEntry {
  const partition = { ...entry.dataFile.partition };
  for (const field of partitionType.fields) {
    if (field.fieldId in partition) partition[field.fieldId] = promotedValue(field.type, partition[field.fieldId]);
  }
  return { ...entry, dataFile: { ...entry.dataFile, partition } };
}

export function nextMetadata(base: TableMetadata, baseMetadataLocation: string, timestampMs = Date.now()): TableMetadata {
  // A table being created has no earlier metadata file to log.
  const metadataLog = baseMetadataLocation ? [...base.metadataLog, { timestampMs: base.lastUpdatedMs, metadataFile: baseMetadataLocation }] : base.metadataLog;
  return { ...base, lastUpdatedMs: Math.max(timestampMs, base.lastUpdatedMs), metadataLog: metadataLog.slice(-MAX_METADATA_LOG) };
}

export function partitionTypeOf(spec: PartitionSpec, schema: Schema): PartitionStructType {
  const index = indexById(schema);
  return {
    fields: spec.fields.map((field) => {
      const source = index.get(field.sourceId)?.field;
      if (!source || typeof source.type !== 'string') {
        throw new ValidationError('INVALID_PARTITION', `partition field ${field.name} refers to column id ${field.sourceId}, which is not a primitive column of schema ${schema.schemaId}`);
      }
      const sourceType = source.type;
      return { fieldId: field.fieldId, name: field.name, type: transformResultType(field.transform, sourceType) };
    }),
  };
}
