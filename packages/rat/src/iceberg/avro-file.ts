/**
 * Avro object container files (Avro 1.11 spec "Object Container Files"), read and written
 * synchronously: header (magic `Obj\x01`, metadata map, sync marker) then blocks of records.
 * avsc encodes and decodes the records; the framing is done here so that callers get plain bytes.
 *
 * Reading resolves Iceberg fields by id, never by name (spec Appendix A "Avro", "Field IDs"):
 * every record field of the writer schema is renamed to `id_<field-id>` before decoding, so
 * `record[fieldKey(500)]` is `manifest_path` whatever the writer called it.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { ExternalError, ValidationError } from '../core/errors.js';
import type { AvroRecordSchema, AvroSchema } from './avro-schemas.js';

export type AvroCodec = 'null' | 'deflate';

export interface AvroFile {
  /**
   * The writer schema with every record field renamed to `fieldKey(field-id)` (fields without an
   * id become `pos_<index>`), named types made valid Avro names, defaults and aliases dropped.
   * `field-id`, `element-id` and logical type attributes are kept.
   */
  schema: AvroSchema;
  /** File metadata (`avro.schema`, `avro.codec` and the writer's own keys), decoded as UTF-8. */
  metadata: ReadonlyMap<string, string>;
  records: unknown[];
}

