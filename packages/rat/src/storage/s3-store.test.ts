import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ExternalError, NotFoundError, ValidationError } from '../core/errors.js';
import { describeObjectStoreContract, expectBytes, rejectionOf } from './object-store.contract.js';
import { abortUploads } from './multipart-uploads.js';
import { pruneObjectCache } from './object-cache.js';
import type { ObjectStore } from './object-store.js';
import { createS3Client, createS3Store, type S3StoreOptions, type S3StoreTuning } from './s3-store.js';
import { startS3Server, type S3TestServer } from './test-support/s3-server.js';

let server: S3TestServer;
let scratch: string;

beforeAll(async () => {
  server = await startS3Server();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'rat-s3-store-'));
});

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Options for a store on the test server, under a prefix of its own so tests never see each other's objects. */
function storeOptions(overrides: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const id = randomUUID();
  return {
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    prefix: `tests/${id}`,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    cacheDir: path.join(scratch, id, 'cache'),
    stagingRoot: path.join(scratch, id, 'staging'),
    ...overrides,
  };
}

/** A client whose requests are counted by command name, e.g. `GetObjectCommand`. */
function countingClient(options: S3StoreOptions): { client: S3Client; counts: Map<string, number> } {
  const client = createS3Client(options);
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      counts.set(command, (counts.get(command) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return { client, counts };
}

describeObjectStoreContract('S3 (s3rver)', async () => {
  const options = storeOptions();
  const client = createS3Client(options);
  return {
    store: createS3Store(options, { client }),
    cleanup: async () => client.destroy(),
    deleteBypassingStore: async (key) => {
      await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: `${options.prefix}/${key}` }));
    },
  };
});

