import type { MachineInfo } from './machine-info.js';
import type { PhaseTrace } from './ingest-trace.js';

export const INGEST_TARGETS = { csvTimeRatioMax: 1.1, csvMemoryRatioMax: 1.2, smallFileMsMax: 20, skipBatchMsMax: 2000 } as const;

/** Samples of one side over the rounds (one child process each). */
export interface SideSamples {
  name: string;
  ms: number[];
  maxRssBytes: number[];
  /** Each child process from its start to its exit (Node's start, imports and shutdown included): a process that lingers after its work shows here only. */
  processMs?: number[];
  rows: number;
}

export interface FileComparison {
  file: { path: string; rows: number; bytes: number };
  /** rat's ingest, and DuckDB's own COPY of the same file (the baseline). */
  rat: SideSamples;
  duckdb: SideSamples;
  /** DuckDB's COPY writing zstd level 1, the codec rat writes by default (DuckDB's default is Snappy). */
  duckdbZstd?: SideSamples;
  /** The same ingest with an earlier build of rat (`--before DIR`), in the same rounds. */
  before?: SideSamples;
  /** Median per phase of rat's runs (and of the earlier build's). */
  phases?: PhaseTrace;
  beforePhases?: PhaseTrace;
}

export interface IngestBenchResult {
  date: string;
  machine: MachineInfo;
  threads: number;
  rounds: number;
  loadAverage: { before: number[]; after: number[] };
  /** Label of the earlier build measured alongside (`--before`), if any. */
  beforeLabel?: string;
  csv?: FileComparison;
  ndjson?: FileComparison;
  xlsx?: { file: { path: string; rows: number; bytes: number }; rat: SideSamples; before?: SideSamples };
  smallFiles?: {
    count: number;
    rowsEach: number;
    bytes: number;
    combinedMs: number[];
    batchMs: number[];
    skipMs: number[];
    /** Where the batch's time went (whole batch; shown per file). */
    phases?: PhaseTrace;
  };
}

export interface Verdict {
  name: string;
  value: string;
  target: string;
  met: boolean;
}

/** The middle value (mean of the two middle values for an even count). */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Ratios of the medians: time and peak memory of `side` over the baseline. */
export function ratios(side: SideSamples, baseline: SideSamples): { time: number; memory: number } {
  return { time: medianOf(side.ms) / medianOf(baseline.ms), memory: medianOf(side.maxRssBytes) / medianOf(baseline.maxRssBytes) };
}

/** Per-file cost of a batch: total / files, and what the batch costs beyond the same rows in one file. */
export function perFile(small: NonNullable<IngestBenchResult['smallFiles']>): { totalMs: number; overheadMs: number; skipMs: number } {
  return {
    totalMs: medianOf(small.batchMs) / small.count,
    overheadMs: (medianOf(small.batchMs) - medianOf(small.combinedMs)) / small.count,
    skipMs: medianOf(small.skipMs),
  };
}

/**
 * Time ratio round by round: each run of `side` over the baseline's run of the same round (the two
 * ran minutes apart at most, so they share the machine's mood more than any other pair). Median,
 * lowest and highest; undefined when the sides have no rounds in common.
 */
export function roundRatios(side: SideSamples, baseline: SideSamples): { median: number; min: number; max: number } | undefined {
  const n = Math.min(side.ms.length, baseline.ms.length);
  if (n === 0) return undefined;
  const each = Array.from({ length: n }, (_, i) => side.ms[i]! / baseline.ms[i]!);
  return { median: medianOf(each), min: Math.min(...each), max: Math.max(...each) };
}

export function verdicts(result: IngestBenchResult): Verdict[] {
  const out: Verdict[] = [];
  if (result.csv) {
    const r = ratios(result.csv.rat, result.csv.duckdb);
    out.push({ name: 'CSV time, rat / DuckDB COPY', value: r.time.toFixed(2), target: `≤ ${INGEST_TARGETS.csvTimeRatioMax.toFixed(2)}`, met: r.time <= INGEST_TARGETS.csvTimeRatioMax });
    out.push({ name: 'CSV peak memory, rat / DuckDB COPY', value: r.memory.toFixed(2), target: `≤ ${INGEST_TARGETS.csvMemoryRatioMax.toFixed(2)}`, met: r.memory <= INGEST_TARGETS.csvMemoryRatioMax });
  }
  if (result.smallFiles) {
    const p = perFile(result.smallFiles);
    out.push({ name: `${result.smallFiles.count} small files: ms per file`, value: p.totalMs.toFixed(1), target: `< ${INGEST_TARGETS.smallFileMsMax}`, met: p.totalMs < INGEST_TARGETS.smallFileMsMax });
    out.push({
      name: `${result.smallFiles.count} small files again, skipExisting`,
      value: `${(p.skipMs / 1000).toFixed(2)} s`,
      target: `< ${INGEST_TARGETS.skipBatchMsMax / 1000} s`,
      met: p.skipMs < INGEST_TARGETS.skipBatchMsMax,
    });
  }
  return out;
}

