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
  /** Median of the A/A control: the raw query on a second, identical DuckDB instance. */
  controlMs: number;
  /** controlMs / rawMs: what two identical sides differ by in this run (1 on a quiet machine). */
  controlRatio: number;
  /** DuckDB runs the identical physical plan on both sides (EXPLAIN output equal). */
  samePlan: boolean;
  ratSamplesMs: number[];
  rawSamplesMs: number[];
  controlSamplesMs: number[];
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
  /** Geometric mean of the A/A control ratios: the noise floor of the headline figure in this run. */
  controlGeomeanRatio: number;
  pruning: PruningResult;
  targets: { geomeanRatioMax: number; geomeanMet: boolean; pruningMet: boolean };
}

export function formatText(result: BenchResult): string {
  const header = ['query', 'rat ms', 'raw ms', 'ratio', 'A/A ratio', 'same plan'];
  const rows = result.queries.map((q) => [
    q.name,
    q.ratMs.toFixed(1),
    q.rawMs.toFixed(1),
    q.ratio.toFixed(3),
    q.controlRatio.toFixed(3),
    q.name === 'range-filter' ? 'pruned' : q.samePlan ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const noise = noiseOf(result);
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
    `A/A control (raw vs an identical raw instance): ratios ${noise.min.toFixed(3)}-${noise.max.toFixed(3)}, geomean ${result.controlGeomeanRatio.toFixed(3)}; ` +
      `noise of a geomean ratio in this run about ±${noise.sdPercent.toFixed(1)}% (1 sd)`,
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
      `generated through rat SQL in ${d.generateSeconds.toFixed(0)} s ${d.generated ? 'by this run' : `on ${d.generatedAt.slice(0, 10)} and reused`}`,
    `- Method: ${result.warmupRounds} warm-up round (results of both sides compared), then ${result.rounds} rounds; each round runs every query once through rat ` +
      `(\`lakehouse.query(sql)\`), once through a separate DuckDB instance with \`read_parquet([...same files...])\` (raw) and once more on a third, identical ` +
      'instance (A/A control), order rotating; medians per query',
    `- rat's scan of \`bench.sales\` ${result.ratUsesFieldIdMapping ? 'maps columns by field id (`schema=`)' : 'reads the files by column name, like raw DuckDB (no `schema=` mapping)'}`,
    '',
  );
  out.push('| query | rat ms | raw ms | ratio | rat − raw ms | A/A ratio | same DuckDB plan |', '|---|---:|---:|---:|---:|---:|---|');
  for (const q of result.queries) {
    const plan = q.name === 'range-filter' ? 'no: rat reads only the pruned files' : q.samePlan ? 'yes' : 'no';
    out.push(`| ${q.name} | ${q.ratMs.toFixed(1)} | ${q.rawMs.toFixed(1)} | ${q.ratio.toFixed(3)} | ${(q.ratMs - q.rawMs).toFixed(1)} | ${q.controlRatio.toFixed(3)} | ${plan} |`);
  }
  out.push(`| **geometric mean** | | | **${result.geomeanRatio.toFixed(3)}** | | ${result.controlGeomeanRatio.toFixed(3)} | |`, '');
  out.push(
    'ms are medians. *A/A ratio*: the raw query on a second, identical DuckDB instance (interleaved in the same rounds) over the raw median; ' +
      'it would be 1.000 on a quiet machine, and its distance from 1 is the noise of this run.',
    '',
  );
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
  const noise = noiseOf(result);
  const noiseText =
    `A/A control: the per-query ratios of two identical raw DuckDB instances ranged ${noise.min.toFixed(3)}-${noise.max.toFixed(3)} ` +
    `(geometric mean ${result.controlGeomeanRatio.toFixed(3)}); from their spread, one standard deviation of a five-query geometric mean is about ` +
    `±${noise.sdPercent.toFixed(1)}% in this run, so a ratio within ±${noise.bandPercent.toFixed(1)}% of 1 (two standard deviations) cannot be told apart from 1; ` +
    `this run's ${g.toFixed(3)} is ${noise.within ? 'within' : 'outside'} that band.`;
  if (result.targets.geomeanMet) {
    out.push(`- Geometric-mean ratio ${g.toFixed(3)} ≤ ${result.targets.geomeanRatioMax}: **met**. ${noiseText}`);
  } else {
    const slow = result.queries.filter((q) => q.ratio > result.targets.geomeanRatioMax);
    const perQuery = o.tinyQuery.ratMs - o.tinyQuery.rawMs;
    // Steps only a filtered read takes (parse + rewrite, plan), on top of what every query pays.
    const filtered = perQuery + o.steps.filter((step) => step.name.includes('filtered reads only')).reduce((n, step) => n + step.ms, 0);
    const describe = (q: QueryResult) => `${q.name} (${q.ratio.toFixed(3)}, ${signed(q.ratMs - q.rawMs)} ms on ${q.rawMs.toFixed(1)} ms${q.samePlan ? ', same DuckDB plan' : ''})`;
    const reasons: string[] = [];
    if (slow.some((q) => q.samePlan)) {
      reasons.push(
        `For the unfiltered queries rat's own work is about ${perQuery.toFixed(1)} ms per query (one-row query, above) and DuckDB runs the same plan on both sides, ` +
          'so a larger gap there is not work rat adds.',
      );
    }
    const range = slow.find((q) => q.name === 'range-filter');
    if (range) {
      reasons.push(
        `The range filter is different: rat reads ${p.ratFilesOpened} file instead of ${p.rawFilesOpened}, but raw DuckDB skips the row groups of the other months ` +
          `from their footer statistics cheaply, so the whole raw query takes ${range.rawMs.toFixed(1)} ms, and rat's fixed work for a filtered read ` +
          `(about ${filtered.toFixed(1)} ms: parsing, finding the filters, planning and splicing the pruned scan into the SQL, timed above) is ${((filtered / range.rawMs) * 100).toFixed(0)}% of that. ` +
          'That part of the gap is real rat overhead.',
      );
    }
    out.push(`- Geometric-mean ratio ${g.toFixed(3)} > ${result.targets.geomeanRatioMax}: **missed** in this run. Above the target: ${slow.map(describe).join(', ')}. ${reasons.join(' ')} ${noiseText}`);
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
    out.push(`- Without the range filter, the geometric mean of the other ${unpruned.length} ratios is ${without.toFixed(3)}.`);
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

/**
 * How much the headline figure moves by chance in this run, from the A/A control: two identical
 * sides should give ratio 1, so the spread of their log ratios estimates the noise of one query's
 * ratio (sigma); a geometric mean of n such ratios has about sigma / sqrt(n). A headline within two
 * of those of 1 cannot be told apart from 1.
 */
export function noiseOf(result: Pick<BenchResult, 'geomeanRatio' | 'queries'>): { sdPercent: number; bandPercent: number; within: boolean; min: number; max: number } {
  const logs = result.queries.map((q) => Math.log(q.controlRatio));
  const sd = Math.sqrt(logs.reduce((sum, x) => sum + x * x, 0) / logs.length) / Math.sqrt(logs.length);
  const ratios = result.queries.map((q) => q.controlRatio);
  return {
    sdPercent: (Math.exp(sd) - 1) * 100,
    bandPercent: (Math.exp(2 * sd) - 1) * 100,
    within: Math.abs(Math.log(result.geomeanRatio)) <= 2 * sd,
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  };
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(1)}`;
}
