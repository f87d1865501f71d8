export type { ObjectInfo, ObjectStore } from './object-store.js';
export { createLocalStore, type LocalStoreOptions } from './local-store.js';
export { createS3Client, createS3Store, type S3StoreOptions, type S3StoreTuning } from './s3-store.js';
export { createObjectStore, storageConfigFromEnv, type StorageConfig } from './config.js';
export { assertValidKey, assertValidPrefix, compareKeys } from './object-key.js';
export { cacheLayout, pruneObjectCache, type CachePruneResult } from './object-cache.js';
export { removeStagingDirs, treeUsage } from './local-file.js';
export { removeTempFiles } from './atomic-file.js';
export { abortUploads } from './multipart-uploads.js';
