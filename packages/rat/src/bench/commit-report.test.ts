import { describe, expect, it } from 'vitest';
import { type CommitBenchResult, type CommitDialectResult, formatCommitMarkdown, formatCommitText, verdict } from './commit-report.js';

const machine = { cpuModel: 'Test CPU', cores: 2, memoryBytes: 8 * 2 ** 30, os: 'linux 6', node: 'v20.0.0', duckdb: 'v1.5.6 (abc)' };

function dialect(overrides: Partial<CommitDialectResult> = {}): CommitDialectResult {
  return {
    dialect: 'sqlite',
    database: 'SQLite file',
    ratMs: 30,
    rawMs: 4,
    ratio: 7.5,
    controlMs: 4.2,
    controlRatio: 1.05,
    ratSamplesMs: [30],
    rawSamplesMs: [4],
    controlSamplesMs: [4.2],
    snapshotsAtEnd: 40,
    metadataBytesAtEnd: 20_000,
    profile: {
      repetitions: 20,
      totalMs: 32,
      fsyncMs: 1.5,
      steps: [
        { name: 'DuckDB: COPY rows to a staged Parquet file', ms: 5, calls: 1 },
        { name: 'storage: move the data file into place', ms: 1, calls: 1 },
        { name: 'storage: make the written files durable (fsync of all files and dirs at once)', ms: 5, calls: 1 },
        { name: 'metadata DB: commit transaction (CAS pointer, commit rows, branch head)', ms: 2, calls: 1 },
        { name: 'JavaScript and the rest', ms: 19, calls: 1 },
      ],
    },
    loadAverage: { before: [0.5, 0.4, 0.3], after: [0.6, 0.4, 0.3] },
    met: false,
    ...overrides,
  };
}

const result = (dialects: CommitBenchResult['dialects']): CommitBenchResult => ({
  date: '2026-11-26T20:00:00.000Z',
  machine,
  threads: 2,
  rows: 1000,
  warmupRounds: 3,
  rounds: 30,
  ratSql: 'INSERT INTO bench_x.t SELECT 1',
  rawSql: 'COPY (SELECT 1) TO x',
  dialects,
  targetRatioMax: 5,
});

describe('commit report', () => {
  it('explains a missed target with the profile: DuckDB, storage, metadata DB and the rest, and the budget', () => {
    const text = verdict(dialect(), 5);
    expect(text).toContain('rat 30.0 ms vs raw 4.0 ms = 7.50x ≥ 5x: **missed** (the target allows 20.0 ms)');
    expect(text).toContain('DuckDB work (describe, COPY with statistics) is 5.0 ms');
    expect(text).toContain('writing the files and making them durable 6.0 ms (one fsync round for all of them; 1.5 ms for one file on this disk)');
    expect(text).toContain('the metadata DB 2.0 ms and the rest (JavaScript) 19.0 ms');
    expect(verdict(dialect({ ratMs: 12, ratio: 3, met: true }), 5)).toBe('SQLite: rat 12.0 ms vs raw 4.0 ms = 3.00x < 5x: **met**.');
  });

  it('puts both dialects in one table and the profile side by side, and reports a skipped PostgreSQL with its reason', () => {
    const markdown = formatCommitMarkdown(result([dialect(), dialect({ dialect: 'postgres', database: 'PostgreSQL 15', ratMs: 40, ratio: 10 })]));
    expect(markdown).toContain('| SQLite (SQLite file) | 30.0 | 4.0 | **7.50** | < 5: **missed** | 1.05 | 40 |');
    expect(markdown).toContain('| PostgreSQL (PostgreSQL 15) | 40.0 | 4.0 | **10.00** |');
    expect(markdown).toContain('| step | SQLite ms | PostgreSQL ms |');
    expect(markdown).toContain('| DuckDB: COPY rows to a staged Parquet file | 5.00 | 5.00 |');
    expect(markdown).toContain('Load average (1/5/15 min): SQLite run 0.5 / 0.4 / 0.3 before, 0.6 / 0.4 / 0.3 after; PostgreSQL run');
    expect(markdown).not.toContain('shared with other work');

    const skipped = formatCommitMarkdown(result([dialect({ loadAverage: { before: [3, 2, 1], after: [3, 2, 1] } }), { dialect: 'postgres', skipped: 'no initdb' }]));
    expect(skipped).toContain('| PostgreSQL | skipped |');
    expect(skipped).toContain('PostgreSQL skipped: no initdb');
    expect(skipped).toContain('the machine was shared with other work');
    expect(formatCommitText(result([{ dialect: 'postgres', skipped: 'no initdb' }]))).toContain('PostgreSQL: skipped (no initdb)');
  });
});
