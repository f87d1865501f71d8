import { truncateSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rat } from '../cli/test-support/cli-runner.js';
import { createS3Store } from '../storage/s3-store.js';
import { startS3Server, type S3TestServer } from '../storage/test-support/s3-server.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';
import { uploadToLanding } from './landing-zone.js';
import type { IngestProgress } from './progress.js';

async function landAndIngest(fx: IngestFixture) {
  const a = await fx.file('jan.csv', 'day,amount\n2026-01-01,10\n2026-01-02,20\n');
  const b = await fx.file('feb.csv.gz', gzipSync('day,amount\n2026-02-01,30\n'));
  const landed = await fx.ingestion.upload([a, b], 'landing/sales/');
  expect(landed.map((l) => l.key)).toEqual(['landing/sales/jan.csv', 'landing/sales/feb.csv.gz']);
  const first = await fx.ingestion.ingestBatch('landing/sales/', 'bronze.sales', { skipExisting: true });
  expect(first.files.map((f) => [f.file, f.status])).toEqual([
    ['landing/sales/feb.csv.gz', 'success'],
    ['landing/sales/jan.csv', 'success'],
  ]);
  const c = await fx.file('mar.csv', 'day,amount\n2026-03-01,40\n');
  await fx.ingestion.upload([c], 'landing/sales/');
  const second = await fx.ingestion.ingestBatch('landing/sales/', 'bronze.sales', { skipExisting: true });
  expect(second.files.map((f) => f.status)).toEqual(['skipped', 'skipped', 'success']);
  const listing = await fx.ingestion.listLanding('landing/sales/');
  // Skipped as loaded already: the latest attempt says skipped, the state says the content is in the table.
  expect(listing.map((e) => [e.key, e.state, e.lastStatus, e.lastTarget])).toEqual([
    ['landing/sales/feb.csv.gz', 'loaded', 'skipped', 'bronze.sales'],
    ['landing/sales/jan.csv', 'loaded', 'skipped', 'bronze.sales'],
    ['landing/sales/mar.csv', 'loaded', 'success', 'bronze.sales'],
  ]);
  const rows = await fx.rat.query<{ n: number; s: number }>('SELECT count(*)::INT AS n, sum(amount)::INT AS s FROM bronze.sales');
  expect(rows[0]).toEqual({ n: 4, s: 100 });
  const [lineage] = await fx.rat.query<{ f: string }>(`SELECT _source_file AS f FROM bronze.sales WHERE amount = 40`);
  expect(lineage!.f).toBe('landing/sales/mar.csv');
  // Two new files alike after two already ingested: read together, lineage and registry by landing key.
  const x1 = await fx.file('x-1.csv', 'day,amount\n2026-04-01,50\n');
  const x2 = await fx.file('x-2.csv', 'day,amount\n2026-04-02,60\n2026-04-03,70\n');
  await fx.ingestion.upload([x1, x2], 'landing/sales/');
  const third = await fx.ingestion.ingestBatch('landing/sales/', 'bronze.sales', { skipExisting: true });
  expect(third.files.map((f) => [f.file, f.status, f.rowsIngested])).toEqual([
    ['landing/sales/feb.csv.gz', 'skipped', 0],
    ['landing/sales/jan.csv', 'skipped', 0],
    ['landing/sales/mar.csv', 'skipped', 0],
    ['landing/sales/x-1.csv', 'success', 1],
    ['landing/sales/x-2.csv', 'success', 2],
  ]);
  expect(third.files[3]!.snapshotId).toBe(third.files[4]!.snapshotId);
  const added = await fx.rat.query<{ f: string; n: number }>(`SELECT _source_file AS f, count(*)::INT AS n FROM bronze.sales WHERE amount >= 50 GROUP BY 1 ORDER BY 1`);
  expect(added).toEqual([
    { f: 'landing/sales/x-1.csv', n: 1 },
    { f: 'landing/sales/x-2.csv', n: 2 },
  ]);
  const registered = await fx.ingestion.registry({ filePath: 'landing/sales/x-2.csv' });
  expect(registered.map((e) => [e.status, e.rowsIngested, e.snapshotId])).toEqual([['success', 2, third.files[4]!.snapshotId]]);
}

