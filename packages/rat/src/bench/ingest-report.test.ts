import { describe, expect, it } from 'vitest';
import { formatIngestMarkdown, formatIngestText, type IngestBenchResult, medianOf, medianTrace, perFile, processLine, ratios, roundRatios, type SideSamples, verdicts } from './ingest-report.js';

const MIB = 2 ** 20;
const side = (name: string, ms: number[], rssMib: number[]): SideSamples => ({ name, ms, maxRssBytes: rssMib.map((m) => m * MIB), rows: 1000 });

const result = (over: Partial<IngestBenchResult> = {}): IngestBenchResult => ({
  date: '2026-11-26T21:00:00.000Z',
  machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 8 * 2 ** 30, os: 'linux test', node: 'v20.0.0', duckdb: 'v1.5.6 (abc)' },
  threads: 2,
  rounds: 3,
  loadAverage: { before: [0.5, 0.5, 0.5], after: [0.6, 0.5, 0.5] },
  csv: {
    file: { path: '/data/rows.csv', rows: 1000, bytes: 100 * MIB },
    // Medians: rat 1050 ms / 600 MiB, DuckDB 1000 ms / 500 MiB.
    rat: side('rat', [1100, 1050, 1000], [600, 610, 590]),
    duckdb: side('duckdb', [1000, 990, 1010], [500, 500, 500]),
    phases: { totalMs: 1050, phases: [{ name: 'write Parquet (COPY ... TO)', ms: 900, statements: 1 }, { name: 'probe: sha256 of the file, sample (JavaScript)', ms: 0.01, statements: 0 }] },
  },
  smallFiles: { count: 1000, rowsEach: 100, bytes: 5 * MIB, combinedMs: [500], batchMs: [15_500], skipMs: [900] },
  ...over,
});

describe('ingest report', () => {
  it('reports whole processes, start to exit, and the time the rat process spends outside its timed ingest', () => {
    const rat = { name: 'rat', ms: [4000, 4200, 4100], maxRssBytes: [1, 1, 1], processMs: [5000, 35000, 5200], rows: 10 };
    const duckdb = { name: 'duckdb', ms: [3800, 3900, 3700], maxRssBytes: [1, 1, 1], processMs: [4200, 4000, 4100], rows: 10 };
    expect(processLine(rat, duckdb)).toBe(
      "Whole processes, start to exit (Node's start and imports included; medians): rat 5.20 s, DuckDB COPY 4.10 s: **1.27×**; the rest of rat's process (start, imports, opening and closing the lakehouse, exit) took 1.10 s.",
    );
    expect(processLine({ ...rat, processMs: undefined }, duckdb)).toBeUndefined();
    expect(processLine(rat, { ...rat, name: 'before' }, 'session start (abc1234)')).toContain('the session start (abc1234) build 5.20 s: **1.00×**');
  });

  it('takes ratios of the medians, for time and for peak memory', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, 3, 2])).toBe(2.5);
    const r = ratios(result().csv!.rat, result().csv!.duckdb);
    expect(r.time).toBeCloseTo(1.05, 12);
    expect(r.memory).toBeCloseTo(1.2, 12);
  });

  it('pairs the sides round by round: median, lowest and highest ratio', () => {
    // Rounds: 1100/1000, 1050/990, 1000/1010.
    const r = roundRatios(result().csv!.rat, result().csv!.duckdb)!;
    expect(r.median).toBeCloseTo(1050 / 990, 12);
    expect(r.min).toBeCloseTo(1000 / 1010, 12);
    expect(r.max).toBeCloseTo(1.1, 12);
    expect(roundRatios(side('rat', [], []), side('duckdb', [1], [1]))).toBeUndefined();
    expect(formatIngestMarkdown(result())).toContain('Round by round (each rat run over the DuckDB COPY of its round): median 1.06×, from 0.99× to 1.10×.');
  });

  it('splits a batch into time per file and the cost of files being separate', () => {
    expect(perFile(result().smallFiles!)).toEqual({ totalMs: 15.5, overheadMs: 15, skipMs: 900 });
  });

  it('judges every target, a ratio exactly at its limit as met', () => {
    expect(verdicts(result()).map((v) => [v.name, v.value, v.met])).toEqual([
      ['CSV time, rat / DuckDB COPY', '1.05', true],
      ['CSV peak memory, rat / DuckDB COPY', '1.20', true],
      ['1000 small files: ms per file', '15.5', true],
      ['1000 small files again, skipExisting', '0.90 s', true],
    ]);
    const slow = result({ smallFiles: { count: 10, rowsEach: 100, bytes: 1, combinedMs: [10], batchMs: [250], skipMs: [2500] } });
    expect(verdicts(slow).filter((v) => !v.met).map((v) => v.name)).toEqual(['10 small files: ms per file', '10 small files again, skipExisting']);
  });

  it('writes markdown with the machine, the figures, the phases and the verdicts, leaving out empty phases and parts not run', () => {
    const text = formatIngestMarkdown(result());
    expect(text).toContain('### Latest ingest run: 2026-11-26T21:00:00.000Z');
    expect(text).toContain('Test CPU, 2 cores, 8.0 GiB RAM');
    expect(text).not.toContain('the machine was shared');
    expect(text).toContain('| rat | 1.05 s | 952 rows/s, 95 MiB/s | 600 MiB | 1.05 | 1.20 | 1.10, 1.05, 1.00 |');
    expect(text).toContain('| write Parquet (COPY ... TO) | 0.90 s |');
    expect(text).not.toContain('probe: sha256');
    expect(text).toContain('**15.5 ms per file**');
    expect(text).toContain('| CSV peak memory, rat / DuckDB COPY | 1.20 | ≤ 1.20 | met |');
    expect(text).not.toContain('NDJSON');
    expect(text).not.toContain('XLSX');
    expect(formatIngestMarkdown(result({ loadAverage: { before: [3, 1, 1], after: [1, 1, 1] } }))).toContain('the machine was shared');
  });

  it('prints an aligned text table and the verdicts', () => {
    const text = formatIngestText(result());
    expect(text).toMatch(/^rat\s+1\.05 s\s+952 rows\/s, 95 MiB\/s\s+600 MiB\s+1\.05\s+1\.20/m);
    expect(text).toContain('CSV time, rat / DuckDB COPY: 1.05 (target ≤ 1.10: met)');
    expect(text).toMatch(/^DuckDB COPY .*\nrat \/ DuckDB round by round: median 1\.06, range 0\.99-1\.10\n\n/m);
  });

  it('takes the median of each phase over runs, a phase missing from a run counting as zero', () => {
    const trace = medianTrace([
      { totalMs: 10, phases: [{ name: 'a', ms: 4, statements: 1 }] },
      { totalMs: 12, phases: [{ name: 'a', ms: 6, statements: 1 }, { name: 'b', ms: 2, statements: 2 }] },
      { totalMs: 11, phases: [{ name: 'a', ms: 5, statements: 1 }, { name: 'b', ms: 3, statements: 2 }] },
    ]);
    expect(trace).toEqual({ totalMs: 11, phases: [{ name: 'a', ms: 5, statements: 1 }, { name: 'b', ms: 2, statements: 2 }] });
    expect(medianTrace([])).toBeUndefined();
  });
});
