import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBytes } from './commands/maintain.js';
import { catalogEnv } from '../catalog/test-support/test-catalog.js';

const bin = resolve(import.meta.dirname, '../../bin/rat.js');

describe('rat maintain', () => {
  let home: string;
  const rat = (...args: string[]) => spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8', env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(home) } });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'rat-maintain-cli-'));
    expect(rat('sql', 'CREATE TABLE bronze.m (id BIGINT)').status).toBe(0);
    for (let i = 0; i < 3; i++) expect(rat('sql', `INSERT INTO bronze.m VALUES (${i})`).status).toBe(0);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('prints a table per table, and JSON with --json; --dry-run changes nothing', () => {
    const dry = rat('maintain', '--retain', '0', '--grace', '0', '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^table\s+\| branches \| expired_snapshots \| orphans_removed \| orphan_bytes \| files_compacted \| new_files \| notes/);
    expect(dry.stdout).toMatch(/bronze\.m\s+\| main\s+\| 2\s+\| \d+\s+\| \d+\s+\| 3\s+\| NULL/);
    expect(dry.stdout).toContain('dry run: nothing was changed or deleted');

    const run = rat('--json', 'maintain', 'bronze.m', '--retain', '0', '--grace', '0');
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { dryRun: boolean; tables: { table: string; expiredSnapshots: number; filesCompacted: number; newFiles: number }[]; orphans: { filesRemoved: number } };
    expect(report.dryRun).toBe(false);
    expect(report.tables).toEqual([expect.objectContaining({ branch: 'main', table: 'bronze.m', expiredSnapshots: 3, filesCompacted: 3, newFiles: 1 })]);
    expect(report.orphans.filesRemoved).toBeGreaterThan(0);
    expect(rat('sql', 'SELECT count(*) AS n FROM bronze.m').stdout).toContain('3');
  });

  it('removes cached copies of S3 objects unused within the grace period, and says so', async () => {
    const cache = join(home, 'cache');
    const hash = 'ab'.repeat(32);
    const unused = join(cache, 'v2', 'ab', hash, 'orders.csv');
    const firstLayout = join(cache, 'lake', 'landing', 'old.csv');
    const recent = join(cache, 'v2', 'cd', 'cd'.repeat(32), 'recent.csv');
    for (const file of [unused, firstLayout, recent]) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'id\n1\n');
    }
    await writeFile(join(cache, 'v2', 'ab', `${hash}.json`), '{"etag":"x","size":5}');
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    for (const path of [unused, dirname(unused), firstLayout, dirname(firstLayout), join(cache, 'lake', 'landing'), join(cache, 'lake')]) await utimes(path, twoHoursAgo, twoHoursAgo);

    const run = rat('maintain', '--no-compact', '--no-expire', '--grace', '1h');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(', 2 cached copies of S3 objects (10 bytes)');
    expect(existsSync(unused)).toBe(false);
    expect(existsSync(join(cache, 'v2', 'ab', `${hash}.json`))).toBe(false);
    expect(existsSync(join(cache, 'lake'))).toBe(false);
    expect(existsSync(recent)).toBe(true);
  });

  it('refuses a bad duration with one line naming the option', () => {
    const run = rat('maintain', '--grace', 'soon');
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('rat: INVALID_ARGUMENT: --grace "soon" is not a duration: use e.g. 7d, 12h, 30m, 45s or 0');
  });

  it('parses sizes', () => {
    expect(parseBytes('32MiB', '--small-file-size')).toBe(32 * 1024 * 1024);
    expect(parseBytes('1000', '--small-file-size')).toBe(1000);
    expect(() => parseBytes('big', '--target-file-size')).toThrow(/--target-file-size "big" is not a size/);
  });
});
