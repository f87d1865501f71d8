import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExternalError, NotFoundError, ValidationError } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * Prefix rewrites for tables adopted from elsewhere whose metadata holds locations that are not valid
 * here (relative paths, another machine's directory): `from` prefixes become `to` prefixes on read.
 */
export interface PathMap {
  from: string;
  to: string;
}

/**
 * Reads any location an Iceberg table may reference: objects of our store (file:// or s3:// under its root),
 * and, for tables registered from other engines, plain local files.
 */
export interface FileIO {
  read(location: string, pathMap?: PathMap[]): Promise<Uint8Array>;
  /** A local file path DuckDB can open for the location. */
  localPath(location: string, pathMap?: PathMap[]): Promise<string>;
}

export function createFileIO(store: ObjectStore): FileIO {
  function resolve(location: string, pathMap: PathMap[] = []): { key: string } | { path: string } {
    let mapped = location;
    for (const entry of pathMap) {
      if (mapped.startsWith(entry.from)) {
        mapped = entry.to + mapped.slice(entry.from.length);
        break;
      }
    }
    const key = store.keyOf(mapped);
    if (key !== undefined) return { key };
    if (mapped.startsWith('file:')) return { path: fileURLToPath(mapped.startsWith('file://') ? mapped : `file://${mapped.slice('file:'.length)}`) };
    if (isAbsolute(mapped)) return { path: mapped };
    if (/^[a-z0-9]+:\/\//i.test(mapped)) {
      throw new ValidationError('UNSUPPORTED', `cannot read ${location}: only this platform's object store and local files can be read (configure RAT_S3_BUCKET for that bucket)`);
    }
    throw new ValidationError('INVALID_ARGUMENT', `cannot read relative location "${location}": register the table with a path map (--map-path ${location.split('/')[0]}/=<dir>/)`);
  }
  return {
    async read(location, pathMap) {
      const target = resolve(location, pathMap);
      if ('key' in target) return store.get(target.key);
      try {
        return await readFile(target.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('STORAGE_NOT_FOUND', `file not found: ${target.path} (from ${location})`);
        throw new ExternalError('STORAGE_ERROR', `cannot read ${target.path}: ${(error as Error).message}`, { cause: error });
      }
    },
    async localPath(location, pathMap) {
      const target = resolve(location, pathMap);
      return 'key' in target ? store.localPath(target.key) : target.path;
    },
  };
}
