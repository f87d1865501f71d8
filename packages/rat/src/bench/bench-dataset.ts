import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import type { Lakehouse } from '../engine/lakehouse.js';

/** What the benchmark tables hold; a RAT_HOME generated from another spec is regenerated. */
export interface DatasetSpec {
  /** Bump when the generating SQL changes, so old data is not silently reused. */
  version: number;
  salesRows: number;
  /** One INSERT (one snapshot, one data file) per month, starting January of `firstYear`. */
  months: number;
  firstYear: number;
  customers: number;
}

export const DEFAULT_DATASET: DatasetSpec = { version: 1, salesRows: 5_000_000, months: 24, firstYear: 2023, customers: 100_000 };

export const SALES_TABLE = 'bench.sales';
export const CUSTOMERS_TABLE = 'bench.customers';

export interface TableSummary {
  rows: number;
  dataFiles: number;
}

export interface Dataset {
  spec: DatasetSpec;
  sales: TableSummary;
  customers: TableSummary;
  /** True when this run generated the tables (false: reused from an earlier run). */
  generated: boolean;
  generatedAt: string;
  /** Wall time of the generation through rat SQL (24 + 1 INSERTs and their commits). */
  generateSeconds: number;
}

const MARKER = 'bench-dataset.json';

/**
 * Opens the benchmark RAT_HOME, generating `bench.sales` and `bench.customers` through rat SQL when
 * the home is missing, was generated from another spec, or does not hold the expected row counts.
 * Regeneration deletes the whole home: it belongs to the benchmark.
 */
export async function openDataset(options: {
  home: string;
  spec: DatasetSpec;
  regenerate: boolean;
  open: (home: string) => Promise<Lakehouse>;
  progress: (line: string) => void;
}): Promise<{ lakehouse: Lakehouse; dataset: Dataset }> {
  const { home, spec, progress } = options;
  const marker = options.regenerate ? undefined : await readMarker(home);
  if (marker && JSON.stringify(marker.spec) === JSON.stringify(spec)) {
    const lakehouse = await options.open(home);
    try {
      const found = await summarize(lakehouse);
      if (found && found.sales.rows === spec.salesRows && found.customers.rows === spec.customers && found.sales.dataFiles >= spec.months) {
        progress(`dataset: reusing ${home} (${SALES_TABLE}: ${found.sales.rows.toLocaleString('en-US')} rows in ${found.sales.dataFiles} files)`);
        return { lakehouse, dataset: { spec, ...found, generated: false, generatedAt: marker.generatedAt, generateSeconds: marker.generateSeconds } };
      }
      progress(`dataset: ${home} does not hold the expected tables; regenerating`);
    } catch (error) {
      await lakehouse.close();
      throw error;
    }
    await lakehouse.close();
  }
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  const lakehouse = await options.open(home);
  try {
    const started = performance.now();
    await generate(lakehouse, spec, progress);
    const found = await summarize(lakehouse);
    if (!found) throw new NotFoundError('CATALOG_TABLE_NOT_FOUND', `dataset generation in ${home} finished without the tables ${SALES_TABLE} and ${CUSTOMERS_TABLE}`);
    const generateSeconds = (performance.now() - started) / 1000;
    const generatedAt = new Date().toISOString();
    await writeFile(join(home, MARKER), `${JSON.stringify({ spec, generatedAt, generateSeconds } satisfies DatasetMarker, null, 2)}\n`);
    progress(`dataset: generated in ${generateSeconds.toFixed(1)}s`);
    return { lakehouse, dataset: { spec, ...found, generated: true, generatedAt, generateSeconds } };
  } catch (error) {
    await lakehouse.close();
    throw error;
  }
}

/** Written last, after both tables are complete: a home without it is an interrupted generation. */
interface DatasetMarker {
  spec: DatasetSpec;
  generatedAt: string;
  generateSeconds: number;
}

async function readMarker(home: string): Promise<DatasetMarker | undefined> {
  const text = await readFile(join(home, MARKER), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const marker = JSON.parse(text) as Partial<DatasetMarker>;
    return marker.spec && typeof marker.generatedAt === 'string' && typeof marker.generateSeconds === 'number' ? (marker as DatasetMarker) : undefined;
  } catch {
    return undefined;
  }
}

