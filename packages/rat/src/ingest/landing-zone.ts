import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, resolve } from 'node:path';
import { describeError, ExternalError, isRatError, NotFoundError, ValidationError } from '../core/errors.js';
import { assertValidKey } from '../storage/object-key.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import type { FileRegistry, RegistryEntry, RegistryStatus } from './file-registry.js';
import type { IngestProgress } from './progress.js';
import { LANDING_PREFIX, landingNotFound, passedOverInFolders, relativeTo, walk } from './source-files.js';

export interface LandedFile {
  /** The local file uploaded. */
  file: string;
  key: string;
  size: number;
}

export interface UploadOptions {
  onProgress?: (event: IngestProgress) => void;
  /** Replace landing files already under the keys (default: refuse, before anything is uploaded). */
  overwrite?: boolean;
}

/**
 * Whether a landing file's content is in a table: `loaded` (an ingest loaded it, or skipped it as
 * loaded already, and the file has the same size and was not modified since), `changed` (it was
 * loaded, but its size differs now or it was modified after that ingest: replaced), `failed` (every
 * attempt failed), `new` (never ingested).
 */
/** `ignored`: a file no ingest of its folder reads (hidden, `.keep`, or documentation such as README.md), never ingested by name. */
export type LandingState = 'new' | 'loaded' | 'changed' | 'failed' | 'ignored';

export interface LandingEntry {
  key: string;
  size: number;
  modified: Date;
  state: LandingState;
  /** The latest registry entry for this key, in any table. */
  lastStatus?: RegistryStatus;
  lastTarget?: string;
  lastIngestedAt?: Date;
}

/**
 * Copies local files into the landing zone as received (bytes unchanged, compressed files stay
 * compressed). `destination` is a folder (`landing/sales/`, each file keeps its name; a local folder
 * keeps its relative paths) or, for a single file, a full key (`landing/sales/2026-01.csv`). A key that
 * holds a file already is refused unless `overwrite`: the landing zone keeps the raw files as received.
 */
export async function uploadToLanding(store: ObjectStore, files: string[], destination: string, options: UploadOptions = {}): Promise<LandedFile[]> {
  const report = options.onProgress;
  if (!destination.startsWith(LANDING_PREFIX)) throw new ValidationError('INVALID_ARGUMENT', `upload destination must be in the landing zone, e.g. landing/sales/ (got "${destination}")`);
  if (files.length === 0) throw new ValidationError('INVALID_ARGUMENT', 'no files to upload');
  const uploads: { file: string; key: string; size: number }[] = [];
  for (const file of files) {
    const path = resolve(file);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new NotFoundError('STORAGE_NOT_FOUND', `no such file or folder: ${file}`);
    if (info.isDirectory()) {
      const folder = destination.endsWith('/') ? destination : `${destination}/`;
      // The folder as it is, hidden files too (a `.keep`): the landing zone holds what was received.
      for (const inner of await walk(path, true)) uploads.push({ file: inner, key: `${folder}${basename(path)}/${relativeTo(path, inner)}`, size: await folderFileSize(inner) });
    } else {
      const key = destination.endsWith('/') || files.length > 1 ? `${destination.replace(/\/?$/, '/')}${basename(path)}` : destination;
      uploads.push({ file: path, key, size: info.size });
    }
  }
  uploads.forEach((upload) => assertValidKey(upload.key));
  refuseSameKey(uploads);
  await refuseFileFolderClash(store, uploads);
  if (!options.overwrite) await refuseReplacing(store, uploads);
  const landed: LandedFile[] = [];
  for (const [index, upload] of uploads.entries()) {
    const progress = (bytesDone: number) => report?.({ file: upload.file, phase: 'uploading', bytesDone, bytesTotal: upload.size });
    progress(0);
    try {
      // Short of the total until the put returns: the last bytes read are not stored yet.
      await store.putFile(upload.key, upload.file, report ? { onProgress: (done) => progress(Math.min(done, Math.max(0, upload.size - 1))) } : {});
    } catch (error) {
      throw partlyUploaded(error, landed, uploads.slice(index));
    }
    progress(upload.size);
    landed.push(upload);
  }
  return landed;
}

