import { crc32, inflateRaw } from 'node:zlib';
import avro from 'avsc';
import { decompress } from 'fzstd';
import { quoteIdent } from '../engine/duckdb.js';
import { BIGINT_LONG } from '../iceberg/avro-file.js';
import { uniqueColumnNames } from './column-names.js';
import { openDecompressed } from './decompressed.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { decodeSnappy } from './snappy-block.js';
import type { StageContext, StagedFile } from './staged-file.js';
import { RowSink } from './staged-rows.js';
import { addReadRow, type ColumnReading, decimalText, isoDate, isoDuration, isoTime, isoTimestamp, jsonText } from './typed-values.js';

type Schema = string | Schema[] | { type: Schema; [key: string]: unknown };
interface Named {
  type: 'record' | 'enum' | 'fixed';
  name: string;
  namespace?: string;
  fields?: { name: string; type: Schema }[];
  [key: string]: unknown;
}

/**
 * Avro object container files (`.avro`): what Spark, Kafka Connect and Iceberg's manifests write.
 * The writer schema in the header gives the types: int, long, float, double, boolean, string, bytes,
 * enums and fixed, records as structs and arrays as lists at any depth, nullable unions as their
 * type, the logical types date, time-*, timestamp-* (timestamptz), local-timestamp-* (timestamp),
 * decimal and uuid, and duration as ISO 8601 duration text; maps, unions of several types and recursive references become their JSON text. Blocks compressed with
 * deflate, snappy (CRC-checked) or zstandard are decompressed, and so is a whole file wrapped in gzip
 * or zstd; the stream is read block by block. A top-level
 * record's fields are the columns; any other top-level type is one column, `value`.
 */
export async function stageAvro(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const source = openDecompressed(file.localPath, file.compression);
  let writerSchema: Schema | undefined;
  const decoder = new avro.streams.BlockDecoder({
    codecs: { null: (buffer, done) => done(null, buffer), deflate: inflateRaw, snappy: snappyCodec, zstandard: zstandardCodec },
    parseHook: (schema) => {
      writerSchema = schema as Schema;
      return avro.Type.forSchema(schema, { wrapUnions: 'auto', typeHook: (s) => (s === 'long' || (typeof s === 'object' && (s as { type?: unknown }).type === 'long') ? BIGINT_LONG : undefined) });
    },
  });
  source.stream.on('error', (error: Error) => decoder.destroy(error));
  source.stream.pipe(decoder);
  const sink = new RowSink(ctx, file);
  let row = 0;
  try {
    let columns: AvroColumn[] | undefined;
    let json: (string | undefined)[] = [];
    let names: string[] = [];
    let isRecord = true;
    for await (const record of decoder as AsyncIterable<unknown>) {
      if (!columns) {
        columns = columnsOf(writerSchema!);
        for (const c of columns) sink.declare(c.name, c.reading.sql, c.reading.convert);
        names = columns.map((c) => c.name);
        json = new Array<string | undefined>(columns.length);
        isRecord = isRecordSchema(writerSchema!);
      }
      row++;
      await addReadRow(sink, names, json, (k) => {
        const v = isRecord ? (record as Record<string, unknown>)[columns![k]!.field] : record;
        return v === null || v === undefined ? null : columns![k]!.reading.value(v);
      }, row);
      if (row % 10_000 === 0) ctx.onBytesRead?.(source.bytesRead());
    }
    ctx.onBytesRead?.(source.bytesRead());
    // avsc's decoder waits for the rest of a block cut off at the end, and then ends as if the file did: bytes it holds unread are a cut.
    const held = (decoder as unknown as { _tap?: { buf: Buffer; pos: number } })._tap;
    if (writerSchema !== undefined && held && held.buf.length > held.pos) {
      throw new InputFileError('INGEST_FILE_INVALID', file.display, { row: row + 1 }, `not a readable Avro file (cut off or damaged?): it ends inside a block, ${held.buf.length - held.pos} bytes into it`);
    }
  } catch (error) {
    await sink.abort();
    source.close();
    if (error instanceof InputFileError) throw error;
    // avsc wraps a codec's error ("snappy codec decompression error"): the cause says what is wrong.
    const cause = (error as { cause?: unknown }).cause;
    const message = `${(error as Error).message.split('\n')[0] ?? ''}${cause instanceof Error ? `: ${cause.message}` : ''}`;
    const codec = /^unknown codec: (.*)$/.exec(message)?.[1];
    const problem = codec
      ? `its blocks are compressed with ${codec}, which rat cannot decompress (it reads null, deflate, snappy and zstandard): write it with one of those`
      : `not a readable Avro file (cut off or damaged?): ${message}`;
    throw new InputFileError('INGEST_FILE_INVALID', file.display, row > 0 ? { row: row + 1 } : {}, problem, { cause: error });
  }
  if (row === 0) {
    await sink.abort();
    throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, writerSchema === undefined ? 'not a readable Avro file: it ends before its header does' : 'the Avro file holds no records');
  }
  return sink.stage();
}

