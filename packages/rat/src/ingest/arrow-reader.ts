import { open } from 'node:fs/promises';
import {
  compressionRegistry,
  CompressionType,
  type Data,
  type DataType,
  type Decimal,
  type Dictionary,
  type Duration,
  type Field,
  type Int,
  type Interval,
  IntervalUnit,
  type List,
  type Map_,
  type Float,
  RecordBatchReader,
  type Struct,
  type Time,
  type Timestamp,
  TimeUnit,
  Type,
  type Union,
  UnionMode,
  Vector,
} from 'apache-arrow';
import { decompress } from 'fzstd';
import { quoteIdent } from '../engine/duckdb.js';
import { uniqueColumnNames } from './column-names.js';
import { openDecompressed } from './decompressed.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { decodeLz4Frame } from './lz4-frame.js';
import type { StageContext, StagedFile } from './staged-file.js';
import { RowSink } from './staged-rows.js';
import { addReadRow, type ColumnReading, decimalText, isoDate, isoDuration, isoTime, isoTimestamp, jsonText } from './typed-values.js';

/**
 * How an Arrow column is staged: the DuckDB type (see ColumnReading), and a reader of its values.
 * `bind` is called once per vector (a batch's column, the items of one list) and reads its row i as
 * JSON-ready JavaScript, or null.
 */
interface ArrowColumn extends Pick<ColumnReading, 'sql' | 'convert'> {
  bind(vector: Vector): (i: number) => unknown;
}

/** rat's decoders in the Arrow library's (global) codec registry, keeping any encoder set there. */
function registerDecoders(): void {
  const decoders: [CompressionType, (data: Uint8Array) => Uint8Array][] = [
    [CompressionType.LZ4_FRAME, decodeLz4Frame],
    [CompressionType.ZSTD, decompress],
  ];
  for (const [type, decode] of decoders) {
    const codec = compressionRegistry.get(type);
    if (codec?.decode !== decode) compressionRegistry.set(type, { ...codec, decode });
  }
}

/**
 * Arrow IPC (`.arrow`, `.feather` v2, `.arrows`): the file or stream format, read batch by batch, so
 * memory holds one record batch. The Arrow schema gives the types: integers of each width, floats,
 * decimals, dates, times, timestamps (with a time zone: timestamptz), strings, binary, dictionaries
 * (their values), lists and structs at any depth, intervals and durations as ISO 8601 duration text
 * (`P1Y2M`, `PT1.5S`); maps and unions as their JSON text, with every value in them read as in a
 * column (see mapColumn, unionColumn); the other types as the library's JSON text.
 * Buffers compressed with LZ4 or ZSTD (pyarrow's compression='lz4' and 'zstd') are decompressed, and
 * so is a whole file wrapped in gzip or zstd. The rows go through RowSink, numbered
 * from 1 across batches, with each column declared as its Arrow type.
 */
export async function stageArrow(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  registerDecoders();
  const source = await openSource(file);
  const sink = new RowSink(ctx, file);
  let row = 0;
  try {
    const reader = await RecordBatchReader.from(source.input);
    await reader.open();
    const fields = reader.schema.fields;
    const columns = fields.map((f) => columnOf(f.type));
    const names = uniqueNames(fields);
    fields.forEach((_, k) => sink.declare(names[k]!, columns[k]!.sql, columns[k]!.convert));
    for await (const batch of reader) {
      const getters = columns.map((column, k) => column.bind(batch.getChildAt(k)!));
      const json: (string | undefined)[] = new Array<string | undefined>(getters.length);
      for (let i = 0; i < batch.numRows; i++) {
        row++;
        await addReadRow(sink, names, json, (k) => getters[k]!(i), row);
      }
      ctx.onBytesRead?.(source.bytesRead());
    }
  } catch (error) {
    await sink.abort();
    if (error instanceof InputFileError) throw error;
    const message = (await missingFooter(file)) ?? (error as Error).message.split('\n')[0] ?? '';
    throw new InputFileError('INGEST_FILE_INVALID', file.display, row > 0 ? { row: row + 1 } : {}, `not a readable Arrow IPC file (cut off or damaged?): ${message}`, { cause: error });
  } finally {
    await source.close();
  }
  return sink.stage();
}

const FILE_MAGIC = Buffer.from('ARROW1');

/**
 * Why a file-format file cannot be read when it does not end as one must: the Arrow library then fails
 * with a TypeError of its own ("Cannot read properties of null (reading 'fieldsLength')"), as it
 * reads the footer from the file's end. A file starts and ends with the magic `ARROW1`
 * (https://arrow.apache.org/docs/format/Columnar.html#ipc-file-format).
 */
