import type { Stats } from 'node:fs';
import { link, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConflictError, describeError, ExternalError } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';

/** A source file as one ingest reads it: a path whose bytes stay those the probe hashed. */
export interface PinnedFile {
  path: string;
  /** Throws when the bytes at `path` changed since the pin (written in place, or replaced where no link could be made). */
  unchanged(): Promise<void>;
}

/**
 * Private names for the source files of a batch. A landing or local file may be replaced under its
 * name while it is ingested (another writer's atomic rename), and the probe hashing it and DuckDB
 * reading its rows open the path separately: the registry would pair one content's hash with the
 * other's rows. A hard link made before the probe keeps the bytes under a name nobody else writes
 * (a rename replaces the name, not the file), at no cost. Where no link can be made (the file is on
 * another filesystem than the store's staging), the file is read where it is and its identity
 * (inode, size, modification time) is checked again once its rows are read, before the commit; so
 * is a linked file's, which catches a writer changing it in place.
 */
export interface SourcePins {
  pin(path: string, display: string): Promise<PinnedFile>;
  /** Removes the links (at the end of the batch). */
  release(): Promise<void>;
}

export function createSourcePins(store: ObjectStore): SourcePins {
  let dir: Promise<string> | undefined;
  let count = 0;
  return {
    async pin(path, display) {
      dir ??= store.stagingDir();
      // A folder per pin: the link keeps the file's own name (a custom parser sees it), which two sources may share.
      const folder = join(await dir, String(++count));
      const pinned = join(folder, basename(path));
      // The file itself: a hard link to a symbolic link would be one to the link, resolved from staging.
      const readPath = await mkdir(folder, { recursive: true })
        .then(async () => link(await realpath(path), pinned))
        .then(
          () => pinned,
          () => path,
        );
      const before = await identity(readPath, display);
      return {
        path: readPath,
        async unchanged() {
          const now = await identity(readPath, display).catch(() => undefined);
          if (now && now.ino === before.ino && now.dev === before.dev && now.size === before.size && now.mtimeMs === before.mtimeMs) return;
          const what = now ? `${before.size} bytes modified ${new Date(before.mtimeMs).toISOString()} when its probe began, ${now.size} bytes modified ${new Date(now.mtimeMs).toISOString()} after its rows were read` : 'it was removed';
          throw new ConflictError('COMMIT_CONFLICT', `${display}: the file changed while it was ingested (${what}); nothing of it was committed: ingest it again once its writer is done`);
        },
      };
    },
    async release() {
      if (dir) await rm(await dir, { recursive: true, force: true });
    },
  };
}

async function identity(path: string, display: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    throw new ExternalError('STORAGE_ERROR', `${display}: cannot read ${path}: ${describeError(error)}`, { cause: error });
  }
}
