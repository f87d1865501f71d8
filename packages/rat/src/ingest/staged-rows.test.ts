import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { quoteIdent, quoteString } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import type { ProbedFile } from './file-probe.js';
import { resolveIngestOptions } from './ingest-options.js';
import type { IngestProgress } from './progress.js';
import { parquetKeeps } from './scratch-parquet.js';
import { dropStaged, LINE_COLUMN, type StageContext, stageNames } from './staged-file.js';
import { formatTimestamp, RowSink } from './staged-rows.js';
import { type IngestFixture, openIngestFixture } from './test-support/ingest-fixture.js';

/** The form it must produce, from the runtime's own calendar. */
const viaIso = (date: Date) => {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
};

describe('formatTimestamp', () => {
  it('writes the UTC wall time to the millisecond, as toISOString does, across years 1000-9999', () => {
    const cases = [
      Date.UTC(1970, 0, 1),
      -1, // 1969-12-31 23:59:59.999
      Date.UTC(1899, 11, 30, 13, 30), // Excel's day 0 with a time
      Date.UTC(1900, 1, 28, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12, 0, 0, 5),
      Date.UTC(2024, 11, 31, 23, 59, 59, 990),
      Date.UTC(1000, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    let seed = 7;
    for (let n = 0; n < 5000; n++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      cases.push(Math.round(Date.UTC(1000, 0, 1) + (seed / 0x7fffffff) * (Date.UTC(9999, 11, 31) - Date.UTC(1000, 0, 1))));
    }
    for (const ms of cases) expect(formatTimestamp(new Date(ms))).toBe(viaIso(new Date(ms)));
  });

  it('writes years outside 1000-9999 as DuckDB reads them: signed six-digit years without the +', () => {
    expect([Date.UTC(999, 11, 31, 1, 2, 3), Date.UTC(10000, 0, 1), -8.64e15, 8.64e15, Date.UTC(-1, 0, 1)].map((ms) => formatTimestamp(new Date(ms)))).toEqual([
      '0999-12-31 01:02:03.000',
      '010000-01-01 00:00:00.000',
      '-271821-04-20 00:00:00.000',
      '275760-09-13 00:00:00.000',
      '-000001-01-01 00:00:00.000',
    ]);
  });
});

describe('RowSink staging', () => {
  let fx: IngestFixture;
  let sinks = 0;
  beforeAll(async () => {
    fx = await openIngestFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  async function newSink(): Promise<{ sink: RowSink; ctx: StageContext; scratch: string }> {
    const scratch = await mkdtemp(join(fx.dir, 'scratch-'));
    const ctx: StageContext = {
      duck: fx.rat.duck,
      id: `sink${++sinks}`,
      reserved: new Set(),
      options: resolveIngestOptions(),
      scratchDir: scratch,
      onReadProgress: (work) => work(),
      onInferProgress: (work) => work(),
    };
    const file: ProbedFile = { localPath: join(scratch, 'source'), display: 'source.txt', size: 0, hash: '', compression: 'none', format: 'custom', encoding: 'utf-8' };
    return { sink: new RowSink(ctx, file), ctx, scratch };
  }

  /** The rows as the staged relation holds them, in its order, every value as text (so -0.0 and 0.0 differ). */
  const asText = async (relation: string) => {
    const described = await describeQuery(fx.rat.duck, `SELECT * FROM ${quoteIdent(relation)}`);
    return fx.rat.duck.rows<Record<string, string | null>>(`SELECT ${described.names.map((n) => `CAST(${quoteIdent(n)} AS VARCHAR) AS ${quoteIdent(n)}`).join(', ')} FROM ${quoteIdent(relation)}`);
  };

  it('stages many rows as a view over a scratch Parquet file: no temp table holds them, and they keep their order and lines', async () => {
    const { sink, ctx, scratch } = await newSink();
    const count = 200_000;
    for (let i = 1; i <= count; i++) await sink.add(Object.entries({ id: i, name: `name ${i % 97}`, ts: new Date(Date.UTC(2024, 0, 1) + i * 1000) }), i + 1);
    const staged = await sink.stage();
    try {
      expect(staged).toMatchObject({ relation: stageNames(ctx.id).view, rows: count, rejected: 0 });
      const tables = await fx.rat.duck.rows<{ name: string; rows: bigint }>(`SELECT table_name AS name, estimated_size AS rows FROM duckdb_tables() WHERE temporary AND estimated_size > 0`);
      expect(tables).toEqual([]);
      const [view] = await fx.rat.duck.rows<{ sql: string }>(`SELECT sql FROM duckdb_views() WHERE temporary AND view_name = ${quoteString(staged.relation)}`);
      expect(view?.sql).toContain(`read_parquet('${join(scratch, `${ctx.id}-rows.parquet`)}')`);
      // The NDJSON scratch files are read once: only the Parquet file is left, until the caller removes the directory.
      expect(readdirSync(scratch)).toEqual([`${ctx.id}-rows.parquet`]);
      const [check] = await fx.rat.duck.rows<{ n: bigint; ordered: boolean; latest: string }>(
        `SELECT count(*) AS n, bool_and(${LINE_COLUMN} = k + 1 AND id = k) AS ordered, CAST(max(ts) AS VARCHAR) AS latest FROM (SELECT *, row_number() OVER () AS k FROM ${quoteIdent(staged.relation)})`,
      );
      expect(check).toEqual({ n: BigInt(count), ordered: true, latest: '2024-01-03 07:33:20' });
    } finally {
      await dropStaged(fx.rat.duck, ctx.id);
    }
    expect(await fx.rat.duck.rows(`SELECT view_name FROM duckdb_views() WHERE view_name = ${quoteString(staged.relation)}`)).toEqual([]);
  });

  it('stages again under the same id after dropStaged, as a commit retry or the infinity check does: the new rows, not the old file\'s', async () => {
    const { sink, ctx, scratch } = await newSink();
    for (let i = 1; i <= 3; i++) await sink.add(Object.entries({ v: `first ${i}` }), i);
    expect((await sink.stage()).rows).toBe(3);
    await dropStaged(fx.rat.duck, ctx.id);
    const again = new RowSink(ctx, { localPath: join(scratch, 'source'), display: 'source.txt', size: 0, hash: '', compression: 'none', format: 'custom', encoding: 'utf-8' });
    for (let i = 1; i <= 2; i++) await again.add(Object.entries({ v: `second ${i}` }), i);
    const staged = await again.stage();
    try {
      expect(staged.rows).toBe(2);
      expect(await asText(staged.relation)).toEqual([
        { v: 'second 1', [LINE_COLUMN]: '1' },
        { v: 'second 2', [LINE_COLUMN]: '2' },
      ]);
    } finally {
      await dropStaged(fx.rat.duck, ctx.id);
    }
  });

  /** Each declared type with values at its edges (JSON text as the Arrow and Avro readers give it; undefined is NULL). */
  const TYPED: { sql: string; convert?: string; values: (string | undefined)[] }[] = [
    { sql: 'BOOLEAN', values: ['true', 'false'] },
    { sql: 'TINYINT', values: ['-128', '127'] },
    { sql: 'SMALLINT', values: ['-32768', '32767'] },
    { sql: 'INTEGER', values: ['-2147483648', '2147483647'] },
    { sql: 'BIGINT', values: ['-9223372036854775808', '9223372036854775807', '9007199254740993'] },
    { sql: 'UTINYINT', values: ['255'] },
    { sql: 'USMALLINT', values: ['65535'] },
    { sql: 'UINTEGER', values: ['4294967295'] },
    { sql: 'UBIGINT', values: ['18446744073709551615'] },
    { sql: 'FLOAT', values: ['3.4028235e38', '"NaN"', '"Infinity"', '"-Infinity"', '-0.0', '1.5e-45'] },
    { sql: 'DOUBLE', values: ['5e-324', '1.7976931348623157e308', '"-Infinity"', '-0.0', '0.1'] },
    { sql: 'DECIMAL(4, 2)', values: ['"-99.99"', '"0.01"'] },
    { sql: 'DECIMAL(18, 3)', values: ['"999999999999999.999"', '"-0.001"'] },
    { sql: 'DECIMAL(38, 10)', values: ['"9999999999999999999999999999.9999999999"', '"-0.0000000001"'] },
    { sql: 'DATE', values: ['"2024-02-29"', '"0001-01-01"', '"9999-12-31"', '"infinity"', '"-infinity"'] },
    { sql: 'TIME', values: ['"00:00:00.000000"', '"23:59:59.999999"', '"24:00:00"'] },
    { sql: 'TIMESTAMP', values: ['"2023-11-14 22:13:20.123456"', '"1677-09-21 00:12:43.145224"', '"infinity"', '"-infinity"'] },
    { sql: 'TIMESTAMPTZ', values: ['"2023-11-14 22:13:20.123456+00"', '"1900-01-01 00:00:00+00"', '"infinity"'] },
    { sql: 'VARCHAR', values: ['""', '"ünï 😀"', JSON.stringify('a line\nbreak, "quoted"'), JSON.stringify('x'.repeat(100_000))] },
    { sql: 'VARCHAR', convert: 'from_base64', values: ['"AAH/"', '""'] },
    { sql: 'UUID', values: ['"00000000-0000-0000-0000-000000000000"', '"ffffffff-ffff-ffff-ffff-ffffffffffff"', '"8b3a0c8e-1f5e-4b8e-9c1a-2d3e4f5a6b7c"'] },
    { sql: 'INTEGER[]', values: ['[]', '[null]', '[1,null,3]'] },
    { sql: 'VARCHAR[][]', values: ['[["a"],[],null]', '[]'] },
    { sql: 'STRUCT("a b" INTEGER, "X" VARCHAR[])', values: ['{"a b":null,"X":null}', '{"a b":1,"X":["x",null]}'] },
    { sql: 'STRUCT(d DECIMAL(38, 2), t TIMESTAMPTZ, s STRUCT(b BLOB))[]', values: ['[{"d":"12.50","t":"2024-01-01 00:00:00+00","s":{"b":"\\\\x00"}},null]', '[{"d":null,"t":null,"s":null}]'] },
    { sql: 'MAP(VARCHAR, INTEGER)', values: ['{"k":1,"z":null}', '{}'] },
  ];

  /**
   * Stages TYPED's columns through a RowSink, and reads the same rows the way they were staged
   * before the scratch Parquet file (read_json into a temp table): every value must come back the same.
   */
  async function expectExactRoundTrip(columns: typeof TYPED, relationKind: 'view' | 'relation'): Promise<void> {
    const { sink, ctx } = await newSink();
    const names = columns.map((_, k) => `c${k + 1}`);
    columns.forEach((c, k) => sink.declare(names[k]!, c.sql, c.convert));
    const height = Math.max(...columns.map((c) => c.values.length)) + 1;
    const lines: string[] = [];
    for (let row = 0; row < height; row++) {
      const values = columns.map((c) => c.values[row]);
      await sink.addTyped(values, row + 1);
      lines.push(`{${[...values.flatMap((v, k) => (v === undefined ? [] : [`"${names[k]}":${v}`])), `"${LINE_COLUMN}":${row + 1}`].join(',')}}`);
    }
    const staged = await sink.stage();
    const reference = join(fx.dir, `${ctx.id}-reference.ndjson`);
    await writeFile(reference, `${lines.join('\n')}\n`);
    try {
      expect(staged.relation).toBe(stageNames(ctx.id)[relationKind]);
      expect(staged.rows).toBe(height);
      const declared = columns.map((c, k) => `${quoteString(names[k]!)}: ${quoteString(c.sql)}`).join(', ');
      const projection = columns.map((c, k) => (c.convert ? `${c.convert}(${quoteIdent(names[k]!)}) AS ${quoteIdent(names[k]!)}` : quoteIdent(names[k]!))).join(', ');
      await fx.rat.duck.run(
        `CREATE OR REPLACE TEMP TABLE ${ctx.id}_reference AS SELECT ${projection}, ${LINE_COLUMN} FROM read_json(${quoteString(reference)}, format = 'newline_delimited', records = true, columns = {${declared}, '${LINE_COLUMN}': 'BIGINT'})`,
      );
      const expected = await describeQuery(fx.rat.duck, `SELECT * FROM ${ctx.id}_reference`);
      expect(staged.columns.map((c) => c.type.toString())).toEqual(expected.types.slice(0, -1).map((t) => t.toString()));
      expect(await asText(staged.relation)).toEqual(await asText(`${ctx.id}_reference`));
      const differing = await fx.rat.duck.rows(
        `SELECT r.${LINE_COLUMN} FROM ${ctx.id}_reference r JOIN ${quoteIdent(staged.relation)} s USING (${LINE_COLUMN}) WHERE ${names.map((n) => `r.${n} IS DISTINCT FROM s.${n}`).join(' OR ')}`,
      );
      expect(differing).toEqual([]);
    } finally {
      await fx.rat.duck.run(`DROP TABLE IF EXISTS ${ctx.id}_reference`);
      await dropStaged(fx.rat.duck, ctx.id);
    }
  }

  it('gives back every value of every declared type exactly through the scratch Parquet file, NULLs and nesting included', async () => {
    await expectExactRoundTrip(TYPED, 'view');
  });

  it('keeps the rows in a temp table when a column has a type Parquet does not give back exactly', async () => {
    const unkept = [
      { sql: 'HUGEINT', values: ['"170141183460469231731687303715884105727"', '"-9223372036854775809"'] },
      { sql: 'INTERVAL', values: ['"1 day 00:00:00.000001"'] },
      { sql: 'INTEGER[2]', values: ['[1,2]'] },
      { sql: 'STRUCT(h HUGEINT)[]', values: ['[{"h":"18446744073709551616"}]'] },
    ];
    for (const column of unkept) {
      expect(parquetKeeps((await describeQuery(fx.rat.duck, `SELECT CAST(NULL AS ${column.sql})`)).types[0]!)).toBe(false);
      await expectExactRoundTrip([TYPED[0]!, column], 'relation');
    }
  });

  it('stages the kinds it works out from JavaScript values as before: numbers, booleans, Dates, text, nested values as JSON text', async () => {
    const { sink, ctx } = await newSink();
    await sink.add(Object.entries({ i: 1, d: 1.5, b: true, t: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 5)), s: 'x', big: 2n ** 70n, o: { a: [1, { b: null }], c: 'ü' }, n: null }), 1);
    await sink.add(Object.entries({ i: -(2 ** 53) + 1, d: 2, b: false, s: '', o: [] }), 2);
    await sink.add(Object.entries({ i: 9007199254740993n, big: -5n }), 3);
    const staged = await sink.stage();
    try {
      expect(staged.relation).toBe(stageNames(ctx.id).view);
      expect(Object.fromEntries(staged.columns.map((c) => [c.name, c.type.toString()]))).toEqual({ i: 'BIGINT', d: 'DOUBLE', b: 'BOOLEAN', t: 'TIMESTAMP', s: 'VARCHAR', big: 'VARCHAR', o: 'VARCHAR' });
      expect(await asText(staged.relation)).toEqual([
        { i: '1', d: '1.5', b: 'true', t: '2024-02-29 12:00:00.005', s: 'x', big: '1180591620717411303424', o: '{"a":[1,{"b":null}],"c":"ü"}', [LINE_COLUMN]: '1' },
        { i: '-9007199254740991', d: '2.0', b: 'false', t: null, s: '', big: null, o: '[]', [LINE_COLUMN]: '2' },
        { i: '9007199254740993', d: null, b: null, t: null, s: null, big: '-5', o: null, [LINE_COLUMN]: '3' },
      ]);
    } finally {
      await dropStaged(fx.rat.duck, ctx.id);
    }
  });
});

describe('the scratch Parquet file of a custom parser\'s rows', () => {
  let fx: IngestFixture;
  beforeAll(async () => {
    fx = await openIngestFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('is there while the rows are written, and gone after a load, a file refused for its bad rows, and a failed parser; the table reads without it', async () => {
    const made: string[] = [];
    const stagingDir = fx.rat.store.stagingDir.bind(fx.rat.store);
    const spy = vi.spyOn(fx.rat.store, 'stagingDir').mockImplementation(async () => {
      const dir = await stagingDir();
      made.push(dir);
      return dir;
    });
    const whileWriting: string[] = [];
    const onProgress = (event: IngestProgress) => {
      if (event.phase === 'writing') for (const dir of made) if (existsSync(dir)) whileWriting.push(...readdirSync(dir).filter((f) => f.endsWith('-rows.parquet')));
    };
    const rows = (count: number, bad?: number) =>
      function* () {
        for (let i = 1; i <= count; i++) yield { id: i, v: i === bad ? Number.NaN : i / 4 };
      };
    try {
      const path = await fx.file('scratch.txt', 'rows\n');
      const loaded = await fx.ingestion.ingest(path, 'bronze.scratch', { parser: rows(5000), onProgress });
      expect(loaded.files[0], loaded.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 5000 });
      expect(whileWriting.length).toBeGreaterThan(0);
      const merged = await fx.ingestion.ingest(path, 'bronze.scratch', { parser: rows(10), mode: 'merge', keys: ['id'] });
      expect(merged.files[0], merged.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 10 });
      const refused = await fx.ingestion.ingest(path, 'bronze.scratch', { parser: rows(100, 50), onError: 'fail' });
      expect(refused.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_BAD_ROWS' });
      const failed = await fx.ingestion.ingest(path, 'bronze.scratch', {
        parser: function* () {
          yield { id: 1 };
          throw new Error('broken');
        },
      });
      expect(failed.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_PARSER_FAILED' });
      expect(made.length).toBeGreaterThan(4);
      expect(made.filter((dir) => existsSync(dir))).toEqual([]);
      // Read with every scratch file gone: the table's files are its own.
      expect(await fx.rat.query(`SELECT count(*)::INT AS n, sum(v)::DOUBLE AS total FROM bronze.scratch`)).toEqual([{ n: 5000, total: (5000 * 5001) / 8 }]);
    } finally {
      spy.mockRestore();
    }
  });
});
