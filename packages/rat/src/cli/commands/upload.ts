import type { Command } from 'commander';
import { type GlobalOptions, withLakehouse } from '../context.js';
import { createProgressReporter } from '../progress-reporter.js';
import { UsageError } from '../usage-error.js';

export function registerUpload(program: Command, globals: () => GlobalOptions): void {
  program
    .command('upload')
    .description('copy local files into the landing zone as received (local folder or S3, like the tables)')
    .argument('<args...>', '<file-or-folder...> <landing/folder/>')
    .option('--overwrite', 'replace landing files already under the keys (default: refuse, uploading nothing)')
    .addHelpText('after', '\nExamples:\n  rat upload sales-2026-*.csv landing/sales/\n  rat upload export.json.gz landing/crm/2026-01-31.json.gz\n  rat upload --overwrite fixed.csv landing/sales/2026-01.csv\n  rat landing landing/sales/')
    .action(async (args: string[], flags: { overwrite?: boolean }) => {
      if (args.length < 2) throw new UsageError('usage: rat upload <file...> landing/<folder>/');
      const destination = args.at(-1)!;
      await withLakehouse(globals(), async (_rat, out, ingestion) => {
        const progress = createProgressReporter(out);
        const landed = await ingestion.upload(args.slice(0, -1), destination, { onProgress: progress.report, overwrite: flags.overwrite === true });
        progress.end();
        out.table(['file', 'key', 'bytes'], landed.map((l) => [l.file, l.key, l.size]));
      });
    });
}
