import { readFile, writeFile } from 'node:fs/promises';
import type { Dataset } from './bench-dataset.js';
import type { MachineInfo } from './machine-info.js';
import type { OverheadProfile } from './overhead-profile.js';

export const TARGET_GEOMEAN_RATIO = 1.05;

export interface QueryResult {
  name: string;
  /** The query as rat runs it (raw DuckDB reads `read_parquet([...])` in place of each table). */
  sql: string;
  ratMs: number;
  rawMs: number;
  /** ratMs / rawMs (medians). */
  ratio: number;
  /** DuckDB runs the identical physical plan on both sides (EXPLAIN output equal). */
  samePlan: boolean;
  ratSamplesMs: number[];
  rawSamplesMs: number[];
}

export interface PruningResult {
  filter: string;
  totalFiles: number;
  /** Files rat planned to read (`dataFilesSelected` of the scan record). */
  ratFilesOpened: number;
  ratSkippedByBounds: number;
  ratSkippedByPartition: number;
  /** Files whose [lower, upper] bounds of the column overlap the range, computed by the benchmark. */
  overlappingFiles: number;
  /** The files rat selected are exactly the overlapping ones (paths, not only counts). */
  sameFiles: boolean;
  /** Raw DuckDB is handed every file: read_parquet has no Iceberg metadata to prune with. */
  rawFilesOpened: number;
}

export interface BenchResult {
  date: string;
  machine: MachineInfo;
  threads: number;
  home: string;
  dataset: Dataset & { salesBytes: number };
  /** rat's view over bench.sales maps columns by field id (`schema=`), which raw DuckDB does not. */
  ratUsesFieldIdMapping: boolean;
  /** os.loadavg() (1, 5, 15 minutes) before and after the timed rounds: other work on the machine. */
  loadAverage: { before: number[]; after: number[] };
  warmupRounds: number;
  rounds: number;
  queries: QueryResult[];
  overhead: OverheadProfile;
  geomeanRatio: number;
  pruning: PruningResult;
  targets: { geomeanRatioMax: number; geomeanMet: boolean; pruningMet: boolean };
}

