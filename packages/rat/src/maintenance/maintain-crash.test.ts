import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogEnv, catalogOptions } from '../catalog/test-support/test-catalog.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import { assertSdkBuilt, eventsOf, spawnSqlWorker, type SqlWorker } from '../engine/test-support/sql-worker-process.js';
import { auditTable } from '../engine/test-support/table-audit.js';
import { maintain } from './maintain.js';
import { reachableKeys } from './orphan-files.js';
import { createLakeFixture, rowsOf } from './test-support/lake-fixture.js';

/**
 * `rat maintain` (compaction, snapshot expiry, orphan removal over every branch) is killed with
 * SIGKILL at random moments and at chosen points of its work, over a lake with three tables, two
 * branches and a tag, fresh small files and snapshots to expire each time. After each kill every ref
 * reads the rows it read before and every file any ref reaches is there and parses; a second maintain
 * then removes what the killed one left: no unreferenced file, no staging leftover.
 */

const RANDOM_TRIALS = 4;
const TABLES = ['bronze.a', 'silver.b', 'gold.c'];
const WORKER = fileURLToPath(new URL('./test-support/maintain-worker.mjs', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/rat.js', import.meta.url));
/** Expire every snapshot no ref holds, and treat every unreferenced file as old enough to go. */
const SETTINGS = { retainMs: 0, graceMs: 0 };
const CLOCK_SHIFT_MS = 60_000;

/** mulberry32: seeded, so a failing run can be repeated with RAT_CRASH_SEED. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Pause {
  operation: 'put' | 'delete';
  match: string;
  nth: number;
  what: string;
}

describe('rat maintain killed with SIGKILL', () => {
  const fixture = createLakeFixture();
  const workers: SqlWorker[] = [];
  const seed = Number(process.env.RAT_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);

  beforeAll(assertSdkBuilt);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await fixture.cleanup();
  });

  function spawnWorker(): SqlWorker {
    const worker = spawnSqlWorker(WORKER);
    workers.push(worker);
    return worker;
  }

  it(`keeps every ref's rows and files, and a second run removes its leftovers (${RANDOM_TRIALS} random kills, 3 at chosen points)`, async () => {
    const home = await fixture.home();
    const main = await fixture.open(home);
    let id = 0;
    const insert = (lake: Lakehouse, table: string) => lake.sql(`INSERT INTO ${table} VALUES (${++id}, 'r${id}'), (${++id}, 'r${id}')`);
    for (const table of TABLES) {
      await main.sql(`CREATE TABLE ${table} (id BIGINT, v VARCHAR)`);
      for (let i = 0; i < 2; i++) await insert(main, table);
    }
    await main.catalog.refs.create('branch', 'dev');
    await main.catalog.refs.create('tag', 'v1');
    const refs = new Map<string, Lakehouse>([
      ['main', main],
      ['dev', await fixture.open(home, 'dev')],
      ['v1', await fixture.open(home, 'v1')],
    ]);
    const dev = refs.get('dev')!;

    /** New small files and snapshots on both branches (the tag keeps its old ones reachable). */
    async function work(trial: number): Promise<void> {
      for (const table of TABLES) for (let i = 0; i < 2; i++) await insert(main, table);
      await insert(dev, 'bronze.a');
      await insert(dev, 'bronze.a');
      await dev.sql(`UPDATE silver.b SET v = 'u${trial}' WHERE id % 2 = 0`);
      await dev.sql(`DELETE FROM gold.c WHERE id % 5 = ${trial % 5}`);
    }

    async function rowsByRef(): Promise<Record<string, string[]>> {
      const out: Record<string, string[]> = {};
      for (const [ref, lake] of refs) for (const table of TABLES) out[`${ref} ${table}`] = await rowsOf(lake, table);
      return out;
    }

    /** Files under warehouse/ that no ref reaches. */
    async function unreferenced(): Promise<string[]> {
      const reachable = await reachableKeys(main.catalog);
      const out: string[] = [];
      for await (const info of main.store.list('warehouse/')) if (!reachable.has(info.key)) out.push(info.key);
      return out;
    }

    async function expectIntact(before: Record<string, string[]>, context: string, audit = true): Promise<void> {
      expect(await rowsByRef(), context).toEqual(before);
      const missing: string[] = [];
      for (const key of await reachableKeys(main.catalog)) if (!(await main.store.exists(key))) missing.push(key);
      expect(missing, context).toEqual([]);
      // Every file each ref's tables reference parses, and each data file holds its recorded rows.
      if (audit) for (const lake of refs.values()) for (const table of TABLES) await auditTable(lake, table);
    }

    async function expectClean(context: string): Promise<void> {
      expect(await unreferenced(), `${context}: unreferenced files after the second maintain`).toEqual([]);
      const staging = await readdir(path.join(home, 'staging')).catch(() => [] as string[]);
      expect(staging.filter((name) => name.startsWith('stage-')), `${context}: staging leftovers`).toEqual([]);
    }

    let next = spawnWorker();
    const job = (pause?: Pause) => ({ home, ...catalogOptions(home), options: SETTINGS, clockShiftMs: CLOCK_SHIFT_MS, ...(pause ? { pause } : {}) });

    // Trial 0 runs to the end: it checks an uninterrupted run and measures how long one takes.
    await work(0);
    let before = await rowsByRef();
    let runMs: number;
    {
      const worker = next;
      next = spawnWorker();
      await worker.waitFor('loaded');
      worker.start(job());
      await worker.waitFor('started');
      const startedAt = performance.now();
      const exit = await worker.exited;
      runMs = performance.now() - startedAt;
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      const report = eventsOf(worker.events, 'maintained')[0]!.report as { tables: { filesCompacted: number; expiredSnapshots: number }[]; orphans: { filesRemoved: number } };
      expect(report.tables.reduce((n, t) => n + t.filesCompacted, 0)).toBeGreaterThan(0);
      expect(report.tables.reduce((n, t) => n + t.expiredSnapshots, 0)).toBeGreaterThan(0);
      await expectIntact(before, 'after a complete run');
      await expectClean('after a complete run');
    }

    const trials: (Pause | undefined)[] = Array.from({ length: RANDOM_TRIALS }, () => undefined);
    // The chosen points go between the random trials; their nth is computed from a dry run of the trial's lake.
    trials.splice(1, 0, { operation: 'put', match: '.metadata.json', nth: 1, what: 'after the first compaction wrote its files, before its commit' });
    trials.splice(3, 0, { operation: 'put', match: '.metadata.json', nth: -1, what: 'after the first snapshot expiry wrote its metadata, before its commit' });
    trials.splice(6, 0, { operation: 'delete', match: 'warehouse/', nth: 2, what: 'in the middle of orphan removal' });

    let randomKills = 0;
    for (const [index, chosen] of trials.entries()) {
      const trial = index + 1;
      await work(trial);
      before = await rowsByRef();
      const worker = next;
      next = spawnWorker();
      await worker.waitFor('loaded');
      let context: string;
      if (chosen) {
        const pause = { ...chosen };
        if (pause.nth < 0) {
          // Compaction commits once per table and branch it rewrites; expiry's commits come after them.
          const dry = await maintain(main, { ...SETTINGS, nowMs: Date.now() + CLOCK_SHIFT_MS, dryRun: true });
          expect(dry.tables.some((t) => t.expiredSnapshots > 0)).toBe(true);
          pause.nth = dry.tables.filter((t) => t.filesCompacted > 0).length + 1;
        }
        context = `seed ${seed} trial ${trial}: killed ${pause.what}`;
        worker.start(job(pause));
        await worker.waitFor('paused');
      } else {
        const delay = Math.round(random() * runMs);
        context = `seed ${seed} trial ${trial}: killed ${delay} ms after maintain started (a whole run took ${Math.round(runMs)} ms)`;
        worker.start(job());
        await worker.waitFor('started');
        await Promise.race([sleep(delay), worker.exited]);
      }
      const exit = await worker.kill();
      context += ` (output: ${worker.output()})`;
      expect(eventsOf(worker.events, 'failed'), context).toEqual([]);
      if (chosen) expect(exit.signal, context).toBe('SIGKILL');
      else if (exit.signal === 'SIGKILL') randomKills += 1;
      else expect(exit, context).toEqual({ code: 0, signal: null });

      await expectIntact(before, context);
      if (chosen && chosen.operation === 'put') {
        // The killed commit's files are there, and nothing references them.
        const left = await unreferenced();
        expect(left.filter((key) => key.endsWith('.metadata.json')).length, `${context}: orphaned metadata file`).toBeGreaterThan(0);
        if (chosen.nth === 1) expect(left.filter((key) => key.endsWith('.parquet')).length, `${context}: orphaned compacted files`).toBeGreaterThan(0);
      }

      if (index === trials.length - 1) {
        // The last second run is the real CLI.
        const run = spawnSync(process.execPath, [BIN, '--home', home, '--json', 'maintain', '--retain', '0', '--grace', '0'], {
          encoding: 'utf8',
          env: { ...process.env, RAT_GIT_SYNC: '0', ...catalogEnv(home) },
        });
        expect(run.status, `${context}: rat maintain: ${run.stderr}`).toBe(0);
      } else {
        await maintain(main, { ...SETTINGS, nowMs: Date.now() + CLOCK_SHIFT_MS });
      }
      await expectIntact(before, `${context}, after a second maintain`, index === trials.length - 1);
      await expectClean(context);
    }
    // A kill lands within the length of a whole run: most random ones stop maintain before its end.
    expect(randomKills, `seed ${seed}: random trials that killed a running maintain`).toBeGreaterThan(0);
  }, 240_000);
});