/** Avro's zstandard codec: each block is one or more Zstandard frames. */
function zstandardCodec(block: Buffer, done: (error: Error | null, data?: Buffer) => void): void {
  let data: Uint8Array;
  try {
    data = decompress(block);
  } catch (error) {
    done(new Error(`corrupt zstandard block: ${(error as Error).message}`));
    return;
  }
  done(null, Buffer.from(data.buffer, data.byteOffset, data.length));
}

/** Avro's snappy codec: each block is Snappy-compressed and followed by the CRC-32 (big-endian) of its uncompressed bytes. */
function snappyCodec(block: Buffer, done: (error: Error | null, data?: Buffer) => void): void {
  try {
    if (block.length < 4) throw new Error('corrupt Snappy data: a block shorter than its checksum');
    const data = Buffer.from(decodeSnappy(block.subarray(0, block.length - 4)));
    if (crc32(data) !== block.readUInt32BE(block.length - 4)) throw new Error('corrupt Snappy data: a block does not match its CRC-32');
    done(null, data);
  } catch (error) {
    done(error as Error);
  }
}

function isRecordSchema(schema: Schema): boolean {
  return typeof schema === 'object' && !Array.isArray(schema) && schema.type === 'record';
}

/** One column of an Avro file: the record field it reads (`field`) and its name as a column. */
interface AvroColumn {
  field: string;
  name: string;
  reading: ColumnReading;
}

/**
 * The columns of a file: a top-level record's fields, or the one column `value`. Fields named alike
 * but for case (Avro tells `Name` from `name`, SQL does not) are told apart by their spelling, as
 * every format's columns are (uniqueColumnNames, mapColumnNames).
 */
function columnsOf(schema: Schema): AvroColumn[] {
  const names = new Map<string, Named>();
  if (isRecordSchema(schema)) {
    const record = schema as Named;
    register(record, names, undefined);
    const fields = record.fields ?? [];
    const unique = uniqueColumnNames(fields.map((f) => f.name));
    return fields.map((f, i) => ({ field: f.name, name: unique[i]!, reading: readingOf(f.type, names, namespaceOf(record, undefined), [record]) }));
  }
  return [{ field: 'value', name: 'value', reading: readingOf(schema, names, undefined, []) }];
}

function namespaceOf(named: Named, enclosing: string | undefined): string | undefined {
  if (named.name.includes('.')) return named.name.slice(0, named.name.lastIndexOf('.'));
  return named.namespace ?? enclosing;
}

function register(named: Named, names: Map<string, Named>, enclosing: string | undefined): void {
  const namespace = namespaceOf(named, enclosing);
  const short = named.name.includes('.') ? named.name.slice(named.name.lastIndexOf('.') + 1) : named.name;
  names.set(short, named);
  if (namespace) names.set(`${namespace}.${short}`, named);
}

const PASS: ColumnReading['value'] = (v) => v;

const AS_JSON: ColumnReading = { sql: 'VARCHAR', value: (v) => jsonText(v) };

/**
 * How a value of one Avro schema is staged (see ColumnReading). `within`: the records whose fields
 * are being read, outermost first. A record referring to one of them (a linked list's `next`, a
 * tree's `children`) has no SQL type of finite depth: its values are kept as their JSON text.
 */
