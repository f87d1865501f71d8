import { CUSTOMERS_TABLE, SALES_TABLE } from './bench-dataset.js';

/** The relations a query reads: catalog names for rat, `read_parquet([...])` for raw DuckDB. */
export interface QuerySources {
  sales: string;
  customers: string;
}

export interface BenchQuery {
  name: string;
  sql(sources: QuerySources): string;
}

/** The one-month filter of the range query: `ts >= from AND ts < to` (naive timestamps, UTC). */
export const RANGE_FILTER = { column: 'ts', from: '2024-03-01', to: '2024-04-01' } as const;

export const RAT_SOURCES: QuerySources = { sales: SALES_TABLE, customers: CUSTOMERS_TABLE };

export const BENCH_QUERIES: readonly BenchQuery[] = [
  {
    name: 'group-by',
    sql: (s) => `SELECT product, count(*) AS n, sum(amount) AS revenue, avg(qty) AS avg_qty FROM ${s.sales} GROUP BY product ORDER BY product`,
  },
  {
    name: 'top-n',
    sql: (s) => `SELECT id, customer_id, amount FROM ${s.sales} ORDER BY amount DESC, id LIMIT 100`,
  },
  {
    name: 'join',
    sql: (s) =>
      `SELECT c.segment, count(*) AS n, sum(f.amount) AS revenue FROM ${s.sales} f JOIN ${s.customers} c ON f.customer_id = c.customer_id GROUP BY c.segment ORDER BY c.segment`,
  },
  {
    name: 'count-distinct',
    sql: (s) => `SELECT count(DISTINCT customer_id) AS customers FROM ${s.sales}`,
  },
  {
    name: 'range-filter',
    sql: (s) =>
      `SELECT count(*) AS n, sum(amount) AS revenue FROM ${s.sales} WHERE ${RANGE_FILTER.column} >= TIMESTAMP '${RANGE_FILTER.from}' AND ${RANGE_FILTER.column} < TIMESTAMP '${RANGE_FILTER.to}'`,
  },
];
