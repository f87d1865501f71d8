import { describe, expect, it } from 'vitest';
import { type IngestProgress, withHeartbeat } from './progress.js';

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