function readingOf(schema: Schema, names: Map<string, Named>, namespace: string | undefined, within: readonly Named[]): ColumnReading {
  if (Array.isArray(schema)) {
    const branches = schema.filter((s) => s !== 'null');
    if (branches.length === 1) return readingOf(branches[0]!, names, namespace, within);
    return AS_JSON;
  }
  if (typeof schema === 'string') {
    const named = names.get(schema) ?? (namespace ? names.get(`${namespace}.${schema}`) : undefined);
    if (named && within.includes(named)) return AS_JSON;
    return named ? readingOf(named as Schema, names, namespaceOf(named, namespace), within) : primitive(schema, {});
  }
  const type = schema.type;
  const logical = schema.logicalType as string | undefined;
  if (typeof type !== 'string' || Array.isArray(type)) return readingOf(type, names, namespace, within);
  switch (type) {
    case 'record': {
      const record = schema as Named;
      register(record, names, namespace);
      const inner = namespaceOf(record, namespace);
      const fields = (record.fields ?? []).map((f) => ({ name: f.name, reading: readingOf(f.type, names, inner, [...within, record]) }));
      if (fields.length === 0) return { sql: 'VARCHAR', value: () => '{}' };
      return {
        sql: `STRUCT(${fields.map((f) => `${quoteIdent(f.name)} ${f.reading.sql}`).join(', ')})`,
        value: (v) => {
          const out: Record<string, unknown> = {};
          for (const f of fields) {
            const field = (v as Record<string, unknown>)[f.name];
            out[f.name] = field === null || field === undefined ? null : f.reading.value(field);
          }
          return out;
        },
      };
    }
    case 'enum':
      register(schema as Named, names, namespace);
      return { sql: 'VARCHAR', value: PASS };
    case 'fixed':
      register(schema as Named, names, namespace);
      // https://avro.apache.org/docs/1.12.0/specification/#duration: months, days and milliseconds, each an
      // unsigned little-endian 32-bit integer. ISO 8601 duration text, as Arrow intervals and Parquet INTERVALs load.
      if (logical === 'duration' && schema.size === 12) return { sql: 'VARCHAR', value: (v) => avroDuration(v as Buffer) };
      return primitive('bytes', schema);
    case 'array': {
      const item = readingOf(schema.items as Schema, names, namespace, within);
      return { sql: `${item.sql}[]`, value: (v) => (v as unknown[]).map((e) => (e === null ? null : item.value(e))) };
    }
    case 'map': {
      const values = readingOf(schema.values as Schema, names, namespace, within);
      return { sql: 'VARCHAR', value: (v) => jsonText(Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, e]) => [k, e === null ? null : values.value(e)]))) };
    }
    default:
      return primitive(type, { ...schema, logicalType: logical });
  }
}

/** A primitive type, with its logical type when it has one rat knows (others read as the primitive, as Avro says). */
function primitive(type: string, schema: Record<string, unknown>): ColumnReading {
  const logical = schema.logicalType;
  switch (type) {
    case 'null':
      return { sql: 'VARCHAR', value: () => null };
    case 'boolean':
      return { sql: 'BOOLEAN', value: PASS };
    case 'int':
      if (logical === 'date') return { sql: 'DATE', value: (v) => isoDate(v as number) };
      if (logical === 'time-millis') return { sql: 'TIME', value: (v) => isoTime(BigInt(v as number) * 1000n) };
      return { sql: 'INTEGER', value: PASS };
    case 'long':
      if (logical === 'time-micros') return { sql: 'TIME', value: (v) => isoTime(v as bigint) };
      for (const [name, zone] of [['timestamp', '+00'], ['local-timestamp', '']] as const) {
        const unit = { [`${name}-millis`]: 1000n, [`${name}-micros`]: 1n, [`${name}-nanos`]: 0n }[logical as string];
        if (unit !== undefined) {
          const micros = (v: bigint) => (unit === 0n ? (v >= 0n ? v / 1000n : -((-v + 999n) / 1000n)) : v * unit);
          return { sql: zone ? 'TIMESTAMPTZ' : 'TIMESTAMP', value: (v) => `${isoTimestamp(micros(v as bigint))}${zone}` };
        }
      }
      return { sql: 'BIGINT', value: PASS };
    case 'float':
    case 'double':
      return { sql: type === 'float' ? 'FLOAT' : 'DOUBLE', value: (v) => (Number.isFinite(v) ? v : String(v)) };
    case 'bytes': {
      const precision = Number(schema.precision);
      const scale = Number(schema.scale ?? 0);
      if (logical === 'decimal' && Number.isInteger(precision) && precision > 0) {
        return { sql: precision <= 38 ? `DECIMAL(${precision}, ${scale})` : 'VARCHAR', value: (v) => decimalText(unscaledOf(v as Buffer), precision, scale) };
      }
      // Bytes travel as base64 text: a column becomes a BLOB again, bytes inside a struct or list stay that text.
      return { sql: 'VARCHAR', convert: 'from_base64', value: (v) => (v as Buffer).toString('base64') };
    }
    case 'string':
      return { sql: 'VARCHAR', value: PASS };
    default:
      throw new Error(`unknown Avro type ${JSON.stringify(type)}`);
  }
}

function avroDuration(bytes: Buffer): string {
  return isoDuration(bytes.readUInt32LE(0), bytes.readUInt32LE(4), BigInt(bytes.readUInt32LE(8)) * 1_000_000n);
}

/** A big-endian two's-complement integer (an Avro decimal's bytes). */
function unscaledOf(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt.asIntN(bytes.length * 8, BigInt(`0x${bytes.toString('hex')}`));
}
