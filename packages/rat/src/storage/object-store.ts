/**
 * Object storage: a local directory or an S3-compatible bucket. Keys are '/'-separated paths
 * relative to the store root (no leading slash). Every write is atomic: a reader sees either
 * nothing or the whole object, never a partial one.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModifiedMs: number;
}

export interface WriteOptions {
  /**
   * Durable only after `sync`: the object is whole when the call returns, but a crash may lose it
   * until `sync` is given its key. For files that only a later catalog commit references: the
   * commit syncs them all at once, just before it, instead of waiting for the disk once per file.
   */
  deferSync?: boolean;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Location URI of a key as written into Iceberg metadata: `file:///abs/path` or `s3://bucket/prefix/key`. */
  uri(key: string): string;
  /** The key for a URI this store owns, or undefined when the URI points elsewhere. */
  keyOf(uri: string): string | undefined;
  get(key: string): Promise<Uint8Array>;
  /** Atomic write of a whole object. */
  put(key: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  /**
   * Atomic upload of a local file (written in staging) as `key`. With `consume` the caller no longer
   * needs the local file, which may then be moved into place (local store) instead of copied.
   * `onProgress` is told the bytes put so far as they go (an upload of a large file shows its progress).
   */
  putFile(key: string, localPath: string, options?: WriteOptions & { consume?: boolean; onProgress?: (bytesDone: number) => void }): Promise<void>;
  /** Makes objects written with `deferSync` durable (local store: fsync of the files and their directories, all at once). */
  sync(keys: readonly string[]): Promise<void>;
  exists(key: string): Promise<boolean>;
  head(key: string): Promise<ObjectInfo | undefined>;
  delete(key: string): Promise<void>;
  /** All objects whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * A local filesystem path holding the object's bytes, for DuckDB (which cannot read s3:// here).
   * Local store: the file itself. S3: a cached download. Objects rat writes are immutable (unique
   * names), so their cached copy never goes stale; an object another writer may replace under the
   * same key (a landing file) is read with `revalidate`: its cached copy is used only while its
   * ETag and size are the object's (one HEAD), else it is downloaded again.
   */
  localPath(key: string, options?: { revalidate?: boolean }): Promise<string>;
  /** A fresh local directory for files to be written before `putFile` (removed by the caller). */
  stagingDir(): Promise<string>;
  /**
   * Runs `write`, which writes large files into `dir` (from `stagingDir`) to be put afterwards. The
   * local store moves such files into place and fsyncs them at commit, so it hands their pages to
   * the disk while they are written (flushWhileWriting); S3 uploads them, and just runs `write`.
   */
  whileStaging<T>(dir: string, write: () => Promise<T>): Promise<T>;
}
