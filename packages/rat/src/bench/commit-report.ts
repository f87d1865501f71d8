import type { MetadataDialect } from '../catalog/metadata-db.js';
import type { CommitProfile } from './commit-profile.js';
import type { MachineInfo } from './machine-info.js';

export const TARGET_COMMIT_RATIO = 5;

/** One metadata-DB dialect's run of the commit benchmark. */
export interface CommitDialectResult {
  dialect: MetadataDialect;
  /** Where the metadata DB ran (SQLite file mode, or the PostgreSQL server and its durability settings). */
  database: string;
  ratMs: number;
  rawMs: number;
  /** ratMs / rawMs (medians). */
  ratio: number;
  /** A/A control: the raw COPY on a second, identical DuckDB instance. */
  controlMs: number;
  controlRatio: number;
  ratSamplesMs: number[];
  rawSamplesMs: number[];
  controlSamplesMs: number[];
  /** Snapshots of the table after the last commit (each commit's metadata and manifest list grow with them). */
  snapshotsAtEnd: number;
  metadataBytesAtEnd: number;
  profile: CommitProfile;
  loadAverage: { before: number[]; after: number[] };
  met: boolean;
}

export type CommitDialectOutcome = CommitDialectResult | { dialect: MetadataDialect; skipped: string };

export interface CommitBenchResult {
  date: string;
  machine: MachineInfo;
  threads: number;
  rows: number;
  warmupRounds: number;
  rounds: number;
  ratSql: string;
  rawSql: string;
  dialects: CommitDialectOutcome[];
  targetRatioMax: number;
}

export function isSkipped(outcome: CommitDialectOutcome): outcome is { dialect: MetadataDialect; skipped: string } {
  return 'skipped' in outcome;
}

const DIALECT_LABEL: Record<MetadataDialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