async function missingFooter(file: ProbedFile): Promise<string | undefined> {
  if (file.compression !== 'none' || file.size < 2 * FILE_MAGIC.length) return undefined;
  const handle = await open(file.localPath, 'r');
  try {
    const start = Buffer.alloc(FILE_MAGIC.length);
    const end = Buffer.alloc(FILE_MAGIC.length);
    await handle.read(start, 0, start.length, 0);
    await handle.read(end, 0, end.length, file.size - end.length);
    if (!start.equals(FILE_MAGIC) || end.equals(FILE_MAGIC)) return undefined;
    return `the file starts as the Arrow file format (${FILE_MAGIC.toString()}) but does not end with its footer and ${FILE_MAGIC.toString()}: it was cut off, or is still being written`;
  } finally {
    await handle.close();
  }
}

interface ArrowSource {
  input: Parameters<typeof RecordBatchReader.from>[0];
  /** How far into the file (as stored) the reader has read. */
  bytesRead(): number;
  close(): Promise<void>;
}

/**
 * An uncompressed file is given to the Arrow library as a file handle: it reads the file format by
 * its footer, one record batch at a time, and the stream format in order. A compressed one (gzip,
 * zstd) can only be a byte stream: the library holds a file-format file whole then (a stream, batch by batch).
 */
async function openSource(file: ProbedFile): Promise<ArrowSource> {
  if (file.compression !== 'none') {
    const source = openDecompressed(file.localPath, file.compression);
    return { input: source.stream as unknown as ArrowSource['input'], bytesRead: source.bytesRead, close: async () => source.close() };
  }
  const handle = await open(file.localPath, 'r');
  let furthest = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  // The library reads through these four; reads are counted for progress, and it closing the file is this close.
  const counted = {
    fd: handle.fd,
    stat: () => handle.stat(),
    read: (buffer: Uint8Array, offset: number, length: number, position: number) => {
      furthest = Math.max(furthest, position + length);
      return handle.read(buffer, offset, length, position);
    },
    close,
  };
  return { input: counted as unknown as ArrowSource['input'], bytesRead: () => Math.min(furthest, file.size), close };
}

/** Field names as columns: an empty one becomes `column_<n>`, a repeated one (ignoring case) gets `_2`, `_3`. */
export function uniqueNames(fields: readonly Field[]): string[] {
  return uniqueColumnNames(fields.map((f) => f.name));
}

/** A column read through the Arrow library's `get`, its values made plain by `value`. */
function viaGet(sql: string, value: ColumnReading['value'], convert?: string): ArrowColumn {
  return {
    sql,
    ...(convert ? { convert } : {}),
    bind: (vector) => (i) => {
      const v: unknown = vector.get(i);
      return v === null || v === undefined ? null : value(v);
    },
  };
}

/**
 * A column read from its values buffer, where the library's `get` is not exact (it gives 64-bit
 * timestamps as a millisecond double, and garbles 256-bit decimals). `read` gets the buffer and the
 * row; a sliced vector's buffer starts at its first row already (as `get` has it).
 */
function fromValues<T>(sql: string, read: (values: T, i: number) => unknown): ArrowColumn {
  return {
    sql,
    bind: (vector) =>
      perChunk(vector, (data) => {
        const values = data.values as T;
        return (i) => (data.getValid(i) ? read(values, i) : null);
      }),
  };
}

/** A reader of a vector bound chunk by chunk (a dictionary's values can be several chunks; a batch's column is one). */
function perChunk(vector: Vector, bindData: (data: Data) => (i: number) => unknown): (i: number) => unknown {
  if (vector.data.length === 1) return bindData(vector.data[0]!);
  const readers = vector.data.map(bindData);
  const starts = vector.data.map((_, k) => vector.data.slice(0, k).reduce((n, d) => n + d.length, 0));
  return (i) => {
    let k = starts.length - 1;
    while (starts[k]! > i) k--;
    return readers[k]!(i - starts[k]!);
  };
}

/**
 * How one Arrow type is staged (see ArrowColumn); types DuckDB has no reading for become their JSON
 * text. `json`: the value goes inside a map's or union's JSON text, where a map or union in it is part
 * of that document (an object, a value) rather than text of its own.
 */
