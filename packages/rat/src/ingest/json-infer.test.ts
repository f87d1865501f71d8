import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDb, openDuckDb } from '../engine/duckdb.js';
import { inferJsonColumns, type JsonInference, type LineSplit, memoryBytes, readTypeSql, splitLines } from './json-infer.js';

let dir: string;
let scratch: string;
let duck: DuckDb;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rat-json-infer-'));
  scratch = join(dir, 'scratch');
  await mkdir(scratch);
  // Three threads: a file large enough is inferred in three parts.
  duck = await openDuckDb({ threads: 3 });
});
afterAll(async () => {
  duck.close();
  await rm(dir, { recursive: true, force: true });
});

const OPTIONS = ["format = 'auto'", 'records = true', "compression = 'uncompressed'", 'maximum_object_size = 268435456'];
/** Parts of 64 KiB here (64 MiB in the product), so that small files are split. */
const PART = 64 * 1024;

const record = (i: number) => JSON.stringify({ id: i, at: `2024-01-${String(1 + (i % 28)).padStart(2, '0')} 10:00:00`, name: `n${i}`, nested: { x: i, tags: ['a', 'b'] }, score: i % 7 === 0 ? null : i / 4 });
const lines = (n: number, line: (i: number) => string = record) => `${Array.from({ length: n }, (_, i) => line(i)).join('\n')}\n`;

async function infer(name: string, content: string | Buffer, more: { format?: string; minPartBytes?: number; maxPartBytes?: number; options?: string[] } = {}): Promise<JsonInference> {
  const path = join(dir, name);
  await writeFile(path, content);
  const sample = Buffer.isBuffer(content) ? content.subarray(0, 64 * 1024) : Buffer.from(content.slice(0, 64 * 1024));
  return inferJsonColumns(duck, path, more.options ?? OPTIONS, more.format ?? 'auto', sample, scratch, false, more.minPartBytes ?? PART, more.maxPartBytes);
}

const described = (c: JsonInference) => c.names.map((name, i) => `${name} ${c.types[i]!.toString()}`);

