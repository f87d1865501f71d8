import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError, RatError, ValidationError } from '../core/errors.js';
import { compareKeys } from './object-key.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';

export interface ObjectStoreFixture {
  /** A store with no objects in it. */
  store: ObjectStore;
  cleanup(): Promise<void>;
  /**
   * Deletes an object behind the store's back (another client). Stores that cache remote objects
   * provide it, so the suite can prove `localPath` reuses its copy without asking the remote again.
   */
  deleteBypassingStore?(key: string): Promise<void>;
}

/**
 * The behaviour every ObjectStore must show; each implementation's test file runs it.
 * `setup` is called before every test and must return an empty store.
 */
export function describeObjectStoreContract(name: string, setup: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ObjectStoreFixture;
    let store: ObjectStore;

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    async function listKeys(prefix: string): Promise<string[]> {
      return (await listAll(store, prefix)).map((info) => info.key);
    }

    describe('put and get', () => {
      it('round-trips a string as UTF-8', async () => {
        await store.put('docs/hello.txt', 'héllo, wörld ✓');
        expectBytes(await store.get('docs/hello.txt'), Buffer.from('héllo, wörld ✓', 'utf8'));
      });

      it('round-trips every byte value', async () => {
        const bytes = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
        await store.put('bin/all-bytes.bin', bytes);
        expectBytes(await store.get('bin/all-bytes.bin'), bytes);
      });

      it('stores an empty object', async () => {
        await store.put('empty/bytes', new Uint8Array());
        await store.put('empty/string', '');
        expectBytes(await store.get('empty/bytes'), new Uint8Array());
        expectBytes(await store.get('empty/string'), new Uint8Array());
        expect((await store.head('empty/bytes'))?.size).toBe(0);
      });

      it('round-trips a 5 MB object', async () => {
        const bytes = randomBytes(5 * 1024 * 1024);
        await store.put('big/five.bin', bytes);
        expectBytes(await store.get('big/five.bin'), bytes);
        expect((await store.head('big/five.bin'))?.size).toBe(bytes.length);
      });

      it('replaces an object on overwrite', async () => {
        await store.put('over/write.txt', 'the first, longer version');
        await store.put('over/write.txt', 'second');
        expect(text(await store.get('over/write.txt'))).toBe('second');
        expect((await store.head('over/write.txt'))?.size).toBe(6);
      });

      it('throws NotFoundError naming the key for a missing object', async () => {
        await store.put('present/a.txt', 'a');
        const error = await rejectionOf(store.get('present/missing.txt'));
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as RatError).code).toBe('STORAGE_NOT_FOUND');
        expect((error as Error).message).toContain('present/missing.txt');
      });

      it('rejects keys that are not relative "/"-separated paths', async () => {
        for (const key of ['', '/absolute', '../escape', 'a/../b', 'a//b', 'a\\b', 'trailing/', './here']) {
          const putError = await rejectionOf(store.put(key, 'x'));
          expect(putError, `put(${JSON.stringify(key)})`).toBeInstanceOf(ValidationError);
          const getError = await rejectionOf(store.get(key));
          expect(getError, `get(${JSON.stringify(key)})`).toBeInstanceOf(ValidationError);
        }
      });
    });

    describe('exists and head', () => {
      it('reports a missing object as absent', async () => {
        expect(await store.exists('nope/x.txt')).toBe(false);
        expect(await store.head('nope/x.txt')).toBeUndefined();
      });

      it('reports key, size and a recent modification time', async () => {
        const before = Date.now();
        await store.put('meta/sized.bin', new Uint8Array(1234));
        expect(await store.exists('meta/sized.bin')).toBe(true);
        const info = await store.head('meta/sized.bin');
        expect(info?.key).toBe('meta/sized.bin');
        expect(info?.size).toBe(1234);
        // Some servers keep whole seconds only; allow clock skew between them and us.
        expect(Math.abs((info?.lastModifiedMs ?? 0) - before)).toBeLessThan(5 * 60_000);
      });

      it('does not report a key prefix ("directory") as an object', async () => {
        await store.put('dir/inner/file.txt', 'x');
        expect(await store.exists('dir/inner')).toBe(false);
        expect(await store.exists('dir')).toBe(false);
      });
    });

    describe('delete', () => {
      it('removes the object', async () => {
        await store.put('gone/soon.txt', 'bye');
        await store.put('gone/stays.txt', 'hi');
        await store.delete('gone/soon.txt');
        expect(await store.exists('gone/soon.txt')).toBe(false);
        expect(await rejectionOf(store.get('gone/soon.txt'))).toBeInstanceOf(NotFoundError);
        expect(await listKeys('gone/')).toEqual(['gone/stays.txt']);
      });

      it('accepts a key that does not exist', async () => {
        await expect(store.delete('never/was.txt')).resolves.toBeUndefined();
        await store.put('twice/x.txt', 'x');
        await store.delete('twice/x.txt');
        await expect(store.delete('twice/x.txt')).resolves.toBeUndefined();
      });
    });

    describe('list', () => {
      const keys = [
        'other/x.txt',
        'list/c.txt',
        'list/b/d/e.txt',
        'listing.txt',
        'list/a.txt',
        'list/bb.txt',
        'list/b/c.txt',
      ];

      beforeEach(async () => {
        for (const key of keys) await store.put(key, `content of ${key}`);
      });

      it('yields nested objects under a directory prefix in key order, with sizes', async () => {
        const listed = await listAll(store, 'list/');
        expect(listed.map((info) => info.key)).toEqual(['list/a.txt', 'list/b/c.txt', 'list/b/d/e.txt', 'list/bb.txt', 'list/c.txt']);
        for (const info of listed) expect(info.size).toBe(Buffer.byteLength(`content of ${info.key}`));
      });

      it('matches a prefix that ends inside a name', async () => {
        expect(await listKeys('list/b')).toEqual(['list/b/c.txt', 'list/b/d/e.txt', 'list/bb.txt']);
        expect(await listKeys('list')).toEqual(['list/a.txt', 'list/b/c.txt', 'list/b/d/e.txt', 'list/bb.txt', 'list/c.txt', 'listing.txt']);
      });

      it('lists everything for the empty prefix, sorted', async () => {
        const all = await listKeys('');
        expect(all).toEqual([...keys].sort(compareKeys));
      });

      it('yields nothing for a prefix that matches nothing', async () => {
        expect(await listKeys('nothing/')).toEqual([]);
        expect(await listKeys('list/zzz')).toEqual([]);
      });
    });

    describe('uri and keyOf', () => {
      it('round-trips keys through their URI', () => {
        for (const key of ['a.txt', 'warehouse/ns/t/data/part-0.parquet', 'with space/ü-é #1.json', 'p/day=2024-01-31/x.parquet']) {
          const uri = store.uri(key);
          expect(uri.startsWith(store.kind === 'local' ? 'file://' : 's3://')).toBe(true);
          expect(store.keyOf(uri)).toBe(key);
        }
      });

      it('returns undefined for a URI the store does not own', () => {
        for (const uri of [
          's3://some-other-bucket/a.txt',
          'file:///definitely/elsewhere/a.txt',
          '/definitely/elsewhere/a.txt',
          'https://example.com/a.txt',
          'relative/a.txt',
          '',
        ]) {
          expect(store.keyOf(uri), uri).toBeUndefined();
        }
      });
    });

    describe('staging and putFile', () => {
      it('gives a fresh empty directory each time', async () => {
        const first = await store.stagingDir();
        const second = await store.stagingDir();
        expect(first).not.toBe(second);
        expect((await stat(first)).isDirectory()).toBe(true);
        expect((await stat(second)).isDirectory()).toBe(true);
      });

      it('uploads a staged file and leaves the local file in place', async () => {
        const directory = await store.stagingDir();
        const file = path.join(directory, 'part-00000.parquet');
        const bytes = randomBytes(300 * 1024);
        await writeFile(file, bytes);
        await store.putFile('staged/part-00000.parquet', file);
        expectBytes(await store.get('staged/part-00000.parquet'), bytes);
        expectBytes(await readFile(file), bytes);
        expect(await listKeys('staged/')).toEqual(['staged/part-00000.parquet']);
      });

      it('uploads an empty staged file', async () => {
        const file = path.join(await store.stagingDir(), 'empty.csv');
        await writeFile(file, '');
        await store.putFile('staged/empty.csv', file);
        expect((await store.head('staged/empty.csv'))?.size).toBe(0);
        expectBytes(await store.get('staged/empty.csv'), new Uint8Array());
      });

      it('publishes a consumed staged file whole, in a directory it creates', async () => {
        const file = path.join(await store.stagingDir(), 'part-00001.parquet');
        const bytes = randomBytes(200 * 1024);
        await writeFile(file, bytes);
        await store.putFile('consumed/deep/part-00001.parquet', file, { consume: true, deferSync: true });
        await store.sync(['consumed/deep/part-00001.parquet']);
        expectBytes(await store.get('consumed/deep/part-00001.parquet'), bytes);
        expect(await listKeys('consumed/')).toEqual(['consumed/deep/part-00001.parquet']);
      });

      it('writes with deferred durability are whole at once and sync together', async () => {
        const keys = ['deferred/a/1.avro', 'deferred/b/2.json', 'deferred/b/3.json'];
        for (const [i, key] of keys.entries()) await store.put(key, `version ${i}`, { deferSync: true });
        // Readable before the sync: deferring changes durability, not visibility.
        expect(await store.get('deferred/b/2.json')).toEqual(new Uint8Array(Buffer.from('version 1')));
        await store.sync(keys);
        await store.sync([]);
        expect(await listKeys('deferred/')).toEqual(keys);
      });

      it('throws NotFoundError naming a local file that does not exist', async () => {
        const directory = await store.stagingDir();
        const missing = path.join(directory, 'never-written.parquet');
        const error = await rejectionOf(store.putFile('staged/never.parquet', missing));
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as Error).message).toContain(missing);
        expect(await store.exists('staged/never.parquet')).toBe(false);
      });
    });

    describe('localPath', () => {
      it('returns a file with the object bytes, the same one on a second call', async () => {
        const bytes = randomBytes(64 * 1024);
        await store.put('local/copy.bin', bytes);
        const first = await store.localPath('local/copy.bin');
        expectBytes(await readFile(first), bytes);
        expect(await store.localPath('local/copy.bin')).toBe(first);
      });

      it('reuses its file without asking the remote again', async () => {
        if (fixture.deleteBypassingStore === undefined) {
          // A store without a cache reads the object itself: the file is the object.
          await store.put('local/direct.bin', 'direct');
          const file = await store.localPath('local/direct.bin');
          expect(store.keyOf(file)).toBe('local/direct.bin');
          return;
        }
        await store.put('local/cached.bin', 'cached bytes');
        const first = await store.localPath('local/cached.bin');
        await fixture.deleteBypassingStore('local/cached.bin');
        expect(await store.exists('local/cached.bin')).toBe(false);
        const second = await store.localPath('local/cached.bin');
        expect(second).toBe(first);
        expect(await readFile(second, 'utf8')).toBe('cached bytes');
      });

      it('throws NotFoundError naming a missing key', async () => {
        const error = await rejectionOf(store.localPath('local/missing.bin'));
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as Error).message).toContain('local/missing.bin');
      });
    });

    describe('atomicity', () => {
      it('concurrent overwrites of one key never expose a mixed or partial object', async () => {
        const key = 'atomic/contested.bin';
        const size = 512 * 1024;
        // Version v is `size` bytes of value v, so a mix of two versions or a short read is visible.
        const versions = Array.from({ length: 13 }, (_, v) => new Uint8Array(size).fill(v + 1));
        await store.put(key, versions[0] ?? new Uint8Array());

        let writing = true;
        const observed: Uint8Array[] = [];
        const readers = Array.from({ length: 2 }, async () => {
          while (writing) observed.push(await store.get(key));
        });
        try {
          await Promise.all(versions.slice(1).map((version) => store.put(key, version)));
        } finally {
          writing = false;
          await Promise.all(readers);
        }
        const final = await store.get(key);

        for (const bytes of [...observed, final]) {
          const value = bytes[0] ?? 0;
          expect(value).toBeGreaterThanOrEqual(1);
          expect(value).toBeLessThanOrEqual(versions.length);
          expectBytes(bytes, versions[value - 1] ?? new Uint8Array());
        }
        // Every writer finished after the first version, so it cannot be the survivor.
        expect(final[0]).toBeGreaterThan(1);
        const listed = await listAll(store, 'atomic/');
        expect(listed.map((info) => [info.key, info.size])).toEqual([[key, size]]);
      });
    });
  });
}

async function listAll(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const result: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) result.push(info);
  return result;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

/** Compares bytes without printing megabytes on failure. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.byteLength).toBe(expected.byteLength);
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
    Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
  );
  expect(same, 'bytes differ').toBe(true);
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