describe('createS3Store', () => {
  let options: S3StoreOptions;
  let client: S3Client;
  let counts: Map<string, number>;
  let store: ObjectStore;

  function makeStore(tuning: Omit<S3StoreTuning, 'client'> = {}): ObjectStore {
    return createS3Store(options, { ...tuning, client });
  }

  beforeEach(() => {
    options = storeOptions();
    ({ client, counts } = countingClient(options));
    store = makeStore();
  });

  afterEach(() => {
    client.destroy();
  });

  describe('uri and keyOf', () => {
    it('writes s3://bucket/prefix/key and reads back s3, s3a and s3n URIs', () => {
      const key = 'warehouse/ns/t/data/part-0.parquet';
      expect(store.uri(key)).toBe(`s3://${server.bucket}/${options.prefix}/${key}`);
      for (const scheme of ['s3', 's3a', 's3n']) {
        expect(store.keyOf(`${scheme}://${server.bucket}/${options.prefix}/${key}`)).toBe(key);
      }
    });

    it('refuses URIs of the same bucket outside its prefix', () => {
      expect(store.keyOf(`s3://${server.bucket}/tests/other-prefix/a.txt`)).toBeUndefined();
      expect(store.keyOf(`s3://${server.bucket}/${options.prefix}`)).toBeUndefined();
      expect(store.keyOf(`s3://${server.bucket}/${options.prefix}-sibling/a.txt`)).toBeUndefined();
    });

    it('uses bare keys without a prefix and strips slashes around a configured one', () => {
      const bare = createS3Store({ ...options, prefix: undefined }, { client });
      expect(bare.uri('a/b.txt')).toBe(`s3://${server.bucket}/a/b.txt`);
      expect(bare.keyOf(`s3://${server.bucket}/a/b.txt`)).toBe('a/b.txt');
      const slashed = createS3Store({ ...options, prefix: '/lake/main/' }, { client });
      expect(slashed.uri('k')).toBe(`s3://${server.bucket}/lake/main/k`);
    });
  });

  describe('localPath cache', () => {
    it('downloads into <cacheDir>, under the object\'s own file name, and reuses the file without a request', async () => {
      await store.put('cache/a.bin', 'abc');
      const file = await store.localPath('cache/a.bin');
      expect(file.startsWith(path.resolve(options.cacheDir) + path.sep)).toBe(true);
      expect(path.basename(file)).toBe('a.bin');
      expect(counts.get('GetObjectCommand')).toBe(1);
      expect(await store.localPath('cache/a.bin')).toBe(file);
      expect(counts.get('GetObjectCommand')).toBe(1);
    });

    it('caches a key and a key that has it as its folder (x.csv and x.csv/part.csv), in either order', async () => {
      await store.put('landing/x.csv', 'id\n1\n');
      await store.put('landing/x.csv/part.csv', 'id\n2\n');
      for (const order of [
        ['landing/x.csv', 'landing/x.csv/part.csv'],
        ['landing/x.csv/part.csv', 'landing/x.csv'],
      ]) {
        const fresh = createS3Store({ ...options, cacheDir: path.join(scratch, randomUUID(), 'cache') }, { client });
        for (const key of order) {
          const file = await fresh.localPath(key, { revalidate: true });
          expect(await readFile(file, 'utf8'), key).toBe(key.endsWith('part.csv') ? 'id\n2\n' : 'id\n1\n');
          expect(path.basename(file)).toBe(path.basename(key));
        }
        // Read again from the cache: each copy is still the right one.
        for (const key of order) expect(await readFile(await fresh.localPath(key), 'utf8'), key).toBe(key.endsWith('part.csv') ? 'id\n2\n' : 'id\n1\n');
      }
    });

    it('pruneObjectCache removes the copies unused since the cutoff and the first layout\'s folders; a pruned object is downloaded again', async () => {
      await store.put('landing/old.csv', 'id\n1\n');
      await store.put('landing/used.csv', 'id\n2\n');
      const oldCopy = await store.localPath('landing/old.csv', { revalidate: true });
      const usedCopy = await store.localPath('landing/used.csv', { revalidate: true });
      const legacy = path.join(options.cacheDir, server.bucket, 'landing', 'x.csv');
      await mkdir(path.dirname(legacy), { recursive: true });
      await writeFile(legacy, 'legacy');
      const hourAgo = new Date(Date.now() - 3_600_000);
      for (const file of [oldCopy, usedCopy, legacy, path.dirname(oldCopy), path.dirname(usedCopy), path.dirname(legacy), path.join(options.cacheDir, server.bucket)]) await utimes(file, hourAgo, hourAgo);
      // Reading a copy marks it used.
      expect(await store.localPath('landing/used.csv')).toBe(usedCopy);
      const cutoff = Date.now() - 60_000;

      expect(await pruneObjectCache(options.cacheDir, cutoff, true)).toEqual({ files: 2, bytes: 'legacy'.length + 'id\n1\n'.length });
      expect(await readFile(oldCopy, 'utf8')).toBe('id\n1\n');
      expect(await pruneObjectCache(options.cacheDir, cutoff, false)).toEqual({ files: 2, bytes: 'legacy'.length + 'id\n1\n'.length });
      expect(await rejectionOf(readFile(oldCopy))).toBeDefined();
      expect(await rejectionOf(readFile(legacy))).toBeDefined();
      expect(await readFile(usedCopy, 'utf8')).toBe('id\n2\n');

      const gets = counts.get('GetObjectCommand');
      expect(await readFile(await store.localPath('landing/old.csv', { revalidate: true }), 'utf8')).toBe('id\n1\n');
      expect(counts.get('GetObjectCommand')).toBe((gets ?? 0) + 1);
    });

    it('shares one download between concurrent callers for the same key', async () => {
      const bytes = randomBytes(2 * 1024 * 1024);
      await store.put('cache/shared.bin', bytes);
      const paths = await Promise.all(Array.from({ length: 8 }, () => store.localPath('cache/shared.bin')));
      expect(new Set(paths).size).toBe(1);
      expect(counts.get('GetObjectCommand')).toBe(1);
      expectBytes(await readFile(paths[0] ?? ''), bytes);
    });

    it('with revalidate, reuses its copy after a HEAD while the object is unchanged, and downloads again one another writer replaced', async () => {
      const key = 'cache/landing.csv';
      const read = async () => readFile(await store.localPath(key, { revalidate: true }), 'utf8');
      await store.put(key, 'id\n1\n');
      expect(await read()).toBe('id\n1\n');
      expect(await read()).toBe('id\n1\n');
      expect([counts.get('GetObjectCommand'), counts.get('HeadObjectCommand')]).toEqual([1, 1]);
      const otherWriter = createS3Store({ ...options, cacheDir: path.join(scratch, randomUUID(), 'cache') });
      await otherWriter.put(key, 'id\n1\n2\n3\n');
      expect(await read()).toBe('id\n1\n2\n3\n');
      // The same size, other bytes: told apart by the ETag.
      await otherWriter.put(key, 'id\n1\n2\n4\n');
      expect(await read()).toBe('id\n1\n2\n4\n');
      expect(counts.get('GetObjectCommand')).toBe(3);
      // Objects rat writes never change under their name: read without revalidate, the copy is used as is.
      await otherWriter.put(key, 'id\n5\n');
      expect(await readFile(await store.localPath(key), 'utf8')).toBe('id\n1\n2\n4\n');
    });

    it('drops the cached copy when this store overwrites or deletes the object', async () => {
      await store.put('cache/changing.txt', 'old');
      expect(await readFile(await store.localPath('cache/changing.txt'), 'utf8')).toBe('old');
      await store.put('cache/changing.txt', 'new');
      expect(await readFile(await store.localPath('cache/changing.txt'), 'utf8')).toBe('new');
      await store.delete('cache/changing.txt');
      expect(await rejectionOf(store.localPath('cache/changing.txt'))).toBeInstanceOf(NotFoundError);
    });
  });

  it('uploads a file larger than one part as a multipart upload', async () => {
    const multipart = makeStore({ partSizeBytes: 5 * 1024 * 1024 });
    const staging = await multipart.stagingDir();
    const file = path.join(staging, 'big.parquet');
    const bytes = randomBytes(11 * 1024 * 1024);
    await writeFile(file, bytes);
    await multipart.putFile('big/big.parquet', file);
    expect(counts.get('UploadPartCommand')).toBe(3);
    expect(counts.get('CompleteMultipartUploadCommand')).toBe(1);
    expectBytes(await multipart.get('big/big.parquet'), bytes);
  });

  it('follows ListObjectsV2 pagination', async () => {
    const paged = makeStore({ listPageSize: 2 });
    const keys = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5'];
    for (const key of keys) await paged.put(key, key);
    const listed: string[] = [];
    for await (const info of paged.list('p/')) listed.push(info.key);
    expect(listed).toEqual(keys);
    expect(counts.get('ListObjectsV2Command')).toBe(3);
  });

  it('aborts a multipart upload in flight when the process is interrupted, so its stored parts do not stay in the bucket', async () => {
    const file = path.join(scratch, `${randomUUID()}.bin`);
    await writeFile(file, Buffer.alloc(24 * 2 ** 20, 1));
    const parts = makeStore({ partSizeBytes: 5 * 2 ** 20 });
    // What the CLI's Ctrl-C handler runs, once the first part is stored.
    let interrupted: Promise<void> | undefined;
    const upload = parts.putFile('landing/big.bin', file, { onProgress: () => void (interrupted ??= abortUploads(2000)) });
    expect(await rejectionOf(upload)).toBeInstanceOf(ExternalError);
    await interrupted;
    expect(counts.get('UploadPartCommand')).toBeGreaterThanOrEqual(1);
    expect(counts.get('AbortMultipartUploadCommand')).toBeGreaterThanOrEqual(1);
    expect(await parts.exists('landing/big.bin')).toBe(false);
    // Nothing left to abort: a second interrupt sends nothing.
    const aborts = counts.get('AbortMultipartUploadCommand');
    await abortUploads(2000);
    expect(counts.get('AbortMultipartUploadCommand')).toBe(aborts);
  });

  describe('error mapping', () => {
    it('names a bucket that does not exist, for every operation that talks to S3', async () => {
      const wrong = createS3Store({ ...options, bucket: 'no-such-bucket-here' });
      const file = path.join(await wrong.stagingDir(), 'upload.bin');
      await writeFile(file, 'x');
      for (const [operation, attempt] of [
        ['get', () => wrong.get('a.txt')],
        ['put', () => wrong.put('a.txt', 'x')],
        ['putFile', () => wrong.putFile('a.txt', file)],
        ['delete', () => wrong.delete('a.txt')],
        ['localPath', () => wrong.localPath('a.txt')],
        ['head', () => wrong.head('a.txt')],
        ['exists', () => wrong.exists('a.txt')],
        ['list', () => wrong.list('')[Symbol.asyncIterator]().next()],
      ] as const) {
        const error = await rejectionOf(attempt());
        expect(error, operation).toBeInstanceOf(ExternalError);
        expect((error as ExternalError).code, operation).toBe('STORAGE_ERROR');
        expect((error as Error).message, operation).toContain('bucket "no-such-bucket-here" does not exist. Check RAT_S3_BUCKET');
        expect((error as Error).message, operation).toContain(`s3://no-such-bucket-here/${options.prefix}/`);
        expect((error as Error).cause, operation).toBeDefined();
      }
    });

    it('names the endpoint when nothing listens there, and fails fast', async () => {
      const port = await closedPort();
      const endpoint = `http://127.0.0.1:${port}`;
      const unreachable = createS3Store({ ...options, endpoint, maxAttempts: 1, connectionTimeoutMs: 1000 });
      const started = Date.now();
      const error = await rejectionOf(unreachable.get('warehouse/x.json'));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error).toBeInstanceOf(ExternalError);
      expect((error as ExternalError).code).toBe('STORAGE_ERROR');
      const message = (error as Error).message;
      expect(message).toContain(endpoint);
      expect(message).toContain('GetObject');
      expect(message).toContain(`s3://${server.bucket}/${options.prefix}/warehouse/x.json`);
      expect(message).toContain(`ECONNREFUSED 127.0.0.1:${port}. Check that the S3 server at ${endpoint} is up and that RAT_S3_ENDPOINT is its address`);
      expect(message).not.toContain('\n');
    });

    it('fails a request to a server that accepts connections but never answers, naming the endpoint, the object and what to do', async () => {
      const hung = await startS3Server();
      const hungOptions = { ...options, endpoint: hung.endpoint, maxAttempts: 1, idleTimeoutMs: 500 };
      try {
        await createS3Store(hungOptions).put('landing/a.csv', 'id\n1\n');
        hung.suspend();
        const store = createS3Store(hungOptions);
        const file = path.join(await store.stagingDir(), 'upload.csv');
        await writeFile(file, 'id\n2\n');
        for (const [operation, attempt] of [
          ['GetObject', () => store.localPath('landing/a.csv')],
          ['upload', () => store.putFile('landing/b.csv', file)],
          ['ListObjectsV2', () => store.list('landing/')[Symbol.asyncIterator]().next()],
        ] as const) {
          const started = Date.now();
          const error = await rejectionOf(attempt());
          expect(Date.now() - started, operation).toBeLessThan(5000);
          expect(error, operation).toBeInstanceOf(ExternalError);
          const message = (error as Error).message;
          expect(message, operation).toContain(`S3 ${operation}`);
          expect(message, operation).toContain(`s3://${server.bucket}/${options.prefix}/landing/`);
          expect(message, operation).toContain(`at ${hung.endpoint} failed: no answer`);
          expect(message, operation).toContain('500 ms of inactivity');
          expect(message, operation).toContain(`Check that the S3 server at ${hung.endpoint} is up and answering`);
          expect(message, operation).toContain('RAT_S3_TIMEOUT');
        }
      } finally {
        await hung.stop();
      }
    });

    it('reports rejected credentials as ExternalError naming the operation and key', async () => {
      const denied = createS3Store({ ...options, accessKeyId: 'WRONG', secretAccessKey: 'WRONG', maxAttempts: 1 });
      const error = await rejectionOf(denied.put('a.txt', 'x'));
      expect(error).toBeInstanceOf(ExternalError);
      expect((error as Error).message).toContain('PutObject');
      expect((error as Error).message).toContain(`${options.prefix}/a.txt`);
      expect((error as Error).message).toContain('InvalidAccessKeyId');
      expect((error as Error).message).toContain('The S3 server refused the credentials: check RAT_S3_ACCESS_KEY_ID and RAT_S3_SECRET_ACCESS_KEY');
    });

    it('explains a HEAD refused for bad credentials instead of reporting the object missing', async () => {
      const denied = createS3Store({ ...options, accessKeyId: 'WRONG', secretAccessKey: 'WRONG', maxAttempts: 1 });
      const error = await rejectionOf(denied.exists('a.txt'));
      expect(error).toBeInstanceOf(ExternalError);
      expect((error as Error).message).toContain('HeadObject');
      expect((error as Error).message).toContain('access denied');
    });

    it('refuses half-given credentials', () => {
      expect(() => createS3Store({ ...options, secretAccessKey: undefined })).toThrow(ValidationError);
    });
  });
});

/** A port that was free a moment ago and has no listener now. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return address.port;
}