export function formatText(result: BenchResult): string {
  const header = ['query', 'rat ms', 'raw ms', 'ratio', 'same plan'];
  const rows = result.queries.map((q) => [q.name, q.ratMs.toFixed(1), q.rawMs.toFixed(1), q.ratio.toFixed(3), q.name === 'range-filter' ? 'pruned' : q.samePlan ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const p = result.pruning;
  const o = result.overhead;
  return [
    `${result.dataset.sales.rows.toLocaleString('en-US')} rows in ${result.dataset.sales.dataFiles} files, ${result.threads} threads, median of ${result.rounds} interleaved rounds after ${result.warmupRounds} warm-up`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    '',
    `geomean ratio: ${result.geomeanRatio.toFixed(3)} (target <= ${result.targets.geomeanRatioMax}: ${result.targets.geomeanMet ? 'met' : 'MISSED'})`,
    `range filter ${p.filter}: rat opened ${p.ratFilesOpened} of ${p.totalFiles} files, bounds overlap ${p.overlappingFiles}` +
      ` (${p.sameFiles ? 'the same files' : 'DIFFERENT files'}: ${result.targets.pruningMet ? 'met' : 'MISSED'}); raw DuckDB opened ${p.rawFilesOpened} of ${p.totalFiles}`,
    `per-query overhead: one-row query rat ${o.tinyQuery.ratMs.toFixed(2)} ms vs raw ${o.tinyQuery.rawMs.toFixed(2)} ms; ` +
      o.steps.map((step) => `${step.name.split(':')[0]} ${step.ms.toFixed(2)} ms`).join(', '),
    `load average ${formatLoad(result.loadAverage.before)} before, ${formatLoad(result.loadAverage.after)} after (${result.machine.cores} cores)`,
    '',
  ].join('\n');
}

const BEGIN = '<!-- bench:begin -- written by `npm run bench`; edit outside these markers -->';
const END = '<!-- bench:end -->';

/** Replaces the generated section of BENCHMARKS.md (creating the file if needed), keeping the text around it. */
export async function writeBenchmarksMd(path: string, result: BenchResult): Promise<void> {
  const section = `${BEGIN}\n${formatMarkdown(result)}${END}`;
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  let text: string;
  if (existing === undefined) {
    text = `# Benchmarks\n\n${section}\n`;
  } else {
    const begin = existing.indexOf('<!-- bench:begin');
    const end = existing.indexOf(END);
    text = begin >= 0 && end > begin ? `${existing.slice(0, begin)}${section}${existing.slice(end + END.length)}` : `${existing.trimEnd()}\n\n${section}\n`;
  }
  await writeFile(path, text);
}

export function formatMarkdown(result: BenchResult): string {
  const m = result.machine;
  const d = result.dataset;
  const p = result.pruning;
  const o = result.overhead;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const out: string[] = [];
  out.push(`## Latest run: ${result.date}`, '');
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${gib(m.memoryBytes)} RAM, ${m.os}`,
    `- Load average (1/5/15 min) before the timed rounds ${formatLoad(result.loadAverage.before)}, after ${formatLoad(result.loadAverage.after)}` +
      (Math.max(...result.loadAverage.before, ...result.loadAverage.after) > m.cores ? ' — the machine was shared with other work, so single timings are noisy' : ''),
    `- Software: Node ${m.node}, DuckDB ${m.duckdb} (both sides, ${result.threads} threads each)`,
    `- Dataset: \`bench.sales\` ${d.sales.rows.toLocaleString('en-US')} rows in ${d.sales.dataFiles} Parquet files (${mib(d.salesBytes)}, one INSERT per month, ` +
      `${monthLabel(d.spec.firstYear, 0)} to ${monthLabel(d.spec.firstYear, d.spec.months - 1)}); \`bench.customers\` ${d.customers.rows.toLocaleString('en-US')} rows in ${d.customers.dataFiles} file(s); ` +
      `${d.generated ? `generated by this run in ${d.generateSeconds?.toFixed(0) ?? '?'} s` : 'reused from an earlier run'}`,
    `- Method: ${result.warmupRounds} warm-up round (results of both sides compared), then ${result.rounds} rounds; each round runs every query once through rat ` +
      `(\`lakehouse.query(sql)\`) and once through a separate DuckDB instance with \`read_parquet([...same files...])\`, order alternating; medians per query`,
    `- rat's scan of \`bench.sales\` ${result.ratUsesFieldIdMapping ? 'maps columns by field id (`schema=`)' : 'reads the files by column name, like raw DuckDB (no `schema=` mapping)'}`,
    '',
  );
  out.push('| query | rat ms | raw ms | ratio | rat − raw ms | same DuckDB plan |', '|---|---:|---:|---:|---:|---|');
  for (const q of result.queries) {
    const plan = q.name === 'range-filter' ? 'no: rat reads only the pruned files' : q.samePlan ? 'yes' : 'no';
    out.push(`| ${q.name} | ${q.ratMs.toFixed(1)} | ${q.rawMs.toFixed(1)} | ${q.ratio.toFixed(3)} | ${(q.ratMs - q.rawMs).toFixed(1)} | ${plan} |`);
  }
  out.push(`| **geometric mean** | | | **${result.geomeanRatio.toFixed(3)}** | | |`, '');
  out.push(
    `Range filter \`${p.filter}\`: rat opened **${p.ratFilesOpened}** of ${p.totalFiles} files ` +
      `(${p.ratSkippedByBounds} skipped by column bounds, ${p.ratSkippedByPartition} by partition); ` +
      `${p.overlappingFiles} file(s) have \`ts\` bounds overlapping the range (computed independently from the unpruned file list); ` +
      `${p.sameFiles ? 'they are the same files' : 'they are **not** the same files'}. Raw DuckDB is given all ${p.rawFilesOpened} files ` +
      '(`read_parquet` has no Iceberg metadata; it can only skip row groups after opening each footer).',
    '',
  );
  out.push(
    '### Per-query overhead of rat',
    '',
    `A one-row query (\`${o.tinyQuery.sql}\`), ${o.repetitions} times each side, interleaved: rat ${o.tinyQuery.ratMs.toFixed(2)} ms, raw DuckDB ${o.tinyQuery.rawMs.toFixed(2)} ms ` +
      `(difference ${(o.tinyQuery.ratMs - o.tinyQuery.rawMs).toFixed(2)} ms). The steps rat adds before DuckDB runs the query, timed separately (medians):`,
    '',
    '| step | ms |',
    '|---|---:|',
    ...o.steps.map((step) => `| ${step.name} | ${step.ms.toFixed(2)} |`),
    '',
  );
  out.push('### Verdict', '');
  const g = result.geomeanRatio;
  if (result.targets.geomeanMet) {
    out.push(`- Geometric-mean ratio ${g.toFixed(3)} ≤ ${result.targets.geomeanRatioMax}: **met**.`);
  } else {
    const slow = result.queries.filter((q) => q.ratio > result.targets.geomeanRatioMax);
    const perQuery = o.tinyQuery.ratMs - o.tinyQuery.rawMs;
    out.push(
      `- Geometric-mean ratio ${g.toFixed(3)} > ${result.targets.geomeanRatioMax}: **missed**. Slower than the target: ` +
        slow.map((q) => `${q.name} (${q.ratio.toFixed(3)}, +${(q.ratMs - q.rawMs).toFixed(1)} ms on ${q.rawMs.toFixed(1)} ms${q.samePlan ? ', same DuckDB plan' : ''})`).join(', ') +
        `. rat's own per-query work measures ${perQuery.toFixed(2)} ms (one-row query, above); a larger gap on a query DuckDB runs with the same plan ` +
        'is not explained by that work and is most likely variance between runs (see the load average).',
    );
  }
  out.push(
    result.targets.pruningMet
      ? `- Files opened for the range filter equal the files whose bounds overlap it (${p.ratFilesOpened} = ${p.overlappingFiles}): **met**.`
      : `- Files opened for the range filter (${p.ratFilesOpened}) differ from the files whose bounds overlap it (${p.overlappingFiles}): **missed**.`,
  );
  const pruned = result.queries.find((q) => q.name === 'range-filter');
  const unpruned = result.queries.filter((q) => q.name !== 'range-filter');
  if (pruned && unpruned.length > 0) {
    const without = Math.exp(unpruned.reduce((s, q) => s + Math.log(q.ratio), 0) / unpruned.length);
    out.push(`- Without the range filter (where pruning helps rat), the geometric mean of the other ${unpruned.length} ratios is ${without.toFixed(3)}.`);
  }
  out.push('', '<details><summary>Queries (rat form; raw DuckDB reads <code>read_parquet([...])</code> in place of each table)</summary>', '');
  for (const q of result.queries) out.push(`- ${q.name}: \`${q.sql}\``);
  out.push('', '</details>', '');
  return `${out.join('\n')}\n`;
}

function monthLabel(firstYear: number, index: number): string {
  return new Date(Date.UTC(firstYear, index, 1)).toISOString().slice(0, 7);
}

function formatLoad(values: number[]): string {
  return values.map((v) => v.toFixed(1)).join(' / ');
}
