import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIGINT_LONG, HEADER_TYPE } from '../iceberg/avro-file.js';
import { readManifestList } from '../iceberg/manifest-list.js';
import { decodeSnappy } from './snappy-block.js';
import { expectNamesApartByCase, openIngestFixture, REFERENCE_TABLES as TABLES, type IngestFixture } from './test-support/ingest-fixture.js';

let fx: IngestFixture;
beforeAll(async () => {
  fx = await openIngestFixture();
});
afterAll(async () => {
  await fx.close();
});

/** Snappy compression by python-snappy (Debian's python3-snappy, over the C++ library): an implementation other than rat's. */
function snappyCompress(data: Uint8Array): Buffer {
  const run = spawnSync('/usr/bin/python3', ['-c', 'import sys, snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))'], { input: data, maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`python3-snappy: ${String(run.stderr)}`);
  return run.stdout;
}

const SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'big', type: 'long' },
    { name: 'qty', type: ['null', 'int'] },
    { name: 'price', type: 'double' },
    { name: 'ratio', type: 'float' },
    { name: 'paid', type: 'boolean' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'raw', type: 'bytes' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'SENT'] } },
    { name: 'code', type: { type: 'fixed', name: 'Code', size: 2 } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'local_at', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'clock', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'address', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'int'] }] }] },
    { name: 'previous', type: ['null', 'Address'] },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'either', type: ['null', 'string', 'long'] },
  ],
};

/** Two's-complement big-endian bytes of an unscaled decimal. */
const decimalBytes = (unscaled: bigint) => {
  const hex = BigInt.asUintN(64, unscaled).toString(16).padStart(16, '0');
  return Buffer.from(hex, 'hex');
};

function order(i: number): Record<string, unknown> {
  return {
    id: BigInt(i),
    big: 9007199254740993n + BigInt(i),
    qty: i % 3 === 0 ? null : i,
    price: i === 1 ? Number.NaN : i * 1.25,
    ratio: 0.5,
    paid: i % 2 === 0,
    note: i === 2 ? 'a "quoted" note, é' : null,
    raw: Buffer.from([0, i, 255]),
    status: i % 2 ? 'SENT' : 'NEW',
    code: Buffer.from('AB'),
    amount: decimalBytes(i === 2 ? -5n : 12345n * BigInt(i)),
    day: 19758 + i,
    at: 1700000000123456 + i,
    local_at: 1700000000123,
    clock: 3723004005,
    tags: i === 0 ? [] : ['x', `t${i}`],
    address: i === 0 ? null : { city: `c${i}`, zip: i === 1 ? null : 1000 + i },
    previous: null,
    attrs: { k: BigInt(i) },
    either: i === 0 ? null : i === 1 ? 'one' : BigInt(i),
  };
}

/** An uncompressed Avro file of `records` as avsc writes them for `schema`. */
function plainAvroFile(schema: unknown, records: unknown[]): Promise<Buffer> {
  // Given the schema itself (not its type), avsc writes it to the header as it is, logical types included.
  const encoder = new avro.streams.BlockEncoder(schema as avro.schema.AvroSchema);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
  });
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  for (const record of records) encoder.write(record);
  encoder.end();
  return done;
}

