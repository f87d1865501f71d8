/**
 * Avro object container files (Avro 1.11 spec "Object Container Files"), read and written
 * synchronously: header (magic `Obj\x01`, metadata map, sync marker) then blocks of records.
 * Writing encodes records with avsc from the plain schema object (so the header keeps every
 * `field-id`); reading uses avro-decoder.ts, which keys record fields by Iceberg field id
 * (`record[fieldKey(500)]` is `manifest_path` whatever the writer called it) and bounds every
 * count by the bytes left, so corrupt files fail fast.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { ExternalError, ValidationError } from '../core/errors.js';
import { AvroCursor, AvroDecodeError, compileDecoder } from './avro-decoder.js';
import type { AvroRecordSchema, AvroSchema } from './avro-schemas.js';

export type AvroCodec = 'null' | 'deflate';

export interface AvroFile {
  /** The writer schema from the header, as parsed JSON (names as the writer chose them). */
  schema: AvroSchema;
  /** File metadata (`avro.schema`, `avro.codec` and the writer's own keys), decoded as UTF-8. */
  metadata: ReadonlyMap<string, string>;
  records: unknown[];
}

export interface AvroWriteOptions {
  /** Extra file metadata; `avro.schema` and `avro.codec` are set by the writer. */
  metadata: Readonly<Record<string, string>>;
  /** Default: deflate, or null for a file whose records are under 8 KiB. */
  codec?: AvroCodec;
}

/**
 * Items written as records: `toRecord` makes an item's record, and `encoded` keeps each item's bytes
 * for the next file of the same schema holding it (a manifest list repeats its parent's entries).
 * Only for items never changed once written.
 */
export interface AvroItems<T extends object> {
  items: readonly T[];
  toRecord(item: T): unknown;
  encoded: WeakMap<T, Buffer>;
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_SIZE = 16;
/** Without a codec given, files whose records come to fewer bytes are written uncompressed (codec null). */
const SMALL_FILE_BYTES = 8 * 1024;
/** Records are grouped into blocks of about this many uncompressed bytes. */
const BLOCK_TARGET_BYTES = 1 << 20;
const LONG_MIN = -(2n ** 63n);
const LONG_LIMIT = 2n ** 64n;

/** Avro "Object Container Files": the header is itself this Avro record. */
export const HEADER_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});

interface Header {
  magic: Buffer;
  meta: Record<string, Buffer>;
  sync: Buffer;
}

/**
 * The long type records are written with: avsc's own refuses values beyond 2^53 and snapshot ids
 * go up to 2^63 and beyond. Accepts bigint in [-2^63, 2^64) (values from 2^63 are stored as their
 * two's complement) and safe-integer numbers.
 */
export const BIGINT_LONG = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer): bigint => buffer.readBigInt64LE(0),
  toBuffer: (value: bigint | number): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt.asIntN(64, BigInt(value)));
    return buffer;
  },
  fromJSON: (json: unknown): bigint => BigInt(json as string | number),
  toJSON: (value: bigint): number | string => (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()),
  isValid: (value: unknown): boolean =>
    (typeof value === 'bigint' && value >= LONG_MIN && value < LONG_LIMIT) ||
    (typeof value === 'number' && Number.isSafeInteger(value)),
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * Compiled writer types by schema JSON. avsc generates and compiles code per schema, which took
 * about 2 ms per manifest and per manifest list on every commit, while a table's manifest schemas
 * change only with its schema or partition spec. A compiled type holds no per-write state.
 */
const avroTypes = new Map<string, avro.Type>();
const MAX_CACHED_AVRO_TYPES = 256;

function avroType(schema: AvroSchema, schemaJson: string): avro.Type {
  const cached = avroTypes.get(schemaJson);
  if (cached) return cached;
  const type = avro.Type.forSchema(schema as avro.schema.AvroSchema, {
    wrapUnions: 'never',
    typeHook: (candidate) => (candidate === 'long' || (isObject(candidate) && candidate.type === 'long') ? BIGINT_LONG : undefined),
  });
  if (avroTypes.size >= MAX_CACHED_AVRO_TYPES) avroTypes.delete(avroTypes.keys().next().value!);
  avroTypes.set(schemaJson, type);
  return type;
}

