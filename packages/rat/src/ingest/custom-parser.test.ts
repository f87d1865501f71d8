import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteString } from '../engine/duckdb.js';
import type { CustomParser, ParsedRow } from './ingest-options.js';
import type { IngestProgress } from './progress.js';
import { ParserError } from './input-file-error.js';
import { openIngestFixture, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** A report no generic reader handles: a title block, two header lines, data, and footer totals. */
const REPORT = [
  'ACME Corp - Monthly Sales Report',
  'Generated: 2026-03-01',
  '',
  'Region   | Units | Revenue | Date',
  '         | (pcs) | (EUR)   |',
  '---------+-------+---------+-----------',
  'North    |    10 |  1200.50 | 2026-02-01',
  'South    |     4 |   300.00 | 2026-02-02',
  'East     |     7 |   845.25 | 2026-02-03',
  '---------+-------+---------+-----------',
  'TOTAL    |    21 |  2345.75 |',
  '',
].join('\n');

/** The parser a user would write for REPORT: skip the title and header block, stop at the footer. */
const reportParser: CustomParser = async function* (input) {
  let inBody = false;
  for await (const line of input.lines()) {
    if (line.startsWith('---')) {
      if (inBody) return;
      inBody = true;
      continue;
    }
    if (!inBody) continue;
    const [region, units, revenue, date] = line.split('|').map((f) => f.trim());
    yield { Region: region, Units: Number(units), 'Revenue (EUR)': Number(revenue), Date: new Date(`${date}T00:00:00Z`) };
  }
};

describe('custom parsers', () => {
  it('stages rows of any size: a value of 40 MiB and a small row, and a rejected row as large', async () => {
    const big = 'é'.repeat(20 * 1024 * 1024);
    const path = await fx.file('big-values.txt', 'two rows\n');
    const report = await fx.ingestion.ingest(path, 'bronze.parsed_big', {
      parser: function* () {
        yield { id: 1, v: 'small' };
        yield { id: 2, v: big };
        yield { id: 3, v: big, bad: Number.NaN };
      },
    });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT id, length(v) AS n FROM bronze.parsed_big ORDER BY id')).toEqual([
      { id: 1, n: 5 },
      { id: 2, n: big.length },
    ]);
    const [reject] = await fx.rat.query<{ line: number; n: number }>('SELECT line, length(raw) AS n FROM bronze.parsed_big__rejects');
    expect(reject!.line).toBe(3);
    expect(reject!.n).toBeGreaterThan(big.length);
  });

  it('ingests a report with a title block, two header lines and footer totals', async () => {
    const path = await fx.file('sales-report.txt', REPORT);
    const report = await fx.ingestion.ingest(path, 'bronze.sales_report', { parser: reportParser });
    const file = report.files[0]!;
    expect(file, file.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0, format: 'custom' });
    const rows = await fx.rat.query(`SELECT region, units, revenue_eur, CAST(date AS VARCHAR) AS date, _source_file FROM bronze.sales_report ORDER BY units`);
    expect(rows).toEqual([
      { region: 'South', units: 4, revenue_eur: 300, date: '2026-02-02 00:00:00', _source_file: path },
      { region: 'East', units: 7, revenue_eur: 845.25, date: '2026-02-03 00:00:00', _source_file: path },
      { region: 'North', units: 10, revenue_eur: 1200.5, date: '2026-02-01 00:00:00', _source_file: path },
    ]);
    const [entry] = (await fx.ingestion.registry({ filePath: path })).slice(-1);
    expect(entry).toMatchObject({ status: 'success', rowsIngested: 3 });
  });

  it('reads gzip- and zstd-compressed files decompressed, and takes a parser that returns an array', async () => {
    const parser: CustomParser = async (input) => {
      const rows: ParsedRow[] = [];
      for await (const line of input.lines()) {
        const [key, value] = line.split('=');
        rows.push({ key, value: Number(value) });
      }
      return rows;
    };
    const zstd = spawnSync('zstd', ['-c', '-q'], { input: 'c=3\nd=4\n' }).stdout;
    for (const path of [await fx.file('small.txt.gz', gzipSync('a=1\nb=2\n')), await fx.file('small.txt.zst', zstd)]) {
      const report = await fx.ingestion.ingest(path, 'bronze.kv', { parser });
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    }
    expect(await fx.rat.query('SELECT key, value FROM bronze.kv ORDER BY key')).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
      { key: 'd', value: 4 },
    ]);
  });

  it("gives a parser the lines of a Windows-1252 or UTF-16 big-endian file decoded, as detected or as --encoding names", async () => {
    const parser: CustomParser = async function* (input) {
      for await (const line of input.lines()) yield { line };
    };
    const bigEndian = Buffer.from('\uFEFF€ one\n“two”\n', 'utf16le').swap16();
    for (const [name, content, encoding] of [
      ['cp1252.txt', Buffer.from('\x80 one\n\x93two\x94\n', 'latin1'), undefined],
      ['cp1252-named.txt', Buffer.from('\x80 one\n\x93two\x94\n', 'latin1'), 'windows-1252'],
      ['u16be.txt', bigEndian, undefined],
    ] as const) {
      const table = `bronze.parsed_${name.replaceAll(/[.-]/g, '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, content), table, { parser, ...(encoding ? { encoding } : {}) });
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
      expect((await fx.rat.query<{ line: string }>(`SELECT line FROM ${table} ORDER BY line`)).map((r) => r.line), name).toEqual(['“two”', '€ one']);
    }
  });

  it('quarantines rows whose values cannot be typed, with their row number', async () => {
    const path = await fx.file('untypable.txt', 'x');
    const parser: CustomParser = function* () {
      yield { id: 1, amount: '10' };
      yield { id: 2, amount: Number.NaN };
      yield { id: 3, amount: () => 1 };
      yield 'not a row' as unknown as ParsedRow;
      yield { id: 5, amount: 'abc' };
      yield { id: 6, amount: '12.5' };
    };
    const report = await fx.ingestion.ingest(path, 'bronze.typed_rows', { parser, types: { amount: 'DOUBLE' } });
    const file = report.files[0]!;
    expect(file, file.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 4 });
    const rejects = await fx.rat.query<{ line: number; reason: string; raw: string }>(`SELECT line, reason, raw FROM bronze.typed_rows__rejects WHERE file_path = ${quoteString(path)} ORDER BY line`);
    expect(rejects.map((r) => r.line)).toEqual([2, 3, 4, 5]);
    expect(rejects[0]!.reason).toBe('column "amount": NaN is not a number that can be stored');
    expect(rejects[0]!.raw).toBe('{"id":2,"amount":"NaN"}');
    expect(rejects[1]!.reason).toBe('column "amount": a function cannot be stored as a value');
    expect(rejects[2]!.reason).toBe('row 4 is not an object of column values but string');
    expect(rejects[3]!.reason).toMatch(/amount/);
    expect(await fx.rat.query('SELECT id, amount FROM bronze.typed_rows ORDER BY id')).toEqual([{ id: 1, amount: 10 }, { id: 6, amount: 12.5 }]);
  });

  it('with --on-error fail, refuses the file naming the first bad row as a row, as its other errors do', async () => {
    const path = await fx.file('fail-rows.txt', 'x');
    const report = await fx.ingestion.ingest(path, 'bronze.fail_rows', { parser: () => [{ id: 1, amount: 1 }, { id: 2, amount: Number.NaN }, 3 as unknown as ParsedRow], onError: 'fail' });
    expect(report.files[0]).toMatchObject({
      status: 'failed',
      errorCode: 'INGEST_BAD_ROWS',
      error: `${path} (row 2): column "amount": NaN is not a number that can be stored (2 bad rows in all; with --on-error fail the file is refused and the table is unchanged)`,
    });
    expect(await fx.rat.catalog.tableExists({ namespace: 'bronze', name: 'fail_rows' })).toBe(false);
  });

  it('quarantines a row holding a Map, a Set, a Buffer, a typed array or an invalid Date inside an object or array, as it does one of its own', async () => {
    const path = await fx.file('nested-untypable.txt', 'x');
    const nested = [{ m: new Map([['a', 1]]) }, { s: new Set([1, 2]) }, { b: Buffer.from('hi') }, [new Uint8Array([1, 2])], { d: new Date('not a date') }];
    const parser: CustomParser = () => [{ id: 0, n: { d: new Date('2024-01-01T00:00:00Z'), list: [1, null], deep: { x: 'y' } } }, ...nested.map((n, i) => ({ id: i + 1, n }))];
    const report = await fx.ingestion.ingest(path, 'bronze.nested_rows', { parser });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 5 });
    expect(await fx.rat.query('SELECT id, n FROM bronze.nested_rows')).toEqual([{ id: 0, n: '{"d":"2024-01-01T00:00:00.000Z","list":[1,null],"deep":{"x":"y"}}' }]);
    const rejects = await fx.rat.query<{ line: number; reason: string }>('SELECT line, reason FROM bronze.nested_rows__rejects ORDER BY line');
    const advice = '; turn it into plain values (string, number, boolean, Date, plain object or array)';
    expect(rejects).toEqual([
      { line: 2, reason: `column "n": a nested value cannot be stored: a Map at key "m"${advice}` },
      { line: 3, reason: `column "n": a nested value cannot be stored: a Set at key "s"${advice}` },
      { line: 4, reason: `column "n": a nested value cannot be stored: a Buffer at key "b"${advice}` },
      { line: 5, reason: `column "n": a nested value cannot be stored: a Uint8Array at key "0"${advice}` },
      { line: 6, reason: 'column "n": a nested value cannot be stored: an invalid Date at key "d"' },
    ]);
    // A replay leaves them where they are: their raw text holds only what JSON made of them.
    expect(await fx.ingestion.replayRejects('bronze.nested_rows')).toMatchObject({ replayed: 0, unstorable: 5 });
  });

  it('types numbers as a JSON file does: a BigInt no double holds beside a fraction is text with every digit, one a double holds a double', async () => {
    const path = await fx.file('numbers.txt', 'x');
    const cases: [string, ParsedRow[], string, unknown[]][] = [
      ['fraction_first', [{ v: 0.5 }, { v: 9007199254740993n }], 'string', ['0.5', '9007199254740993']],
      ['bigint_first', [{ v: 9007199254740993n }, { v: 1 }, { v: 0.5 }], 'string', ['9007199254740993', '1', '0.5']],
      ['exact_double', [{ v: 2n ** 60n }, { v: 0.5 }], 'double', [2 ** 60, 0.5]],
      ['bigints', [{ v: 9007199254740993n }, { v: 1 }], 'long', ['9007199254740993', 1]],
      ['wide_doubles', [{ v: 1 }, { v: 1e20 }, { v: 1.5e300 }], 'double', [1, 1e20, 1.5e300]],
    ];
    for (const [name, rows, type, values] of cases) {
      const report = await fx.ingestion.ingest(path, `bronze.numbers_${name}`, { parser: () => rows });
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: rows.length, rowsRejected: 0 });
      expect((await fx.rat.describeTable(`bronze.numbers_${name}`)).schema.fields[0]!.type, name).toBe(type);
      expect((await fx.rat.query(`SELECT v FROM bronze.numbers_${name}`)).map((r) => r.v), name).toEqual(values);
    }
  });

  it('loads Dates of any year JavaScript holds (-271821 to 275760), not failing the file', async () => {
    const path = await fx.file('far-dates.txt', 'x');
    const parser: CustomParser = function* () {
      yield { id: 1, ts: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) };
      yield { id: 2, ts: new Date(-8.64e15) };
      yield { id: 3, ts: new Date(8.64e15) };
      yield { id: 4, ts: new Date(Date.UTC(10000, 0, 1)) };
    };
    const report = await fx.ingestion.ingest(path, 'bronze.far_dates', { parser });
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 4, rowsRejected: 0 });
    expect(await fx.rat.query('SELECT id::INT AS id, epoch_ms(ts) AS ms FROM bronze.far_dates ORDER BY id')).toEqual([
      { id: 1, ms: Date.UTC(2024, 0, 2, 3, 4, 5) },
      { id: 2, ms: -8.64e15 },
      { id: 3, ms: 8.64e15 },
      { id: 4, ms: Date.UTC(10000, 0, 1) },
    ]);
  });

  describe('a parser that throws fails the file, naming the file and row; the table is unchanged', () => {
    it('on row 7', async () => {
      const seed = await fx.file('seed.txt', 'seed');
      const parser: CustomParser = async function* (input) {
        if (input.name === seed) {
          yield { n: 0 };
          return;
        }
        for (let n = 1; n <= 10; n++) {
          if (n === 7) throw new Error('cannot parse "7th line": expected a number');
          yield { n };
        }
      };
      await fx.ingestion.ingest(seed, 'bronze.throwing', { parser });
      const before = await fx.snapshotCount('bronze.throwing');
      const path = await fx.file('throws.txt', 'whatever');
      const good = await fx.file('after.txt', 'fine');
      const report = await fx.ingestion.ingest([path, good], 'bronze.throwing', { parser: async function* (input) {
        if (input.name === good) {
          yield { n: 100 };
          return;
        }
        yield* parser(input) as AsyncIterable<ParsedRow>;
      } });
      const file = report.files[0]!;
      expect(file.status).toBe('failed');
      expect(file.errorCode).toBe('INGEST_PARSER_FAILED');
      expect(file.error).toBe(`${path} (row 7): the parser failed: cannot parse "7th line": expected a number`);
      const [entry] = (await fx.ingestion.registry({ filePath: path })).slice(-1);
      expect(entry).toMatchObject({ status: 'failed', rowsIngested: 0, error: file.error });
      // The next file went on; the failed one added nothing.
      expect(report.files[1]).toMatchObject({ status: 'success', rowsIngested: 1 });
      expect(await fx.snapshotCount('bronze.throwing')).toBe(before + 1);
      expect(await fx.rat.query('SELECT n FROM bronze.throwing ORDER BY n')).toEqual([{ n: 0 }, { n: 100 }]);
    });

    it('when called, and when it returns no rows iterable', async () => {
      const path = await fx.file('bad-parser.txt', 'x');
      const throwing = await fx.ingestion.ingest(path, 'bronze.throwing', {
        parser: () => {
          throw new TypeError('boom');
        },
      });
      // It produced no row: no row number is named, only the file.
      expect(throwing.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_PARSER_FAILED', error: `${path}: the parser failed before producing any row: boom` });
      const generator = await fx.ingestion.ingest(path, 'bronze.throwing', {
        parser: async function* () {
          yield* [];
          throw new Error('no header found');
        },
      });
      expect(generator.files[0]!.error).toBe(`${path}: the parser failed before producing any row: no header found`);
      const wrong = await fx.ingestion.ingest(path, 'bronze.throwing', { parser: (() => 42) as unknown as CustomParser });
      expect(wrong.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_PARSER_FAILED' });
      expect(wrong.files[0]!.error).toContain(`${path}: the parser returned number; return an array, an iterable or an async iterable of row objects`);
    });

    it('when its iterator breaks the protocol: next() gives no iterator result (a for-of loop would throw too)', async () => {
      const path = await fx.file('protocol.txt', 'x');
      const parser = (() => ({ [Symbol.iterator]: () => ({ next: () => 5 }) })) as unknown as CustomParser;
      const report = await fx.ingestion.ingest(path, 'bronze.throwing', { parser });
      expect(report.files[0]).toMatchObject({
        status: 'failed',
        errorCode: 'INGEST_PARSER_FAILED',
        error: `${path} (row 1): the parser's iterator returned 5 from next(), not an iterator result ({ value, done })`,
      });
    });

    it("when reading a row runs its code (a getter), and when it throws a value that is not an Error", async () => {
      const path = await fx.file('getter.txt', 'x');
      const cases: [CustomParser, string][] = [
        [
          () => [
            { id: 1 },
            {
              id: 2,
              get total() {
                throw new Error('no total on a footer line');
              },
            },
          ],
          'no total on a footer line',
        ],
        [
          function* () {
            yield { id: 1 };
            throw { message: 'bad footer', line: 12 };
          },
          'bad footer',
        ],
        [
          function* () {
            yield { id: 1 };
            throw { code: 7 };
          },
          '{"code":7}',
        ],
      ];
      for (const [parser, message] of cases) {
        const report = await fx.ingestion.ingest(path, 'bronze.throwing', { parser });
        expect(report.files[0]).toMatchObject({ status: 'failed', errorCode: 'INGEST_PARSER_FAILED', error: `${path} (row 2): the parser failed: ${message}` });
      }
    });

    it('reported to the SDK as a ParserError, the original error (with its stack) as its cause', async () => {
      const path = await fx.file('cause.txt', 'x');
      const original = new RangeError('value out of range at byte 12');
      const report = await fx.ingestion.ingest(path, 'bronze.throwing', {
        parser: function* () {
          yield { n: 1 };
          throw original;
        },
      });
      const file = report.files[0]!;
      expect(file.cause).toBeInstanceOf(ParserError);
      expect(file.cause!.message).toBe(file.error);
      expect((file.cause as ParserError).position).toEqual({ row: 2 });
      expect(file.cause!.cause).toBe(original);
      expect((file.cause!.cause as Error).stack).toContain('custom-parser.test.ts');
    });

    it('as a ParserError with the original error as cause', async () => {
      const original = new Error('inner');
      const error = new ParserError('f.txt', { row: 3 }, 'the parser failed: inner', { cause: original });
      expect(error.message).toBe('f.txt (row 3): the parser failed: inner');
      expect(error.code).toBe('INGEST_PARSER_FAILED');
      expect(error.cause).toBe(original);
    });
  });

  it("reports progress in the parser's rows, not in the bytes of a file it may not even read", async () => {
    const path = await fx.file('generated.txt', 'x\n');
    const events: IngestProgress[] = [];
    const report = await fx.ingestion.ingest(path, 'bronze.generated', {
      parser: function* () {
        for (let id = 1; id <= 20_000; id++) yield { id };
      },
      onProgress: (e) => events.push(e),
    });
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 20_000 });
    expect(events.filter((e) => e.phase === 'parsing').at(-1)).toEqual({ file: path, phase: 'parsing', bytesDone: 2, bytesTotal: 2, rowsDone: 20_000 });
    const after = events.filter((e) => e.phase === 'reading' || e.phase === 'writing');
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => e.rowsTotal === 20_000)).toBe(true);
  });

  it('takes a parser that returns no rows as a file of 0 rows, as an empty --records array', async () => {
    const february = await fx.file('february.txt', 'report for February\n');
    await fx.ingestion.ingest(february, 'bronze.empty_period', { parser: () => [{ region: 'North', units: 3 }] });
    const path = await fx.file('empty-period.txt', 'report for March: no sales\n');
    for (const parser of [() => [], async function* () {}] as CustomParser[]) {
      const report = await fx.ingestion.ingest(path, 'bronze.empty_period', { parser });
      expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 0 });
      const [entry] = (await fx.ingestion.registry({ filePath: path })).slice(-1);
      expect(entry).toMatchObject({ status: 'success', rowsIngested: 0 });
    }
    // Recorded as success, the file is skipped under --skip-existing rather than failing on every run.
    const again = await fx.ingestion.ingest(path, 'bronze.empty_period', { parser: () => [], skipExisting: true });
    expect(again.files[0]!.status).toBe('skipped');
    expect(await fx.rat.query('SELECT region, units FROM bronze.empty_period')).toEqual([{ region: 'North', units: 3 }]);
    // With --mode overwrite, no rows replace the table's rows: the table is empty, in a snapshot of its own, and its columns stay.
    const overwritten = await fx.ingestion.ingest(path, 'bronze.empty_period', { parser: () => [], mode: 'overwrite' });
    expect(overwritten.files[0]).toMatchObject({ status: 'success', rowsIngested: 0, rowsRejected: 0 });
    expect(overwritten.files[0]!.snapshotId).toBeDefined();
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.empty_period')).toEqual([{ n: 0 }]);
    expect((await fx.rat.describeTable('bronze.empty_period')).schema.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['region', 'units']));
  });

  it('refuses a parser option that is not a function', async () => {
    await expect(fx.ingestion.ingest('x.txt', 'bronze.throwing', { parser: 'nope' as unknown as CustomParser })).rejects.toThrow(/parser must be a function/);
  });
});
