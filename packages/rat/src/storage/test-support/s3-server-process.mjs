// Runs s3rver in a process of its own: on Node 20 it needs --openssl-legacy-provider, which a
// vitest worker cannot set for itself. Prints one JSON line {"port": N} once it listens.
// Usage: node s3-server-process.mjs <data-directory> <bucket>
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) {
  process.stderr.write('usage: s3-server-process.mjs <data-directory> <bucket>\n');
  process.exit(2);
}

makePutObjectAtomic();

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
}
// The parent holds our stdin open; when it ends (stop() or the parent died) there is nobody left to serve.
process.stdin.on('end', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);

/**
 * S3 publishes a PUT whole or not at all, and a GET reads one version. s3rver 3.7 writes straight
 * into the object file (and answers before the write has finished), so concurrent writers
 * interleave and a reader can get a truncated body. Tests that rely on S3's guarantee (concurrent
 * commits, atomic overwrites) would then fail because of the fake, not the code under test. So the
 * object is written to a temp file and renamed into place, and the rename plus metadata update is
 * serialised with a GET's stat-then-open of the same object.
 */
function makePutObjectAtomic() {
  const locks = new Map();
  async function withObjectLock(objectPath, action) {
    const previous = locks.get(objectPath) ?? Promise.resolve();
    let release;
    const current = previous.then(() => new Promise((resolve) => (release = resolve)));
    locks.set(objectPath, current);
    await previous;
    try {
      return await action();
    } finally {
      release();
      if (locks.get(objectPath) === current) locks.delete(objectPath);
    }
  }

  FilesystemStore.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    // The name does not end in s3rver's object suffix, so listings never show it.
    const temp = `${objectPath}.${randomUUID()}.upload`;
    const md5 = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    const measure = new Transform({
      transform(chunk, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source, measure, createWriteStream(temp));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await withObjectLock(objectPath, async () => {
      await rename(temp, objectPath);
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    });
    return { size, md5: digest };
  };

  const getObject = FilesystemStore.prototype.getObject;
  // s3rver's getObject resolves once the file is open, so the stream reads the version it measured.
  FilesystemStore.prototype.getObject = function lockedGetObject(bucketName, key, options) {
    return withObjectLock(this.getResourcePath(bucketName, key, 'object'), () => getObject.call(this, bucketName, key, options));
  };
}