/** Writes records with avsc's encoder, its longs as bigint. */
function avroFile(records: Record<string, unknown>[], codec: 'null' | 'deflate' | 'snappy' | 'zstandard' | 'bzip2', blockSize?: number): Promise<Buffer> {
  // Plain longs as bigint (logical ones are safe numbers here).
  const type = avro.Type.forSchema(SCHEMA as avro.schema.AvroSchema, { wrapUnions: 'auto', typeHook: (s) => (s === 'long' ? BIGINT_LONG : undefined) });
  // Avro's snappy codec: the block compressed, then the CRC-32 of its uncompressed bytes (big-endian).
  const snappy = (data: Buffer, done: (error: Error | null, out?: Buffer) => void) => {
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32BE(crc32(data));
    done(null, Buffer.concat([snappyCompress(data), checksum]));
  };
  // Compressed by the command-line tools: zstd (which rat reads), bzip2 (which it does not).
  const tool = (command: string) => (data: Buffer, done: (error: Error | null, out?: Buffer) => void) => {
    const run = spawnSync(command, ['-c', '-q'], { input: data });
    done(run.status === 0 ? null : new Error(String(run.stderr)), run.stdout);
  };
  const codecs = { ...avro.streams.BlockEncoder.defaultCodecs(), snappy, zstandard: tool('zstd'), bzip2: tool('bzip2') };
  const encoder = new avro.streams.BlockEncoder(type, { codec, codecs, ...(blockSize ? { blockSize } : {}) });
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', () => {
      // avsc writes the schema without logicalType attributes: the header is written again with them, as other writers do.
      const written = Buffer.concat(chunks);
      if (written.length === 0) return resolve(written);
      const { value: header, offset } = HEADER_TYPE.decode(written, 0) as { value: { meta: Record<string, Buffer> }; offset: number };
      header.meta['avro.schema'] = Buffer.from(JSON.stringify(SCHEMA));
      resolve(Buffer.concat([HEADER_TYPE.toBuffer(header), written.subarray(offset)]));
    });
    encoder.on('error', reject);
    for (const record of records) encoder.write(record);
    encoder.end();
  });
}

