import { createReadStream } from 'node:fs';
import { readFile, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { describeError, ExternalError, ValidationError } from '../core/errors.js';
import { writeFileAtomic, writeStreamAtomic } from './atomic-file.js';
import { cacheLayout } from './object-cache.js';
import { assertCopiedWhole, createStagingDir, isMissingFileError, sourceFileStats } from './local-file.js';
import { assertValidKey, assertValidPrefix } from './object-key.js';
import { trackUpload } from './multipart-uploads.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';
import { bucketMissingError, mapS3Error, sdkErrorName, sdkHttpStatus, type S3Target } from './s3-errors.js';

export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:9000` for MinIO; unset means AWS S3 for `region`. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'. */
  prefix?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Static credentials; when unset the SDK's default chain (env, profile, instance role) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Local copies of objects for `localPath`, at `<cacheDir>/v2/<hash of bucket and key>/<file name>` (see `cacheLayout`). */
  cacheDir: string;
  /** Where `stagingDir()` creates directories. */
  stagingRoot: string;
  /** Attempts per request, the first included; default 3 (the SDK's default). */
  maxAttempts?: number;
  /** Time to open a connection; default 10 s, so an unreachable endpoint fails instead of hanging. */
  connectionTimeoutMs?: number;
  /**
   * Time a request may wait for the server without a byte sent or received; default 30 s, so a server
   * that accepts connections but never answers fails instead of hanging. A limit on inactivity, not on
   * the whole request: a large download or multipart upload that keeps moving is never cut off.
   */
  idleTimeoutMs?: number;
}

/** Knobs with production defaults; tests lower them to exercise multipart upload and paging on small data. */
export interface S3StoreTuning {
  /** A client to use instead of one built from the options (tests add middleware to count requests). */
  client?: S3Client;
  /** Files larger than one part go up as a multipart upload; S3's minimum is 5 MiB. Default 16 MiB. */
  partSizeBytes?: number;
  /** Keys per ListObjectsV2 page; default 1000 (the S3 maximum). */
  listPageSize?: number;
}

const MIB = 1024 * 1024;
// Up to 4 parts of 16 MiB are buffered per upload: bounded memory, and each part can be retried,
// which a single PutObject streaming a file cannot (the SDK cannot rewind a consumed stream).
const DEFAULT_PART_SIZE = 16 * MIB;
const UPLOAD_QUEUE_SIZE = 4;
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export function createS3Client(options: S3StoreOptions): S3Client {
  const { accessKeyId, secretAccessKey, sessionToken } = options;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    const missing = accessKeyId ? 'secretAccessKey' : 'accessKeyId';
    throw new ValidationError('CONFIG_INVALID', `S3 credentials for bucket "${options.bucket}" are incomplete: ${missing} is missing`);
  }
  quietNodeVersionWarning();
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined,
    // S3-compatible servers (MinIO, R2, Ceph, s3rver) reject or ignore the newer default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 3,
    // socketTimeout is the SDK's inactivity limit; its requestTimeout limits the whole request (and only warns).
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      socketTimeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    },
  });
}

/**
 * Under Node < 22 the SDK's client constructor writes an 8-line NodeVersionSupportWarning (future
 * SDK releases will need Node 22) to stderr, on every command, where rat promises one-line errors.
 * The SDK's own switch turns off that one warning, once, for the process (@aws-sdk/core's
 * emitWarningIfUnsupportedVersion); other warnings still show. A value the user set is kept.
 */
function quietNodeVersionWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export function createS3Store(options: S3StoreOptions, tuning: S3StoreTuning = {}): ObjectStore {
  const { bucket } = options;
  const prefix = normalizePrefix(options.prefix ?? '', bucket);
  const keyBase = prefix === '' ? '' : `${prefix}/`;
  const target: S3Target = {
    bucket,
    endpoint: options.endpoint ?? `the AWS S3 endpoint of region ${options.region}`,
  };
  const client = tuning.client ?? createS3Client(options);
  const partSize = tuning.partSizeBytes ?? DEFAULT_PART_SIZE;
  const listPageSize = tuning.listPageSize ?? 1000;
  const cache = cacheLayout(options.cacheDir);
  const stagingRoot = path.resolve(options.stagingRoot);
  const downloads = new Map<string, Promise<string>>();
  let bucketVerified = false;

  const objectKeyOf = (key: string): string => keyBase + key;
  const cacheFileOf = (key: string): string => cache.fileOf(bucket, objectKeyOf(key));
  const versionFileOf = (key: string): string => cache.versionFileOf(bucket, objectKeyOf(key));

  /** HEAD answers a bare 404 for a missing key and a missing bucket alike; this tells them apart once. */
  async function assertBucketExists(operation: string, objectKey: string): Promise<void> {
    if (bucketVerified) return;
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (sdkHttpStatus(error) === 404 || sdkErrorName(error) === 'NotFound') {
        throw bucketMissingError(target, operation, objectKey, error);
      }
      throw mapS3Error(error, `HeadBucket (after ${operation})`, target, objectKey);
    }
    bucketVerified = true;
  }

  /**
   * Our own overwrites and deletes must not be shadowed by an older cached copy in this process.
   * (Writes by other processes are seen only by `localPath` with `revalidate`: the objects rat writes are
   * immutable. A download already
   * running while this process overwrites the same key may still publish the old bytes.)
   */
  async function dropCachedCopy(key: string): Promise<void> {
    try {
      await rm(versionFileOf(key), { force: true });
      await rm(cacheFileOf(key), { force: true });
    } catch (error) {
      if (!isMissingFileError(error)) throw error;
    }
  }

  async function download(key: string, revalidate: boolean): Promise<string> {
    const file = cacheFileOf(key);
    const objectKey = objectKeyOf(key);
    try {
      if (await isFile(file)) {
        if (!revalidate || (await isCurrentCopy(key, file))) {
          await markUsed(file);
          return file;
        }
      }
      // Forgotten first: a crash between the two writes below leaves no version, never a wrong one.
      await rm(versionFileOf(key), { force: true });
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
      const body = response.Body ?? Readable.from([]);
      if (!(body instanceof Readable)) {
        throw new ExternalError('STORAGE_ERROR', `S3 GetObject of s3://${bucket}/${objectKey} returned a body that is not a Node stream`);
      }
      await writeStreamAtomic(file, body, response.ContentLength);
      if (response.ETag !== undefined) {
        const version: CachedVersion = { etag: response.ETag, size: response.ContentLength ?? (await stat(file)).size };
        await writeFileAtomic(versionFileOf(key), JSON.stringify(version));
      }
    } catch (error) {
      throw mapS3Error(error, `GetObject into the cache file ${file}`, target, objectKey);
    }
    return file;
  }

  /** Whether the cached copy is the object as it is now: the ETag and size it was downloaded with are the object's (HEAD). */
  async function isCurrentCopy(key: string, file: string): Promise<boolean> {
    const cached = await readFile(versionFileOf(key), 'utf8')
      .then((text) => JSON.parse(text) as CachedVersion)
      .catch(() => undefined);
    if (cached === undefined || (await stat(file)).size !== cached.size) return false;
    const response = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKeyOf(key) })).catch(() => undefined);
    // Missing or unreadable now: the download that follows reports it.
    return response?.ETag === cached.etag && response.ContentLength === cached.size;
  }

  async function head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const objectKey = objectKeyOf(key);
    try {
      const response = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
      return { key, size: response.ContentLength ?? 0, lastModifiedMs: response.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (sdkHttpStatus(error) === 404 || sdkErrorName(error) === 'NotFound') {
        await assertBucketExists('HeadObject', objectKey);
        return undefined;
      }
      throw mapS3Error(error, 'HeadObject', target, objectKey);
    }
  }

  async function* list(listPrefix: string): AsyncGenerator<ObjectInfo> {
    const requestPrefix = keyBase + listPrefix;
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: requestPrefix,
            MaxKeys: listPageSize,
            ContinuationToken: continuationToken,
          }),
        );
      } catch (error) {
        throw mapS3Error(error, 'ListObjectsV2', target, requestPrefix);
      }
      for (const object of page.Contents ?? []) {
        // Keys ending in '/' are "folder" markers made by consoles, not objects.
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        yield {
          key: object.Key.slice(keyBase.length),
          size: object.Size ?? 0,
          lastModifiedMs: object.LastModified?.getTime() ?? 0,
        };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  return {
    kind: 's3',

    uri(key) {
      assertValidKey(key);
      return `s3://${bucket}/${objectKeyOf(key)}`;
    },

    keyOf(uri) {
      // Hadoop-era engines write s3a:// and s3n:// for the same objects.
      const match = /^s3[an]?:\/\/([^/]+)\/(.+)$/.exec(uri);
      if (!match || match[1] !== bucket) return undefined;
      const objectKey = match[2] ?? '';
      if (!objectKey.startsWith(keyBase)) return undefined;
      const key = objectKey.slice(keyBase.length);
      try {
        assertValidKey(key);
      } catch {
        return undefined;
      }
      return key;
    },

    async get(key) {
      assertValidKey(key);
      const objectKey = objectKeyOf(key);
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
        return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        throw mapS3Error(error, 'GetObject', target, objectKey);
      }
    },

    async put(key, data) {
      assertValidKey(key);
      const objectKey = objectKeyOf(key);
      const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      try {
        // A PutObject becomes visible whole or not at all, so no temp key is needed on S3.
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: body, ContentLength: body.byteLength }));
      } catch (error) {
        throw mapS3Error(error, 'PutObject', target, objectKey);
      }
      await dropCachedCopy(key);
    },

    async putFile(key, localPath, options = {}) {
      assertValidKey(key);
      const before = await sourceFileStats(localPath, key);
      const objectKey = objectKeyOf(key);
      // The SDK stores what the stream gives: the file's bytes are counted, and a file that changed
      // while read fails the stream, so the upload is aborted instead of completed short.
      let bytesRead = 0;
      let changed: unknown;
      const file = createReadStream(localPath);
      const body = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytesRead += chunk.length;
          callback(null, chunk);
        },
        flush(callback) {
          assertCopiedWhole(localPath, key, before, bytesRead).then(
            () => callback(),
            (error: unknown) => callback((changed = error) as Error),
          );
        },
      });
      // pipe() does not pass a read error on: the upload would wait for the rest of the stream.
      file.on('error', (error) => body.destroy(error));
      file.pipe(body);
      // A file up to one part goes as one PutObject; a larger one as a multipart upload, which
      // S3 publishes only on CompleteMultipartUpload (and aborts on failure), so it is atomic too.
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: objectKey, Body: body },
        partSize,
        queueSize: UPLOAD_QUEUE_SIZE,
        leavePartsOnError: false,
      });
      // An interrupted process never reaches the SDK's own abort: its parts would stay in the bucket.
      const untrack = trackUpload(async () => {
        // Stops the parts still to send (the SDK then aborts too, unless the process has exited).
        await upload.abort();
        const { uploadId } = upload;
        if (uploadId !== undefined) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId }));
      });
      try {
        const { onProgress } = options;
        // Once per part uploaded (a file up to one part: once, at its end).
        if (onProgress) upload.on('httpUploadProgress', (progress) => progress.loaded !== undefined && onProgress(progress.loaded));
        await upload.done();
      } catch (error) {
        // Said first: the SDK may throw the failure of its abort of the parts instead (s3rver has no abort).
        throw changed ?? mapS3Error(error, `upload of ${localPath}`, target, objectKey);
      } finally {
        untrack();
      }
      await dropCachedCopy(key);
    },

    // A PutObject or completed upload is durable when it returns: nothing is left to sync.
    async sync(keys) {
      keys.forEach(assertValidKey);
    },

    async exists(key) {
      return (await head(key)) !== undefined;
    },

    head,

    async delete(key) {
      assertValidKey(key);
      const objectKey = objectKeyOf(key);
      try {
        // S3 answers 204 for a missing key too, which is what the interface wants.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
      } catch (error) {
        throw mapS3Error(error, 'DeleteObject', target, objectKey);
      }
      await dropCachedCopy(key);
    },

    list(listPrefix) {
      assertValidPrefix(listPrefix);
      return list(listPrefix);
    },

    async localPath(key, { revalidate = false } = {}) {
      assertValidKey(key);
      // Concurrent callers for one key share a single download (and a single cache check).
      let pending = downloads.get(key);
      if (pending === undefined) {
        pending = download(key, revalidate).finally(() => downloads.delete(key));
        downloads.set(key, pending);
      }
      return pending;
    },

    stagingDir: () => createStagingDir(stagingRoot),

    whileStaging: (_dir, write) => write(),
  };
}

/** The version of an object a cached copy holds, kept next to the cache (`<cacheDir>/.versions/...`). */
interface CachedVersion {
  etag: string;
  size: number;
}

function normalizePrefix(raw: string, bucket: string): string {
  const prefix = raw.replace(/^\/+|\/+$/g, '');
  if (prefix === '') return prefix;
  try {
    assertValidKey(prefix);
  } catch (error) {
    throw new ValidationError('CONFIG_INVALID', `Invalid key prefix ${JSON.stringify(raw)} for S3 bucket "${bucket}": ${describeError(error)}`, {
      cause: error,
    });
  }
  return prefix;
}

/** The copy's time says when it was last used: `rat maintain` removes the copies unused for longer than its grace period. */
async function markUsed(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (error) {
    if (isMissingFileError(error)) return false;
    throw error;
  }
}