async function summarize(lakehouse: Lakehouse): Promise<{ sales: TableSummary; customers: TableSummary } | undefined> {
  const tables = (await lakehouse.listTables('bench').catch(() => [])).map((t) => `${t.namespace}.${t.name}`);
  if (!tables.includes(SALES_TABLE) || !tables.includes(CUSTOMERS_TABLE)) return undefined;
  const [sales, customers] = await Promise.all([lakehouse.describeTable(SALES_TABLE), lakehouse.describeTable(CUSTOMERS_TABLE)]);
  return {
    sales: { rows: sales.recordCount, dataFiles: sales.dataFileCount },
    customers: { rows: customers.recordCount, dataFiles: customers.dataFileCount },
  };
}

/** Microseconds since the epoch at the start of month `index` counted from January of `firstYear` (UTC). */
export function monthStartMicros(firstYear: number, index: number): bigint {
  return BigInt(Date.UTC(firstYear, index, 1)) * 1000n;
}

async function generate(lakehouse: Lakehouse, spec: DatasetSpec, progress: (line: string) => void): Promise<void> {
  await lakehouse.sql('CREATE SCHEMA IF NOT EXISTS bench');
  progress(`dataset: ${CUSTOMERS_TABLE}, ${spec.customers.toLocaleString('en-US')} rows`);
  await lakehouse.sql(`CREATE TABLE ${CUSTOMERS_TABLE} (customer_id INT, name VARCHAR, segment VARCHAR, country VARCHAR)`);
  await lakehouse.sql(
    `INSERT INTO ${CUSTOMERS_TABLE}
     SELECT CAST(i AS INTEGER) AS customer_id,
            'customer-' || lpad(CAST(i AS VARCHAR), 6, '0') AS name,
            (['consumer', 'corporate', 'home office', 'small business'])[CAST(hash(i) % 4 AS INTEGER) + 1] AS segment,
            (['BR', 'CA', 'DE', 'ES', 'FR', 'IN', 'IT', 'JP', 'UK', 'US'])[CAST(hash(i + 99) % 10 AS INTEGER) + 1] AS country
     FROM range(1, ${spec.customers + 1}) t(i)`,
  );

  await lakehouse.sql(`CREATE TABLE ${SALES_TABLE} (id BIGINT, ts TIMESTAMP, customer_id INT, product VARCHAR, amount DOUBLE, qty INT)`);
  const started = performance.now();
  let written = 0;
  for (let month = 0; month < spec.months; month++) {
    // Rows are split evenly over the months; within a month, ts rises evenly from its first instant.
    const first = Math.floor((month * spec.salesRows) / spec.months);
    const end = Math.floor(((month + 1) * spec.salesRows) / spec.months);
    const count = end - first;
    const from = monthStartMicros(spec.firstYear, month);
    const span = monthStartMicros(spec.firstYear, month + 1) - from;
    const monthStarted = performance.now();
    await lakehouse.sql(
      `INSERT INTO ${SALES_TABLE}
       SELECT i AS id,
              make_timestamp(CAST(${from} + (i - ${first}) * ${span} // ${count} AS BIGINT)) AS ts,
              CAST(hash(i) % ${spec.customers} + 1 AS INTEGER) AS customer_id,
              'product-' || lpad(CAST(hash(i + 5555555) % 40 AS VARCHAR), 2, '0') AS product,
              CAST(hash(i + 7777777) % 100000 AS DOUBLE) / 100 AS amount,
              CAST(hash(i + 3333333) % 10 + 1 AS INTEGER) AS qty
       FROM range(${first}, ${end}) t(i)`,
    );
    written += count;
    const elapsed = (performance.now() - started) / 1000;
    const rate = written / elapsed;
    const eta = (spec.salesRows - written) / rate;
    const label = new Date(Date.UTC(spec.firstYear, month, 1)).toISOString().slice(0, 7);
    progress(
      `dataset: ${SALES_TABLE} month ${month + 1}/${spec.months} (${label}): ${count.toLocaleString('en-US')} rows in ${((performance.now() - monthStarted) / 1000).toFixed(1)}s; ` +
        `${written.toLocaleString('en-US')}/${spec.salesRows.toLocaleString('en-US')} rows, ${Math.round(rate).toLocaleString('en-US')} rows/s, ETA ${eta.toFixed(0)}s`,
    );
  }
}
