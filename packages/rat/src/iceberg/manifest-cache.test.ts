import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { createManifestCache } from './manifest-cache.js';

// Real Spark files (../shared/reference/iceberg/tables/equality_deletes).
const METADATA = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/equality_deletes/warehouse/mydb/mytable/metadata/', import.meta.url));
const LIST = 'snap-1916084761853986166-1-61648895-78fc-44d6-bf55-298a7614c4f8.avro';
const MANIFEST_A = 'bcc5469e-83b4-4a41-be7e-af79ed029353-m0.avro';
const MANIFEST_B = '8057d23a-ed01-40cb-bfd6-44b145234c6d-m0.avro';
const MANIFEST_C = '61648895-78fc-44d6-bf55-298a7614c4f8-m0.avro';

function countingReader() {
  const reads: string[] = [];
  const read = async (location: string): Promise<Uint8Array> => {
    reads.push(location);
    return new Uint8Array(await readFile(METADATA + location));
  };
  return { reads, read };
}

describe('createManifestCache', () => {
  it('parses a manifest list and a manifest once per location', async () => {
    const reader = countingReader();
    const cache = createManifestCache({ read: reader.read });
    const list = await cache.manifestList(LIST);
    expect(list).toHaveLength(6);
    expect(await cache.manifestList(LIST)).toBe(list);
    const manifest = await cache.manifest(MANIFEST_A);
    expect(manifest.content).toBe('data');
    expect(manifest.entries).toHaveLength(1);
    expect(await cache.manifest(MANIFEST_A)).toBe(manifest);
    expect(reader.reads).toEqual([LIST, MANIFEST_A]);
    expect(cache.stats()).toEqual({ hits: 2, misses: 2 });
  });

  it('shares one read between concurrent requests for a location', async () => {
    const reader = countingReader();
    const cache = createManifestCache({ read: reader.read });
    const [a, b, c] = await Promise.all([cache.manifest(MANIFEST_B), cache.manifest(MANIFEST_B), cache.manifest(MANIFEST_B)]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(reader.reads).toEqual([MANIFEST_B]);
    expect(cache.stats()).toEqual({ hits: 2, misses: 1 });
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const reader = countingReader();
    const cache = createManifestCache({ maxEntries: 2, read: reader.read });
    await cache.manifest(MANIFEST_A);
    await cache.manifest(MANIFEST_B);
    await cache.manifest(MANIFEST_A); // A is now the most recently used
    await cache.manifest(MANIFEST_C); // evicts B
    await cache.manifest(MANIFEST_A);
    await cache.manifest(MANIFEST_B);
    expect(reader.reads).toEqual([MANIFEST_A, MANIFEST_B, MANIFEST_C, MANIFEST_B]);
    expect(cache.stats()).toEqual({ hits: 2, misses: 4 });
  });

  it('does not keep a failed read or parse', async () => {
    let attempts = 0;
    const cache = createManifestCache({
      read: async (location) => {
        attempts += 1;
        if (attempts === 1) throw new Error(`object ${location} is unavailable`);
        return new Uint8Array(await readFile(METADATA + location));
      },
    });
    await expect(cache.manifest(MANIFEST_A)).rejects.toThrow(`object ${MANIFEST_A} is unavailable`);
    expect((await cache.manifest(MANIFEST_A)).entries).toHaveLength(1);
    expect(attempts).toBe(2);

    const garbage = createManifestCache({ read: async () => new TextEncoder().encode('not avro') });
    await expect(garbage.manifestList('broken.avro')).rejects.toThrow(/broken\.avro/);
  });

  it('keeps manifest lists and manifests of one location apart', async () => {
    const reader = countingReader();
    const cache = createManifestCache({ read: reader.read });
    await cache.manifestList(LIST);
    await expect(cache.manifest(LIST)).rejects.toThrow();
    expect(reader.reads).toEqual([LIST, LIST]);
  });

  it('rejects a maxEntries below 1', () => {
    expect(() => createManifestCache({ maxEntries: 0, read: async () => new Uint8Array() })).toThrow(ValidationError);
  });
});
