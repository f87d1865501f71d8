import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedTable } from '../../catalog/catalog.js';
import { parseTableMetadata } from '../../iceberg/metadata.js';
import { readManifest } from '../../iceberg/manifest.js';
import { readManifestList } from '../../iceberg/manifest-list.js';
import type { DataFile, ManifestFile, TableMetadata } from '../../iceberg/types.js';
import type { Lakehouse } from '../lakehouse.js';
import { quoteString } from '../duckdb.js';

export interface TableAudit {
  table: LoadedTable;
  /** Parsed metadata files of the metadata log, oldest first (spec "Table Metadata Fields": metadata-log). */
  metadataLog: TableMetadata[];
  /** Manifest list of each snapshot, by snapshot id. */
  manifestLists: Map<bigint, ManifestFile[]>;
  /** Data files live in the current snapshot. */
  liveDataFiles: DataFile[];
  /** Local paths of every file the table's metadata references, directly or through manifests. */
  referenced: Set<string>;
  /** Local paths of files under the table's location that nothing references (left by failed or killed commits). */
  orphans: string[];
}

/**
 * What an audit already read, by local path: files rat writes are never rewritten in place, so a
 * file found again with the same size and modification time holds what was parsed before. A test
 * that audits the same table after every step passes one cache to all its audits, so each audit
 * parses only the files that are new since the last one, and still checks that every referenced
 * file is there.
 */
export type AuditCache = Map<string, { size: number; mtimeMs: number; value: unknown }>;

/**
 * Reads everything a table references, from the catalog pointer down to the data files: every
 * metadata file of the log, every snapshot's manifest list, every manifest, and every data file
 * (which must exist with its recorded size and hold its recorded number of rows). Throws naming
 * the first file that is missing or unreadable.
 */
export async function auditTable(lake: Lakehouse, name: string, cache: AuditCache = new Map()): Promise<TableAudit> {
  const table = await lake.loadTable(name);
  const referenced = new Set<string>();
  /** Reads and parses a referenced file, or takes the parse of an earlier audit if the file is unchanged. */
  const parsed = async <T>(location: string, what: string, parse: (bytes: Uint8Array) => T): Promise<T> => {
    const local = fileURLToPath(location);
    referenced.add(local);
    try {
      const { size, mtimeMs } = await stat(local);
      const known = cache.get(local);
      if (known && known.size === size && known.mtimeMs === mtimeMs) return known.value as T;
      const value = parse(await lake.catalog.io.read(location, table.pathMap));
      cache.set(local, { size, mtimeMs, value });
      return value;
    } catch (error) {
      throw new Error(`${name}: ${what} ${location} is not readable: ${(error as Error).message}`, { cause: error });
    }
  };
  const metadataFile = (location: string, what: string) => parsed(location, what, (bytes) => parseTableMetadata(Buffer.from(bytes).toString('utf8'), location));

  await metadataFile(table.metadataLocation, 'current metadata file');
  const metadataLog: TableMetadata[] = [];
  for (const entry of table.metadata.metadataLog) metadataLog.push(await metadataFile(entry.metadataFile, 'metadata log entry'));

  const manifestLists = new Map<bigint, ManifestFile[]>();
  const dataFiles = new Map<string, DataFile>();
  let liveDataFiles: DataFile[] = [];
  for (const snapshot of table.metadata.snapshots) {
    const list = await parsed(snapshot.manifestList, `manifest list of snapshot ${snapshot.snapshotId}`, (bytes) => readManifestList(bytes, snapshot.manifestList));
    manifestLists.set(snapshot.snapshotId, list);
    const live: DataFile[] = [];
    for (const manifest of list) {
      const contents = await parsed(manifest.manifestPath, `manifest of snapshot ${snapshot.snapshotId}`, (bytes) => readManifest(bytes, manifest.manifestPath));
      for (const entry of contents.entries) {
        dataFiles.set(entry.dataFile.filePath, entry.dataFile);
        if (entry.status !== 2) live.push(entry.dataFile);
      }
    }
    if (snapshot.snapshotId === table.metadata.currentSnapshotId) liveDataFiles = live;
  }

  /** Data files not counted by an earlier audit (or changed since), by local path, with their stat. */
  const uncounted = new Map<string, { size: number; mtimeMs: number }>();
  for (const file of dataFiles.values()) {
    const local = fileURLToPath(file.filePath);
    referenced.add(local);
    const found = await stat(local).catch(() => undefined);
    if (found?.size !== file.fileSizeInBytes) throw new Error(`${name}: data file ${local} has ${found?.size ?? 'no'} bytes on disk, its manifest says ${file.fileSizeInBytes}`);
    const known = cache.get(local);
    if (!known || known.size !== found.size || known.mtimeMs !== found.mtimeMs) uncounted.set(local, { size: found.size, mtimeMs: found.mtimeMs });
  }
  if (uncounted.size > 0) {
    const paths = [...uncounted.keys()].map(quoteString);
    const counts = await lake.query<{ file: string; n: number }>(`SELECT filename AS file, count(*)::INTEGER AS n FROM read_parquet([${paths.join(', ')}], filename = true) GROUP BY filename`);
    const byFile = new Map(counts.map((c) => [c.file, c.n]));
    for (const [local, found] of uncounted) cache.set(local, { ...found, value: byFile.get(local) ?? 0 });
  }
  for (const file of dataFiles.values()) {
    const rows = cache.get(fileURLToPath(file.filePath))!.value as number;
    if (rows !== file.recordCount) throw new Error(`${name}: data file ${file.filePath} holds ${rows} rows, its manifest says ${file.recordCount}`);
  }

  const tableDir = fileURLToPath(table.metadata.location);
  const orphans: string[] = [];
  for (const entry of await readdir(tableDir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !referenced.has(file)) orphans.push(file);
  }
  return { table, metadataLog, manifestLists, liveDataFiles, referenced, orphans: orphans.sort() };
}
