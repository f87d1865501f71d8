import type { Command } from 'commander';
import { MAIN_BRANCH } from '../../catalog/ref-name.js';
import { ValidationError } from '../../core/errors.js';
import { maintain, type MaintainReport, parseDuration } from '../../maintenance/index.js';
import { type GlobalOptions, withLakehouse } from '../context.js';
import type { Output } from '../output.js';

interface MaintainFlags {
  retain: string;
  retainLast: string;
  grace: string;
  smallFileSize: string;
  targetFileSize: string;
  dryRun?: boolean;
  compact: boolean;
  expire: boolean;
  orphans: boolean;
}

/** `32MiB`, `512KB`, `1048576` -> bytes. */
export function parseBytes(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim());
  if (!match) throw new ValidationError('INVALID_ARGUMENT', `${option} "${text}" is not a size: use e.g. 32MiB, 512KiB or a number of bytes`);
  const units: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(match[1]) * units[(match[2] ?? 'b').toLowerCase()]!);
}

function parseCount(text: string, option: string): number {
  if (!/^\d+$/.test(text.trim())) throw new ValidationError('INVALID_ARGUMENT', `${option} "${text}" is not a whole number`);
  return Number(text);
}

export function registerMaintain(program: Command, globals: () => GlobalOptions): void {
  program
    .command('maintain')
    .description('expire old snapshots, compact small files and remove orphan files, on every branch (tags and branches keep what they reference)')
    .argument('[table]', 'namespace.table (default: every table)')
    .option('--retain <duration>', 'expire snapshots older than this, e.g. 7d, 12h, 0', '7d')
    .option('--retain-last <n>', 'always keep the newest N snapshots of each table per branch', '1')
    .option('--grace <duration>', 'keep unreferenced files younger than this (writes in flight), and cached copies of S3 objects used within it', '1h')
    .option('--small-file-size <bytes>', 'compact data files smaller than this', '32MiB')
    .option('--target-file-size <bytes>', 'size of the files compaction writes', '128MiB')
    .option('--no-compact', 'skip compaction')
    .option('--no-expire', 'skip snapshot expiry')
    .option('--no-orphans', 'skip orphan file removal')
    .option('--dry-run', 'report what would be done; change and delete nothing')
    .action(async (table: string | undefined, flags: MaintainFlags) => {
      const options = {
        ...(table ? { tables: [table] } : {}),
        retainMs: parseDuration(flags.retain, '--retain'),
        retainLast: parseCount(flags.retainLast, '--retain-last'),
        graceMs: parseDuration(flags.grace, '--grace'),
        compaction: flags.compact ? { smallFileBytes: parseBytes(flags.smallFileSize, '--small-file-size'), targetFileBytes: parseBytes(flags.targetFileSize, '--target-file-size') } : (false as const),
        expire: flags.expire,
        orphans: flags.orphans,
        dryRun: flags.dryRun ?? false,
      };
      // Maintenance covers every branch: open on main so git sync creates no branch.
      await withLakehouse({ ...globals(), branch: MAIN_BRANCH }, async (rat, out) => {
        printReport(out, await maintain(rat, options));
      });
    });
}

function printReport(out: Output, report: MaintainReport): void {
  if (out.json) {
    out.value(report);
    return;
  }
  const tables = [...new Set([...report.tables.map((t) => t.table), ...Object.keys(report.orphans?.byTable ?? {})])].sort();
  out.table(
    ['table', 'branches', 'expired_snapshots', 'orphans_removed', 'orphan_bytes', 'files_compacted', 'new_files', 'notes'],
    tables.map((name) => {
      const rows = report.tables.filter((t) => t.table === name);
      const orphans = report.orphans?.byTable[name];
      const newFiles = rows.some((r) => r.newFiles === null) ? null : rows.reduce((n, r) => n + (r.newFiles ?? 0), 0);
      return [
        name,
        rows.length === 0 ? '(dropped)' : rows.map((r) => r.branch).join(', '),
        rows.reduce((n, r) => n + r.expiredSnapshots, 0),
        orphans?.files ?? 0,
        orphans?.bytes ?? 0,
        rows.reduce((n, r) => n + r.filesCompacted, 0),
        newFiles,
        rows.flatMap((r) => r.skipped.map((s) => `${r.branch}: ${s}`)).join('; ') || null,
      ];
    }),
  );
  const o = report.orphans;
  if (o) {
    out.line(
      `${report.dryRun ? 'would remove' : 'removed'} ${o.filesRemoved} orphan file${o.filesRemoved === 1 ? '' : 's'} (${o.bytesRemoved} bytes)` +
        `, ${o.stagingDirsRemoved} staging leftover${o.stagingDirsRemoved === 1 ? '' : 's'} (${o.stagingBytesRemoved} bytes)` +
        `, ${o.cacheFilesRemoved} cached cop${o.cacheFilesRemoved === 1 ? 'y' : 'ies'} of S3 objects (${o.cacheBytesRemoved} bytes)` +
        `; kept ${o.keptInGrace} unreferenced file${o.keptInGrace === 1 ? '' : 's'} younger than the grace period`,
    );
  }
  if (report.dryRun) out.line('dry run: nothing was changed or deleted');
}
