import type { Catalog } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { writeDataFiles } from '../engine/data-writer.js';
import { deferWrites } from '../storage/deferred-writes.js';
import type { DuckDb } from '../engine/duckdb.js';
import type { TableReader } from '../engine/table-reader.js';
import { castingSelect, createTableWriter } from '../engine/table-writer.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata.js';
import type { ScanTask } from '../iceberg/scan-planner.js';

export const DEFAULT_SMALL_FILE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024;

export interface CompactionOptions {
  /** Data files smaller than this are rewritten (default 32 MiB). */
  smallFileBytes?: number;
  /** Size of the files written (default 128 MiB). */
  targetFileBytes?: number;
  dryRun?: boolean;
}

export interface CompactionResult {
  branch: string;
  table: string;
  /** Small files replaced (or, on a dry run, that would be). */
  filesCompacted: number;
  bytesCompacted: number;
  /** Files written in their place (absent on a dry run). */
  newFiles?: number;
  snapshotId?: bigint;
}

/**
 * A stable text key for a partition tuple (bigints and byte arrays included). A long written before
 * an int -> long promotion is a number: a bigint the same as a number has its key, so the files of one
 * partition written before and after the promotion are compacted together.
 */
function partitionKey(specId: number, partition: Record<number, unknown>): string {
  return `${specId}:${JSON.stringify(partition, (_k, v: unknown) => (typeof v === 'bigint' ? bigintKey(v) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`;
}

function bigintKey(value: bigint): number | string {
  return Number.isSafeInteger(Number(value)) ? Number(value) : `${value}n`;
}

/**
 * Groups of at least two small data files of the current snapshot that can be rewritten together:
 * same partition of the table's default spec, and no delete file attached (a position or equality
 * delete names the old file or depends on its sequence number, so it would stop applying).
 */
export function compactionGroups(tasks: readonly ScanTask[], defaultSpecId: number, smallFileBytes: number): ScanTask[][] {
  const groups = new Map<string, ScanTask[]>();
  for (const task of tasks) {
    if (task.dataFile.content !== 0 || task.dataFile.fileSizeInBytes >= smallFileBytes) continue;
    if (task.positionDeletes.length > 0 || task.equalityDeletes.length > 0) continue;
    if (task.specId !== defaultSpecId) continue;
    const key = partitionKey(task.specId, task.dataFile.partition);
    const group = groups.get(key) ?? [];
    group.push(task);
    groups.set(key, group);
  }
  return [...groups.values()].filter((g) => g.length >= 2);
}

/**
 * Rewrites the small data files of one table on one branch into target-size files, committed as one
 * `replace` snapshot (spec "Snapshots": operation replace, data unchanged). Built on the version read
 * at the start and never retried: if the table changed meanwhile the commit fails with COMMIT_CONFLICT
 * and the new files are left for orphan removal.
 */
export async function compactTable(catalog: Catalog, db: DuckDb, reader: TableReader, branch: string, ident: TableIdent, options: CompactionOptions = {}): Promise<CompactionResult> {
  const onBranch = catalog.withRef(branch);
  const table = await onBranch.loadTable(ident);
  const name = formatIdent(ident);
  const result: CompactionResult = { branch, table: name, filesCompacted: 0, bytesCompacted: 0 };
  if (table.metadata.currentSnapshotId === undefined) return result;
  const { scan } = await reader.plan(table);
  reader.takeScanRecords();
  const groups = compactionGroups(scan.tasks, table.metadata.defaultSpecId, options.smallFileBytes ?? DEFAULT_SMALL_FILE_BYTES);
  const inputs = groups.flat();
  result.filesCompacted = inputs.length;
  result.bytesCompacted = inputs.reduce((n, t) => n + t.dataFile.fileSizeInBytes, 0);
  if (inputs.length === 0 || options.dryRun) return result;

  const schema = currentSchema(table.metadata);
  const names = { names: schema.fields.map((f) => f.name) };
  const locationKey = catalog.store.keyOf(onBranch.writeLocation(table))!;
  const added = [];
  const writes = deferWrites(catalog.store);
  for (const group of groups) {
    const groupSql = await reader.sqlFor(table, { ...scan, tasks: group });
    added.push(
      ...(await writeDataFiles({
        db,
        store: writes.store,
        selectSql: castingSelect(name, schema, groupSql, names, {}),
        schema,
        spec: defaultSpec(table.metadata),
        dataKey: `${locationKey}/data`,
        table: name,
        targetFileBytes: options.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES,
        properties: table.metadata.properties,
        rewrite: true,
      })),
    );
  }
  const writer = createTableWriter(onBranch, db, reader);
  const outcome = await writer.commitChange(table, {
    operation: 'replace',
    addedDataFiles: added,
    removedFiles: new Set(inputs.map((t) => t.dataFile.filePath)),
    summary: { 'rat.maintenance': 'compaction' },
  }, writes);
  return { ...result, newFiles: added.length, ...(outcome.snapshotId !== undefined ? { snapshotId: outcome.snapshotId } : {}) };
}
