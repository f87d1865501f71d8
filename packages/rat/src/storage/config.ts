import path from 'node:path';

import { ValidationError } from '../core/errors.js';
import { createLocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import type { S3StoreOptions } from './s3-store.js';

export type StorageConfig = { type: 'local'; root: string } | ({ type: 's3' } & S3StoreOptions);

/** The AWS SDK takes about a second to load: it is imported only when S3 is configured. */
export async function createObjectStore(config: StorageConfig): Promise<ObjectStore> {
  if (config.type === 'local') return createLocalStore({ root: config.root });
  const { type: _type, ...options } = config;
  const { createS3Store } = await import('./s3-store.js');
  return createS3Store(options);
}

/**
 * Storage from the environment. Both stores use the same keys (`warehouse/<ns>/<table>/...`,
 * `landing/...`): locally they live under RAT_HOME itself, on S3 under RAT_S3_PREFIX. Setting
 * RAT_S3_BUCKET switches to S3.
 */
export function storageConfigFromEnv(env: NodeJS.ProcessEnv, ratHome: string): StorageConfig {
  const home = path.resolve(ratHome);
  const bucket = value(env, 'RAT_S3_BUCKET');
  if (bucket === undefined) return { type: 'local', root: home };

  const endpoint = value(env, 'RAT_S3_ENDPOINT');
  if (endpoint !== undefined && !isHttpUrl(endpoint)) {
    throw new ValidationError('CONFIG_INVALID', `RAT_S3_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  const pathStyle = value(env, 'RAT_S3_PATH_STYLE');
  return {
    type: 's3',
    endpoint,
    region: value(env, 'RAT_S3_REGION') ?? 'us-east-1',
    bucket,
    prefix: value(env, 'RAT_S3_PREFIX'),
    // Self-hosted S3 servers (MinIO, Ceph, s3rver) rarely have per-bucket DNS names; AWS does.
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : parseBoolean('RAT_S3_PATH_STYLE', pathStyle),
    ...credentials(env),
    idleTimeoutMs: timeoutMs(env, 'RAT_S3_TIMEOUT'),
    cacheDir: path.join(home, 'cache'),
    stagingRoot: path.join(home, 'staging'),
  };
}

/**
 * The RAT_S3_* credentials win, so a machine can keep AWS_* for other tools and point Ratatouille
 * elsewhere. They are taken as a set: a session token only belongs to its own key pair. Neither set
 * leaves all three unset, and the SDK's default chain (profile, instance role) applies.
 */
function credentials(env: NodeJS.ProcessEnv): Pick<S3StoreOptions, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'> {
  const family = value(env, 'RAT_S3_ACCESS_KEY_ID') !== undefined || value(env, 'RAT_S3_SECRET_ACCESS_KEY') !== undefined ? 'RAT_S3' : 'AWS';
  return {
    accessKeyId: value(env, `${family}_ACCESS_KEY_ID`),
    secretAccessKey: value(env, `${family}_SECRET_ACCESS_KEY`),
    sessionToken: value(env, `${family}_SESSION_TOKEN`),
  };
}

/** An unset and an empty variable mean the same: `FOO= rat serve` must not configure an empty value. */
function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Seconds, as a person writes them (`30`, `2.5`); unset keeps the store's default. */
function timeoutMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(seconds > 0)) throw new ValidationError('CONFIG_INVALID', `${name} must be a number of seconds above 0, got ${JSON.stringify(raw)}`);
  return Math.round(seconds * 1000);
}

function parseBoolean(name: string, raw: string): boolean {
  const normalized = raw.toLowerCase();
  if (normalized === 'true' || normalized === '1') return true;
  if (normalized === 'false' || normalized === '0') return false;
  throw new ValidationError('CONFIG_INVALID', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