function columnOf(type: DataType, json = false): ArrowColumn {
  switch (type.typeId) {
    case Type.Null:
      return viaGet('VARCHAR', () => null);
    case Type.Bool:
    case Type.Utf8:
    case Type.LargeUtf8:
      return viaGet(type.typeId === Type.Bool ? 'BOOLEAN' : 'VARCHAR', (v) => v);
    case Type.Int: {
      const int = type as Int;
      const sql = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[int.bitWidth];
      return viaGet(int.isSigned ? sql : `U${sql}`, (v) => v);
    }
    case Type.Float:
      return viaGet((type as Float).precision === 2 ? 'DOUBLE' : 'FLOAT', (v) => (Number.isFinite(v) ? v : String(v)));
    case Type.Decimal:
      return decimalColumn(type as Decimal);
    case Type.Date:
      return viaGet('DATE', (v) => isoDate(Math.floor(Number(v) / 86_400_000)));
    case Type.Time: {
      // `get` gives a time's count of its unit as stored (an int32 or a bigint): exact.
      const unit = (type as Time).unit;
      return viaGet('TIME', (v) => isoTime(toMicros(BigInt(v as number | bigint), unit)));
    }
    case Type.Timestamp: {
      const timestamp = type as Timestamp;
      const zoned = timestamp.timezone !== null && timestamp.timezone !== '';
      return fromValues(zoned ? 'TIMESTAMPTZ' : 'TIMESTAMP', (values: BigInt64Array, i) => `${isoTimestamp(toMicros(values[i]!, timestamp.unit))}${zoned ? '+00' : ''}`);
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      // Bytes travel as base64 text: a column becomes a BLOB again, bytes inside a list or struct stay that text.
      return viaGet('VARCHAR', (v) => Buffer.from(v as Uint8Array).toString('base64'), 'from_base64');
    case Type.Dictionary: {
      const values = columnOf((type as Dictionary).dictionary, json);
      return {
        ...values,
        bind: (vector) =>
          perChunk(vector, (data) => {
            const read = values.bind(data.dictionary!);
            const keys = data.values as ArrayLike<number | bigint>;
            return (i) => (data.getValid(i) ? read(Number(keys[i]!)) : null);
          }),
      };
    }
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const item = columnOf((type as List).children[0]!.type, json);
      return {
        sql: `${item.sql}[]`,
        bind: (vector) => (i) => {
          const list = vector.get(i) as Vector | null;
          if (list === null || list === undefined) return null;
          const read = item.bind(list);
          return Array.from({ length: list.length }, (_, k) => read(k));
        },
      };
    }
    case Type.Struct: {
      const parts = (type as Struct).children.map((f) => ({ name: f.name, column: columnOf(f.type, json) }));
      return {
        sql: `STRUCT(${parts.map((p) => `${quoteIdent(p.name)} ${p.column.sql}`).join(', ')})`,
        bind: (vector) => {
          const readers = parts.map((p, j) => ({ name: p.name, read: p.column.bind(vector.getChildAt(j)!) }));
          return (i) => {
            if (!vector.isValid(i)) return null;
            const out: Record<string, unknown> = {};
            for (const part of readers) out[part.name] = part.read(i);
            return out;
          };
        },
      };
    }
    case Type.Interval:
      return intervalColumn(type as Interval);
    case Type.Duration: {
      const perUnit = NANOS_PER[(type as Duration).unit];
      return fromValues('VARCHAR', (values: BigInt64Array, i) => isoDuration(0, 0, values[i]! * perUnit));
    }
    case Type.Map:
      return mapColumn(type as Map_, json);
    case Type.Union:
      return unionColumn(type as Union, json);
    default:
      return viaGet('VARCHAR', (v) => jsonText(v));
  }
}

/**
 * A map as a JSON object, `{"key": value}`: Iceberg has a map type, but rat keeps Arrow maps as a
 * string column of JSON text, as Avro maps are (a map value inside a struct or list is that text too).
 * Keys and values are read as a column of their type would be, so they are exact: 64-bit integers and
 * decimals as strings of all their digits (`"9007199254740993"`, `"1.50"`), dates, times and
 * timestamps as ISO text (`"2024-02-05"`, `"2023-11-14 22:13:20.123456+00"`), bytes as base64,
 * intervals and durations as ISO 8601 durations; structs and lists as objects and arrays, and maps and
 * unions in them as objects and values, not as text within the text. A key that is not a string
 * becomes its text the same way (`{"2024-02-05": 1}`). Arrow does not require keys to be unique: a
 * repeated key keeps its last value.
 */
