import type { Dirent } from 'node:fs';
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { describeError, ExternalError, isRatError, NotFoundError, type RatError } from '../core/errors.js';
import { copyFileAtomic, isTempFileName, moveFileAtomic, syncFiles, writeFileAtomic } from './atomic-file.js';
import { flushWhileWriting } from './early-flush.js';
import { assertCopiedWhole, createStagingDir, isMissingFileError, sourceFileStats } from './local-file.js';
import { assertValidKey, assertValidPrefix, compareKeys } from './object-key.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';

export interface LocalStoreOptions {
  /** Directory that holds the objects; key `a/b` is the file `<root>/a/b`. */
  root: string;
  /**
   * Where `stagingDir()` creates directories; default `<root>/staging`. Not os.tmpdir(): that is
   * often a RAM-backed tmpfs or another disk, so large staged Parquet files would eat memory, and
   * `putFile` could not use a copy-on-write clone, which works only within one filesystem.
   */
  stagingRoot?: string;
}

export function createLocalStore(options: LocalStoreOptions): ObjectStore {
  const root = path.resolve(options.root);
  const stagingRoot = path.resolve(options.stagingRoot ?? path.join(root, 'staging'));
  // Staging directories hold files that are not objects yet, so listings must not show them.
  const stagingKey = keyOfPath(root, stagingRoot);

  const fileOf = (key: string): string => path.join(root, ...key.split('/'));

  const notFound = (key: string, error?: unknown): NotFoundError =>
    new NotFoundError('STORAGE_NOT_FOUND', `Object "${key}" not found in local store ${root}`, { cause: error });

  const failure = (operation: string, key: string, error: unknown): RatError => {
    if (isRatError(error)) return error;
    return new ExternalError(
      'STORAGE_ERROR',
      `Local store ${operation} of "${key}" failed at ${fileOf(key)}: ${describeError(error)}`,
      { cause: error },
    );
  };

  async function head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const stats = await stat(fileOf(key));
      if (!stats.isFile()) return undefined;
      return { key, size: stats.size, lastModifiedMs: Math.trunc(stats.mtimeMs) };
    } catch (error) {
      if (isMissingFileError(error)) return undefined;
      throw failure('head', key, error);
    }
  }

  async function* walk(directoryKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const directory = directoryKey === '' ? root : fileOf(directoryKey);
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissingFileError(error)) return;
      throw failure('list', directoryKey, error);
    }
    const children: { key: string; orderKey: string; isDirectory: boolean }[] = [];
    for (const entry of entries) {
      if (isTempFileName(entry.name)) continue;
      const key = directoryKey === '' ? entry.name : `${directoryKey}/${entry.name}`;
      if (await isDirectoryEntry(entry, directory)) {
        const keyPrefix = `${key}/`;
        if (key === stagingKey) continue;
        if (!keyPrefix.startsWith(prefix) && !prefix.startsWith(keyPrefix)) continue;
        // Sorting a directory as "name/" puts its keys exactly where they belong among its siblings.
        children.push({ key, orderKey: keyPrefix, isDirectory: true });
      } else if (key.startsWith(prefix)) {
        children.push({ key, orderKey: key, isDirectory: false });
      }
    }
    children.sort((a, b) => compareKeys(a.orderKey, b.orderKey));
    for (const child of children) {
      if (child.isDirectory) {
        yield* walk(child.key, prefix);
      } else {
        // A concurrent delete may remove the file between readdir and stat: then it is simply gone.
        const info = await head(child.key);
        if (info) yield info;
      }
    }
  }

  return {
    kind: 'local',

    uri(key) {
      assertValidKey(key);
      return pathToFileURL(fileOf(key)).href;
    },

    keyOf(uri) {
      let file: string;
      if (uri.startsWith('file:')) {
        try {
          // Also accepts Java's `file:/abs/path` spelling: the URL parser normalises it to file:///.
          file = fileURLToPath(uri);
        } catch {
          return undefined;
        }
      } else if (path.isAbsolute(uri)) {
        file = uri;
      } else {
        return undefined;
      }
      return keyOfPath(root, file);
    },

    async get(key) {
      assertValidKey(key);
      try {
        const bytes = await readFile(fileOf(key));
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        if (isMissingFileError(error)) throw notFound(key, error);
        throw failure('get', key, error);
      }
    },

    async put(key, data, options = {}) {
      assertValidKey(key);
      try {
        await writeFileAtomic(fileOf(key), data, { sync: !options.deferSync });
      } catch (error) {
        throw failure('put', key, error);
      }
    },

    async putFile(key, localPath, options = {}) {
      assertValidKey(key);
      const before = await sourceFileStats(localPath, key);
      try {
        const sync = !options.deferSync;
        // A consumed file is rat's own staging file, which nobody else writes.
        if (options.consume) await moveFileAtomic(localPath, fileOf(key), { sync });
        else {
          const verify = async (copy: string) => assertCopiedWhole(localPath, key, before, (await stat(copy)).size);
          await copyFileAtomic(localPath, fileOf(key), { sync, verify, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
        }
      } catch (error) {
        throw failure('putFile', key, error);
      }
    },

    async sync(keys) {
      keys.forEach(assertValidKey);
      if (keys.length === 0) return;
      try {
        await syncFiles(keys.map(fileOf));
      } catch (error) {
        const file = (error as NodeJS.ErrnoException).path;
        const key = keys.find((k) => fileOf(k) === file) ?? keys.join(', ');
        throw failure('sync', key, error);
      }
    },

    async exists(key) {
      return (await head(key)) !== undefined;
    },

    head,

    async delete(key) {
      assertValidKey(key);
      try {
        await unlink(fileOf(key));
      } catch (error) {
        if (isMissingFileError(error)) return;
        throw failure('delete', key, error);
      }
    },

    list(prefix) {
      assertValidPrefix(prefix);
      const slash = prefix.lastIndexOf('/');
      return walk(slash === -1 ? '' : prefix.slice(0, slash), prefix);
    },

    async localPath(key) {
      if ((await head(key)) === undefined) throw notFound(key);
      return fileOf(key);
    },

    stagingDir: () => createStagingDir(stagingRoot),

    whileStaging: (dir, write) => flushWhileWriting(dir, write),
  };
}

/** The key of an absolute path strictly inside `root`, or undefined. */
function keyOfPath(root: string, file: string): string | undefined {
  const relative = path.relative(root, path.resolve(file));
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    return undefined;
  }
  const key = relative.split(path.sep).join('/');
  try {
    assertValidKey(key);
  } catch {
    return undefined;
  }
  return key;
}

async function isDirectoryEntry(entry: Dirent, directory: string): Promise<boolean> {
  if (!entry.isSymbolicLink()) return entry.isDirectory();
  try {
    return (await stat(path.join(directory, entry.name))).isDirectory();
  } catch {
    return false;
  }
}
