import type { DuckDBConnection } from '@duckdb/node-api';
import type { LoadedTable } from '../catalog/catalog.js';
import type { Lakehouse } from '../engine/lakehouse.js';
import type { Predicate } from '../iceberg/predicate.js';
import { rewriteSelect } from '../engine/select-rewriter.js';
import { median } from './sample-stats.js';

export interface OverheadStep {
  name: string;
  /** Median wall time of one execution. */
  ms: number;
}

export interface OverheadProfile {
  repetitions: number;
  /** A one-row query (`SELECT id FROM <sales> LIMIT 1`): almost all of rat's time on it is its own per-query work. */
  tinyQuery: { sql: string; ratMs: number; rawMs: number };
  /** The steps rat adds before DuckDB runs a query, timed one by one through the SDK. */
  steps: OverheadStep[];
}

/**
 * Measures what rat adds per query, independent of data volume: a near-empty query through both
 * sides, and the steps of rat's read path (catalog lookups, DuckDB parsing the SQL to find tables
 * and filters, planning the pruned scan) timed separately.
 */
export async function profileOverhead(input: {
  rat: Lakehouse;
  raw: DuckDBConnection;
  sales: LoadedTable;
  salesSource: { rat: string; raw: string };
  rangeSql: string;
  rangePredicates: Predicate[];
  repetitions: number;
}): Promise<OverheadProfile> {
  const { rat, raw, repetitions } = input;
  const tiny = (source: string) => `SELECT id FROM ${source} LIMIT 1`;
  const namespaces = new Set([input.sales.ident.namespace]);
  const { sql: prunedScanSql } = await rat.executor.reader.plan(input.sales, { predicates: input.rangePredicates });
  rat.takeScanRecords();
  const steps: { name: string; run: () => Promise<unknown> }[] = [
    {
      name: 'catalog: list namespaces + load table (SQLite, cached metadata)',
      run: async () => {
        await rat.catalog.listNamespaces();
        await rat.catalog.loadTable(input.sales.ident);
      },
    },
    {
      name: 'parse + rewrite: json_serialize_sql round trip, filters found, pruned scan spliced into the SQL text (filtered reads only)',
      run: () => rewriteSelect(rat.duck, input.rangeSql, namespaces, async () => ({ sql: prunedScanSql, view: () => Promise.reject(new Error('not used')) })),
    },
    {
      name: 'plan: pruned scan of bench.sales + its read_parquet SQL (filtered reads only)',
      run: async () => {
        await rat.executor.reader.plan(input.sales, { predicates: input.rangePredicates });
        rat.takeScanRecords();
      },
    },
  ];

  const ratTiny: number[] = [];
  const rawTiny: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    for (const side of i % 2 === 0 ? ['rat', 'raw'] : ['raw', 'rat']) {
      const started = performance.now();
      if (side === 'rat') await rat.query(tiny(input.salesSource.rat));
      else await rowsOf(raw, tiny(input.salesSource.raw));
      (side === 'rat' ? ratTiny : rawTiny).push(performance.now() - started);
    }
  }
  rat.takeScanRecords();

  const measured: OverheadStep[] = [];
  for (const step of steps) {
    const times: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      const started = performance.now();
      await step.run();
      times.push(performance.now() - started);
    }
    measured.push({ name: step.name, ms: median(times) });
  }
  return {
    repetitions,
    tinyQuery: { sql: tiny(input.salesSource.rat), ratMs: median(ratTiny), rawMs: median(rawTiny) },
    steps: measured,
  };
}

async function rowsOf(connection: DuckDBConnection, sql: string) {
  const result = await connection.run(sql);
  return result.getRowsJson();
}
