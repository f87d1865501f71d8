import { randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ExternalError } from '../core/errors.js';

/**
 * Files are published with write-to-temp, fsync, rename: rename within one directory is atomic on
 * POSIX, so a reader sees the old file or the whole new one. A crash leaves at most a temp file,
 * whose name `isTempFileName` recognises so listings can skip it.
 */
const TEMP_NAME = /^\..*\.[0-9a-f]{16}\.tmp$/;

// NAME_MAX is 255 bytes on common filesystems; the temp name adds 23 characters to the base name.
const MAX_BASE_IN_TEMP_NAME = 200;

export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** A unique temp path in the target's own directory, so the final rename never crosses filesystems. */
export function tempPathFor(target: string): string {
  const base = path.basename(target).slice(0, MAX_BASE_IN_TEMP_NAME);
  return path.join(path.dirname(target), `.${base}.${randomBytes(8).toString('hex')}.tmp`);
}

/**
 * `sync: false` publishes the file whole (temp file, rename) without waiting for the disk: a crash
 * may then lose it, or leave it empty under its name, until `syncFiles` has made it durable. For
 * files that nothing references until a later commit, which syncs them all at once just before.
 */
export interface PublishOptions {
  sync: boolean;
}

export async function writeFileAtomic(target: string, data: Uint8Array | string, options: PublishOptions = { sync: true }): Promise<void> {
  if (!options.sync) return writeFileNow(target, data);
  await publish(target, options, async (temp) => {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

export interface CopyOptions extends PublishOptions {
  onProgress?: (bytesDone: number) => void;
  /** Runs on the finished copy before it is published; a throw publishes nothing (a source that changed while copied). */
  verify?: (copy: string) => Promise<void>;
}

export async function copyFileAtomic(source: string, target: string, options: CopyOptions = { sync: true }): Promise<void> {
  const { onProgress } = options;
  await publish(target, options, async (temp) => {
    if (onProgress) {
      // Chunk by chunk, to report progress: a clone or copyFile says nothing until it is done.
      let done = 0;
      const counted = async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          done += chunk.length;
          onProgress(done);
          yield chunk;
        }
      };
      await pipeline(createReadStream(source), counted, createWriteStream(temp, { flags: 'wx' }));
    } else {
      // FICLONE makes a copy-on-write clone on btrfs/xfs (same filesystem only) and falls back to a copy.
      await copyFile(source, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    }
    await options.verify?.(temp);
    if (options.sync) await syncFile(temp);
  });
}

/**
 * Moves `source` to `target` when both are on one filesystem (a rename: no bytes copied), else
 * copies it; either way `target` appears whole. `source` is gone afterwards only when it was moved.
 */
export async function moveFileAtomic(source: string, target: string, options: PublishOptions = { sync: true }): Promise<void> {
  if (options.sync) await syncFile(source);
  try {
    // A rename is a metadata change in the page cache: done at once, like writeFileNow.
    withDirectorySync(path.dirname(target), () => renameSync(source, target));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    return copyFileAtomic(source, target, options);
  }
  if (options.sync) await syncDirectory(path.dirname(target));
}

/**
 * Makes files published with `sync: false` durable: every file and every directory holding one is
 * fsynced, all at once (the disk commits them together, about the cost of one).
 */
export async function syncFiles(files: readonly string[]): Promise<void> {
  const directories = new Set(files.map((file) => path.dirname(file)));
  await Promise.all([...files.map((file) => syncFile(file)), ...[...directories].map(syncDirectory)]);
}

/**
 * Streams `source` into `target`. When `expectedBytes` is given, a short or long stream is an
 * error and nothing is published: a truncated download must never look like a complete file.
 */
export async function writeStreamAtomic(target: string, source: Readable, expectedBytes?: number): Promise<void> {
  // A stream cannot be replayed, so its directory is made first rather than on a failed first try.
  await mkdir(path.dirname(target), { recursive: true });
  await publish(target, { sync: true }, async (temp) => {
    await pipeline(source, createWriteStream(temp, { flags: 'wx' }));
    if (expectedBytes !== undefined) {
      const written = (await stat(temp)).size;
      if (written !== expectedBytes) {
        throw new ExternalError(
          'STORAGE_ERROR',
          `Incomplete write of ${target}: received ${written} bytes, expected ${expectedBytes}`,
        );
      }
    }
    await syncFile(temp);
  });
}

/** Temp files of this process's publishes still being written (removeTempFiles). */
const inProgress = new Set<string>();

/**
 * Removes the temp files of publishes still being written: for a process that is interrupted
 * (Ctrl-C) and exits without reaching `publish`'s cleanup. Left, a partly uploaded file stayed in
 * the landing zone under its hidden temp name, which listings skip and nothing removes. Synchronous:
 * the process exits next.
 */
export function removeTempFiles(): void {
  for (const temp of inProgress) rmSync(temp, { force: true });
  inProgress.clear();
}

async function publish(target: string, options: PublishOptions, writeTemp: (temp: string) => Promise<void>): Promise<void> {
  const directory = path.dirname(target);
  const temp = tempPathFor(target);
  inProgress.add(temp);
  try {
    await withDirectory(directory, () => writeTemp(temp));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    inProgress.delete(temp);
  }
  if (options.sync) await syncDirectory(directory);
}

/**
 * A write that does not wait for the disk only copies bytes into the page cache. With synchronous
 * calls that takes about 0.1 ms for a metadata-sized file; the same steps as promises are four
 * thread-pool round trips, 1 to 3 ms in all on a busy 2-core machine (measured in the commit
 * benchmark, where three such files are written per commit). Waiting for the disk stays asynchronous.
 */
function writeFileNow(target: string, data: Uint8Array | string): void {
  const temp = tempPathFor(target);
  try {
    withDirectorySync(path.dirname(target), () => writeFileSync(temp, data, { flag: 'wx' }));
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function withDirectorySync(directory: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(directory, { recursive: true });
    write();
  }
}

/**
 * Runs `write` into `directory`, creating the directory when the first try finds it missing: one
 * mkdir per new directory instead of one per file. A write that fails on a missing source fails again.
 */
async function withDirectory<T>(directory: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(directory, { recursive: true });
    return write();
  }
}

/** fsync of a file; `dataOnly`: fdatasync, its contents without the metadata a read does not need. */
export async function syncFile(file: string, dataOnly = false): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await (dataOnly ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}

/** Makes the rename itself durable; without it a power loss can forget the new directory entry. */
async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory for fsync.
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