const MIB = 2 ** 20;

function rate(rows: number, bytes: number, ms: number): string {
  return `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s, ${(bytes / MIB / (ms / 1000)).toFixed(0)} MiB/s`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}

function formatLoad(values: number[]): string {
  return values.map((v) => v.toFixed(1)).join(' / ');
}

/** Rows of the side-by-side table of one file: rat, DuckDB, and the earlier build when measured. */
function comparisonRows(c: FileComparison, beforeLabel: string | undefined): string[][] {
  const sides: [string, SideSamples][] = [['rat', c.rat], ['DuckDB COPY', c.duckdb]];
  if (c.duckdbZstd) sides.push(['DuckDB COPY, zstd like rat', c.duckdbZstd]);
  if (c.before) sides.push([`rat, ${beforeLabel ?? 'earlier build'}`, c.before]);
  return sides.map(([label, s]) => {
    const r = ratios(s, c.duckdb);
    return [
      label,
      seconds(medianOf(s.ms)),
      rate(c.file.rows, c.file.bytes, medianOf(s.ms)),
      mib(medianOf(s.maxRssBytes)),
      r.time.toFixed(2),
      r.memory.toFixed(2),
      s.ms.map((ms) => (ms / 1000).toFixed(2)).join(', '),
    ];
  });
}

export function formatIngestText(result: IngestBenchResult): string {
  const lines: string[] = [`ingest benchmark, ${result.threads} DuckDB threads per side, ${result.rounds} rounds, each side in its own process`, ''];
  const table = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    lines.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), '');
  };
  const header = ['side', 'time', 'rate', 'peak RSS', 'time ratio', 'mem ratio', 'runs (s)'];
  for (const [label, c] of [['CSV', result.csv], ['NDJSON', result.ndjson]] as const) {
    if (!c) continue;
    lines.push(`${label}: ${c.file.rows.toLocaleString('en-US')} rows, ${mib(c.file.bytes)} (${c.file.path})`);
    table(header, comparisonRows(c, result.beforeLabel));
    const paired = roundRatios(c.rat, c.duckdb);
    if (paired && c.rat.ms.length > 1) lines.splice(-1, 0, `rat / DuckDB round by round: median ${paired.median.toFixed(2)}, range ${paired.min.toFixed(2)}-${paired.max.toFixed(2)}`);
    const whole = processLine(c.rat, c.duckdb);
    if (whole) lines.splice(-1, 0, whole.replaceAll('**', ''));
  }
  if (result.xlsx) {
    const x = result.xlsx;
    lines.push(`XLSX: ${x.file.rows.toLocaleString('en-US')} rows, ${mib(x.file.bytes)}: ${seconds(medianOf(x.rat.ms))}, ${rate(x.file.rows, x.file.bytes, medianOf(x.rat.ms))}, peak RSS ${mib(medianOf(x.rat.maxRssBytes))}`);
    if (x.before) lines.push(`  ${result.beforeLabel ?? 'earlier build'}: ${seconds(medianOf(x.before.ms))}, ${rate(x.file.rows, x.file.bytes, medianOf(x.before.ms))}, peak RSS ${mib(medianOf(x.before.maxRssBytes))}; rat takes ${ratios(x.rat, x.before).time.toFixed(2)}x its time`);
    lines.push('');
  }
  if (result.smallFiles) {
    const s = result.smallFiles;
    const p = perFile(s);
    lines.push(
      `small files: ${s.count} x ${s.rowsEach} rows: batch ${seconds(medianOf(s.batchMs))} (${p.totalMs.toFixed(1)} ms/file), same rows as one file ${seconds(medianOf(s.combinedMs))}, ` +
        `overhead ${p.overheadMs.toFixed(1)} ms/file; again with skipExisting ${seconds(p.skipMs)}`,
      '',
    );
  }
  for (const v of verdicts(result)) lines.push(`${v.name}: ${v.value} (target ${v.target}: ${v.met ? 'met' : 'MISSED'})`);
  lines.push(`load average ${formatLoad(result.loadAverage.before)} before, ${formatLoad(result.loadAverage.after)} after (${result.machine.cores} cores)`, '');
  return lines.join('\n');
}

