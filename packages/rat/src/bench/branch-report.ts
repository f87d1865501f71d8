import type { MetadataDialect } from '../catalog/metadata-db.js';
import type { MachineInfo } from './machine-info.js';
import { median } from './sample-stats.js';

export const TARGET_BRANCH_MS = 100;

/** The catalog and its data while one set of rounds ran. */
export interface BranchPhase {
  label: string;
  /** Rows in all tables together, and in the largest table. */
  totalRows: number;
  largestTableRows: number;
  /** Bytes of Parquet data in the catalog. */
  dataBytes: number;
  /** Commits in main's history when the rounds started. */
  commitsInHistory: number;
  createMs: number[];
  fastForwardMs: number[];
  threeWayMs: number[];
}

export interface BranchDialectResult {
  dialect: MetadataDialect;
  database: string;
  tables: number;
  /** Wall time to create the tables (one CREATE TABLE AS per table, one catalog commit each). */
  setupSeconds: number;
  phases: BranchPhase[];
  loadAverage: { before: number[]; after: number[] };
}

export type BranchDialectOutcome = BranchDialectResult | { dialect: MetadataDialect; skipped: string };

export interface BranchBenchResult {
  date: string;
  machine: MachineInfo;
  rounds: number;
  dialects: BranchDialectOutcome[];
  targetMsMax: number;
}

const DIALECT_LABEL: Record<MetadataDialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const OPERATIONS = [
  { key: 'createMs', label: 'branch create' },
  { key: 'fastForwardMs', label: 'fast-forward merge' },
  { key: 'threeWayMs', label: 'three-way merge' },
] as const;

function isSkipped(outcome: BranchDialectOutcome): outcome is { dialect: MetadataDialect; skipped: string } {
  return 'skipped' in outcome;
}

/** Every operation's median under the target, in every phase of every measured dialect. */
export function branchTargetsMet(result: BranchBenchResult): { operation: string; dialect: MetadataDialect; phase: string; ms: number; met: boolean }[] {
  const checks = [];
  for (const d of result.dialects) {
    if (isSkipped(d)) continue;
    for (const phase of d.phases) {
      for (const op of OPERATIONS) {
        const ms = median(phase[op.key]);
        checks.push({ operation: op.label, dialect: d.dialect, phase: phase.label, ms, met: ms < result.targetMsMax });
      }
    }
  }
  return checks;
}

export function formatBranchText(result: BranchBenchResult): string {
  const lines = [`branch create and merge, median of ${result.rounds} rounds (target < ${result.targetMsMax} ms each)`, ''];
  for (const d of result.dialects) {
    if (isSkipped(d)) {
      lines.push(`${DIALECT_LABEL[d.dialect]}: skipped (${d.skipped})`);
      continue;
    }
    lines.push(`${DIALECT_LABEL[d.dialect]} (${d.database}), ${d.tables.toLocaleString('en-US')} tables, created in ${d.setupSeconds.toFixed(0)} s:`);
    for (const phase of d.phases) {
      const cells = OPERATIONS.map((op) => `${op.label} ${median(phase[op.key]).toFixed(1)} ms (max ${Math.max(...phase[op.key]).toFixed(1)})`);
      lines.push(`  ${phase.label}: ${cells.join(', ')}`);
    }
  }
  const missed = branchTargetsMet(result).filter((c) => !c.met);
  lines.push('', missed.length === 0 ? 'targets: all met' : `targets MISSED: ${missed.map((c) => `${DIALECT_LABEL[c.dialect]} ${c.phase} ${c.operation} ${c.ms.toFixed(1)} ms`).join('; ')}`);
  return `${lines.join('\n')}\n`;
}

