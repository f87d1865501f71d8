import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { treeUsage } from './local-file.js';

/**
 * Where the S3 store keeps local copies of objects (DuckDB here reads local files only). Each
 * object gets a folder of its own, named by a hash of bucket and key, holding one file under the
 * object's own name (DuckDB tells compression by the extension):
 * `<cacheDir>/v2/<first 2 hex>/<sha256>/<file name>`, and the version of the object that copy is
 * (ETag, size) in `<sha256>.json` next to that folder.
 *
 * A key can be a file and the "folder" of another key at once (`x.csv` and `x.csv/part.csv`, which
 * S3 allows). The first layout mirrored keys as paths, so such a pair could not both be cached and
 * one of them failed on every read; it is no longer read, and `pruneObjectCache` removes it.
 * (`v2` is 2 characters: no bucket name is that short, so no first-layout folder has that name.)
 */
export interface CacheLayout {
  fileOf(bucket: string, objectKey: string): string;
  versionFileOf(bucket: string, objectKey: string): string;
}

const LAYOUT_FOLDER = 'v2';

export function cacheLayout(cacheDir: string): CacheLayout {
  const root = path.join(path.resolve(cacheDir), LAYOUT_FOLDER);
  const folderOf = (bucket: string, objectKey: string): string => {
    // NUL cannot occur in a bucket name, so no other bucket and key give the same text.
    const hash = createHash('sha256').update(`${bucket}\0${objectKey}`).digest('hex');
    return path.join(root, hash.slice(0, 2), hash);
  };
  return {
    fileOf: (bucket, objectKey) => path.join(folderOf(bucket, objectKey), objectKey.slice(objectKey.lastIndexOf('/') + 1)),
    versionFileOf: (bucket, objectKey) => `${folderOf(bucket, objectKey)}.json`,
  };
}

export interface CachePruneResult {
  /** Cached copies removed (a folder of the first layout counts as one). */
  files: number;
  bytes: number;
}

/**
 * Removes the cached copies not used since `cutoffMs` (a copy's time is set again on each use), and
 * the first layout's folders once nothing in them is newer. A copy is only ever a copy: the next
 * read downloads it again.
 */
export async function pruneObjectCache(cacheDir: string, cutoffMs: number, dryRun: boolean): Promise<CachePruneResult> {
  const root = path.resolve(cacheDir);
  const result: CachePruneResult = { files: 0, bytes: 0 };
  // The version file goes first: a copy without one is downloaded again, never trusted.
  const removeIfUnused = async (folder: string, extra: string[] = []): Promise<void> => {
    const usage = await treeUsage(folder);
    if (usage.newestMs > cutoffMs) return;
    if (!dryRun) for (const target of [...extra, folder]) await rm(target, { recursive: true, force: true });
    result.files += 1;
    result.bytes += usage.bytes;
  };
  for (const name of await namesIn(root)) {
    if (name !== LAYOUT_FOLDER) {
      await removeIfUnused(path.join(root, name));
      continue;
    }
    for (const shard of await namesIn(path.join(root, name))) {
      const shardDir = path.join(root, name, shard);
      for (const entry of await namesIn(shardDir)) {
        if (entry.endsWith('.json')) continue;
        await removeIfUnused(path.join(shardDir, entry), [path.join(shardDir, `${entry}.json`)]);
      }
    }
  }
  return result;
}

async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
    throw error;
  });
}
