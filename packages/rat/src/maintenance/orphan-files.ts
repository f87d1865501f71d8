import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog, LoadedTable } from '../catalog/catalog.js';
import { createManifestCache, type ManifestCache } from '../iceberg/manifest-cache.js';
import { treeUsage } from '../storage/local-file.js';
import type { ObjectInfo } from '../storage/object-store.js';
import { storeKeyOf, tablesOfAllRefs } from './table-scope.js';

export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
const WAREHOUSE_PREFIX = 'warehouse/';

export interface OrphanOptions {
  /** Files younger than this are kept: a writer may still be about to commit them (default 1 hour). */
  graceMs?: number;
  nowMs?: number;
  dryRun?: boolean;
  /** Only look at files under these tables' folders (`ns.t`); reachability is always computed over every ref. */
  tables?: readonly string[];
  /** The local staging root (`RAT_HOME/staging`) whose leftover `stage-*` directories go too. */
  stagingRoot?: string;
}

export interface OrphanFile {
  key: string;
  size: number;
  lastModifiedMs: number;
  /** `ns.t` of the warehouse folder it lies in. */
  table?: string;
}

export interface OrphanResult {
  /** Orphans removed (or, on a dry run, that would be). */
  removed: OrphanFile[];
  /** Unreachable files younger than the grace period, kept. */
  keptInGrace: number;
  /** Reachable files under the looked-at prefixes. */
  reachable: number;
  stagingDirsRemoved: number;
  stagingBytesRemoved: number;
}

/**
 * Store keys of every file any ref can reach: for each table on each branch and tag, its metadata
 * file, the metadata files of its metadata log, every snapshot's manifest list, those lists'
 * manifests and the data and delete files they name (deleted entries too: an older snapshot may
 * still list them), plus every metadata file a catalog commit reachable from a ref points at (so
 * `rat log`/`rat diff` keep working). A file that cannot be read fails the whole computation: what it
 * references is unknown, so nothing may be deleted.
 */
export async function reachableKeys(catalog: Catalog): Promise<Set<string>> {
  const store = catalog.store;
  const keys = new Set<string>();
  const caches = new Map<string, ManifestCache>();
  const seenManifests = new Set<string>();
  const seenLists = new Set<string>();
  const add = (location: string, table: LoadedTable): void => {
    const key = storeKeyOf(store, location, table.pathMap);
    if (key !== undefined) keys.add(key);
  };
  for (const { table } of await tablesOfAllRefs(catalog)) {
    const cacheKey = JSON.stringify(table.pathMap);
    let cache = caches.get(cacheKey);
    if (!cache) {
      const pathMap = table.pathMap;
      cache = createManifestCache({ maxEntries: 1024, read: (location) => catalog.io.read(location, pathMap) });
      caches.set(cacheKey, cache);
    }
    add(table.metadataLocation, table);
    for (const entry of table.metadata.metadataLog) add(entry.metadataFile, table);
    for (const snapshot of table.metadata.snapshots) {
      add(snapshot.manifestList, table);
      if (seenLists.has(snapshot.manifestList)) continue;
      seenLists.add(snapshot.manifestList);
      for (const manifest of await cache.manifestList(snapshot.manifestList)) {
        add(manifest.manifestPath, table);
        if (seenManifests.has(manifest.manifestPath)) continue;
        seenManifests.add(manifest.manifestPath);
        for (const entry of (await cache.manifest(manifest.manifestPath)).entries) add(entry.dataFile.filePath, table);
      }
    }
  }
  for (const ref of await catalog.refs.list()) {
    for (const commit of await catalog.refs.log(ref.name, { limit: Number.MAX_SAFE_INTEGER })) {
      for (const change of commit.changes) {
        if (change.metadataLocation === null) continue;
        const key = store.keyOf(change.metadataLocation);
        if (key !== undefined) keys.add(key);
      }
    }
  }
  return keys;
}

/** `ns.t` for a key under `warehouse/ns/t/`. */
function tableOfKey(key: string): string | undefined {
  const parts = key.split('/');
  return parts.length >= 4 && parts[0] === 'warehouse' ? `${parts[1]}.${parts[2]}` : undefined;
}

/**
 * Deletes files under `warehouse/` that no ref reaches and that are older than the grace period,
 * and staging leftovers older than it. The listing is taken before reachability is computed, so a
 * file committed in between is seen as reachable; a file written but not yet committed is what the
 * grace period protects.
 */
export async function removeOrphanFiles(catalog: Catalog, options: OrphanOptions = {}): Promise<OrphanResult> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const nowMs = options.nowMs ?? Date.now();
  const cutoff = nowMs - graceMs;
  const store = catalog.store;
  const prefixes = options.tables && options.tables.length > 0 ? options.tables.map((t) => `${WAREHOUSE_PREFIX}${t.replace('.', '/')}/`) : [WAREHOUSE_PREFIX];
  const listed: ObjectInfo[] = [];
  for (const prefix of prefixes) for await (const info of store.list(prefix)) listed.push(info);
  const reachable = await reachableKeys(catalog);
  const result: OrphanResult = { removed: [], keptInGrace: 0, reachable: 0, stagingDirsRemoved: 0, stagingBytesRemoved: 0 };
  for (const info of listed) {
    if (reachable.has(info.key)) {
      result.reachable += 1;
      continue;
    }
    if (info.lastModifiedMs > cutoff) {
      result.keptInGrace += 1;
      continue;
    }
    if (!options.dryRun) await store.delete(info.key);
    const table = tableOfKey(info.key);
    result.removed.push({ key: info.key, size: info.size, lastModifiedMs: info.lastModifiedMs, ...(table ? { table } : {}) });
  }
  if (options.stagingRoot !== undefined && prefixes[0] === WAREHOUSE_PREFIX) {
    const staging = await removeStagingLeftovers(options.stagingRoot, cutoff, options.dryRun ?? false);
    result.stagingDirsRemoved = staging.dirs;
    result.stagingBytesRemoved = staging.bytes;
  }
  return result;
}

/** `stage-*` directories (from `ObjectStore.stagingDir`) last touched before `cutoffMs`: left by killed writers. */
async function removeStagingLeftovers(root: string, cutoffMs: number, dryRun: boolean): Promise<{ dirs: number; bytes: number }> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  let dirs = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith('stage-')) continue;
    const dir = join(root, entry.name);
    const usage = await treeUsage(dir);
    if (usage.newestMs > cutoffMs) continue;
    if (!dryRun) await rm(dir, { recursive: true, force: true });
    dirs += 1;
    bytes += usage.bytes;
  }
  return { dirs, bytes };
}