export function formatCommitText(result: CommitBenchResult): string {
  const lines = [
    `commit of a ${result.rows.toLocaleString('en-US')}-row INSERT through rat vs raw DuckDB COPY to one Parquet file, median of ${result.rounds} interleaved rounds after ${result.warmupRounds} warm-up`,
    '',
  ];
  for (const d of result.dialects) {
    if (isSkipped(d)) {
      lines.push(`${DIALECT_LABEL[d.dialect]}: skipped (${d.skipped})`);
      continue;
    }
    lines.push(
      `${DIALECT_LABEL[d.dialect]} (${d.database}): rat ${d.ratMs.toFixed(1)} ms, raw ${d.rawMs.toFixed(1)} ms, ratio ${d.ratio.toFixed(2)} ` +
        `(target < ${result.targetRatioMax}: ${d.met ? 'met' : 'MISSED'}); A/A ratio ${d.controlRatio.toFixed(2)}; load ${formatLoad(d.loadAverage.before)} -> ${formatLoad(d.loadAverage.after)}`,
    );
    for (const step of d.profile.steps) lines.push(`  ${step.ms.toFixed(2).padStart(7)} ms  ${step.name}${step.calls > 1 ? ` (${step.calls} calls)` : ''}`);
    lines.push(`  ${d.profile.totalMs.toFixed(2).padStart(7)} ms  total (profiled); one 4 KiB write + fsync + dir fsync on this disk: ${d.profile.fsyncMs.toFixed(2)} ms`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatCommitMarkdown(result: CommitBenchResult): string {
  const m = result.machine;
  const out: string[] = [`### Latest run: ${result.date}`, ''];
  const loads = result.dialects.filter((d): d is CommitDialectResult => !isSkipped(d)).flatMap((d) => [...d.loadAverage.before, ...d.loadAverage.after]);
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}; Node ${m.node}, DuckDB ${m.duckdb} (${result.threads} threads each side)`,
    `- Load average (1/5/15 min): ${result.dialects
      .filter((d): d is CommitDialectResult => !isSkipped(d))
      .map((d) => `${DIALECT_LABEL[d.dialect]} run ${formatLoad(d.loadAverage.before)} before, ${formatLoad(d.loadAverage.after)} after`)
      .join('; ')}${loads.length > 0 && Math.max(...loads) > m.cores ? ' — the machine was shared with other work, so timings are noisy' : ''}`,
    `- Method: ${result.warmupRounds} warm-up rounds, then ${result.rounds} rounds; each round runs the rat INSERT, the raw COPY and the A/A control COPY once, order rotating; medians`,
    '',
    '| metadata DB | rat INSERT ms | raw COPY ms | ratio | target | A/A ratio | snapshots at end |',
    '|---|---:|---:|---:|---|---:|---:|',
  );
  for (const d of result.dialects) {
    if (isSkipped(d)) out.push(`| ${DIALECT_LABEL[d.dialect]} | skipped | | | | | |`);
    else {
      out.push(
        `| ${DIALECT_LABEL[d.dialect]} (${d.database}) | ${d.ratMs.toFixed(1)} | ${d.rawMs.toFixed(1)} | **${d.ratio.toFixed(2)}** | < ${result.targetRatioMax}: ${d.met ? '**met**' : '**missed**'} | ${d.controlRatio.toFixed(2)} | ${d.snapshotsAtEnd} |`,
      );
    }
  }
  out.push('');
  for (const d of result.dialects) if (isSkipped(d)) out.push(`${DIALECT_LABEL[d.dialect]} skipped: ${d.skipped}`, '');
  const measured = result.dialects.filter((d): d is CommitDialectResult => !isSkipped(d));
  if (measured.length > 0) {
    out.push(
      `Where a rat commit's time goes (${measured[0]!.profile.repetitions} more INSERTs per metadata DB, each step's calls summed per commit, medians; instrumented, so the total is a little above the timed median):`,
      '',
      `| step | ${measured.map((d) => `${DIALECT_LABEL[d.dialect]} ms`).join(' | ')} |`,
      `|---|${measured.map(() => '---:').join('|')}|`,
    );
    const names = [...new Set(measured.flatMap((d) => d.profile.steps.map((s) => s.name)))];
    for (const name of names) out.push(`| ${name} | ${measured.map((d) => d.profile.steps.find((s) => s.name === name)?.ms.toFixed(2) ?? '-').join(' | ')} |`);
    out.push(`| **total** | ${measured.map((d) => `**${d.profile.totalMs.toFixed(1)}**`).join(' | ')} |`);
    out.push(`| *reference: 4 KiB write + fsync + directory fsync on the same disk* | ${measured.map((d) => d.profile.fsyncMs.toFixed(2)).join(' | ')} |`, '');
    out.push('### Verdict', '');
    for (const d of measured) out.push(`- ${verdict(d, result.targetRatioMax)}`);
    out.push('');
  }
  out.push('<details><summary>Statements</summary>', '', `- rat: \`${result.ratSql}\``, `- raw: \`${result.rawSql}\``, '', '</details>', '');
  return `${out.join('\n')}\n`;
}

/** One sentence per dialect: the ratio against the target and, when missed, what the commit spends beyond the raw COPY. */
export function verdict(d: CommitDialectResult, target: number): string {
  const name = DIALECT_LABEL[d.dialect];
  const head = `${name}: rat ${d.ratMs.toFixed(1)} ms vs raw ${d.rawMs.toFixed(1)} ms = ${d.ratio.toFixed(2)}x`;
  if (d.met) return `${head} < ${target}x: **met**.`;
  const budget = d.rawMs * target;
  const sum = (prefix: string) => d.profile.steps.filter((s) => s.name.startsWith(prefix)).reduce((n, s) => n + s.ms, 0);
  return (
    `${head} ≥ ${target}x: **missed** (the target allows ${budget.toFixed(1)} ms). ` +
    `Of a profiled commit's ${d.profile.totalMs.toFixed(1)} ms, DuckDB work (describe, COPY with statistics) is ${sum('DuckDB').toFixed(1)} ms, ` +
    `writing the files and making them durable ${sum('storage').toFixed(1)} ms (one fsync round for all of them; ${d.profile.fsyncMs.toFixed(1)} ms for one file on this disk), ` +
    `the metadata DB ${sum('metadata DB').toFixed(1)} ms and the rest (JavaScript) ${(d.profile.steps.at(-1)?.ms ?? 0).toFixed(1)} ms; the raw COPY writes one file and never fsyncs.`
  );
}

function formatLoad(values: number[]): string {
  return values.map((v) => v.toFixed(1)).join(' / ');
}