/**
 * A failure after some files of the upload landed says which did and which did not: the same upload
 * run again is refused, since the landed ones hold their keys now.
 */
function partlyUploaded(error: unknown, landed: readonly LandedFile[], rest: readonly LandedFile[]): unknown {
  if (landed.length === 0) return error;
  const code = isRatError(error) ? error.code : 'STORAGE_ERROR';
  const Failure = error instanceof NotFoundError ? NotFoundError : ExternalError;
  return new Failure(
    code,
    `${describeError(error)}; ${landed.length} of ${landed.length + rest.length} files were uploaded before it (${shortList(landed.map((l) => l.key))}), ` +
      `${rest.length} not (${shortList(rest.map((r) => r.file))}): upload those, or the whole upload again with --overwrite (SDK: overwrite: true)`,
    { cause: error },
  );
}

/** Up to five names, then how many more. */
function shortList(names: readonly string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}

/** A folder's file to upload; one that is not there (a link pointing nowhere) fails the upload before anything lands. */
async function folderFileSize(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  if (info) return info.size;
  const link = await readlink(file).catch(() => undefined);
  const what = link === undefined ? 'is gone' : `is a symbolic link to ${link}, which does not exist`;
  throw new NotFoundError('STORAGE_NOT_FOUND', `${file} ${what}; nothing was uploaded: remove it from the folder, or restore the file`);
}

/** Two local files with one name (`a/x.csv`, `b/x.csv` into `landing/coll/`): the second would replace the first, unseen. */
function refuseSameKey(uploads: readonly { file: string; key: string }[]): void {
  const fileByKey = new Map<string, string>();
  for (const { file, key } of uploads) {
    const earlier = fileByKey.get(key);
    if (earlier !== undefined) {
      throw new ValidationError('INVALID_ARGUMENT', `${earlier} and ${file} would both land as ${key}, the second replacing the first; nothing was uploaded: upload them to different folders or rename one`);
    }
    fileByKey.set(key, file);
  }
}

/** Landing files the upload would replace: named, before anything is uploaded. */
async function refuseReplacing(store: ObjectStore, uploads: readonly { file: string; key: string }[]): Promise<void> {
  const existing: string[] = [];
  for (const { key } of uploads) if (await store.exists(key)) existing.push(key);
  if (existing.length === 0) return;
  const shown = shortList(existing);
  throw new ValidationError(
    'INVALID_ARGUMENT',
    `the landing zone holds ${existing.length === 1 ? 'a file' : `${existing.length} files`} under ${existing.length === 1 ? 'the key' : 'the keys'} ${shown} already; nothing was uploaded: to replace ${existing.length === 1 ? 'it' : 'them'}, pass --overwrite (SDK: overwrite: true), or upload under another name`,
  );
}

/**
 * A key cannot be both a file and a folder: a local landing zone cannot hold it (the file system
 * refuses), and in a bucket `rat ingest landing/x` would read the file and never the folder's files.
 * Checked against the landing zone and within the upload, before anything is uploaded.
 */
async function refuseFileFolderClash(store: ObjectStore, uploads: readonly { file: string; key: string }[]): Promise<void> {
  const keys = new Set(uploads.map((u) => u.key));
  // Each folder of the upload, with a key it will hold.
  const batchFolders = new Map<string, string>();
  for (const key of keys) for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) if (!batchFolders.has(key.slice(0, slash + 1))) batchFolders.set(key.slice(0, slash + 1), key);
  const isFile = new Map<string, Promise<boolean>>();
  const storedFile = (key: string) => isFile.get(key) ?? isFile.set(key, keys.has(key) ? Promise.resolve(true) : store.exists(key)).get(key)!;
  for (const { file, key } of uploads) {
    const parts = key.split('/');
    for (let depth = 2; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join('/');
      if (await storedFile(parent)) {
        throw new ValidationError('INVALID_ARGUMENT', `cannot upload ${file} as ${key}: ${parent} is a file, and a landing key cannot be a file and a folder too; nothing was uploaded: upload into another folder, or remove ${parent} first`);
      }
    }
    const folder = `${key}/`;
    const inside = batchFolders.get(folder) ?? (await firstKeyUnder(store, folder));
    if (inside !== undefined) {
      throw new ValidationError('INVALID_ARGUMENT', `cannot upload ${file} as ${key}: ${key}/ is a folder (it holds ${inside}); nothing was uploaded: to put the file in it, end the destination with a slash (${key}/), or give it another name`);
    }
  }
}

