import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
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

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await publish(target, async (temp) => {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

export async function copyFileAtomic(source: string, target: string): Promise<void> {
  await publish(target, async (temp) => {
    // FICLONE makes a copy-on-write clone on btrfs/xfs (same filesystem only) and falls back to a copy.
    await copyFile(source, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    await syncFile(temp);
  });
}

/**
 * Streams `source` into `target`. When `expectedBytes` is given, a short or long stream is an
 * error and nothing is published: a truncated download must never look like a complete file.
 */
export async function writeStreamAtomic(target: string, source: Readable, expectedBytes?: number): Promise<void> {
  await publish(target, async (temp) => {
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

async function publish(target: string, writeTemp: (temp: string) => Promise<void>): Promise<void> {
  const directory = path.dirname(target);
  await mkdir(directory, { recursive: true });
  const temp = tempPathFor(target);
  try {
    await writeTemp(temp);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
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
