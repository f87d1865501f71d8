import type { Json } from '@duckdb/node-api';
import { ValidationError } from '../core/errors.js';

export type Rows = Record<string, Json>[];

export interface PairedQuery {
  name: string;
  ratSql: string;
  rawSql: string;
}

/** One way of running the queries: rat, raw DuckDB, or a second raw DuckDB as an A/A control. */
export interface BenchSide {
  name: string;
  run(query: PairedQuery): Promise<Rows>;
  /** Called after each run, outside the timed span (e.g. to collect scan records). */
  after?(query: PairedQuery): void;
}

export interface QuerySamples {
  name: string;
  /** Wall times of the timed rounds, by side name. */
  ms: Record<string, number[]>;
}

export interface InterleavedRunInput {
  queries: readonly PairedQuery[];
  sides: readonly BenchSide[];
  warmupRounds: number;
  rounds: number;
  progress(line: string): void;
}

/**
 * Runs every query once per side per round, the sides back to back, with their order rotating by
 * round and query, so drift in the machine (caches, frequency, other load) hits every side alike.
 * Warm-up rounds are not timed; their results are compared with the first side's, so a faster wrong
 * answer cannot pass.
 */
export async function runInterleaved(input: InterleavedRunInput): Promise<QuerySamples[]> {
  const { sides } = input;
  const samples: QuerySamples[] = input.queries.map((q) => ({ name: q.name, ms: Object.fromEntries(sides.map((side) => [side.name, [] as number[]])) }));
  const total = input.warmupRounds + input.rounds;
  for (let round = 0; round < total; round++) {
    const warmup = round < input.warmupRounds;
    for (const [index, query] of input.queries.entries()) {
      const shift = (round + index) % sides.length;
      const order = [...sides.slice(shift), ...sides.slice(0, shift)];
      const runs = new Map<string, { ms: number; rows: Rows }>();
      for (const side of order) {
        runs.set(side.name, await timed(() => side.run(query)));
        side.after?.(query);
      }
      if (warmup) {
        const reference = runs.get(sides[0]!.name)!.rows;
        for (const side of sides.slice(1)) {
          const difference = firstDifference(reference, runs.get(side.name)!.rows);
          if (difference) throw new ValidationError('INVALID_ARGUMENT', `query ${query.name}: ${sides[0]!.name} and ${side.name} disagree (${difference})`);
        }
      } else {
        for (const side of sides) samples[index]!.ms[side.name]!.push(runs.get(side.name)!.ms);
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
