import type { Json } from '@duckdb/node-api';
import { ValidationError } from '../core/errors.js';

export type Rows = Record<string, Json>[];

export interface PairedQuery {
  name: string;
  ratSql: string;
  rawSql: string;
}

export interface QuerySamples {
  name: string;
  ratMs: number[];
  rawMs: number[];
}

export interface InterleavedRunInput {
  queries: readonly PairedQuery[];
  rat(sql: string): Promise<Rows>;
  raw(sql: string): Promise<Rows>;
  /** Called after each rat run (outside the timed span), e.g. to collect its scan records. */
  afterRat?(query: PairedQuery, round: number): void;
  warmupRounds: number;
  rounds: number;
  progress(line: string): void;
}

/**
 * Runs every query once per side per round, rat and raw back to back with the order alternating
 * by round and query, so drift in the machine (caches, frequency, other load) hits both sides
 * alike. Warm-up rounds are not timed; their results are compared so a faster wrong answer cannot pass.
 */
export async function runInterleaved(input: InterleavedRunInput): Promise<QuerySamples[]> {
  const samples = input.queries.map((q) => ({ name: q.name, ratMs: [] as number[], rawMs: [] as number[] }));
  const total = input.warmupRounds + input.rounds;
  for (let round = 0; round < total; round++) {
    const warmup = round < input.warmupRounds;
    for (const [index, query] of input.queries.entries()) {
      const ratFirst = (round + index) % 2 === 0;
      let ratRun: { ms: number; rows: Rows } | undefined;
      let rawRun: { ms: number; rows: Rows } | undefined;
      for (const side of ratFirst ? (['rat', 'raw'] as const) : (['raw', 'rat'] as const)) {
        if (side === 'rat') {
          ratRun = await timed(() => input.rat(query.ratSql));
          input.afterRat?.(query, round);
        } else {
          rawRun = await timed(() => input.raw(query.rawSql));
        }
      }
      if (warmup) {
        const difference = firstDifference(ratRun!.rows, rawRun!.rows);
        if (difference) throw new ValidationError('INVALID_ARGUMENT', `query ${query.name}: rat and raw DuckDB disagree (${difference})`);
      } else {
        samples[index]!.ratMs.push(ratRun!.ms);
        samples[index]!.rawMs.push(rawRun!.ms);
      }
    }
    const label = warmup ? `warm-up ${round + 1}/${input.warmupRounds}` : `round ${round - input.warmupRounds + 1}/${input.rounds}`;
    input.progress(`bench: ${label} done`);
  }
  return samples;
}

async function timed(run: () => Promise<Rows>): Promise<{ ms: number; rows: Rows }> {
  const started = performance.now();
  const rows = await run();
  return { ms: performance.now() - started, rows };
}

/**
 * A description of the first cell where two results differ, or undefined when they match. Doubles
 * are compared with a relative tolerance: parallel sums add in a different order on every run. A
 * 64-bit integer may arrive as a string on one side and a number on the other (rat turns the ones
 * that fit a double into numbers); both are compared as numbers.
 */
export function firstDifference(a: Rows, b: Rows): string | undefined {
  if (a.length !== b.length) return `${a.length} rows vs ${b.length} rows`;
  for (const [i, row] of a.entries()) {
    const other = b[i]!;
    const columns = Object.keys(row);
    if (columns.join(',') !== Object.keys(other).join(',')) return `row ${i}: columns ${columns.join(',')} vs ${Object.keys(other).join(',')}`;
    for (const column of columns) {
      const x = asNumber(row[column]!);
      const y = asNumber(other[column]!);
      if (typeof x === 'number' && typeof y === 'number') {
        if (Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))) return `row ${i} ${column}: ${x} vs ${y}`;
      } else if (JSON.stringify(x) !== JSON.stringify(y)) {
        return `row ${i} ${column}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
      }
    }
  }
  return undefined;
}

function asNumber(value: Json): Json {
  return typeof value === 'string' && /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : value;
}
