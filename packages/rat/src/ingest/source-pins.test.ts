import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

/** Over 8 MiB, so that the probe reports its hashing part way through: the moment another writer replaces the file. */
const ORIGINAL_ROWS = 200_000;
const csv = (rows: number) => `id,v\n${Array.from({ length: rows }, (_, i) => `${i},${'x'.repeat(50)}`).join('\n')}\n`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('a source file replaced while it is ingested', () => {
  let fx: IngestFixture;
  beforeEach(async () => {
    fx = await openIngestFixture();
  });
  afterEach(async () => {
    await fx.close();
  });

  /** Ingests `spec` with skip-existing, moving `replacement` over `live` (as a producer's atomic rename) while the probe hashes it. */
  async function ingestReplacing(spec: string, live: string, replacement: string) {
    let replaced = false;
    const report = await fx.ingestion.ingest(spec, 'bronze.race', {
      skipExisting: true,
      onProgress: (event) => {
        if (event.phase !== 'hashing' || replaced) return;
        replaced = true;
        renameSync(replacement, live);
      },
    });
    expect(replaced).toBe(true);
    return report;
  }

  it('a landing file: the registry holds the hash of the bytes whose rows were committed', async () => {
    const original = csv(ORIGINAL_ROWS);
    expect(original.length).toBeGreaterThan(8 * 2 ** 20);
    await fx.ingestion.upload([await fx.file('a.csv', original)], 'landing/race/');
    const live = await fx.rat.store.localPath('landing/race/a.csv');
    const report = await ingestReplacing('landing/race/a.csv', live, await fx.file('b.csv', csv(1000)));
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: ORIGINAL_ROWS });
    const [entry] = await fx.ingestion.registry({ filePath: 'landing/race/a.csv' });
    expect([entry!.fileHash, entry!.rowsIngested]).toEqual([sha256(original), ORIGINAL_ROWS]);
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.race')).toEqual([{ n: ORIGINAL_ROWS }]);
    // The replacement is new content under the same key: the next batch loads it.
    const next = await fx.ingestion.ingest('landing/race/a.csv', 'bronze.race', { skipExisting: true });
    expect(next.files[0]).toMatchObject({ status: 'success', rowsIngested: 1000 });
  });

  it('a file named through a relative symbolic link is read from its target, under the name it was given (as a custom parser sees it)', async () => {
    await fx.file('target.csv', 'id\n1\n2\n');
    symlinkSync('target.csv', join(fx.dir, 'latest.csv'));
    const seen: string[] = [];
    const report = await fx.ingestion.ingest(join(fx.dir, 'latest.csv'), 'bronze.linked', {
      parser: async function* (input) {
        seen.push(basename(input.path));
        for await (const line of input.lines()) if (/^\d+$/.test(line)) yield { id: Number(line) };
      },
    });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(seen).toEqual(['latest.csv']);
  });

  // A file on another filesystem than the home (tmpfs) cannot be linked: its identity is checked after the read.
  const otherFilesystem = (() => {
    try {
      return statSync('/dev/shm').dev !== statSync(import.meta.dirname).dev;
    } catch {
      return false;
    }
  })();
  it.skipIf(!otherFilesystem)('a local file that cannot be pinned fails, naming it, and nothing of it is committed', async () => {
    const dir = mkdtempSync('/dev/shm/rat-pins-');
    try {
      const live = join(dir, 'a.csv');
      writeFileSync(live, csv(ORIGINAL_ROWS));
      const replacement = join(dir, 'b.csv.new');
      writeFileSync(replacement, csv(1000));
      await fx.rat.sql('CREATE TABLE bronze.race (id BIGINT, v VARCHAR)');
      const report = await ingestReplacing(live, live, replacement);
      expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'COMMIT_CONFLICT' });
      expect(report.files[0]!.error).toContain(`${live}: the file changed while it was ingested`);
      expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.race')).toEqual([{ n: 0 }]);
      // Retried by the next batch, as it is now.
      const next = await fx.ingestion.ingest(live, 'bronze.race', { skipExisting: true });
      expect(next.files[0]).toMatchObject({ status: 'success', rowsIngested: 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