/** Uploads that would lose a file or make a key both a file and a folder are refused, naming the files and keys, before anything lands. */
async function refusesClashingUploads(fx: IngestFixture) {
  await mkdir(join(fx.dir, 'a'));
  await mkdir(join(fx.dir, 'b'));
  const a = await fx.file('a/x.csv', 'id\n1\n');
  const b = await fx.file('b/x.csv', 'id\n2\n');
  await expect(fx.ingestion.upload([a, b], 'landing/coll/')).rejects.toThrow(`${a} and ${b} would both land as landing/coll/x.csv`);
  await expect(fx.ingestion.listLanding('landing/coll/')).rejects.toThrow('no landing file or folder landing/coll/');
  await fx.ingestion.upload([a], 'landing/single');
  // A file the landing zone holds is replaced only when asked.
  const content = async (key: string) => Buffer.from(await fx.rat.store.get(key)).toString();
  await expect(fx.ingestion.upload([b], 'landing/single')).rejects.toThrow(
    'the landing zone holds a file under the key landing/single already; nothing was uploaded: to replace it, pass --overwrite (SDK: overwrite: true), or upload under another name',
  );
  expect(await content('landing/single')).toBe('id\n1\n');
  await fx.ingestion.upload([b], 'landing/single', { overwrite: true });
  expect(await content('landing/single')).toBe('id\n2\n');
  await expect(fx.ingestion.upload([b], 'landing/single/')).rejects.toThrow(/landing\/single\/x\.csv: landing\/single is a file, .* remove landing\/single first/);
  await fx.ingestion.upload([a], 'landing/folder/');
  // None of an upload lands when one of its keys holds a file.
  await expect(fx.ingestion.upload([await fx.file('y.csv', 'id\n3\n'), a], 'landing/folder/')).rejects.toThrow('holds a file under the key landing/folder/x.csv already; nothing was uploaded');
  await expect(fx.ingestion.upload([b], 'landing/folder')).rejects.toThrow(/landing\/folder\/ is a folder \(it holds landing\/folder\/x\.csv\).* end the destination with a slash/);
  // Within one upload: a folder's file under a key another file of the upload takes.
  await expect(fx.ingestion.upload([join(fx.dir, 'a'), b], 'landing/mixed/')).resolves.toHaveLength(2);
  await expect(fx.ingestion.upload([b], 'landing/mixed/a')).rejects.toThrow(/landing\/mixed\/a\/ is a folder/);
  expect((await fx.ingestion.listLanding('landing/')).map((e) => e.key).filter((key) => !key.startsWith('landing/sales/'))).toEqual(['landing/folder/x.csv', 'landing/mixed/a/x.csv', 'landing/mixed/x.csv', 'landing/single']);
}