export function formatIngestMarkdown(result: IngestBenchResult): string {
  const m = result.machine;
  const out: string[] = [`### Latest ingest run: ${result.date}`, ''];
  const busy = Math.max(...result.loadAverage.before, ...result.loadAverage.after) > m.cores;
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.os}; Node ${m.node}, DuckDB ${m.duckdb}, ${result.threads} threads per side`,
    `- Load average (1/5/15 min) before ${formatLoad(result.loadAverage.before)}, after ${formatLoad(result.loadAverage.after)}` +
      (busy ? ' — the machine was shared with other work, so single timings are noisy' : ''),
    `- ${result.rounds} rounds; every run is its own Node process, sides alternating; figures are medians, ratios are of medians`,
    '',
  );
  const header = '| side | time | rate | peak RSS | time / DuckDB | memory / DuckDB | runs (s) |';
  for (const [label, c] of [['CSV', result.csv], ['NDJSON', result.ndjson]] as const) {
    if (!c) continue;
    out.push(`**${label}**: ${c.file.rows.toLocaleString('en-US')} rows, ${mib(c.file.bytes)}`, '', header, '|---|---:|---:|---:|---:|---:|---|');
    for (const row of comparisonRows(c, result.beforeLabel)) out.push(`| ${row.join(' | ')} |`);
    out.push('');
    const paired = roundRatios(c.rat, c.duckdb);
    if (paired && c.rat.ms.length > 1) {
      out.push(
        `Round by round (each rat run over the DuckDB COPY of its round): median ${paired.median.toFixed(2)}×, from ${paired.min.toFixed(2)}× to ${paired.max.toFixed(2)}×. ` +
          'The spread is the machine: the same work run twice differs by as much.',
        '',
      );
    }
    const whole = processLine(c.rat, c.duckdb);
    if (whole) out.push(whole, '');
    if (c.duckdbZstd) {
      const z = ratios(c.rat, c.duckdbZstd);
      out.push(
        `Against DuckDB's COPY writing zstd at level 1, the codec rat writes by default (DuckDB's default is Snappy): rat takes **${z.time.toFixed(2)}×** its time and ${z.memory.toFixed(2)}× its peak memory.`,
        '',
      );
    }
    if (c.before) {
      const b = ratios(c.rat, c.before);
      out.push(`Against the ${result.beforeLabel ?? 'earlier'} build in the same rounds: rat takes ${b.time.toFixed(2)}× its time and ${b.memory.toFixed(2)}× its peak memory.`, '');
    }
    if (c.phases) out.push(...phaseTable(label, c.phases, c.beforePhases, result.beforeLabel), '');
  }
  if (result.xlsx) {
    const x = result.xlsx;
    out.push(
      `**XLSX**: ${x.file.rows.toLocaleString('en-US')} rows, ${mib(x.file.bytes)}: ${seconds(medianOf(x.rat.ms))}, ${rate(x.file.rows, x.file.bytes, medianOf(x.rat.ms))}, ` +
        `peak RSS ${mib(medianOf(x.rat.maxRssBytes))} (runs: ${x.rat.ms.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s)`,
      '',
    );
    const whole = processLine(x.rat, x.before, result.beforeLabel);
    if (whole) out.push(whole, '');
    if (x.before) {
      const b = ratios(x.rat, x.before);
      out.push(
        `The ${result.beforeLabel ?? 'earlier'} build in the same rounds, alternating: ${seconds(medianOf(x.before.ms))}, ${rate(x.file.rows, x.file.bytes, medianOf(x.before.ms))}, peak RSS ${mib(medianOf(x.before.maxRssBytes))} ` +
          `(runs: ${x.before.ms.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s): rat takes **${b.time.toFixed(2)}×** its time and ${b.memory.toFixed(2)}× its peak memory.`,
        '',
      );
    }
  }
  if (result.smallFiles) {
    const s = result.smallFiles;
    const p = perFile(s);
    out.push(
      `**Small files**: ${s.count} CSVs of ${s.rowsEach} rows (${mib(s.bytes)} in all) through one \`ingestBatch\` call: ${seconds(medianOf(s.batchMs))}, ` +
        `**${p.totalMs.toFixed(1)} ms per file**; the same ${(s.count * s.rowsEach).toLocaleString('en-US')} rows as one file: ${seconds(medianOf(s.combinedMs))}, ` +
        `so ${p.overheadMs.toFixed(1)} ms per file is the cost of it being a separate file (its probe and hash, its registry row, its share of the runs' reads and commits). ` +
        `The same batch again with \`skipExisting: true\`: **${seconds(p.skipMs)}** for the ${s.count} skipped files.`,
      '',
    );
    if (s.phases) {
      out.push('Where the batch spends its time, per file (each DuckDB statement and object store write timed over the whole batch, divided by the file count):', '', '| phase | ms per file |', '|---|---:|');
      for (const phase of [...s.phases.phases].sort((a, b) => b.ms - a.ms)) {
        if (phase.ms / s.count >= 0.05) out.push(`| ${phase.name} | ${(phase.ms / s.count).toFixed(1)} |`);
      }
      out.push(`| **total** | **${(s.phases.totalMs / s.count).toFixed(1)}** |`, '');
    }
  }
  const v = verdicts(result);
  if (v.length > 0) {
    out.push('| target | this run | goal | |', '|---|---:|---:|---|');
    for (const x of v) out.push(`| ${x.name} | ${x.value} | ${x.target} | ${x.met ? 'met' : '**missed**'} |`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function phaseTable(label: string, phases: PhaseTrace, before: PhaseTrace | undefined, beforeLabel: string | undefined): string[] {
  const names = [...new Set([...phases.phases.map((p) => p.name), ...(before?.phases.map((p) => p.name) ?? [])])];
  const ms = (trace: PhaseTrace | undefined, name: string) => {
    const phase = trace?.phases.find((p) => p.name === name);
    return phase && phase.ms >= 0.05 ? seconds(phase.ms) : '-';
  };
  const lines = [
    `Where rat's ${label} ingest spends its time (each DuckDB statement timed, medians per phase):`,
    '',
    before ? `| phase | rat | rat, ${beforeLabel ?? 'earlier build'} |` : '| phase | rat |',
    before ? '|---|---:|---:|' : '|---|---:|',
  ];
  for (const name of names) {
    if (ms(phases, name) === '-' && ms(before, name) === '-') continue;
    lines.push(before ? `| ${name} | ${ms(phases, name)} | ${ms(before, name)} |` : `| ${name} | ${ms(phases, name)} |`);
  }
  lines.push(before ? `| **total** | **${seconds(phases.totalMs)}** | **${seconds(before.totalMs)}** |` : `| **total** | **${seconds(phases.totalMs)}** |`);
  return lines;
}

/** Median of each phase over several traces (a phase missing from a trace counts as 0 there). */
export function medianTrace(traces: readonly PhaseTrace[]): PhaseTrace | undefined {
  if (traces.length === 0) return undefined;
  const names = [...new Set(traces.flatMap((t) => t.phases.map((p) => p.name)))];
  return {
    totalMs: medianOf(traces.map((t) => t.totalMs)),
    phases: names.map((name) => {
      const of = traces.map((t) => t.phases.find((p) => p.name === name));
      return { name, ms: medianOf(of.map((p) => p?.ms ?? 0)), statements: medianOf(of.map((p) => p?.statements ?? 0)) };
    }),
  };
}

/**
 * The whole child processes, start to exit: the timed call is what the tables show, but a process that
 * waits after its work (a timer left behind, a pool not closed) costs its user the same.
 */
export function processLine(rat: SideSamples, other: SideSamples | undefined, otherLabel?: string): string | undefined {
  if (!rat.processMs?.length) return undefined;
  const ratMs = medianOf(rat.processMs);
  const otherMs = other?.processMs?.length ? medianOf(other.processMs) : undefined;
  const name = other?.name === 'duckdb' ? 'DuckDB COPY' : `the ${otherLabel ?? 'earlier'} build`;
  return (
    `Whole processes, start to exit (Node's start and imports included; medians): rat ${seconds(ratMs)}` +
    (otherMs === undefined ? '' : `, ${name} ${seconds(otherMs)}: **${(ratMs / otherMs).toFixed(2)}×**`) +
    `; the rest of rat's process (start, imports, opening and closing the lakehouse, exit) took ${seconds(ratMs - medianOf(rat.ms))}.`
  );
}
