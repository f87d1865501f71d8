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
 * Reads everything a table references, from the catalog pointer down to the data files: every
 * metadata file of the log, every snapshot's manifest list, every manifest, and every data file
 * (which must exist with its recorded size and hold its recorded number of rows). Throws naming
 * the first file that is missing or unreadable.
 */
export async function auditTable(lake: Lakehouse, name: string): Promise<TableAudit> {
  const table = await lake.loadTable(name);
  const referenced = new Set<string>();
  const read = async (location: string, what: string): Promise<Uint8Array> => {
    referenced.add(fileURLToPath(location));
    try {
      return await lake.catalog.io.read(location, table.pathMap);
    } catch (error) {
      throw new Error(`${name}: ${what} ${location} is not readable: ${(error as Error).message}`, { cause: error });
    }
  };
  const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

  parseTableMetadata(utf8(await read(table.metadataLocation, 'current metadata file')), table.metadataLocation);
  const metadataLog: TableMetadata[] = [];
  for (const entry of table.metadata.metadataLog) {
    metadataLog.push(parseTableMetadata(utf8(await read(entry.metadataFile, 'metadata log entry')), entry.metadataFile));
  }

  const manifestLists = new Map<bigint, ManifestFile[]>();
  const dataFiles = new Map<string, DataFile>();
  let liveDataFiles: DataFile[] = [];
  for (const snapshot of table.metadata.snapshots) {
    const list = readManifestList(await read(snapshot.manifestList, `manifest list of snapshot ${snapshot.snapshotId}`), snapshot.manifestList);
    manifestLists.set(snapshot.snapshotId, list);
    const live: DataFile[] = [];
    for (const manifest of list) {
      const contents = readManifest(await read(manifest.manifestPath, `manifest of snapshot ${snapshot.snapshotId}`), manifest.manifestPath);
      for (const entry of contents.entries) {
        dataFiles.set(entry.dataFile.filePath, entry.dataFile);
        if (entry.status !== 2) live.push(entry.dataFile);
      }
    }
    if (snapshot.snapshotId === table.metadata.currentSnapshotId) liveDataFiles = live;
  }

  for (const file of dataFiles.values()) {
    const local = fileURLToPath(file.filePath);
    referenced.add(local);
    const size = await stat(local).then(
      (s) => s.size,
      () => undefined,
    );
    if (size !== file.fileSizeInBytes) throw new Error(`${name}: data file ${local} has ${size ?? 'no'} bytes on disk, its manifest says ${file.fileSizeInBytes}`);
  }
  if (dataFiles.size > 0) {
    const paths = [...dataFiles.values()].map((f) => quoteString(fileURLToPath(f.filePath)));
    const counts = await lake.query<{ file: string; n: number }>(`SELECT filename AS file, count(*)::INTEGER AS n FROM read_parquet([${paths.join(', ')}], filename = true) GROUP BY filename`);
    const byFile = new Map(counts.map((c) => [c.file, c.n]));
    for (const file of dataFiles.values()) {
      const rows = byFile.get(fileURLToPath(file.filePath)) ?? 0;
      if (rows !== file.recordCount) throw new Error(`${name}: data file ${file.filePath} holds ${rows} rows, its manifest says ${file.recordCount}`);
    }
  }

  const tableDir = fileURLToPath(table.metadata.location);
  const orphans: string[] = [];
  for (const entry of await readdir(tableDir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !referenced.has(file)) orphans.push(file);
  }
  return { table, metadataLog, manifestLists, liveDataFiles, referenced, orphans: orphans.sort() };
}
