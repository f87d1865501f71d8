import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { globBase, globToRegExp, hasGlob } from './glob-pattern.js';
import type { SourceFile } from './ingest-file.js';

export const LANDING_PREFIX = 'landing/';

/**
 * The files a source spec names, in a stable order: `landing/...` is a key, a folder prefix (`landing/sales/`)
 * or a glob in the object store; anything else is a local file, folder (recursive) or glob. Hidden files
 * (`.name`) in folders are left out.
 */
export async function resolveSources(store: ObjectStore, spec: string): Promise<SourceFile[]> {
  if (spec.startsWith(LANDING_PREFIX)) return landingSources(store, spec);
  return localSources(spec);
}

async function landingSources(store: ObjectStore, spec: string): Promise<SourceFile[]> {
  const fromKey = (key: string): SourceFile => ({ display: key, localPath: () => store.localPath(key) });
  if (hasGlob(spec)) {
    const pattern = globToRegExp(spec);
    const keys: string[] = [];
    for await (const object of store.list(globBase(spec))) if (pattern.test(object.key)) keys.push(object.key);
    return keys.map(fromKey);
  }
  if (!spec.endsWith('/') && (await store.head(spec))) return [fromKey(spec)];
  const prefix = spec.endsWith('/') ? spec : `${spec}/`;
  const keys: string[] = [];
  for await (const object of store.list(prefix)) if (!object.key.split('/').some((part) => part.startsWith('.'))) keys.push(object.key);
  if (keys.length === 0 && !spec.endsWith('/')) throw new NotFoundError('STORAGE_NOT_FOUND', `no landing file or folder ${spec} (list them with: rat landing)`);
  return keys.map(fromKey);
}

async function localSources(spec: string): Promise<SourceFile[]> {
  const fromPath = (path: string): SourceFile => ({ display: path, localPath: async () => path });
  if (hasGlob(spec)) {
    const absolute = resolve(spec).split(sep).join('/');
    const base = globBase(absolute);
    const pattern = globToRegExp(absolute);
    const files = (await walk(base || '/')).filter((f) => pattern.test(f.split(sep).join('/')));
    return files.map(fromPath);
  }
  const path = resolve(spec);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new NotFoundError('STORAGE_NOT_FOUND', `no such file or folder: ${spec}`);
  if (info.isDirectory()) return (await walk(path)).map(fromPath);
  return [fromPath(path)];
}

/** Every file under a folder, sorted, skipping hidden names. */
export async function walk(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

export function relativeTo(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}