/**
 * Writes an object container file. `schema` is the plain schema object: it is written verbatim
 * into the header (with its `field-id`s) and records are plain objects keyed by field name, with
 * Avro longs as bigint or safe-integer number, bytes and fixed as Uint8Array.
 */
export function writeAvroFile<T extends object>(schema: AvroRecordSchema, records: readonly unknown[] | AvroItems<T>, options: AvroWriteOptions): Uint8Array {
  const schemaJson = JSON.stringify(schema);
  const type = avroType(schema, schemaJson);
  const encodeAt = Array.isArray(records)
    ? (index: number) => encodeRecord(type, records[index], index, schema.name)
    : (index: number) => {
        const { items, toRecord, encoded } = records as AvroItems<T>;
        const item = items[index]!;
        let bytes = encoded.get(item);
        if (bytes === undefined) {
          bytes = encodeRecord(type, toRecord(item), index, schema.name);
          encoded.set(item, bytes);
        }
        return bytes;
      };
  const count = Array.isArray(records) ? records.length : (records as AvroItems<T>).items.length;
  const encoded: Buffer[] = [];
  let rawBytes = 0;
  for (let index = 0; index < count; index += 1) {
    encoded.push(encodeAt(index));
    rawBytes += encoded[index]!.length;
  }
  // Setting up zlib costs about 0.3 ms a file, more than compressing a few KiB saves.
  const codec = options.codec ?? (rawBytes < SMALL_FILE_BYTES ? 'null' : 'deflate');
  const sync = randomBytes(SYNC_SIZE);
  const meta: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(options.metadata)) meta[key] = Buffer.from(value, 'utf8');
  meta['avro.schema'] = Buffer.from(schemaJson, 'utf8');
  meta['avro.codec'] = Buffer.from(codec, 'utf8');
  const header: Header = { magic: MAGIC, meta, sync };
  const parts: Buffer[] = [HEADER_TYPE.toBuffer(header)];

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const raw = Buffer.concat(pending);
    const data = codec === 'deflate' ? deflateRawSync(raw) : raw;
    parts.push(encodeLong(pending.length), encodeLong(data.length), data, sync);
    pending = [];
    pendingBytes = 0;
  };
  for (const bytes of encoded) {
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= BLOCK_TARGET_BYTES) flush();
  }
  flush();
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Reads an object container file written by any Avro writer (codec null or deflate). Throws
 * ExternalError METADATA_CORRUPT naming `source` when the bytes are not a valid Avro file, and
 * ExternalError UNSUPPORTED for other codecs.
 */
