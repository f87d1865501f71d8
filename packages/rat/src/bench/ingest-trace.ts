import type { DuckDBConnection } from '@duckdb/node-api';

/** Where the time of one ingest went: DuckDB statements grouped by what they do, and JavaScript around them. */
export interface PhaseTrace {
  totalMs: number;
  phases: { name: string; ms: number; statements: number }[];
}

export interface Span {
  phase: string;
  start: number;
  end: number;
}

/** Statement kinds, first match wins; the names say what rat uses the statement for. */
const KINDS: [RegExp, string][] = [
  [/sniff_csv\(/i, 'sniff the CSV dialect (sniff_csv)'],
  [/read_json\([^)]*sample_size = -1/i, 'infer the JSON types from every record (read_json, sample_size = -1)'],
  [/^\s*COPY\s*\(/i, 'write Parquet (COPY ... TO)'],
  [/CREATE (OR REPLACE )?TEMP TABLE\s+"__rat_ingest_[0-9a-f]+"\s+AS\s+SELECT[\s\S]*read_(csv|json)/i, 'stage the rows into a temp table (read_csv/read_json)'],
  [/parquet_(file_)?metadata\(/i, 'read the written files\' footers (stats)'],
  [/_rejects|rejects_table|store_rejects/i, 'quarantine: collect rejected rows'],
  [/SELECT count\(\*\)/i, 'count rows (extra passes)'],
];

export function phaseOf(sql: string): string {
  return KINDS.find(([pattern]) => pattern.test(sql))?.[1] ?? 'other DuckDB statements (describe, settings, temp tables)';
}

const PROBE = 'probe: sha256 of the file, sample (JavaScript)';
const OTHER_JS = 'other JavaScript (planning, manifests and metadata, catalog + registry commit)';
const STORE = 'object store: copy + fsync of the data files, metadata files';
/** Statements that read the source file: the JavaScript before the first of them is the probe. */
const READS = new Set(KINDS.slice(0, 4).map(([, name]) => name));

export interface Tracer {
  /** Stops recording and splits [start, end] into phases. */
  finish(start: number, end: number): PhaseTrace;
}

/**
 * Times every statement a DuckDB connection runs (`run` and `runAndReadAll`, all that rat's ingest
 * uses) and every object store write, by replacing those methods on the objects themselves, so an
 * ingest can be split into phases without changing rat. Time outside them is JavaScript: before the
 * first statement that reads the file it is the probe (stat, sha256, sample), else planning,
 * manifests, metadata and the catalog commit.
 */
export function traceIngest(connection: DuckDBConnection, store: object): Tracer {
  const spans: Span[] = [];
  const restore: (() => void)[] = [];
  // runAndReadAll calls run: only the outermost call is a statement of its own.
  let depth = 0;
  const wrap = (target: object, method: string, phase: (args: unknown[]) => string) => {
    const object = target as Record<string, unknown>;
    const original = object[method] as (...args: unknown[]) => Promise<unknown>;
    object[method] = async (...args: unknown[]) => {
      const start = performance.now();
      depth++;
      try {
        return await original.apply(target, args);
      } finally {
        depth--;
        if (depth === 0) spans.push({ phase: phase(args), start, end: performance.now() });
      }
    };
    restore.push(() => (object[method] = original));
  };
  wrap(connection, 'run', (args) => phaseOf(String(args[0])));
  wrap(connection, 'runAndReadAll', (args) => phaseOf(String(args[0])));
  // Preparing binds the query: for read_json that includes its type inference.
  wrap(connection, 'prepare', (args) => phaseOf(String(args[0])));
  for (const method of ['put', 'putFile']) wrap(store, method, () => STORE);
  return {
    finish(start, end) {
      for (const undo of restore) undo();
      return summarize(spans.filter((s) => s.start >= start && s.end <= end), start, end);
    },
  };
}

/** Groups spans by phase (overlapping spans are not counted twice) and the gaps between them as JavaScript. */
export function summarize(spans: readonly Span[], start: number, end: number): PhaseTrace {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const byPhase = new Map<string, { ms: number; statements: number }>();
  const add = (phase: string, ms: number, count: number) => {
    const entry = byPhase.get(phase) ?? { ms: 0, statements: 0 };
    entry.ms += ms;
    entry.statements += count;
    byPhase.set(phase, entry);
  };
  let covered = start;
  let read = false;
  for (const span of sorted) {
    if (span.start > covered) add(!read && READS.has(span.phase) ? PROBE : OTHER_JS, span.start - covered, 0);
    if (READS.has(span.phase)) read = true;
    add(span.phase, Math.max(0, span.end - Math.max(span.start, covered)), 1);
    covered = Math.max(covered, span.end);
  }
  if (end > covered) add(OTHER_JS, end - covered, 0);
  return { totalMs: end - start, phases: [...byPhase.entries()].map(([name, p]) => ({ name, ...p })) };
}