describe('Avro files', () => {
  it('loads Iceberg manifest lists and manifests written by Spark: the rows rat reads from them as metadata', async () => {
    const metadata = join(TABLES, 'equality_deletes/warehouse/mydb/mytable/metadata');
    const lists = (await readdir(metadata)).filter((n) => n.startsWith('snap-')).sort();
    expect(lists.length).toBeGreaterThan(3);
    for (const [k, name] of lists.entries()) {
      const path = join(metadata, name);
      const table = `bronze.manifest_list_${k}`;
      const report = await fx.ingestion.ingest(path, table);
      const expected = readManifestList(await readFile(path), path);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: expected.length, format: 'avro' });
      const rows = await fx.rat.query<{ manifest_path: string; added_snapshot_id: string; content: number }>(`SELECT manifest_path, added_snapshot_id::VARCHAR AS added_snapshot_id, content FROM ${table} ORDER BY manifest_path`);
      expect(rows).toEqual(
        expected
          .map((m) => ({ manifest_path: m.manifestPath, added_snapshot_id: String(m.addedSnapshotId), content: m.content }))
          .sort((a, b) => (a.manifest_path < b.manifest_path ? -1 : 1)),
      );
    }
    const manifest = (await readdir(metadata)).find((n) => n.endsWith('-m0.avro'))!;
    const report = await fx.ingestion.ingest(join(metadata, manifest), 'bronze.manifest_entries');
    expect(report.files[0]!.status).toBe('success');
    const [entry] = await fx.rat.query<{ path: string; format: string; records: number }>(`SELECT data_file.file_path AS path, data_file.file_format AS format, data_file.record_count::INT AS records FROM bronze.manifest_entries LIMIT 1`);
    expect(entry).toMatchObject({ path: expect.stringMatching(/\.parquet$/), format: 'PARQUET' });
  });

  it('keeps every Avro type and logical type, uncompressed, deflate, snappy (python-snappy) and zstandard (the zstd tool), in blocks', async () => {
    const records = Array.from({ length: 3 }, (_, i) => order(i));
    for (const codec of ['null', 'deflate', 'snappy', 'zstandard'] as const) {
      const path = await fx.file(`orders-${codec}.avro`, await avroFile(records, codec));
      const report = await fx.ingestion.ingest(path, `bronze.orders_${codec}`);
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 3, rowsRejected: 0, format: 'avro' });
    }
    const types = Object.fromEntries((await fx.rat.describeTable('bronze.orders_null')).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      id: 'long', big: 'long', qty: 'int', price: 'double', ratio: 'float', paid: 'boolean', note: 'string', raw: 'binary', status: 'string', code: 'binary',
      amount: 'decimal(10, 2)', day: 'date', at_: 'timestamptz', local_at: 'timestamp', clock: 'time', attrs: 'string', either: 'string',
    });
    const rows = await fx.rat.query(`SELECT id, big::VARCHAR AS big, qty, isnan(price) AS nan, paid, note, hex(raw) AS raw, status, hex(code) AS code, amount::VARCHAR AS amount,
        day::VARCHAR AS day, strftime(at_ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f') AS at_, local_at::VARCHAR AS local_at, clock::VARCHAR AS clock, tags, address, previous, attrs, either
      FROM bronze.orders_null ORDER BY id`);
    expect(rows).toEqual([
      { id: 0, big: '9007199254740993', qty: null, nan: false, paid: true, note: null, raw: '0000FF', status: 'NEW', code: '4142', amount: '0.00', day: '2024-02-05', at_: '2023-11-14 22:13:20.123456', local_at: '2023-11-14 22:13:20.123', clock: '01:02:03.004005', tags: [], address: null, previous: null, attrs: '{"k":"0"}', either: null },
      { id: 1, big: '9007199254740994', qty: 1, nan: true, paid: false, note: null, raw: '0001FF', status: 'SENT', code: '4142', amount: '123.45', day: '2024-02-06', at_: '2023-11-14 22:13:20.123457', local_at: '2023-11-14 22:13:20.123', clock: '01:02:03.004005', tags: ['x', 't1'], address: { city: 'c1', zip: null }, previous: null, attrs: '{"k":"1"}', either: 'one' },
      { id: 2, big: '9007199254740995', qty: 2, nan: false, paid: true, note: 'a "quoted" note, é', raw: '0002FF', status: 'NEW', code: '4142', amount: '-0.05', day: '2024-02-07', at_: '2023-11-14 22:13:20.123458', local_at: '2023-11-14 22:13:20.123', clock: '01:02:03.004005', tags: ['x', 't2'], address: { city: 'c2', zip: 1002 }, previous: null, attrs: '{"k":"2"}', either: '2' },
    ]);
    for (const codec of ['deflate', 'snappy', 'zstandard']) {
      const [diff] = await fx.rat.query<{ n: number }>(`SELECT count(*)::INT AS n FROM (SELECT * EXCLUDE (_source_file, _ingested_at, price) FROM bronze.orders_${codec} EXCEPT SELECT * EXCLUDE (_source_file, _ingested_at, price) FROM bronze.orders_null)`);
      expect(diff!.n, codec).toBe(0);
    }
  });

  it('reads a whole Avro file wrapped in gzip or zstd (the gzip and zstd tools) like the file itself', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => order(i));
    const plain = await avroFile(records, 'snappy', 8 * 1024);
    const wrapped = (command: string) => spawnSync(command, ['-c', '-q'], { input: plain, maxBuffer: 1 << 28 }).stdout;
    for (const [name, bytes] of [['orders.avro', plain], ['orders.avro.gz', wrapped('gzip')], ['orders.avro.zst', wrapped('zstd')]] as const) {
      const report = await fx.ingestion.ingest(await fx.file(name, bytes), 'bronze.avro_wrapped');
      expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2000, format: 'avro' });
    }
    const sums = await fx.rat.query(`SELECT _source_file LIKE '%.gz' AS gz, _source_file LIKE '%.zst' AS zst, sum(id)::BIGINT AS ids, count(DISTINCT note)::INT AS notes FROM bronze.avro_wrapped GROUP BY ALL ORDER BY ALL`);
    const expected = { ids: 1_999_000, notes: 1 };
    expect(sums).toEqual([{ gz: false, zst: false, ...expected }, { gz: false, zst: true, ...expected }, { gz: true, zst: false, ...expected }]);
    // Cut off: the zstd frame ends early, and the file fails naming that.
    const zst = wrapped('zstd');
    const cut = await fx.ingestion.ingest(await fx.file('cut.avro.zst', zst.subarray(0, zst.length - 100)), 'bronze.avro_wrapped');
    expect(cut.files[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('truncated zstd') });
  });

  it('reads a file whose records are not records (plain strings) as one column, value', async () => {
    const report = await fx.ingestion.ingest(await fx.file('strings.avro', await plainAvroFile('string', ['first', 'second'])), 'bronze.avro_strings');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query('SELECT value FROM bronze.avro_strings ORDER BY value')).toEqual([{ value: 'first' }, { value: 'second' }]);
  });

  it('loads fields named alike but for case as name (the one spelled so) and name_2, and renames either by its exact name', async () => {
    const schema = { type: 'record', name: 'R', fields: [{ name: 'Name', type: ['null', 'string'] }, { name: 'name', type: ['null', 'string'] }] };
    const source = await fx.file('case.avro', await plainAvroFile(schema, [{ Name: 'A', name: null }, { Name: null, name: 'b' }]));
    await expectNamesApartByCase(fx, source, 'bronze.avro_case');
  });

  it('keeps a field of a recursive schema (a record referring to itself) as its JSON text', async () => {
    const schema = {
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'v', type: 'int' },
        { name: 'next', type: ['null', 'Node'] },
        { name: 'meta', type: ['null', { type: 'record', name: 'Meta', fields: [{ name: 'tag', type: 'string' }, { name: 'parent', type: ['null', 'Node'] }] }] },
      ],
    };
    const records = [
      { v: 1, next: { v: 2, next: { v: 3, next: null, meta: null }, meta: null }, meta: { tag: 'a', parent: { v: 0, next: null, meta: null } } },
      { v: 4, next: null, meta: null },
    ];
    const report = await fx.ingestion.ingest(await fx.file('recursive.avro', await plainAvroFile(schema, records)), 'bronze.avro_recursive');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query('SELECT v, next, meta.tag AS tag, meta.parent AS parent FROM bronze.avro_recursive ORDER BY v')).toEqual([
      { v: 1, next: '{"v":2,"next":{"v":3,"next":null,"meta":null},"meta":null}', tag: 'a', parent: '{"v":0,"next":null,"meta":null}' },
      { v: 4, next: null, tag: null, parent: null },
    ]);
  });

  it('quarantines a row whose decimal has more digits than its schema says, at the top or nested, and loads the others', async () => {
    const amount = { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 };
    const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'amount', type: amount }, { name: 'fee', type: { type: 'record', name: 'Fee', fields: [{ name: 'amount', type: amount }] } }] };
    // avsc does not check a decimal's digits against its precision, as other writers do not.
    const bytes = (unscaled: number) => decimalBytes(BigInt(unscaled));
    const records = [
      { id: 1, amount: bytes(1234), fee: { amount: bytes(-5) } },
      { id: 2, amount: bytes(100000), fee: { amount: bytes(1) } },
      { id: 3, amount: bytes(1), fee: { amount: bytes(-99999) } },
    ];
    const report = await fx.ingestion.ingest(await fx.file('wide-decimals.avro', await plainAvroFile(schema, records)), 'bronze.avro_wide_decimals');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 2 });
    expect(await fx.rat.query('SELECT id, CAST(amount AS VARCHAR) AS amount, CAST(fee.amount AS VARCHAR) AS fee FROM bronze.avro_wide_decimals')).toEqual([{ id: 1, amount: '12.34', fee: '-0.05' }]);
    expect(await fx.rat.query('SELECT line::INT AS line, reason, raw FROM bronze.avro_wide_decimals__rejects ORDER BY line')).toEqual([
      { line: 2, reason: 'column amount: 1000.00 has more digits than DECIMAL(4, 2) holds', raw: '{"id":2,"amount":"1000.00","fee":{"amount":"0.01"}}' },
      { line: 3, reason: 'column fee: -999.99 has more digits than DECIMAL(4, 2) holds', raw: '{"id":3,"amount":"0.01","fee":{"amount":"-999.99"}}' },
    ]);
  });

  it('quarantines a time of day outside the day and a date past DuckDB\'s range, which failed the whole file, and loads the others (24:00:00 loads, as DuckDB takes it)', async () => {
    const schema = {
      type: 'record',
      name: 'R',
      fields: [{ name: 'id', type: 'int' }, { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } }, { name: 'day', type: { type: 'int', logicalType: 'date' } }],
    };
    const records = [
      { id: 1, clock: 0, day: 2_147_483_646 },
      { id: 2, clock: -1, day: 0 },
      { id: 3, clock: 90_000_000, day: 0 },
      { id: 4, clock: 86_400_000, day: -2_147_483_648 },
    ];
    const report = await fx.ingestion.ingest(await fx.file('out-of-range.avro', await plainAvroFile(schema, records)), 'bronze.avro_out_of_range');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 1, rowsRejected: 3 });
    expect(await fx.rat.query('SELECT id, CAST(clock AS VARCHAR) AS clock, CAST(day AS VARCHAR) AS day FROM bronze.avro_out_of_range')).toEqual([{ id: 1, clock: '00:00:00', day: '5881580-07-10' }]);
    expect(await fx.rat.query('SELECT line::INT AS line, reason, raw FROM bronze.avro_out_of_range__rejects ORDER BY line')).toEqual([
      { line: 2, reason: 'column clock: -1000 microseconds after midnight is not a time of day', raw: '{"id":2,"clock":"-1000","day":"1970-01-01"}' },
      { line: 3, reason: 'column clock: 90000000000 microseconds after midnight is not a time of day', raw: '{"id":3,"clock":"90000000000","day":"1970-01-01"}' },
      { line: 4, reason: 'column day: -2147483648 days since 1970-01-01 is beyond the range of a date', raw: expect.stringContaining('"clock":"24:00:00.000000"') },
    ]);
  });

  it('loads the duration logical type as ISO 8601 duration text, as Arrow and Parquet intervals load, also named again inside a record', async () => {
    const duration = { type: 'fixed', name: 'Duration', size: 12, logicalType: 'duration' };
    const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'span', type: ['null', duration] }, { name: 'leg', type: { type: 'record', name: 'Leg', fields: [{ name: 'span', type: 'Duration' }] } }] };
    /** Months, days and milliseconds, unsigned little-endian 32-bit each (Avro specification, "Duration"). */
    const span = (months: number, days: number, millis: number) => {
      const bytes = Buffer.alloc(12);
      [months, days, millis].forEach((n, i) => bytes.writeUInt32LE(n, 4 * i));
      return bytes;
    };
    const records = [
      { id: 1, span: span(14, 3, 1500), leg: { span: span(0, 0, 90_061_001) } },
      { id: 2, span: null, leg: { span: span(0, 0, 0) } },
    ];
    const report = await fx.ingestion.ingest(await fx.file('durations.avro', await plainAvroFile(schema, records)), 'bronze.avro_durations');
    expect(report.files[0], report.files[0]!.error).toMatchObject({ status: 'success', rowsIngested: 2 });
    expect(await fx.rat.query('SELECT id, span, leg.span AS leg FROM bronze.avro_durations ORDER BY id')).toEqual([
      { id: 1, span: 'P1Y2M3DT1.5S', leg: 'PT25H1M1.001S' },
      { id: 2, span: null, leg: 'PT0S' },
    ]);
  });

  it('fails a cut-off, damaged or empty Avro file naming it, with a failed registry row and the table unchanged', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => order(i));
    const good = await avroFile(many, 'deflate', 16 * 1024);
    expect((await fx.ingestion.ingest(await fx.file('many.avro', good), 'bronze.avro_bad')).files[0]).toMatchObject({ status: 'success', rowsIngested: 3000 });
    const snappy = await avroFile(many.slice(0, 50), 'snappy');
    const badCrc = Buffer.from(snappy);
    // The last block's checksum sits before the 16-byte sync marker.
    badCrc[badCrc.length - 17] = badCrc[badCrc.length - 17]! ^ 0xff;
    const zstandard = await avroFile(many.slice(0, 50), 'zstandard');
    const badZstd = Buffer.from(zstandard);
    // The last block's zstd frame, its magic number damaged.
    const magic = badZstd.lastIndexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    badZstd[magic + 1] = badZstd[magic + 1]! ^ 0xff;
    // A file of no records: the header alone (it ends with the sync marker every block ends with).
    const one = await avroFile(many.slice(0, 1), 'null');
    const headerOnly = one.subarray(0, one.indexOf(one.subarray(one.length - 16)) + 16);
    const bad = [
      await fx.file('cut-block.avro', good.subarray(0, Math.floor(good.length * 0.6))),
      await fx.file('cut-header.avro', good.subarray(0, 40)),
      await fx.file('bad-crc.avro', badCrc),
      await fx.file('empty-records.avro', headerOnly),
      await fx.file('not-avro.avro', Buffer.from('Obj\x01 but not really')),
      await fx.file('bzip2.avro', await avroFile(many.slice(0, 5), 'bzip2')),
      await fx.file('bad-zstandard.avro', badZstd),
    ];
    const report = await fx.ingestion.ingest(bad, 'bronze.avro_bad');
    expect(report.files.map((f) => [f.file.split('/').pop(), f.status, f.error?.replace(/^.*\.avro( \([^)]*\))?: /, '')])).toEqual([
      ['cut-block.avro', 'failed', expect.stringMatching(/^not a readable Avro file \(cut off or damaged\?\)/)],
      ['cut-header.avro', 'failed', 'not a readable Avro file: it ends before its header does'],
      ['bad-crc.avro', 'failed', expect.stringContaining('a block does not match its CRC-32')],
      ['empty-records.avro', 'failed', 'the Avro file holds no records'],
      ['not-avro.avro', 'failed', expect.stringMatching(/^not a readable Avro file/)],
      ['bzip2.avro', 'failed', 'its blocks are compressed with bzip2, which rat cannot decompress (it reads null, deflate, snappy and zstandard): write it with one of those'],
      ['bad-zstandard.avro', 'failed', expect.stringMatching(/^not a readable Avro file \(cut off or damaged\?\): .*corrupt zstandard block/)],
    ]);
    const [count] = await fx.rat.query<{ n: number }>('SELECT count(*)::INT AS n FROM bronze.avro_bad');
    expect(count!.n).toBe(3000);
  });
});

describe('Snappy blocks', () => {
  it('decodes what python-snappy writes, and fails damaged data with an error saying so', () => {
    let seed = 5;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const inputs = [
      Buffer.from(Array.from({ length: 100_000 }, (_, i) => `row ${i % 700},${(i * 7) % 13}\n`).join('')),
      Buffer.from(Array.from({ length: 70_000 }, () => Math.floor(random() * 256))),
      Buffer.alloc(300_000, 0x62),
      Buffer.from('x'),
      Buffer.alloc(0),
    ];
    const compressed = inputs.map((input) => snappyCompress(input));
    inputs.forEach((input, k) => expect(Buffer.compare(Buffer.from(decodeSnappy(compressed[k]!)), input)).toBe(0));
    let failures = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(compressed[i % 4]!.subarray(0, 2000));
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      try {
        decodeSnappy(bytes.subarray(0, random() < 0.3 ? Math.floor(random() * bytes.length) : bytes.length));
      } catch (error) {
        expect((error as Error).message).toMatch(/^corrupt Snappy data: /);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(1000);
  });
});