export function readAvroFile(bytes: Uint8Array, source: string): AvroFile {
  if (bytes.length < MAGIC.length || !MAGIC.equals(bytes.subarray(0, MAGIC.length))) {
    throw corrupt(source, `the file does not start with the Avro magic bytes "Obj\\x01" (${bytes.length} bytes)`);
  }
  const cursor = new AvroCursor(bytes);
  cursor.pos = MAGIC.length;
  const metadata = new Map<string, string>();
  let sync: Uint8Array;
  try {
    readMetadata(cursor, metadata);
    sync = cursor.fixed(SYNC_SIZE);
  } catch (error) {
    throw corrupt(source, 'the header cannot be read', error);
  }

  const schemaText = metadata.get('avro.schema');
  if (schemaText === undefined) throw corrupt(source, 'the header has no avro.schema');
  let schema: AvroSchema;
  let decoder: ReturnType<typeof compileDecoder>;
  try {
    schema = JSON.parse(schemaText) as AvroSchema;
    decoder = compileDecoder(schema);
  } catch (error) {
    throw corrupt(source, 'avro.schema is not a usable Avro schema', error);
  }
  const codec = metadata.get('avro.codec') ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new ExternalError('UNSUPPORTED', `${source}: Avro codec "${codec}" is not supported (only null and deflate)`);
  }

  const records: unknown[] = [];
  let blockIndex = 0;
  while (cursor.remaining > 0) {
    let count: number;
    let data: Uint8Array;
    try {
      count = cursor.size('a block count');
      const size = cursor.size('a block size');
      if (count < 0 || size < 0) throw new AvroDecodeError(`block count ${count} or size ${size} is negative`);
      data = cursor.fixed(size);
      const blockSync = cursor.fixed(SYNC_SIZE);
      if (!Buffer.from(blockSync).equals(sync)) throw new AvroDecodeError("the block does not end with the file's sync marker");
    } catch (error) {
      throw corrupt(source, `block ${blockIndex} is malformed`, error);
    }
    if (codec === 'deflate') {
      try {
        data = inflateRawSync(data);
      } catch (error) {
        throw corrupt(source, `block ${blockIndex} cannot be inflated`, error);
      }
    }
    const block = new AvroCursor(data);
    if (decoder.minSize > 0 && count > data.length / decoder.minSize) {
      throw corrupt(source, `block ${blockIndex} claims ${count} records in ${data.length} bytes`);
    }
    for (let i = 0; i < count; i += 1) {
      try {
        records.push(decoder.read(block));
      } catch (error) {
        throw corrupt(source, `record ${records.length} cannot be decoded`, error);
      }
    }
    if (block.remaining !== 0) throw corrupt(source, `block ${blockIndex} has ${block.remaining} bytes after its ${count} records`);
    blockIndex += 1;
  }
  return { schema, metadata, records };
}

/** The header's metadata: an Avro map of bytes, read as UTF-8 text. */
function readMetadata(cursor: AvroCursor, metadata: Map<string, string>): void {
  for (;;) {
    let count = cursor.size('a metadata block count');
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      cursor.size('a metadata block size');
    }
    if (count * 2 > cursor.remaining) throw new AvroDecodeError(`a metadata block of ${count} entries cannot fit ${cursor.remaining} bytes`);
    for (let i = 0; i < count; i += 1) {
      const key = cursor.string();
      metadata.set(key, Buffer.from(cursor.bytesValue()).toString('utf8'));
    }
  }
}

function encodeRecord(type: avro.Type, record: unknown, index: number, recordName: string): Buffer {
  const value = withBuffers(record);
  try {
    return type.toBuffer(value);
  } catch (error) {
    const paths: string[] = [];
    type.isValid(value, {
      errorHook: (path: string[], value: unknown) => {
        paths.push(`${path.join('.')}=${describeValue(value)}`);
      },
    });
    const where = paths.length > 0 ? paths.join(', ') : 'unknown field';
    throw new ValidationError('INVALID_ARGUMENT', `${recordName} ${index} cannot be written as Avro: invalid value at ${where}`, { cause: error });
  }
}

/** avsc takes bytes and fixed values only as Buffer: wrap other Uint8Arrays (no copy). */
function withBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(withBuffers);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = withBuffers(item);
    return out;
  }
  return value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? `array(${value.length})` : 'object';
}

/** Avro "Binary Encoding": longs are zig-zag varints. Block counts and sizes fit a number. */
function encodeLong(value: number): Buffer {
  const bytes: number[] = [];
  let n = BigInt(value) >= 0n ? BigInt(value) << 1n : (-BigInt(value) << 1n) - 1n;
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0n);
  return Buffer.from(bytes);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corrupt(source: string, detail: string, cause?: unknown): ExternalError {
  const reason = cause instanceof Error ? `: ${cause.message.split('\n')[0] ?? ''}` : '';
  return new ExternalError('METADATA_CORRUPT', `${source}: not a valid Avro file, ${detail}${reason}`, { cause });
}