export function formatBranchMarkdown(result: BranchBenchResult): string {
  const m = result.machine;
  const measured = result.dialects.filter((d): d is BranchDialectResult => !isSkipped(d));
  const loads = measured.flatMap((d) => [...d.loadAverage.before, ...d.loadAverage.after]);
  const out: string[] = [`### Latest run: ${result.date}`, ''];
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}; Node ${m.node}, DuckDB ${m.duckdb}`,
    `- Load average (1/5/15 min): ${measured.map((d) => `${DIALECT_LABEL[d.dialect]} run ${formatLoad(d.loadAverage.before)} before, ${formatLoad(d.loadAverage.after)} after`).join('; ')}` +
      (loads.length > 0 && Math.max(...loads) > m.cores ? ' — the machine was shared with other work, so timings are noisy' : ''),
    `- Method: ${result.rounds} rounds per catalog state; per round two branches are created from main (both timed), one is fast-forward merged and one three-way merged back; ms are medians (max in brackets)`,
    '',
    `| metadata DB | catalog | ${OPERATIONS.map((op) => `${op.label} ms`).join(' | ')} |`,
    `|---|---|${OPERATIONS.map(() => '---:').join('|')}|`,
  );
  for (const d of result.dialects) {
    if (isSkipped(d)) {
      out.push(`| ${DIALECT_LABEL[d.dialect]} | skipped | ${OPERATIONS.map(() => '').join(' | ')} |`);
      continue;
    }
    for (const phase of d.phases) {
      const cells = OPERATIONS.map((op) => {
        const ms = median(phase[op.key]);
        return `${ms < result.targetMsMax ? '' : '**'}${ms.toFixed(1)}${ms < result.targetMsMax ? '' : '**'} (${Math.max(...phase[op.key]).toFixed(1)})`;
      });
      out.push(`| ${DIALECT_LABEL[d.dialect]} | ${describePhase(d, phase)} | ${cells.join(' | ')} |`);
    }
  }
  out.push('');
  for (const d of result.dialects) if (isSkipped(d)) out.push(`${DIALECT_LABEL[d.dialect]} skipped: ${d.skipped}`, '');
  for (const d of measured) out.push(`${DIALECT_LABEL[d.dialect]}: ${d.database}; the ${d.tables.toLocaleString('en-US')} tables took ${d.setupSeconds.toFixed(0)} s to create.`, '');
  out.push('### Verdict', '');
  const checks = branchTargetsMet(result);
  const missed = checks.filter((c) => !c.met);
  if (checks.length === 0) out.push('- Nothing was measured.');
  else if (missed.length === 0) {
    const worst = checks.reduce((a, b) => (b.ms > a.ms ? b : a));
    out.push(`- Every operation's median is under ${result.targetMsMax} ms on every metadata DB and catalog state: **met** (slowest: ${DIALECT_LABEL[worst.dialect]} ${worst.phase} ${worst.operation}, ${worst.ms.toFixed(1)} ms).`);
  } else {
    out.push(`- **Missed**: ${missed.map((c) => `${DIALECT_LABEL[c.dialect]} ${c.phase} ${c.operation} ${c.ms.toFixed(1)} ms`).join('; ')}.`);
  }
  for (const d of measured) {
    if (d.phases.length < 2) continue;
    const [small, big] = [d.phases[0]!, d.phases.at(-1)!];
    const change = OPERATIONS.map((op) => `${op.label} ${median(small[op.key]).toFixed(1)} → ${median(big[op.key]).toFixed(1)} ms`).join(', ');
    out.push(
      `- ${DIALECT_LABEL[d.dialect]}, ${formatRows(small.totalRows)} rows → ${formatRows(big.totalRows)} rows (${formatBytes(small.dataBytes)} → ${formatBytes(big.dataBytes)} of Parquet): ${change}.`,
    );
  }
  out.push('');
  return `${out.join('\n')}\n`;
}

function describePhase(d: BranchDialectResult, phase: BranchPhase): string {
  return (
    `${d.tables.toLocaleString('en-US')} tables, ${phase.label}: ${formatRows(phase.totalRows)} rows (largest table ${formatRows(phase.largestTableRows)}), ` +
    `${formatBytes(phase.dataBytes)} Parquet, ${phase.commitsInHistory.toLocaleString('en-US')} commits in history`
  );
}

export function formatRows(rows: number): string {
  if (rows >= 1_000_000) return `${(rows / 1_000_000).toFixed(rows % 1_000_000 === 0 ? 0 : 1)}M`;
  if (rows >= 10_000) return `${(rows / 1000).toFixed(0)}k`;
  return rows.toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(0)} KiB`;
}

function formatLoad(values: number[]): string {
  return values.map((v) => v.toFixed(1)).join(' / ');
}
