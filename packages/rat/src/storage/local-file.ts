import { existsSync, mkdirSync, mkdtempSync, rmSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { describeError, ExternalError, NotFoundError } from '../core/errors.js';

/** Codes that mean "there is no file at this path" (ENOTDIR: a parent is a file, EISDIR: it is a directory). */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** The file to upload must exist; saying so by its local path beats a bare ENOENT from deep inside a copy. */
export async function sourceFileStats(localPath: string, key: string): Promise<Stats> {
  try {
    const stats = await stat(localPath);
    if (stats.isFile()) return stats;
  } catch (error) {
    if (!isMissingFileError(error)) {
      throw new ExternalError('STORAGE_ERROR', `Cannot read local file ${localPath} to store as "${key}": ${describeError(error)}`, {
        cause: error,
      });
    }
  }
  throw new NotFoundError('STORAGE_NOT_FOUND', `Local file ${localPath} to store as "${key}" does not exist`);
}

/**
 * Checked after a local file's bytes were read for storing, before they are published: a file its
 * writer truncated, extended or rewrote meanwhile (an export still being written) gave a part of
 * one content or a mix of two, which must never land as if it were the file. A file replaced by a
 * rename, or removed, was read whole: the copy holds the content it had when the copy began.
 */
export async function assertCopiedWhole(localPath: string, key: string, before: Stats, bytesRead: number): Promise<void> {
  const now = await stat(localPath).catch(() => undefined);
  const sameFile = now !== undefined && now.ino === before.ino && now.dev === before.dev;
  const rewritten = sameFile && (now.size !== before.size || now.mtimeMs !== before.mtimeMs);
  if (bytesRead === before.size && !rewritten) return;
  const after = !sameFile ? '' : `; ${now.size} bytes modified ${now.mtime.toISOString()} now`;
  throw new ExternalError(
    'STORAGE_ERROR',
    `Local file ${localPath} changed while it was stored as "${key}" (${before.size} bytes modified ${before.mtime.toISOString()} when the copy began, ${bytesRead} bytes read${after}); ` +
      `nothing was stored under "${key}": store it again once its writer is done`,
  );
}

export function isMissingFileError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && MISSING_CODES.has(code);
}

/**
 * A fresh directory under `stagingRoot` (created when missing). Synchronous inside: making a
 * directory is a page-cache change, and one commit makes one, on its critical path.
 */
export async function createStagingDir(stagingRoot: string): Promise<string> {
  const prefix = path.join(stagingRoot, 'stage-');
  let dir: string;
  try {
    try {
      dir = mkdtempSync(prefix);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(stagingRoot, { recursive: true });
      dir = mkdtempSync(prefix);
    }
  } catch (error) {
    throw new ExternalError('STORAGE_ERROR', `Cannot create a staging directory in ${stagingRoot}: ${describeError(error)}`, { cause: error });
  }
  // Those their users removed are forgotten now and then, so a server's list stays short.
  if (madeHere.size >= 1000) for (const made of madeHere) if (!existsSync(made)) madeHere.delete(made);
  madeHere.add(dir);
  return dir;
}

/** The staging directories this process made (removeStagingDirs). */
const madeHere = new Set<string>();

/**
 * Removes the staging directories this process made that are still there: for a process that is
 * interrupted (Ctrl-C) and exits without reaching the `finally` that removes each. Left, they hold
 * a partial Parquet file, or a hard link that keeps a source's bytes on disk after the source is
 * deleted, until `rat maintain` removes them past its grace period. Synchronous: the process exits next.
 */
export function removeStagingDirs(): void {
  for (const dir of madeHere) rmSync(dir, { recursive: true, force: true });
  madeHere.clear();
}

/** Size and newest modification time of a tree; a part that vanishes meanwhile (its writer finished) counts as nothing. */
export async function treeUsage(file: string): Promise<{ bytes: number; newestMs: number }> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: 0, newestMs: 0 };
    throw error;
  }
  let bytes = info.isFile() ? info.size : 0;
  let newestMs = info.mtimeMs;
  if (info.isDirectory()) {
    const names = await readdir(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const name of names) {
      const child = await treeUsage(path.join(file, name));
      bytes += child.bytes;
      newestMs = Math.max(newestMs, child.newestMs);
    }
  }
  return { bytes, newestMs };
}
