import { describe, expect, it } from 'vitest';
import { type BranchBenchResult, type BranchPhase, branchTargetsMet, formatBranchMarkdown, formatBranchText, formatBytes, formatRows } from './branch-report.js';

const machine = { cpuModel: 'Test CPU', cores: 2, memoryBytes: 8 * 2 ** 30, os: 'linux 6', node: 'v20.0.0', duckdb: 'v1.5.6 (abc)' };

const phase = (label: string, ms: { create: number[]; ff: number[]; threeWay: number[] }, totalRows = 1000): BranchPhase => ({
  label,
  totalRows,
  largestTableRows: totalRows === 1000 ? 1 : 2_000_001,
  dataBytes: totalRows === 1000 ? 600 * 1024 : 150 * 2 ** 20,
  commitsInHistory: 1040,
  createMs: ms.create,
  fastForwardMs: ms.ff,
  threeWayMs: ms.threeWay,
});

const result: BranchBenchResult = {
  date: '2026-11-26T20:00:00.000Z',
  machine,
  rounds: 3,
  targetMsMax: 100,
  dialects: [
    {
      dialect: 'sqlite',
      database: 'SQLite file',
      tables: 1000,
      setupSeconds: 50,
      loadAverage: { before: [0.5, 0.5, 0.5], after: [0.5, 0.5, 0.5] },
      phases: [
        phase('one row per table', { create: [10, 12, 11], ff: [5, 6, 7], threeWay: [20, 30, 25] }),
        phase('10 tables with 2M rows', { create: [11, 13, 12], ff: [6, 5, 7], threeWay: [21, 31, 26] }, 20_001_000),
      ],
    },
    { dialect: 'postgres', skipped: 'PostgreSQL server binaries not found' },
  ],
};

describe('branch report', () => {
  it('checks every operation of every phase against the target by its median', () => {
    expect(branchTargetsMet(result).map((c) => `${c.phase}/${c.operation}=${c.ms}`)).toEqual([
      'one row per table/branch create=11',
      'one row per table/fast-forward merge=6',
      'one row per table/three-way merge=25',
      '10 tables with 2M rows/branch create=12',
      '10 tables with 2M rows/fast-forward merge=6',
      '10 tables with 2M rows/three-way merge=26',
    ]);
    const slow = { ...result, targetMsMax: 20 };
    expect(branchTargetsMet(slow).filter((c) => !c.met).map((c) => c.ms)).toEqual([25, 26]);
    expect(formatBranchText(slow)).toContain('targets MISSED: SQLite one row per table three-way merge 25.0 ms; SQLite 10 tables with 2M rows three-way merge 26.0 ms');
  });

  it('shows the medians with their max, bolds a miss, compares the small and the large catalog and names a skipped dialect', () => {
    const markdown = formatBranchMarkdown({ ...result, targetMsMax: 20 });
    expect(markdown).toContain('| SQLite | 1,000 tables, one row per table: 1,000 rows (largest table 1), 600 KiB Parquet, 1,040 commits in history | 11.0 (12.0) | 6.0 (7.0) | **25.0** (30.0) |');
    expect(markdown).toContain('| PostgreSQL | skipped |');
    expect(markdown).toContain('PostgreSQL skipped: PostgreSQL server binaries not found');
    expect(markdown).toContain('- **Missed**: SQLite one row per table three-way merge 25.0 ms');
    expect(markdown).toContain('- SQLite, 1,000 rows → 20.0M rows (600 KiB → 150 MiB of Parquet): branch create 11.0 → 12.0 ms, fast-forward merge 6.0 → 6.0 ms, three-way merge 25.0 → 26.0 ms.');
    expect(formatBranchMarkdown(result)).toContain('**met** (slowest: SQLite 10 tables with 2M rows three-way merge, 26.0 ms)');
  });

  it('formats row counts and sizes the way the tables read them', () => {
    expect([formatRows(1), formatRows(9999), formatRows(20_000), formatRows(2_000_000), formatRows(2_000_001)]).toEqual(['1', '9,999', '20k', '2M', '2.0M']);
    expect([formatBytes(600 * 1024), formatBytes(150 * 2 ** 20), formatBytes(3 * 2 ** 30)]).toEqual(['600 KiB', '150 MiB', '3.0 GiB']);
  });
});
