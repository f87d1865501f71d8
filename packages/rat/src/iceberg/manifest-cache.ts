/**
 * Parsed manifest lists and manifests, kept by location. Both are immutable once written (spec
 * "Manifests": "A manifest is an immutable Avro file"; a new manifest list is written for every
 * commit attempt), so an entry never goes stale and only needs a size bound (least recently used).
 * The parsed objects are shared between callers: treat them as read-only.
 */
import { ValidationError } from '../core/errors.js';
import { readManifest } from './manifest.js';
import { readManifestList } from './manifest-list.js';
import type { ManifestFile } from './types.js';

export type ParsedManifest = ReturnType<typeof readManifest>;

export interface ManifestCacheOptions {
  /** How many parsed files (lists and manifests together) to keep; default 256. */
  maxEntries?: number;
  read(location: string): Promise<Uint8Array>;
}

export interface ManifestCacheStats {
  hits: number;
  misses: number;
}

export interface ManifestCache {
  manifestList(location: string): Promise<ManifestFile[]>;
  /** A manifest list this process just wrote, as it reads back: the next commit's read of its parent is then a hit. */
  rememberManifestList(location: string, manifests: ManifestFile[]): void;
  manifest(location: string): Promise<ParsedManifest>;
  stats(): ManifestCacheStats;
}

const DEFAULT_MAX_ENTRIES = 256;

export function createManifestCache(options: ManifestCacheOptions): ManifestCache {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ValidationError('INVALID_ARGUMENT', `manifest cache maxEntries must be a positive integer, got ${maxEntries}`);
  }
  // Map iteration follows insertion order: re-inserting on every hit keeps the oldest use first.
  // Promises are cached, so concurrent requests for one location share a single read and parse.
  const entries = new Map<string, Promise<unknown>>();
  const counters: ManifestCacheStats = { hits: 0, misses: 0 };

  function evict(): void {
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  function load<T>(key: string, location: string, parse: (bytes: Uint8Array) => T): Promise<T> {
    const cached = entries.get(key);
    if (cached !== undefined) {
      counters.hits += 1;
      entries.delete(key);
      entries.set(key, cached);
      return cached as Promise<T>;
    }
    counters.misses += 1;
    const pending = options.read(location).then(parse);
    entries.set(key, pending);
    // A failed read is not cached: the next request tries again.
    pending.catch(() => {
      if (entries.get(key) === pending) entries.delete(key);
    });
    evict();
    return pending;
  }

  return {
    manifestList: (location) => load(`list:${location}`, location, (bytes) => readManifestList(bytes, location)),
    rememberManifestList(location, manifests) {
      entries.set(`list:${location}`, Promise.resolve(manifests));
      evict();
    },
    manifest: (location) => load(`manifest:${location}`, location, (bytes) => readManifest(bytes, location)),
    stats: () => ({ ...counters }),
  };
}