describe('JSON type inference over every record', () => {
  it('infers a large newline-delimited file in parts at once, to the columns one pass over it finds', async () => {
    const text = lines(6000);
    expect(text.length).toBeGreaterThan(3 * PART);
    const parts = await infer('even.ndjson', text);
    const whole = await infer('even-whole.ndjson', text, { minPartBytes: Number.MAX_SAFE_INTEGER });
    expect(parts.parts).toBe(3);
    expect(whole.parts).toBe(1);
    expect(described(parts)).toEqual(described(whole));
    expect(described(parts)).toEqual(['id BIGINT', 'at TIMESTAMP', 'name VARCHAR', 'nested STRUCT("x" BIGINT, "tags" VARCHAR[])', 'score DOUBLE']);
    // The named pipes are gone.
    expect(await readdir(scratch)).toEqual([]);
  });

  it('infers a file of more parts than threads a few at a time, to the same columns, and stops at the first part that disagrees', async () => {
    const text = lines(6000);
    const pooled = await infer('pooled.ndjson', text, { maxPartBytes: PART });
    expect(pooled.parts).toBeGreaterThanOrEqual(8);
    expect(described(pooled)).toEqual(described(await infer('pooled-whole.ndjson', text, { minPartBytes: Number.MAX_SAFE_INTEGER })));
    const lateKey = await infer('pooled-late-key.ndjson', `${text}${JSON.stringify({ id: 6000, extra: 'x' })}\n`, { maxPartBytes: PART });
    expect(lateKey.parts).toBe(1);
    expect(described(lateKey)).toContain('extra VARCHAR');
    expect(await readdir(scratch)).toEqual([]);
  });

  it('runs more parts at once than libuv has threads (each waiting statement holds one) without waiting forever', async () => {
    // Three inferences of three parts: nine statements reading pipes, against libuv's four threads.
    const text = lines(6000);
    const all = await Promise.all(['a', 'b', 'c'].map(async (name) => {
      await mkdir(join(scratch, name));
      const path = join(dir, `together-${name}.ndjson`);
      await writeFile(path, text);
      return inferJsonColumns(duck, path, OPTIONS, 'auto', Buffer.from(text.slice(0, 64 * 1024)), join(scratch, name), false, PART);
    }));
    expect(all.map((c) => c.parts)).toEqual([3, 3, 3]);
    expect(new Set(all.map((c) => described(c).join()))).toHaveProperty('size', 1);
    for (const name of ['a', 'b', 'c']) await rm(join(scratch, name), { recursive: true });
  });

  it('takes parts whose integers differ only in sign (BIGINT or HUGEINT to DuckDB) as agreeing, and reads them as BIGINT', async () => {
    const text = lines(6000, (i) => JSON.stringify({ id: i, delta: i < 3000 ? i : -i }));
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const parts = await infer('signs.ndjson', text);
    expect(parts.parts).toBe(3);
    // Nothing left keeping the process alive: a timer waiting to stop a finished part's feeder kept every ingest's process 30 s.
    // At most as many as before: a timer of the test runner's own may end meanwhile (CI saw 1 before, 0 after).
    expect(timers()).toBeLessThanOrEqual(before);
    expect(parts.types.map((t) => readTypeSql(t))).toEqual(['BIGINT', 'BIGINT']);
    const exact = await inferJsonColumns(duck, join(dir, 'signs.ndjson'), OPTIONS, 'auto', undefined, scratch, true);
    expect(exact.parts).toBe(1);
    expect(exact.types.map((t) => readTypeSql(t, true))).toEqual(['BIGINT', 'HUGEINT']);
  });

  it('infers the whole file in one pass when the parts disagree: a key or a type first seen late is kept', async () => {
    const lateKey = await infer('late-key.ndjson', `${lines(6000)}${JSON.stringify({ id: 6000, extra: 'x' })}\n`);
    expect(lateKey.parts).toBe(1);
    expect(described(lateKey)).toContain('extra VARCHAR');
    const lateType = await infer('late-type.ndjson', lines(6000, (i) => (i < 5000 ? record(i) : JSON.stringify({ id: `id-${i}`, name: 'x' }))));
    expect(lateType.parts).toBe(1);
    expect(described(lateType)).toContain('id VARCHAR');
  });

  it('leaves a malformed line to the one pass, whose error names the file and the line', async () => {
    const text = lines(6000).split('\n');
    text[5000] = '{"id": 5000, "name": ';
    // The unfinished record runs on into the next line, where the parser gives up: line 5002 of the file, not of a part.
    await expect(infer('broken.ndjson', text.join('\n'))).rejects.toThrow(/Malformed JSON in file "[^"]*broken\.ndjson".*line 5002:/);
    // A statement that fails before it opens its pipe does not leave the pipe's writer waiting.
    await expect(infer('even-bad-option.ndjson', lines(6000), { options: [...OPTIONS, 'no_such_option = 1'] })).rejects.toThrow(/no_such_option/);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('does not split a small file, a compressed one, or one that is not a record per line', async () => {
    expect((await infer('small.ndjson', lines(10))).parts).toBe(1);
    const gz = gzipSync(Buffer.from(lines(6000)));
    const compressed = await infer('big.ndjson.gz', gz, { format: 'compressed', options: OPTIONS.map((o) => (o.startsWith('compression') ? "compression = 'gzip'" : o)) });
    expect(compressed.parts).toBe(1);
    expect(compressed.names).toContain('nested');
    const array = `[\n${Array.from({ length: 6000 }, (_, i) => record(i)).join(',\n')}\n]\n`;
    const pretty = await infer('array.json', array);
    expect(pretty.parts).toBe(1);
    expect(described(pretty)).toContain('id BIGINT');
    expect((await readFile(join(dir, 'array.json'), 'utf8')).length).toBeGreaterThan(3 * PART);
  });

  it("cuts parts at lines, no larger than the largest part, and holds no more at once than a quarter of DuckDB's memory limit", async () => {
    expect([memoryBytes('18.8 GiB'), memoryBytes('476.8 MiB'), memoryBytes('1.5 GB'), memoryBytes('512 bytes'), memoryBytes('lots')]).toEqual([18.8 * 2 ** 30, 476.8 * 2 ** 20, 1.5e9, 512, Number.NaN]);
    const text = lines(6000);
    const size = Buffer.byteLength(text);
    const path = join(dir, 'memory.ndjson');
    await writeFile(path, text);
    const sample = Buffer.from(text.slice(0, 64 * 1024));
    const expectRanges = (split: LineSplit | undefined, count: number) => {
      const parts = split!.parts;
      expect(parts).toHaveLength(count);
      expect(parts[0]![0]).toBe(0);
      expect(parts.at(-1)![1]).toBe(size);
      for (const [i, [start]] of parts.entries()) if (i > 0) expect([text[start - 1], parts[i - 1]![1]]).toEqual(['\n', start]);
    };
    // One part per thread when the parts may be that large.
    const perThread = await splitLines(duck, path, 'auto', sample, PART, size);
    expectRanges(perThread, 3);
    expect(perThread!.atOnce).toBe(3);
    // Parts of at most 2 x 64 KiB: more parts than threads, three at a time.
    const capped = await splitLines(duck, path, 'auto', sample, PART, 2 * PART);
    expectRanges(capped, Math.ceil(size / (2 * PART)));
    expect(capped!.atOnce).toBe(3);
    // A memory limit of three times the file: three parts at a time may hold three quarters of it, so each is a quarter of the file.
    await duck.run(`SET memory_limit = '${Math.floor((size * 3) / 1024)}KiB'`);
    try {
      const small = await splitLines(duck, path, 'auto', sample, PART, size);
      const [{ memory }] = (await duck.rows<{ memory: string }>(`SELECT current_setting('memory_limit') AS memory`)) as [{ memory: string }];
      const partBytes = memoryBytes(memory) / 4 / 3;
      expect(partBytes).toBeLessThan(size / 3);
      expectRanges(small, Math.ceil(size / partBytes));
      await duck.run(`SET memory_limit = '${Math.floor((PART * 11) / 1024)}KiB'`);
      expect(await splitLines(duck, path, 'auto', sample, PART, size)).toBeUndefined();
    } finally {
      await duck.run('RESET memory_limit');
    }
  });
});
