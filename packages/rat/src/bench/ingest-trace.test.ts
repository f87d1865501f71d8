import { describe, expect, it } from 'vitest';
import { phaseOf, summarize } from './ingest-trace.js';

describe('ingest phase trace', () => {
  it('names statements by what the ingest uses them for', () => {
    expect(phaseOf(`SELECT Delimiter FROM sniff_csv('/f.csv', sample_size = 20480)`)).toBe('sniff the CSV dialect (sniff_csv)');
    expect(phaseOf(`SELECT * FROM read_json('/f.ndjson', format = 'auto', records = true, compression = 'uncompressed', maximum_object_size = 268435456, sample_size = -1)`)).toBe('infer the JSON types from every record (read_json, sample_size = -1)');
    expect(phaseOf(`COPY (SELECT * FROM "__rat_ingest_ab12") TO '/s/p0' (FORMAT parquet)`)).toBe('write Parquet (COPY ... TO)');
    expect(phaseOf(`CREATE OR REPLACE TEMP TABLE "__rat_ingest_ab12" AS SELECT * FROM read_csv('/f.csv')`)).toBe('stage the rows into a temp table (read_csv/read_json)');
    expect(phaseOf(`SELECT count(*) AS n FROM "__rat_ingest_ab12_rejects"`)).toBe('quarantine: collect rejected rows');
    expect(phaseOf(`SELECT count(*) AS n FROM (SELECT 1)`)).toBe('count rows (extra passes)');
    expect(phaseOf(`SET enable_progress_bar = true`)).toBe('other DuckDB statements (describe, settings, temp tables)');
  });

  it('counts JavaScript before the first read of the file as the probe, other gaps as other JavaScript, overlaps once', () => {
    const trace = summarize(
      [
        { phase: 'other DuckDB statements (describe, settings, temp tables)', start: 1, end: 2 },
        { phase: 'sniff the CSV dialect (sniff_csv)', start: 10, end: 12 },
        { phase: 'write Parquet (COPY ... TO)', start: 13, end: 20 },
        // Nested in the write (e.g. a store call made while it runs): only its part past 20 counts.
        { phase: 'object store: copy + fsync of the data files, metadata files', start: 19, end: 22 },
      ],
      0,
      25,
    );
    expect(trace.totalMs).toBe(25);
    expect(Object.fromEntries(trace.phases.map((p) => [p.name, p.ms]))).toEqual({
      'other JavaScript (planning, manifests and metadata, catalog + registry commit)': 1 + 1 + 3,
      'other DuckDB statements (describe, settings, temp tables)': 1,
      'probe: sha256 of the file, sample (JavaScript)': 8,
      'sniff the CSV dialect (sniff_csv)': 2,
      'write Parquet (COPY ... TO)': 7,
      'object store: copy + fsync of the data files, metadata files': 2,
    });
    expect(trace.phases.reduce((n, p) => n + p.ms, 0)).toBe(25);
  });
});