async function firstKeyUnder(store: ObjectStore, prefix: string): Promise<string | undefined> {
  for await (const object of store.list(prefix)) return object.key;
  return undefined;
}

/**
 * Landing files under a prefix, each with its latest ingest status and its state. A prefix is a
 * folder, as for `rat ingest`: `landing/sales` lists `landing/sales/`, not `landing/sales-old/`; a
 * file's key lists that file. A prefix that names nothing is STORAGE_NOT_FOUND, as for `rat ingest`
 * (a folder emptied after its files were ingested lists nothing).
 */
export async function listLanding(store: ObjectStore, registry: FileRegistry, prefix = LANDING_PREFIX): Promise<LandingEntry[]> {
  if (!prefix.startsWith(LANDING_PREFIX) && prefix !== 'landing') throw new ValidationError('INVALID_ARGUMENT', `landing prefixes start with landing/ (got "${prefix}")`);
  const latest = new Map<string, RegistryEntry>();
  // The newest entry of each file that says its content is in a table (loaded, or skipped as loaded
  // already). A replay's is not: it re-read quarantined rows, dated after any replacement of the file.
  const latestLoaded = new Map<string, RegistryEntry>();
  for (const entry of await registry.list()) {
    latest.set(entry.filePath, entry);
    if (entry.status !== 'failed' && !entry.replay) latestLoaded.set(entry.filePath, entry);
  }
  const entries: LandingEntry[] = [];
  for await (const object of landingObjects(store, prefix)) {
    const last = latest.get(object.key);
    entries.push({
      key: object.key,
      size: object.size,
      modified: new Date(object.lastModifiedMs),
      state: await landingState(store, object, latestLoaded.get(object.key), last),
      ...(last ? { lastStatus: last.status, lastTarget: last.targetTable, lastIngestedAt: last.ingestedAt } : {}),
    });
  }
  if (entries.length === 0 && prefix !== 'landing' && prefix !== LANDING_PREFIX) {
    const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (![...latest.keys()].some((key) => key.startsWith(folder))) throw await landingNotFound(store, prefix);
  }
  return entries;
}

async function landingState(store: ObjectStore, object: ObjectInfo, loaded: RegistryEntry | undefined, last: RegistryEntry | undefined): Promise<LandingState> {
  // Listed as new, a .keep or README.md would wait for an ingest that never reads it.
  if (!loaded) return last ? 'failed' : passedOverInFolders(object.key) ? 'ignored' : 'new';
  if (loaded.fileSize !== object.size || object.lastModifiedMs > loaded.ingestedAt.getTime()) return 'changed';
  // S3 dates an object in whole seconds: a file replaced within the second of its ingest looks
  // modified before it. There the content decides (the registry's hash is of the bytes as stored).
  const sameSecond = object.lastModifiedMs % 1000 === 0 && loaded.ingestedAt.getTime() - object.lastModifiedMs < 1000;
  if (sameSecond && (await contentHash(store, object.key)) !== loaded.fileHash) return 'changed';
  return 'loaded';
}

async function contentHash(store: ObjectStore, key: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(await store.localPath(key, { revalidate: true })), hash);
  return hash.digest('hex');
}

async function* landingObjects(store: ObjectStore, prefix: string): AsyncGenerator<ObjectInfo> {
  const file = prefix.endsWith('/') || prefix === 'landing' ? undefined : await store.head(prefix);
  if (file) yield file;
  else yield* store.list(prefix.endsWith('/') ? prefix : `${prefix}/`);
}