function mapColumn(map: Map_, json: boolean): ArrowColumn {
  const keys = columnOf(map.keyType, true);
  const values = columnOf(map.valueType, true);
  return {
    sql: 'VARCHAR',
    bind: (vector) =>
      perChunk(vector, (data) => {
        const entries = data.children[0]!;
        const readKey = keys.bind(new Vector([entries.children[0]!]));
        const readValue = values.bind(new Vector([entries.children[1]!]));
        const offsets = data.valueOffsets;
        return (i) => {
          if (!data.getValid(i)) return null;
          const out: Record<string, unknown> = {};
          for (let k = offsets[i]!; k < offsets[i + 1]!; k++) {
            const key = readKey(k);
            out[typeof key === 'string' ? key : jsonText(key)] = readValue(k);
          }
          return json ? out : jsonText(out);
        };
      }),
  };
}

/**
 * A union (sparse or dense) as the value of the member each row holds, read as a column of that
 * member's type would be (exact, see mapColumn). Iceberg has no union type: the column is a string,
 * a member's text as it is (`abc`, `9007199254740993`, `2023-11-14 22:13:20.123456`) and a struct,
 * list or map member as its JSON text, as Avro unions of several types are; inside a map or another
 * union the value stays a JSON value (`"abc"`). A null in the member read is a null.
 * https://arrow.apache.org/docs/format/Columnar.html#union-layout
 */
function unionColumn(union: Union, json: boolean): ArrowColumn {
  const members = union.children.map((f) => columnOf(f.type, true));
  const dense = union.mode === UnionMode.Dense;
  return {
    sql: 'VARCHAR',
    bind: (vector) =>
      perChunk(vector, (data) => {
        // A sliced union's type ids and offsets start at its first row; a sparse one's members are sliced with it.
        const readers = data.children.map((child, j) => members[j]!.bind(new Vector([child])));
        const typeIds = data.typeIds;
        const offsets = data.valueOffsets;
        return (i) => {
          const value = readers[union.typeIdToChildIndex[typeIds[i]!]!]!(dense ? offsets[i]! : i);
          return json || value === null || typeof value === 'string' ? value : jsonText(value);
        };
      }),
  };
}

/**
 * A decimal, from its unscaled value: little-endian 32-bit words (4 of a 128-bit one, 8 of a 256-bit
 * one), two's complement. A precision above 38 or a negative scale (Arrow allows it) has no DuckDB
 * DECIMAL: such values are kept as their text.
 */
function decimalColumn(decimal: Decimal): ArrowColumn {
  const { precision, scale, bitWidth } = decimal;
  const words = bitWidth / 32;
  const sql = precision <= 38 && scale >= 0 ? `DECIMAL(${precision}, ${scale})` : 'VARCHAR';
  return fromValues(sql, (values: Uint32Array, i) => {
    let unscaled = 0n;
    for (let w = words - 1; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(values[i * words + w]!);
    unscaled = BigInt.asIntN(bitWidth, unscaled) * 10n ** BigInt(Math.max(0, -scale));
    return decimalText(unscaled, sql === 'VARCHAR' ? Infinity : precision, Math.max(0, scale));
  });
}

/**
 * An interval as ISO 8601 duration text (see isoDuration; Iceberg has no interval type). Its values
 * are int32s: months (YEAR_MONTH); days and milliseconds (DAY_TIME); months, days and an int64 of
 * nanoseconds, low word first (MONTH_DAY_NANO).
 */
function intervalColumn(interval: Interval): ArrowColumn {
  switch (interval.unit) {
    case IntervalUnit.YEAR_MONTH:
      return fromValues('VARCHAR', (values: Int32Array, i) => isoDuration(values[i]!, 0, 0n));
    case IntervalUnit.DAY_TIME:
      return fromValues('VARCHAR', (values: Int32Array, i) => isoDuration(0, values[2 * i]!, BigInt(values[2 * i + 1]!) * 1_000_000n));
    default:
      return fromValues('VARCHAR', (values: Int32Array, i) => isoDuration(values[4 * i]!, values[4 * i + 1]!, (BigInt(values[4 * i + 3]!) << 32n) | BigInt(values[4 * i + 2]! >>> 0)));
  }
}

const NANOS_PER: Record<TimeUnit, bigint> = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1000n, [TimeUnit.NANOSECOND]: 1n };
const MICROS_PER: Record<TimeUnit, bigint> = { [TimeUnit.SECOND]: 1_000_000n, [TimeUnit.MILLISECOND]: 1000n, [TimeUnit.MICROSECOND]: 1n, [TimeUnit.NANOSECOND]: 1n };

/** A count of `unit` as microseconds (nanoseconds are cut to microseconds: Iceberg v2 keeps no finer). */
function toMicros(value: bigint, unit: TimeUnit): bigint {
  if (unit === TimeUnit.NANOSECOND) return value >= 0n ? value / 1000n : -((-value + 999n) / 1000n);
  return value * MICROS_PER[unit];
}

