import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ValidationError } from '../core/errors.js';
import { createObjectStore, storageConfigFromEnv } from './config.js';

const home = path.resolve('/srv/rat-home');

describe('storageConfigFromEnv', () => {
  it('uses RAT_HOME itself as the local root when no bucket is set', () => {
    expect(storageConfigFromEnv({}, '/srv/rat-home')).toEqual({ type: 'local', root: home });
    expect(storageConfigFromEnv({ RAT_S3_BUCKET: '' }, '/srv/rat-home')).toEqual({ type: 'local', root: home });
  });

  it('resolves a relative RAT_HOME against the working directory', () => {
    expect(storageConfigFromEnv({}, '.rat')).toEqual({ type: 'local', root: path.resolve('.rat') });
  });

  it('switches to S3 when RAT_S3_BUCKET is set, with cache and staging under RAT_HOME', () => {
    const config = storageConfigFromEnv(
      {
        RAT_S3_BUCKET: 'lake',
        RAT_S3_ENDPOINT: 'http://minio:9000',
        RAT_S3_PREFIX: 'prod',
        RAT_S3_REGION: 'eu-central-1',
        RAT_S3_ACCESS_KEY_ID: 'rat-key',
        RAT_S3_SECRET_ACCESS_KEY: 'rat-secret',
      },
      '/srv/rat-home',
    );
    expect(config).toEqual({
      type: 's3',
      endpoint: 'http://minio:9000',
      region: 'eu-central-1',
      bucket: 'lake',
      prefix: 'prod',
      forcePathStyle: true,
      accessKeyId: 'rat-key',
      secretAccessKey: 'rat-secret',
      sessionToken: undefined,
      cacheDir: path.join(home, 'cache'),
      stagingRoot: path.join(home, 'staging'),
    });
  });

  it('defaults to region us-east-1 and virtual-host addressing without an endpoint', () => {
    const config = storageConfigFromEnv({ RAT_S3_BUCKET: 'lake' }, home);
    expect(config).toMatchObject({ type: 's3', region: 'us-east-1', forcePathStyle: false, endpoint: undefined });
  });

  it('reads RAT_S3_TIMEOUT in seconds and rejects a value that is not a positive number, naming it', () => {
    const env = { RAT_S3_BUCKET: 'lake' };
    expect(storageConfigFromEnv({ ...env, RAT_S3_TIMEOUT: '2.5' }, home)).toMatchObject({ idleTimeoutMs: 2500 });
    expect(storageConfigFromEnv(env, home)).toMatchObject({ idleTimeoutMs: undefined });
    for (const bad of ['0', '30s', '-1', 'never']) {
      expect(() => storageConfigFromEnv({ ...env, RAT_S3_TIMEOUT: bad }, home)).toThrow(`RAT_S3_TIMEOUT must be a number of seconds above 0, got "${bad}"`);
    }
  });

  it('reads RAT_S3_PATH_STYLE and rejects a value that is not a boolean, naming it', () => {
    const env = { RAT_S3_BUCKET: 'lake', RAT_S3_ENDPOINT: 'http://minio:9000' };
    expect(storageConfigFromEnv({ ...env, RAT_S3_PATH_STYLE: 'false' }, home)).toMatchObject({ forcePathStyle: false });
    expect(storageConfigFromEnv({ RAT_S3_BUCKET: 'lake', RAT_S3_PATH_STYLE: 'TRUE' }, home)).toMatchObject({ forcePathStyle: true });
    expect(() => storageConfigFromEnv({ ...env, RAT_S3_PATH_STYLE: 'maybe' }, home)).toThrow(ValidationError);
    expect(() => storageConfigFromEnv({ ...env, RAT_S3_PATH_STYLE: 'maybe' }, home)).toThrow(/RAT_S3_PATH_STYLE.*"maybe"/);
  });

  it('rejects an endpoint that is not an http(s) URL', () => {
    expect(() => storageConfigFromEnv({ RAT_S3_BUCKET: 'lake', RAT_S3_ENDPOINT: 'minio:9000' }, home)).toThrow(/RAT_S3_ENDPOINT.*"minio:9000"/);
  });

  it('takes credentials as a set, RAT_S3_* before AWS_*', () => {
    const aws = { AWS_ACCESS_KEY_ID: 'aws-key', AWS_SECRET_ACCESS_KEY: 'aws-secret', AWS_SESSION_TOKEN: 'aws-token' };
    expect(storageConfigFromEnv({ RAT_S3_BUCKET: 'lake', ...aws }, home)).toMatchObject({
      accessKeyId: 'aws-key',
      secretAccessKey: 'aws-secret',
      sessionToken: 'aws-token',
    });
    expect(
      storageConfigFromEnv({ RAT_S3_BUCKET: 'lake', ...aws, RAT_S3_ACCESS_KEY_ID: 'rat-key', RAT_S3_SECRET_ACCESS_KEY: 'rat-secret' }, home),
    ).toMatchObject({ accessKeyId: 'rat-key', secretAccessKey: 'rat-secret', sessionToken: undefined });
  });

  it('leaves credentials unset for the SDK default chain when none are given', () => {
    expect(storageConfigFromEnv({ RAT_S3_BUCKET: 'lake' }, home)).toMatchObject({
      accessKeyId: undefined,
      secretAccessKey: undefined,
      sessionToken: undefined,
    });
  });
});

describe('createObjectStore', () => {
  it('creates a local store rooted at RAT_HOME, with table keys under warehouse/', async () => {
    const ratHome = await mkdtemp(path.join(os.tmpdir(), 'rat-config-'));
    try {
      const store = await createObjectStore(storageConfigFromEnv({}, ratHome));
      expect(store.kind).toBe('local');
      await store.put('warehouse/ns/t/metadata/v1.metadata.json', '{}');
      expect(await readFile(path.join(ratHome, 'warehouse', 'ns', 't', 'metadata', 'v1.metadata.json'), 'utf8')).toBe('{}');
      expect(path.dirname(await store.stagingDir())).toBe(path.join(ratHome, 'staging'));
    } finally {
      await rm(ratHome, { recursive: true, force: true });
    }
  });

  it('creates an S3 store with the same keys under the prefix', async () => {
    const store = await createObjectStore(
      storageConfigFromEnv({ RAT_S3_BUCKET: 'lake', RAT_S3_PREFIX: '/prod/', RAT_S3_ENDPOINT: 'http://127.0.0.1:9' }, home),
    );
    expect(store.kind).toBe('s3');
    expect(store.uri('warehouse/ns/t/data/a.parquet')).toBe('s3://lake/prod/warehouse/ns/t/data/a.parquet');
  });
});
