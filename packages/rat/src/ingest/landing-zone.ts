import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { assertValidKey } from '../storage/object-key.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { FileRegistry, RegistryStatus } from './file-registry.js';
import type { IngestProgress } from './progress.js';
import { LANDING_PREFIX, relativeTo, walk } from './source-files.js';

export interface LandedFile {
  /** The local file uploaded. */
  file: string;
  key: string;
  size: number;
}

export interface LandingEntry {
  key: string;
  size: number;
  modified: Date;
  /** The latest registry entry for this key, in any table. */
  lastStatus?: RegistryStatus;
  lastTarget?: string;
  lastIngestedAt?: Date;
}

/**
 * Copies local files into the landing zone as received (bytes unchanged, compressed files stay
 * compressed). `destination` is a folder (`landing/sales/`, each file keeps its name; a local folder
 * keeps its relative paths) or, for a single file, a full key (`landing/sales/2026-01.csv`).
 */
export async function uploadToLanding(store: ObjectStore, files: string[], destination: string, report?: (event: IngestProgress) => void): Promise<LandedFile[]> {
  if (!destination.startsWith(LANDING_PREFIX)) throw new ValidationError('INVALID_ARGUMENT', `upload destination must be in the landing zone, e.g. landing/sales/ (got "${destination}")`);
  if (files.length === 0) throw new ValidationError('INVALID_ARGUMENT', 'no files to upload');
  const uploads: { file: string; key: string; size: number }[] = [];
  for (const file of files) {
    const path = resolve(file);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new NotFoundError('STORAGE_NOT_FOUND', `no such file or folder: ${file}`);
    if (info.isDirectory()) {
      const folder = destination.endsWith('/') ? destination : `${destination}/`;
      for (const inner of await walk(path)) uploads.push({ file: inner, key: `${folder}${basename(path)}/${relativeTo(path, inner)}`, size: (await stat(inner)).size });
    } else {
      const key = destination.endsWith('/') || files.length > 1 ? `${destination.replace(/\/?$/, '/')}${basename(path)}` : destination;
      uploads.push({ file: path, key, size: info.size });
    }
  }
  const landed: LandedFile[] = [];
  for (const upload of uploads) {
    assertValidKey(upload.key);
    report?.({ file: upload.file, phase: 'uploading', bytesDone: 0, bytesTotal: upload.size });
    await store.putFile(upload.key, upload.file);
    report?.({ file: upload.file, phase: 'uploading', bytesDone: upload.size, bytesTotal: upload.size });
    landed.push(upload);
  }
  return landed;
}

/** Landing files under a prefix, each with its latest ingest status. */
export async function listLanding(store: ObjectStore, registry: FileRegistry, prefix = LANDING_PREFIX): Promise<LandingEntry[]> {
  if (!prefix.startsWith(LANDING_PREFIX) && prefix !== 'landing') throw new ValidationError('INVALID_ARGUMENT', `landing prefixes start with landing/ (got "${prefix}")`);
  const latest = new Map<string, { status: RegistryStatus; target: string; at: Date }>();
  for (const entry of await registry.list()) latest.set(entry.filePath, { status: entry.status, target: entry.targetTable, at: entry.ingestedAt });
  const entries: LandingEntry[] = [];
  for await (const object of store.list(prefix === 'landing' ? LANDING_PREFIX : prefix)) {
    const last = latest.get(object.key);
    entries.push({
      key: object.key,
      size: object.size,
      modified: new Date(object.lastModifiedMs),
      ...(last ? { lastStatus: last.status, lastTarget: last.target, lastIngestedAt: last.at } : {}),
    });
  }
  return entries;
}
