import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushWhileWriting } from './early-flush.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('flushWhileWriting', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'rat-flush-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('flushes files as they grow past the threshold, in subdirectories too, and never after the write', async () => {
    const flushes: string[] = [];
    const late: string[] = [];
    let finished = false;
    const flush = async (file: string) => {
      (finished ? late : flushes).push(path.relative(dir, file));
    };
    const result = await flushWhileWriting(
      dir,
      async () => {
        await mkdir(path.join(dir, 'p1'));
        await writeFile(path.join(dir, 'small.parquet'), Buffer.alloc(100));
        for (let i = 0; i < 4; i++) {
          await appendFile(path.join(dir, 'big.parquet'), Buffer.alloc(2048));
          await appendFile(path.join(dir, 'p1', 'part.parquet'), Buffer.alloc(2048));
          await sleep(40);
        }
        return 'written';
      },
      { intervalMs: 10, minBytes: 1024, flush },
    );
    finished = true;
    expect(result).toBe('written');
    expect(flushes).toContain('big.parquet');
    expect(flushes).toContain(path.join('p1', 'part.parquet'));
    expect(flushes).not.toContain('small.parquet');
    // Once per growth of at least minBytes: each file grew four times by 2 KiB.
    expect(flushes.filter((f) => f === 'big.parquet').length).toBeLessThanOrEqual(4);
    await appendFile(path.join(dir, 'big.parquet'), Buffer.alloc(4096));
    await sleep(50);
    expect(late).toEqual([]);
  });

  it('passes the write error on, survives files removed mid-flush, and flushes with fdatasync by default', async () => {
    const failing = flushWhileWriting(
      dir,
      async () => {
        await writeFile(path.join(dir, 'a.parquet'), Buffer.alloc(4096));
        await sleep(30);
        await rm(path.join(dir, 'a.parquet'));
        await sleep(30);
        throw new Error('COPY failed');
      },
      { intervalMs: 5, minBytes: 1024, flush: async () => void (await sleep(10)) },
    );
    await expect(failing).rejects.toThrow('COPY failed');
    const real = await flushWhileWriting(
      dir,
      async () => {
        await writeFile(path.join(dir, 'b.parquet'), Buffer.alloc(4096));
        await sleep(40);
        return 1;
      },
      { intervalMs: 5, minBytes: 1024 },
    );
    expect(real).toBe(1);
  });
});
