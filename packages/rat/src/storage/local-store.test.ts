import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ExternalError, NotFoundError } from '../core/errors.js';
import { tempPathFor } from './atomic-file.js';
import { createLocalStore } from './local-store.js';
import { describeObjectStoreContract, rejectionOf } from './object-store.contract.js';
import type { ObjectStore } from './object-store.js';

describeObjectStoreContract('local directory', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rat-local-store-'));
  return {
    store: createLocalStore({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('createLocalStore', () => {
  let root: string;
  let store: ObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rat-local-store-'));
    store = createLocalStore({ root });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const info of store.list(prefix)) keys.push(info.key);
    return keys;
  }

  it('stores key a/b as the file <root>/a/b and localPath is that file', async () => {
    await store.put('warehouse/ns/t/metadata/v1.metadata.json', '{}');
    const file = path.join(root, 'warehouse', 'ns', 't', 'metadata', 'v1.metadata.json');
    expect(await readFile(file, 'utf8')).toBe('{}');
    expect(await store.localPath('warehouse/ns/t/metadata/v1.metadata.json')).toBe(file);
    expect(store.uri('warehouse/ns/t/metadata/v1.metadata.json')).toBe(pathToFileURL(file).href);
  });

  it('leaves no temp file behind after put and putFile', async () => {
    await store.put('clean/a.txt', 'a');
    await store.put('clean/a.txt', 'b');
    const staged = path.join(await store.stagingDir(), 'x.bin');
    await writeFile(staged, 'x');
    await store.putFile('clean/b.bin', staged);
    expect((await readdir(path.join(root, 'clean'))).sort()).toEqual(['a.txt', 'b.bin']);
  });

  it('moves a consumed staged file into place instead of copying it', async () => {
    const staged = path.join(await store.stagingDir(), 'part.parquet');
    await writeFile(staged, 'rows');
    await store.putFile('moved/part.parquet', staged, { consume: true });
    await expect(readFile(staged)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(path.join(root, 'moved', 'part.parquet'), 'utf8')).toBe('rows');
    expect(await readdir(path.join(root, 'moved'))).toEqual(['part.parquet']);
  });

  it('refuses to sync a key with no file, naming the key and path', async () => {
    await store.put('synced/here.txt', 'x', { deferSync: true });
    const error = await rejectionOf(store.sync(['synced/here.txt', 'synced/gone.txt']));
    expect(error).toBeInstanceOf(ExternalError);
    expect((error as Error).message).toContain('sync of "synced/gone.txt"');
    expect((error as Error).message).toContain(path.join(root, 'synced', 'gone.txt'));
  });

  it('accepts file:// URIs, Java-style file:/ URIs and plain absolute paths under the root', () => {
    const file = path.join(root, 'landing', 'orders 2024.csv');
    expect(store.keyOf(pathToFileURL(file).href)).toBe('landing/orders 2024.csv');
    expect(store.keyOf(`file:${file}`)).toBe('landing/orders 2024.csv');
    expect(store.keyOf(file)).toBe('landing/orders 2024.csv');
  });

  it('refuses paths outside the root, the root itself and a sibling sharing its name prefix', () => {
    expect(store.keyOf(pathToFileURL(root).href)).toBeUndefined();
    expect(store.keyOf(path.join(root, '..', 'outside.txt'))).toBeUndefined();
    expect(store.keyOf(`${root}-sibling/a.txt`)).toBeUndefined();
    expect(store.keyOf(`file://otherhost${path.join(root, 'a.txt')}`)).toBeUndefined();
  });

  it('lists in byte order across directory boundaries ("a-c" < "a/b", "d.txt" < "d/e")', async () => {
    for (const key of ['s/a/b', 's/a-c', 's/d/e', 's/d.txt', 's/a0']) await store.put(key, key);
    expect(await listKeys('s/')).toEqual(['s/a-c', 's/a/b', 's/a0', 's/d.txt', 's/d/e']);
  });

  it('orders characters beyond U+FFFF after U+E000..U+FFFF, as UTF-8 bytes do', async () => {
    await store.put('u/\u{1F600}.txt', 'emoji');
    await store.put('u/\uFF21.txt', 'fullwidth A');
    expect(await listKeys('u/')).toEqual(['u/\uFF21.txt', 'u/\u{1F600}.txt']);
  });

  it('hides a crashed write: the leftover temp file is neither listed nor read', async () => {
    await store.put('crash/table.json', 'committed');
    // What a crash between write and rename leaves: a partial temp file next to the target.
    await writeFile(tempPathFor(path.join(root, 'crash', 'table.json')), 'parti');
    await writeFile(tempPathFor(path.join(root, 'crash', 'never-renamed.json')), 'half');

    expect(await listKeys('crash/')).toEqual(['crash/table.json']);
    expect(Buffer.from(await store.get('crash/table.json')).toString()).toBe('committed');
    expect(await rejectionOf(store.get('crash/never-renamed.json'))).toBeInstanceOf(NotFoundError);
    expect(await store.exists('crash/never-renamed.json')).toBe(false);
  });

  it('creates staging directories under <root>/staging and keeps them out of listings', async () => {
    const staging = await store.stagingDir();
    expect(path.dirname(staging)).toBe(path.join(root, 'staging'));
    await writeFile(path.join(staging, 'pending.parquet'), 'not an object yet');
    await store.put('visible.txt', 'v');
    expect(await listKeys('')).toEqual(['visible.txt']);
  });

  it('uses a configured staging root', async () => {
    const stagingRoot = path.join(root, 'elsewhere');
    const custom = createLocalStore({ root: path.join(root, 'objects'), stagingRoot });
    expect(path.dirname(await custom.stagingDir())).toBe(stagingRoot);
  });

  it('reports a filesystem failure as ExternalError naming the key and path', async () => {
    await store.put('blocker', 'a file where a directory is needed');
    const error = await rejectionOf(store.put('blocker/child.txt', 'x'));
    expect(error).toBeInstanceOf(ExternalError);
    expect((error as Error).message).toContain('"blocker/child.txt"');
    expect((error as Error).message).toContain(path.join(root, 'blocker', 'child.txt'));
  });

  it('treats a directory as no object for get, head and delete', async () => {
    await mkdir(path.join(root, 'only-dir'), { recursive: true });
    expect(await rejectionOf(store.get('only-dir'))).toBeInstanceOf(NotFoundError);
    expect(await store.head('only-dir')).toBeUndefined();
    await expect(store.delete('only-dir')).resolves.toBeUndefined();
  });
});
