import { open } from 'node:fs/promises';
import {
  compressionRegistry,
  CompressionType,
  type DataType,
  type Decimal,
  type Dictionary,
  type Field,
  type Int,
  type List,
  type Float,
  RecordBatchReader,
  type Struct,
  type Time,
  type Timestamp,
  TimeUnit,
  Type,
  type Vector,
} from 'apache-arrow';
import { decompress } from 'fzstd';
import { quoteIdent } from '../engine/duckdb.js';
import { formatDecimal } from '../iceberg/values.js';
import { uniqueName } from './column-names.js';
import { openDecompressed } from './decompressed.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { decodeLz4Frame } from './lz4-frame.js';
import type { StageContext, StagedFile } from './staged-file.js';
import { RowSink } from './staged-rows.js';
import { type ColumnReading, isoDate, isoTime, isoTimestamp, jsonText, toJson } from './typed-values.js';

/** How an Arrow column is staged: `value` takes what the Arrow library gives (`vector.get(i)`). */
interface ArrowColumn extends ColumnReading {
  /** When set, reads row i of a batch's column itself (exact 64-bit timestamps), instead of `vector.get`. */
  direct?(vector: Vector): (i: number) => unknown;
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
 * (their values), lists and structs at any depth; maps and the rest are kept as their JSON text.
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
      const getters = columns.map((column, k) => {
        const vector = batch.getChildAt(k)!;
        if (column.direct) return column.direct(vector);
        return (i: number) => {
          const v: unknown = vector.get(i);
          return v === null || v === undefined ? null : column.value(v);
        };
      });
      const json: (string | undefined)[] = new Array<string | undefined>(getters.length);
      for (let i = 0; i < batch.numRows; i++) {
        row++;
        for (let k = 0; k < getters.length; k++) {
          const value = getters[k]!(i);
          json[k] = value === null ? undefined : toJson(value);
        }
        await sink.addTyped(json, row);
      }
      ctx.onBytesRead?.(source.bytesRead());
    }
  } catch (error) {
    await sink.abort();
    if (error instanceof InputFileError) throw error;
    const message = (error as Error).message.split('\n')[0] ?? '';
    throw new InputFileError('INGEST_FILE_INVALID', file.display, row > 0 ? { row: row + 1 } : {}, `not a readable Arrow IPC file (cut off or damaged?): ${message}`, { cause: error });
  } finally {
    await source.close();
  }
  return sink.stage();
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

/** Field names as columns: an empty one becomes `column_<n>`, a repeated one gets `_2`, `_3`. */
export function uniqueNames(fields: readonly Field[]): string[] {
  const used = new Set<string>();
  return fields.map((f, k) => uniqueName(f.name === '' ? `column_${k + 1}` : f.name, used));
}

const PLAIN: ArrowColumn['value'] = (v) => v;

/** How one Arrow type is staged (see ArrowColumn); types DuckDB has no reading for become their JSON text. */
function columnOf(type: DataType): ArrowColumn {
  switch (type.typeId) {
    case Type.Null:
      return { sql: 'VARCHAR', value: () => null };
    case Type.Bool:
    case Type.Utf8:
    case Type.LargeUtf8:
      return { sql: type.typeId === Type.Bool ? 'BOOLEAN' : 'VARCHAR', value: PLAIN };
    case Type.Int: {
      const int = type as Int;
      const sql = { 8: 'TINYINT', 16: 'SMALLINT', 32: 'INTEGER', 64: 'BIGINT' }[int.bitWidth];
      return { sql: int.isSigned ? sql : `U${sql}`, value: PLAIN };
    }
    case Type.Float:
      return { sql: (type as Float).precision === 2 ? 'DOUBLE' : 'FLOAT', value: (v) => (Number.isFinite(v) ? v : String(v)) };
    case Type.Decimal: {
      const decimal = type as Decimal;
      // A negative scale (Arrow allows it) has no DuckDB DECIMAL: such values are kept as their text.
      const { precision, scale } = decimal;
      const unscaled = (v: unknown) => BigInt(String(v)) * 10n ** BigInt(Math.max(0, -scale));
      return { sql: precision <= 38 && scale >= 0 ? `DECIMAL(${precision}, ${scale})` : 'VARCHAR', value: (v) => formatDecimal(unscaled(v), Math.max(0, scale)) };
    }
    case Type.Date:
      return { sql: 'DATE', value: (v) => isoDate(Math.floor(Number(v) / 86_400_000)) };
    case Type.Time: {
      const unit = (type as Time).unit;
      return { sql: 'TIME', value: (v) => isoTime(toMicros(BigInt(v as number | bigint), unit)) };
    }
    case Type.Timestamp: {
      const timestamp = type as Timestamp;
      const zoned = timestamp.timezone !== null && timestamp.timezone !== '';
      const text = (micros: bigint) => `${isoTimestamp(micros)}${zoned ? '+00' : ''}`;
      return {
        sql: zoned ? 'TIMESTAMPTZ' : 'TIMESTAMP',
        // Nested in a list or struct, the library gives milliseconds as a double: good to the microsecond for any plausible date.
        value: (v) => text(BigInt(Math.round(Number(v) * 1000))),
        direct(vector) {
          const data = vector.data[0]!;
          const values = data.values as BigInt64Array;
          return (i) => (vector.isValid(i) ? text(toMicros(values[data.offset + i]!, timestamp.unit)) : null);
        },
      };
    }
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      // Bytes travel as base64 text: a column becomes a BLOB again, bytes inside a list or struct stay that text.
      return { sql: 'VARCHAR', convert: 'from_base64', value: (v) => Buffer.from(v as Uint8Array).toString('base64') };
    case Type.Dictionary:
      return columnOf((type as Dictionary).dictionary);
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const item = columnOf((type as List).children[0]!.type);
      return {
        sql: `${item.sql}[]`,
        value: (v) => {
          const list = v as Vector;
          const out: unknown[] = [];
          for (let k = 0; k < list.length; k++) {
            const element: unknown = list.get(k);
            out.push(element === null || element === undefined ? null : item.value(element));
          }
          return out;
        },
      };
    }
    case Type.Struct: {
      const children = (type as Struct).children;
      const parts = children.map((f) => ({ name: f.name, column: columnOf(f.type) }));
      return {
        sql: `STRUCT(${parts.map((p) => `${quoteIdent(p.name)} ${p.column.sql}`).join(', ')})`,
        value: (v) => {
          const struct = v as Record<string, unknown>;
          const out: Record<string, unknown> = {};
          for (const p of parts) {
            const field = struct[p.name];
            out[p.name] = field === null || field === undefined ? null : p.column.value(field);
          }
          return out;
        },
      };
    }
    default:
      // Maps, intervals, durations, unions: their JSON text.
      return { sql: 'VARCHAR', value: (v) => jsonText(v) };
  }
}

const MICROS_PER: Record<TimeUnit, bigint> = { [TimeUnit.SECOND]: 1_000_000n, [TimeUnit.MILLISECOND]: 1000n, [TimeUnit.MICROSECOND]: 1n, [TimeUnit.NANOSECOND]: 1n };

/** A count of `unit` as microseconds (nanoseconds are cut to microseconds: Iceberg v2 keeps no finer). */
function toMicros(value: bigint, unit: TimeUnit): bigint {
  if (unit === TimeUnit.NANOSECOND) return value >= 0n ? value / 1000n : -((-value + 999n) / 1000n);
  return value * MICROS_PER[unit];
}

