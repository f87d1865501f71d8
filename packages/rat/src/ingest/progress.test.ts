import { describe, expect, it } from 'vitest';
import type { DuckDb } from '../engine/duckdb.js';
import { type IngestProgress, rowsProducedReporter, withDuckDbProgress, withHeartbeat } from './progress.js';

describe('withHeartbeat', () => {
  const event = { file: 'f.ndjson', phase: 'inferring', bytesTotal: 1000 } as const;

  it('reports a step that gives no progress while it runs, then its end, and nothing after', async () => {
    const events: IngestProgress[] = [];
    const result = await withHeartbeat((e) => events.push(e), event, () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 700)));
    expect(result).toBe('done');
    const count = events.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(events.slice(0, -1).every((e) => e.bytesDone === 0 && e.indeterminate)).toBe(true);
    expect(events.at(-1)).toEqual({ ...event, bytesDone: 1000, indeterminate: true });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events).toHaveLength(count);
  });

  it('passes the error on, reports no end and stops beating', async () => {
    const events: IngestProgress[] = [];
    await expect(withHeartbeat((e) => events.push(e), event, () => new Promise((_, reject) => setTimeout(() => reject(new Error('not JSON')), 300)))).rejects.toThrow('not JSON');
    const count = events.length;
    expect(events.every((e) => e.bytesDone === 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events).toHaveLength(count);
  });

  it('runs the work alone when nobody listens', async () => {
    expect(await withHeartbeat(undefined, event, async () => 42)).toBe(42);
  });
});

describe('rowsProducedReporter', () => {
  it("reports a parser's rows at most once a poll, with no total, and its end with the file's bytes", async () => {
    const events: IngestProgress[] = [];
    const report = rowsProducedReporter((e) => events.push(e), { file: 'r.txt', bytesTotal: 2 })!;
    for (let n = 1; n <= 1000; n++) report(n);
    expect(events).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    report(1001);
    report(1002, true);
    expect(events).toEqual([
      { file: 'r.txt', phase: 'parsing', bytesDone: 0, bytesTotal: 2, rowsDone: 1001 },
      { file: 'r.txt', phase: 'parsing', bytesDone: 2, bytesTotal: 2, rowsDone: 1002 },
    ]);
  });
});

describe('withDuckDbProgress', () => {
  it('reports a compressed read short of its total until the work ends, and rows when counted in rows', async () => {
    // DuckDB's share: 40%, then 100% while the statement still finishes (a gzip read does that for seconds).
    const progress = { percentage: 40 };
    const duck = { run: async () => undefined, connection: { progress } } as unknown as DuckDb;
    const event = { file: 'big.csv.gz', phase: 'reading', bytesTotal: 1000, compressed: true, rowsTotal: 500 } as const;
    const events: IngestProgress[] = [];
    let finish: () => void = () => undefined;
    // The work ends after the third poll's event, whatever the machine's load: the polls, not the clock, set the pace.
    const work = () => new Promise<void>((resolve) => (finish = resolve));
    const report = (e: IngestProgress) => {
      events.push(e);
      if (events.length === 1) progress.percentage = 100;
      if (events.length === 3) finish();
    };
    await withDuckDbProgress(duck, report, event, work);
    expect(events.slice(0, -1)).toEqual([
      { ...event, bytesDone: 400, rowsDone: 200 },
      // At DuckDB's 100% the work has not ended: one short of each total, reported again each poll (compressed),
      // with the rows it read ahead still to parse.
      { ...event, bytesDone: 999, rowsDone: 499, readAhead: true },
      { ...event, bytesDone: 999, rowsDone: 499, readAhead: true },
    ]);
    expect(events.at(-1)).toEqual({ ...event, bytesDone: 1000, rowsDone: 500 });
  });
});

describe('withDuckDbProgress polling', () => {
  /** DuckDB's progress held at 40%: what a gzip read shows for seconds while it decompresses what it has read. */
  const stalled = { run: async () => undefined, connection: { progress: { percentage: 40 } } } as unknown as DuckDb;
  const work = () => new Promise((resolve) => setTimeout(resolve, 900));

  it('keeps reporting a compressed read while its share stands still, so the time so far keeps showing', async () => {
    const events: IngestProgress[] = [];
    await withDuckDbProgress(stalled, (e) => events.push(e), { file: 'f.csv.gz', phase: 'reading', bytesTotal: 1000, compressed: true }, work);
    const running = events.slice(0, -1);
    expect(running.length).toBeGreaterThanOrEqual(2);
    expect(running.every((e) => e.bytesDone === 400 && e.compressed)).toBe(true);
  });

  it('says a compressed read whose bytes stand still for four polls parses what it read ahead, until they move again', async () => {
    const progress = { percentage: 40 };
    const duck = { run: async () => undefined, connection: { progress } } as unknown as DuckDb;
    const events: IngestProgress[] = [];
    let finish: () => void = () => undefined;
    // The polls, not the clock, set the pace: 40% for six events, then 60%, then the end.
    const report = (e: IngestProgress) => {
      events.push(e);
      if (events.length === 6) progress.percentage = 60;
      if (events.length === 7) finish();
    };
    await withDuckDbProgress(duck, report, { file: 'f.csv.gz', phase: 'reading', bytesTotal: 1000, compressed: true }, () => new Promise<void>((resolve) => (finish = resolve)));
    expect(events.map((e) => [e.bytesDone, e.readAhead ?? false])).toEqual([
      [400, false],
      [400, false],
      [400, false],
      [400, false],
      [400, true],
      [400, true],
      [600, false],
      [1000, false],
    ]);
  });

  it('reports an uncompressed read only when its share moves', async () => {
    const events: IngestProgress[] = [];
    await withDuckDbProgress(stalled, (e) => events.push(e), { file: 'f.csv', phase: 'reading', bytesTotal: 1000 }, work);
    expect(events.map((e) => e.bytesDone)).toEqual([400, 1000]);
  });
});