/** Each landing file's state: new, loaded, changed (replaced after its ingest), failed, ignored (a file a folder's ingest passes over); a prefix that names nothing fails as `rat ingest` does. */
async function landingStates(fx: IngestFixture) {
  await fx.ingestion.upload([await fx.file('a.csv', 'id\n1\n')], 'landing/st/');
  await fx.ingestion.ingestBatch('landing/st/', 'bronze.st', { skipExisting: true });
  await fx.ingestion.upload([await fx.file('a.csv', 'id\n1\n2\n')], 'landing/st/a.csv', { overwrite: true });
  await fx.ingestion.upload([await fx.file('b.csv', 'id\n3\n')], 'landing/st/');
  await fx.ingestion.upload([await fx.file('c.csv', '')], 'landing/st-bad/');
  expect((await fx.ingestion.ingestBatch('landing/st-bad/', 'bronze.st', { skipExisting: true })).files.map((f) => f.status)).toEqual(['failed']);
  const states = async (prefix: string) => (await fx.ingestion.listLanding(prefix)).map((e) => [e.key, e.state, e.lastStatus ?? null]);
  expect(await states('landing/st/')).toEqual([
    ['landing/st/a.csv', 'changed', 'success'],
    ['landing/st/b.csv', 'new', null],
  ]);
  expect(await states('landing/st-bad/')).toEqual([['landing/st-bad/c.csv', 'failed', 'failed']]);
  // Files an ingest of their folder passes over are not waiting for one: ignored, not new forever.
  await fx.ingestion.upload([await fx.file('.keep', ''), await fx.file('README.md', '# exports\n'), await fx.file('d.csv', 'id\n4\n')], 'landing/st-doc/');
  expect((await fx.ingestion.ingestBatch('landing/st-doc/', 'bronze.st', { skipExisting: true })).files.map((f) => f.file)).toEqual(['landing/st-doc/d.csv']);
  expect(await states('landing/st-doc/')).toEqual([
    ['landing/st-doc/.keep', 'ignored', null],
    ['landing/st-doc/README.md', 'ignored', null],
    ['landing/st-doc/d.csv', 'loaded', 'success'],
  ]);
  await fx.ingestion.ingestBatch('landing/st/', 'bronze.st', { skipExisting: true });
  expect(await states('landing/st/')).toEqual([
    ['landing/st/a.csv', 'loaded', 'success'],
    ['landing/st/b.csv', 'loaded', 'success'],
  ]);
  const unknown = fx.ingestion.listLanding('landing/no-such-folder/');
  await expect(unknown).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  await expect(fx.ingestion.listLanding('landing/no-such-folder/')).rejects.toThrow(/^no landing file or folder landing\/no-such-folder\/; landing\/ holds .*st\//);
  await expect(fx.ingestion.listLanding('landing/st/zz.csv')).rejects.toThrow(/^no landing file or folder landing\/st\/zz\.csv; landing\/st\/ holds a\.csv, b\.csv/);
}

/** Uploads a file of `size` bytes to `destination`, returning the progress events' bytes: several between 0 and the size, not only the two ends. */
async function uploadProgress(fx: IngestFixture, upload: (file: string, onProgress: (event: IngestProgress) => void) => Promise<unknown>, size: number): Promise<void> {
  const file = await fx.file('big.bin', Buffer.alloc(size, 7));
  const done: number[] = [];
  await upload(file, (event) => {
    expect(event).toMatchObject({ file, phase: 'uploading', bytesTotal: size });
    done.push(event.bytesDone);
  });
  const between = done.filter((n) => n > 0 && n < size);
  expect(between.length, `progress events: ${done.join(', ')}`).toBeGreaterThanOrEqual(2);
  expect(done).toEqual([...done].sort((a, b) => a - b));
  expect([done[0], done.at(-1)]).toEqual([0, size]);
}

/**
 * A file cut short while it is uploaded (its writer truncates it): the upload fails naming the file
 * and the byte counts, and the key keeps what it held before (here: nothing), never a part of the file.
 */
async function refusesFileChangedWhileUploaded(fx: IngestFixture, upload: (file: string, onProgress: (event: IngestProgress) => void) => Promise<unknown>, head: (key: string) => Promise<unknown>, size: number): Promise<void> {
  const file = await fx.file('growing.bin', Buffer.alloc(size, 7));
  let cut = false;
  const failed = upload(file, (event) => {
    if (cut || event.bytesDone === 0) return;
    cut = true;
    truncateSync(file, size / 2);
  });
  await expect(failed).rejects.toThrow(new RegExp(`^Local file ${file} changed while it was stored as "landing/cut/growing.bin" \\(${size} bytes modified .* when the copy began, \\d+ bytes read; ${size / 2} bytes modified .* now\\); nothing was stored under "landing/cut/growing.bin"`));
  expect(cut).toBe(true);
  expect(await head('landing/cut/growing.bin')).toBeUndefined();
}

describe('landing zone', () => {
  it('uploads, lists and batch-ingests landing files on the local store', async () => {
    const fx = await openIngestFixture();
    try {
      await landAndIngest(fx);
      await expect(fx.ingestion.upload([join(fx.dir, 'jan.csv')], 'elsewhere/')).rejects.toThrow(/landing zone/);
      await landingStates(fx);
    } finally {
      await fx.close();
    }
  });

  it('a replay of a file\'s quarantined rows does not make the file, replaced since its ingest, loaded again', async () => {
    const fx = await openIngestFixture();
    try {
      await fx.ingestion.upload([await fx.file('r.csv', 'id,v\n1,a\nx,b\n')], 'landing/replayed/');
      await fx.ingestion.ingest('landing/replayed/r.csv', 'bronze.landing_replayed', { types: { id: 'BIGINT' } });
      // Same size, other content: only the modification time tells.
      await fx.ingestion.upload([await fx.file('r.csv', 'id,v\n2,a\ny,b\n')], 'landing/replayed/r.csv', { overwrite: true });
      expect(await fx.ingestion.replayRejects('bronze.landing_replayed')).toMatchObject({ replayed: 0, stillRejected: 1 });
      expect((await fx.ingestion.listLanding('landing/replayed/')).map((e) => [e.state, e.lastStatus])).toEqual([['changed', 'success']]);
    } finally {
      await fx.close();
    }
  });

  it('lists a prefix as the folder it names, or the one file whose key it is', async () => {
    const fx = await openIngestFixture();
    try {
      const file = await fx.file('z.csv', 'id\n1\n');
      await fx.ingestion.upload([file], 'landing/sales/');
      await fx.ingestion.upload([file], 'landing/sales-old/');
      const keys = async (prefix: string) => (await fx.ingestion.listLanding(prefix)).map((e) => e.key);
      expect(await keys('landing/sales')).toEqual(['landing/sales/z.csv']);
      expect(await keys('landing/sales/')).toEqual(['landing/sales/z.csv']);
      expect(await keys('landing/sales/z.csv')).toEqual(['landing/sales/z.csv']);
      expect(await keys('landing')).toEqual(['landing/sales-old/z.csv', 'landing/sales/z.csv']);
    } finally {
      await fx.close();
    }
  });

  it('reports an upload\'s bytes as they are copied, not only at its start and end', async () => {
    const fx = await openIngestFixture();
    try {
      await uploadProgress(fx, (file, onProgress) => fx.ingestion.upload([file], 'landing/big/', { onProgress }), 4 * 2 ** 20);
      expect((await fx.ingestion.listLanding('landing/big/')).map((e) => [e.key, e.size])).toEqual([['landing/big/big.bin', 4 * 2 ** 20]]);
    } finally {
      await fx.close();
    }
  });

  it('refuses to land a file that is cut short while it is uploaded', async () => {
    const fx = await openIngestFixture();
    try {
      await refusesFileChangedWhileUploaded(fx, (file, onProgress) => fx.ingestion.upload([file], 'landing/cut/', { onProgress }), (key) => fx.rat.store.head(key), 4 * 2 ** 20);
    } finally {
      await fx.close();
    }
  });

  it('says which files landed when an upload of several fails part-way', async () => {
    const fx = await openIngestFixture();
    try {
      const files = [await fx.file('p1.csv', 'id\n1\n'), await fx.file('p2.csv', 'id\n2\n'), await fx.file('p3.csv', 'id\n3\n')];
      // The second file goes away once the first has landed.
      const failed = fx.ingestion.upload(files, 'landing/part/', { onProgress: (e) => e.file === files[0] && e.bytesDone === e.bytesTotal && unlinkSync(files[1]!) });
      await expect(failed).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
      await expect(failed).rejects.toThrow(
        `Local file ${files[1]} to store as "landing/part/p2.csv" does not exist; 1 of 3 files were uploaded before it (landing/part/p1.csv), 2 not (${files[1]}, ${files[2]}): upload those, or the whole upload again with --overwrite (SDK: overwrite: true)`,
      );
      expect((await fx.ingestion.listLanding('landing/part/')).map((e) => e.key)).toEqual(['landing/part/p1.csv']);
    } finally {
      await fx.close();
    }
  });

  it('refuses uploads that would replace one of their own files or make a key both a file and a folder', async () => {
    const fx = await openIngestFixture();
    try {
      await refusesClashingUploads(fx);
    } finally {
      await fx.close();
    }
  });

  describe('on S3', () => {
    let server: S3TestServer;
    let home: string;
    beforeAll(async () => {
      server = await startS3Server({ bucket: 'rat-landing' });
      home = await mkdtemp(join(tmpdir(), 'rat-ingest-s3-'));
    });
    afterAll(async () => {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    });

    it('uploads, lists and batch-ingests landing files in the bucket', async () => {
      const fx = await openIngestFixture({
        storage: {
          type: 's3',
          endpoint: server.endpoint,
          region: server.region,
          bucket: server.bucket,
          prefix: 'lake',
          forcePathStyle: true,
          accessKeyId: server.accessKeyId,
          secretAccessKey: server.secretAccessKey,
          cacheDir: join(home, 'cache'),
          stagingRoot: join(home, 'staging'),
        },
      });
      try {
        expect(fx.rat.store.kind).toBe('s3');
        await landAndIngest(fx);
        expect(await fx.rat.store.exists('landing/sales/jan.csv')).toBe(true);
        await refusesClashingUploads(fx);
        await landingStates(fx);
      } finally {
        await fx.close();
      }
    });

    it('reports a multipart upload\'s bytes part by part', async () => {
      const fx = await openIngestFixture();
      try {
        const options = { endpoint: server.endpoint, region: server.region, bucket: server.bucket, prefix: 'progress', forcePathStyle: true, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, cacheDir: join(home, 'progress-cache'), stagingRoot: join(home, 'progress-staging') };
        const store = createS3Store(options, { partSizeBytes: 5 * 2 ** 20 });
        await uploadProgress(fx, (file, onProgress) => uploadToLanding(store, [file], 'landing/big/', { onProgress }), 16 * 2 ** 20);
        expect((await store.head('landing/big/big.bin'))?.size).toBe(16 * 2 ** 20);
      } finally {
        await fx.close();
      }
    });

    it('refuses to land a file that is cut short while its multipart upload runs', async () => {
      const fx = await openIngestFixture();
      try {
        const options = { endpoint: server.endpoint, region: server.region, bucket: server.bucket, prefix: 'cut', forcePathStyle: true, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, cacheDir: join(home, 'cut-cache'), stagingRoot: join(home, 'cut-staging') };
        const store = createS3Store(options, { partSizeBytes: 5 * 2 ** 20 });
        // Cut when the first part is stored: by then the upload has read at most its 4 parts in flight, 20 MiB of the 32.
        await refusesFileChangedWhileUploaded(fx, (file, onProgress) => uploadToLanding(store, [file], 'landing/cut/', { onProgress }), (key) => store.head(key), 32 * 2 ** 20);
      } finally {
        await fx.close();
      }
    });

    it('keeps stderr free of the AWS SDK\'s Node version warning (Node < 22) when a rat command uses S3', async () => {
      const s3Env = { RAT_S3_BUCKET: server.bucket, RAT_S3_ENDPOINT: server.endpoint, RAT_S3_REGION: server.region, RAT_S3_ACCESS_KEY_ID: server.accessKeyId, RAT_S3_SECRET_ACCESS_KEY: server.secretAccessKey, RAT_S3_PREFIX: 'cli' };
      // This process's own S3 clients set the SDK's switch: the command must not inherit it.
      const run = await rat(join(home, 'cli-home'), ['landing'], { ...s3Env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
    });

    it('lists a file replaced within the second of its ingest as changed, though S3 dates it in whole seconds', async () => {
      const storage = { type: 's3', endpoint: server.endpoint, region: server.region, bucket: server.bucket, prefix: 'second', forcePathStyle: true, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } as const;
      const fx = await openIngestFixture({ storage: { ...storage, cacheDir: join(home, 'second-cache'), stagingRoot: join(home, 'second-staging') } });
      try {
        // Until the replacement falls in the second of the ingest (S3's clock decides): the case whole seconds cannot tell apart.
        for (let attempt = 0; attempt < 5; attempt++) {
          await fx.ingestion.upload([await fx.file('same.csv', `id\n${attempt}1\n`)], 'landing/sec/same.csv', { overwrite: true });
          expect((await fx.ingestion.ingestBatch('landing/sec/', 'bronze.sec', { skipExisting: true })).files.map((f) => f.status)).toEqual(['success']);
          await fx.ingestion.upload([await fx.file('same.csv', `id\n${attempt}2\n`)], 'landing/sec/same.csv', { overwrite: true });
          const [entry] = await fx.ingestion.listLanding('landing/sec/');
          if (entry!.modified.getTime() > entry!.lastIngestedAt!.getTime()) continue;
          expect(entry!.state).toBe('changed');
          return;
        }
        throw new Error('no replacement fell in the second of its ingest in 5 attempts');
      } finally {
        await fx.close();
      }
    });

    it('says which variables to set when no S3 credentials are configured anywhere', async () => {
      const s3Env = { RAT_S3_BUCKET: server.bucket, RAT_S3_ENDPOINT: server.endpoint, RAT_S3_PREFIX: 'nocreds' };
      // Nothing for the SDK's chain to find: no variables, no profile, no instance metadata.
      const none = { RAT_S3_ACCESS_KEY_ID: undefined, RAT_S3_SECRET_ACCESS_KEY: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_EC2_METADATA_DISABLED: 'true', HOME: join(home, 'empty-home') };
      const run = await rat(join(home, 'nocreds-home'), ['landing'], { ...s3Env, ...none });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('CredentialsProviderError');
      expect(run.stderr).toContain('No S3 credentials were found: set RAT_S3_ACCESS_KEY_ID and RAT_S3_SECRET_ACCESS_KEY');
    });

    it('reads a landing file another writer replaced as it is now, not from the copy cached at the last ingest', async () => {
      const storage = { type: 's3', endpoint: server.endpoint, region: server.region, bucket: server.bucket, prefix: 'replaced', forcePathStyle: true, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } as const;
      const fx = await openIngestFixture({ storage: { ...storage, cacheDir: join(home, 'replaced-cache'), stagingRoot: join(home, 'replaced-staging') } });
      const otherWriter = createS3Store({ ...storage, cacheDir: join(home, 'other-cache'), stagingRoot: join(home, 'other-staging') });
      try {
        await fx.ingestion.upload([await fx.file('daily.csv', 'day,amount\n2026-01-01,10\n')], 'landing/st/');
        expect((await fx.ingestion.ingest('landing/st/', 'bronze.st', { skipExisting: true })).rowsIngested).toBe(1);
        await otherWriter.put('landing/st/daily.csv', 'day,amount\n2026-01-01,10\n2026-01-02,20\n2026-01-03,30\n');
        const again = await fx.ingestion.ingest('landing/st/', 'bronze.st', { skipExisting: true });
        expect(again.files.map((f) => [f.status, f.rowsIngested])).toEqual([['success', 3]]);
      } finally {
        await fx.close();
      }
    });
  });
});
