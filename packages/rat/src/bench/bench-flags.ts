import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.js';

/**
 * Flags of the query suite that the catalog suites (commit, branch) accept and ignore, so that
 * `npm run bench -- --home DIR` still works when it runs every suite.
 */
export const QUERY_ONLY_OPTIONS = {
  home: { type: 'string' },
  overhead: { type: 'string' },
  regenerate: { type: 'boolean', default: false },
} as const;

/** Flags every catalog suite takes. */
export const CATALOG_SUITE_OPTIONS = {
  json: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  warmup: { type: 'string' },
  threads: { type: 'string' },
  'database-url': { type: 'string' },
  'no-write': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  ...QUERY_ONLY_OPTIONS,
} as const;

export function positiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ValidationError('INVALID_ARGUMENT', `${flag} must be a positive integer, got "${text}"`);
  return value;
}

export function threadsFlag(text: string | undefined): number {
  return text === undefined ? availableParallelism() : positiveInt('--threads', text);
}

/** The repository root (BENCHMARKS.md, bench-data/), from the built file's location in packages/rat/dist/bench. */
export function repositoryRoot(): string {
  return fileURLToPath(new URL('../../../../', import.meta.url));
}

/** Progress goes to stderr, so that --json output stays machine-readable. */
export function progressLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** --database-url, else RAT_BENCH_POSTGRES_URL, else none (a throwaway cluster is started). */
export function postgresUrlFlag(flag: string | undefined): string | undefined {
  return flag ?? (process.env.RAT_BENCH_POSTGRES_URL?.trim() || undefined);
}