export interface AvroWriteOptions {
  /** Extra file metadata; `avro.schema` and `avro.codec` are set by the writer. */
  metadata: Readonly<Record<string, string>>;
  codec?: AvroCodec;
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_SIZE = 16;
/** Records are grouped into blocks of about this many uncompressed bytes. */
const BLOCK_TARGET_BYTES = 1 << 20;
const LONG_MIN = -(2n ** 63n);
const LONG_LIMIT = 2n ** 64n;

/** Avro "Object Container Files": the header is itself this Avro record. */
const HEADER_TYPE = avro.Type.forSchema({
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
 * Avro longs as bigint: avsc's own long type refuses values beyond 2^53 and snapshot ids go up
 * to 2^63 and beyond. Reads give the signed value; writes accept bigint in [-2^63, 2^64) (values
 * from 2^63 are stored as their two's complement) and safe-integer numbers.
 */
const BIGINT_LONG = avro.types.LongType.__with({
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

function avroType(schema: AvroSchema): avro.Type {
  return avro.Type.forSchema(schema as avro.schema.AvroSchema, {
    wrapUnions: 'never',
    typeHook: (candidate) => (candidate === 'long' || (isObject(candidate) && candidate.type === 'long') ? BIGINT_LONG : undefined),
  });
}

/** The decoded-record key of the field with this Iceberg field id. */
export function fieldKey(fieldId: number): string {
  return fieldId < 0 ? `id_m${-fieldId}` : `id_${fieldId}`;
}

/**
 * Writes an object container file. `schema` is the plain schema object: it is written verbatim
 * into the header (with its `field-id`s) and records are plain objects keyed by field name, with
 * Avro longs as bigint or safe-integer number, bytes and fixed as Uint8Array.
 */
export function writeAvroFile(schema: AvroRecordSchema, records: readonly unknown[], options: AvroWriteOptions): Uint8Array {
  const codec = options.codec ?? 'deflate';
  const type = avroType(schema);
  const sync = randomBytes(SYNC_SIZE);
  const meta: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(options.metadata)) meta[key] = Buffer.from(value, 'utf8');
  meta['avro.schema'] = Buffer.from(JSON.stringify(schema), 'utf8');
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
  records.forEach((record, index) => {
    const encoded = encodeRecord(type, record, index, schema.name);
    pending.push(encoded);
    pendingBytes += encoded.length;
    if (pendingBytes >= BLOCK_TARGET_BYTES) flush();
  });
  flush();
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Reads an object container file written by any Avro writer (codec null or deflate). Throws
 * ExternalError METADATA_CORRUPT naming `source` when the bytes are not a valid Avro file.
 */
export function readAvroFile(bytes: Uint8Array, source: string): AvroFile {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < MAGIC.length || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupt(source, `the file does not start with the Avro magic bytes "Obj\\x01" (${buffer.length} bytes)`);
  }
  let decodedHeader: { value: unknown; offset: number };
  try {
    decodedHeader = HEADER_TYPE.decode(buffer, 0);
  } catch (error) {
    throw corrupt(source, 'the header cannot be decoded', error);
  }
  if (decodedHeader.offset < 0) throw corrupt(source, `the header is truncated (${buffer.length} bytes)`);
  const header = decodedHeader.value as Header;
  const metadata = new Map<string, string>();
  for (const [key, value] of Object.entries(header.meta)) metadata.set(key, value.toString('utf8'));

  const schemaText = metadata.get('avro.schema');
  if (schemaText === undefined) throw corrupt(source, 'the header has no avro.schema');
  let schema: AvroSchema;
  let type: avro.Type;
  try {
    schema = normalizeSchema(JSON.parse(schemaText) as unknown);
    type = avroType(schema);
  } catch (error) {
    throw corrupt(source, `avro.schema is not a usable Avro schema`, error);
  }
  const codec = metadata.get('avro.codec') ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new ExternalError('UNSUPPORTED', `${source}: Avro codec "${codec}" is not supported (only null and deflate)`);
  }

  const records: unknown[] = [];
  let pos = decodedHeader.offset;
  let blockIndex = 0;
  while (pos < buffer.length) {
    const count = readVarLong(buffer, pos, source);
    const size = readVarLong(buffer, count.next, source);
    if (count.value < 0 || size.value < 0) throw corrupt(source, `block ${blockIndex} has a negative count or size`);
    const dataEnd = size.next + size.value;
    if (dataEnd + SYNC_SIZE > buffer.length) throw corrupt(source, `block ${blockIndex} is truncated`);
    if (!buffer.subarray(dataEnd, dataEnd + SYNC_SIZE).equals(header.sync)) {
      throw corrupt(source, `block ${blockIndex} does not end with the file's sync marker`);
    }
    let data = buffer.subarray(size.next, dataEnd);
    if (codec === 'deflate') {
      try {
        data = inflateRawSync(data);
      } catch (error) {
        throw corrupt(source, `block ${blockIndex} cannot be inflated`, error);
      }
    }
    let offset = 0;
    for (let i = 0; i < count.value; i += 1) {
      let decoded: { value: unknown; offset: number };
      try {
        decoded = type.decode(data, offset);
      } catch (error) {
        throw corrupt(source, `record ${records.length} cannot be decoded`, error);
      }
      if (decoded.offset < 0) throw corrupt(source, `record ${records.length} is truncated`);
      records.push(decoded.value);
      offset = decoded.offset;
    }
    if (offset !== data.length) throw corrupt(source, `block ${blockIndex} has ${data.length - offset} bytes after its ${count.value} records`);
    pos = dataEnd + SYNC_SIZE;
    blockIndex += 1;
  }
  return { schema, metadata, records };
}

function encodeRecord(type: avro.Type, record: unknown, index: number, recordName: string): Buffer {
  try {
    return type.toBuffer(record);
  } catch (error) {
    const paths: string[] = [];
    type.isValid(record, {
      errorHook: (path: string[], value: unknown) => {
        paths.push(`${path.join('.')}=${describeValue(value)}`);
      },
    });
    const where = paths.length > 0 ? paths.join(', ') : 'unknown field';
    throw new ValidationError('INVALID_ARGUMENT', `${recordName} ${index} cannot be written as Avro: invalid value at ${where}`, { cause: error });
  }
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

function readVarLong(buffer: Buffer, pos: number, source: string): { value: number; next: number } {
  let raw = 0n;
  let shift = 0n;
  let next = pos;
  for (;;) {
    if (next >= buffer.length) throw corrupt(source, `a block header is truncated at byte ${pos}`);
    if (shift > 63n) throw corrupt(source, `a block header varint at byte ${pos} is too long`);
    const byte = buffer[next] ?? 0;
    next += 1;
    raw |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) break;
  }
  const value = (raw & 1n) === 0n ? raw >> 1n : -((raw + 1n) >> 1n);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw corrupt(source, `a block header at byte ${pos} holds ${value}, beyond any real block`);
  }
  return { value: Number(value), next };
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAME_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Makes a writer schema decodable by avsc and addressable by field id (see `AvroFile.schema`).
 * Names matter to Avro only for resolving named-type references, which are renamed the same way.
 */
function normalizeSchema(schema: unknown): AvroSchema {
  if (typeof schema === 'string') return PRIMITIVES.has(schema) ? schema : validName(schema);
  if (Array.isArray(schema)) return schema.map((branch) => normalizeSchema(branch));
  if (!isObject(schema)) throw new Error(`unexpected schema node ${JSON.stringify(schema)}`);
  const type = schema.type;
  if (typeof type !== 'string') return normalizeSchema(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'default' || key === 'aliases' || key === 'order' || key === 'doc') continue;
    out[key] = value;
  }
  if (typeof schema.name === 'string') out.name = validName(schema.name);
  if (typeof schema.namespace === 'string') out.namespace = schema.namespace === '' ? '' : validName(schema.namespace);
  switch (type) {
    case 'record':
    case 'error': {
      if (!Array.isArray(schema.fields)) throw new Error(`record ${String(schema.name)} has no fields array`);
      const keys = new Set<string>();
      out.type = 'record';
      out.fields = schema.fields.map((field: unknown, index: number) => {
        if (!isObject(field)) throw new Error(`record ${String(schema.name)} has a malformed field ${index}`);
        const id = field['field-id'];
        const key = typeof id === 'number' && Number.isInteger(id) ? fieldKey(id) : `pos_${index}`;
        if (keys.has(key)) throw new Error(`record ${String(schema.name)} has two fields with ${key}`);
        keys.add(key);
        const normalized: Record<string, unknown> = { name: key, type: normalizeSchema(field.type) };
        if (typeof id === 'number') normalized['field-id'] = id;
        return normalized;
      });
      return out as unknown as AvroSchema;
    }
    case 'array':
      out.items = normalizeSchema(schema.items);
      return out as unknown as AvroSchema;
    case 'map':
      out.values = normalizeSchema(schema.values);
      return out as unknown as AvroSchema;
    default:
      return out as unknown as AvroSchema;
  }
}

function validName(name: string): string {
  return name
    .split('.')
    .map((part) => (NAME_PART.test(part) ? part : `_${part.replace(/[^A-Za-z0-9_]/g, '_')}`))
    .join('.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corrupt(source: string, detail: string, cause?: unknown): ExternalError {
  const reason = cause instanceof Error ? `: ${cause.message.split('\n')[0] ?? ''}` : '';
  return new ExternalError('METADATA_CORRUPT', `${source}: not a valid Avro file, ${detail}${reason}`, { cause });
}
