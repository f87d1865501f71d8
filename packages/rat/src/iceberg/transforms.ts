/**
 * Partition transforms (spec "Partition Transforms", "Bucket Transform Details", "Truncate
 * Transform Details", Appendix B for bucket hashing): parsing, validation against a source type,
 * application to IcebergValues, and the hive-style path segment of a partition value.
 */
import { ValidationError } from '../core/errors.js';
import { civilFromDays, floorDiv, formatDate, formatTime, formatTimestamp, formatYear, timestampToDays, timestampToHours, type TimeUnit } from './calendar.js';
import { murmur3Hash32 } from './murmur3.js';
import { decimalParams, isPrimitive, primitiveKind, type PrimitiveKind } from './type-parse.js';
import type { IcebergType, IcebergValue, PartitionField, PrimitiveType, Transform } from './types.js';
import { formatDecimal, minimalTwosComplement, uuidToBytes } from './values.js';

export type TransformName = 'identity' | 'bucket' | 'truncate' | 'year' | 'month' | 'day' | 'hour' | 'void';

export interface TransformParts {
  name: TransformName;
  /** N of bucket[N] or W of truncate[W]. */
  param?: number;
}

const INT32_MAX = 2 ** 31 - 1;
const PLAIN_TRANSFORMS: ReadonlySet<string> = new Set(['identity', 'year', 'month', 'day', 'hour', 'void']);
const PARAMETERIZED = /^(bucket|truncate)\s*\[\s*(\d+)\s*\]$/;

const DATE_KINDS: readonly PrimitiveKind[] = ['date', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'];
const TIMESTAMP_KINDS: readonly PrimitiveKind[] = ['timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns'];

/** Source types per transform, from the spec's "Partition Transforms" table. */
const SOURCE_KINDS: Record<Exclude<TransformName, 'identity' | 'void'>, readonly PrimitiveKind[]> = {
  bucket: ['int', 'long', 'decimal', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns', 'string', 'uuid', 'fixed', 'binary'],
  truncate: ['int', 'long', 'decimal', 'string', 'binary'],
  year: DATE_KINDS,
  month: DATE_KINDS,
  day: DATE_KINDS,
  hour: TIMESTAMP_KINDS,
};

/**
 * Parses a transform as written in metadata or DDL (`bucket[16]`, `truncate[4]`, `day`). Names are
 * case-insensitive, as the Java reference reads them; the result is the canonical lowercase form.
 */
export function parseTransform(text: string): Transform {
  const normalized = text.trim().toLowerCase();
  if (PLAIN_TRANSFORMS.has(normalized)) return normalized as Transform;
  const match = PARAMETERIZED.exec(normalized);
  if (match) {
    const name = match[1] as 'bucket' | 'truncate';
    const param = Number(match[2]);
    if (param < 1 || param > INT32_MAX) {
      const what = name === 'bucket' ? 'bucket count' : 'truncate width';
      throw new ValidationError('INVALID_PARTITION', `invalid transform "${text}": ${what} must be between 1 and ${INT32_MAX}`);
    }
    return `${name}[${param}]`;
  }
  throw new ValidationError(
    'INVALID_PARTITION',
    `unknown partition transform "${text}": expected identity, bucket[N], truncate[W], year, month, day, hour or void`,
  );
}

export function transformParts(transform: Transform): TransformParts {
  const match = PARAMETERIZED.exec(transform);
  if (match) return { name: match[1] as TransformName, param: Number(match[2]) };
  return { name: transform as TransformName };
}

function describeType(type: IcebergType): string {
  return isPrimitive(type) ? type : type.type;
}

/**
 * Throws INVALID_PARTITION when `transform` cannot apply to a column of `sourceType` (spec
 * "Partition Transforms": source types column; partition sources must be primitive).
 */
export function validateTransform(transform: Transform, sourceType: IcebergType, columnName: string): void {
  const { name } = transformParts(transform);
  if (name === 'void') return;
  const prefix = `cannot partition by ${transform}(${columnName}): column "${columnName}" is ${describeType(sourceType)}`;
  if (!isPrimitive(sourceType)) {
    throw new ValidationError('INVALID_PARTITION', `${prefix}; ${name} applies to primitive types only`);
  }
  if (name === 'identity') return;
  const kinds = SOURCE_KINDS[name];
  if (!kinds.includes(primitiveKind(sourceType))) {
    throw new ValidationError('INVALID_PARTITION', `${prefix}; ${name} applies to ${kinds.join(', ')}`);
  }
}

/** identity, truncate and void keep the source type; bucket, year, month, hour give int; day gives date. */
export function transformResultType(transform: Transform, sourceType: PrimitiveType): PrimitiveType {
  switch (transformParts(transform).name) {
    case 'bucket':
    case 'year':
    case 'month':
    case 'hour':
      return 'int';
    case 'day':
      return 'date';
    default:
      return sourceType;
  }
}

/**
 * Whether a <= b implies t(a) <= t(b), so that column bounds map to partition bounds in pruning.
 * Bucket hashes scatter values; void maps everything to null.
 */
export function transformIsOrderPreserving(transform: Transform): boolean {
  const { name } = transformParts(transform);
  return name !== 'bucket' && name !== 'void';
}

function unsupported(transform: Transform, sourceType: PrimitiveType): ValidationError {
  return new ValidationError('INVALID_PARTITION', `transform ${transform} does not apply to type ${sourceType}`);
}

function valueMismatch(transform: Transform, sourceType: PrimitiveType, value: IcebergValue, expected: string): ValidationError {
  const shown = value instanceof Uint8Array ? `${value.length} bytes` : String(value);
  return new ValidationError('TYPE_MISMATCH', `cannot apply ${transform} to ${sourceType} value ${shown} (${typeof value}): expected ${expected}`);
}

function asBigint(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw valueMismatch(transform, sourceType, value, 'an integer');
}

function asInt(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  throw valueMismatch(transform, sourceType, value, 'an integer');
}

function asString(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): string {
  if (typeof value !== 'string') throw valueMismatch(transform, sourceType, value, 'a string');
  return value;
}

function asBytes(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): Uint8Array {
  if (!(value instanceof Uint8Array)) throw valueMismatch(transform, sourceType, value, 'a Uint8Array');
  return value;
}

function longBytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, value), true);
  return bytes;
}

/**
 * The Murmur3 hash of a value as Appendix B defines it: int and date hash as a long so promotion
 * keeps buckets; nanosecond timestamps are floored to micros first; decimals hash their minimal
 * big-endian two's complement unscaled bytes; uuids their 16 big-endian bytes.
 */
export function bucketHash(sourceType: PrimitiveType, value: Exclude<IcebergValue, null>): number {
  const transform: Transform = 'bucket[1]';
  const kind = primitiveKind(sourceType);
  switch (kind) {
    case 'int':
    case 'date':
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return murmur3Hash32(longBytes(asBigint(transform, sourceType, value)));
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return murmur3Hash32(longBytes(floorDiv(asBigint(transform, sourceType, value), 1000n)));
    case 'decimal':
      return murmur3Hash32(minimalTwosComplement(asBigint(transform, sourceType, value)));
    case 'string':
      return murmur3Hash32(new TextEncoder().encode(asString(transform, sourceType, value)));
    case 'uuid':
      return murmur3Hash32(uuidToBytes(asString(transform, sourceType, value)));
    case 'fixed':
    case 'binary':
      return murmur3Hash32(asBytes(transform, sourceType, value));
    default:
      throw unsupported(transform, sourceType);
  }
}

/** The first `width` code points of a string (spec: truncate counts code points, not UTF-16 units). */
function truncateCodePoints(text: string, width: number): string {
  let units = 0;
  let points = 0;
  while (units < text.length && points < width) {
    const codePoint = text.codePointAt(units) ?? 0;
    units += codePoint > 0xffff ? 2 : 1;
    points += 1;
  }
  return text.slice(0, units);
}

function truncateInteger(value: bigint, width: bigint): bigint {
  return value - (((value % width) + width) % width);
}

function timeUnit(sourceType: PrimitiveType): TimeUnit {
  return sourceType.endsWith('_ns') ? 'nanos' : 'micros';
}

/** Days since the epoch of a date or timestamp source value. */
function epochDays(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): number {
  if (primitiveKind(sourceType) === 'date') return asInt(transform, sourceType, value);
  return timestampToDays(asBigint(transform, sourceType, value), timeUnit(sourceType));
}

/**
 * Applies a partition transform to one source value; null stays null (spec: "All transforms must
 * return null for a null input value"). Results follow the IcebergValue convention of the result
 * type: year, month, hour, bucket -> number; day -> number (a date); truncate keeps the source form.
 */
export function applyTransform(transform: Transform, sourceType: PrimitiveType, value: IcebergValue): IcebergValue {
  if (value === null) return null;
  const { name, param } = transformParts(transform);
  const kind = primitiveKind(sourceType);
  if (name !== 'identity' && name !== 'void' && !SOURCE_KINDS[name].includes(kind)) throw unsupported(transform, sourceType);
  switch (name) {
    case 'identity':
      return value;
    case 'void':
      return null;
    case 'bucket':
      return (bucketHash(sourceType, value) & INT32_MAX) % (param ?? 1);
    case 'truncate': {
      const width = param ?? 1;
      if (kind === 'int') return Number(truncateInteger(BigInt(asInt(transform, sourceType, value)), BigInt(width)));
      if (kind === 'long' || kind === 'decimal') return truncateInteger(asBigint(transform, sourceType, value), BigInt(width));
      if (kind === 'string') return truncateCodePoints(asString(transform, sourceType, value), width);
      return asBytes(transform, sourceType, value).slice(0, width);
    }
    case 'year':
      return civilFromDays(epochDays(transform, sourceType, value)).year - 1970;
    case 'month': {
      const { year, month } = civilFromDays(epochDays(transform, sourceType, value));
      return (year - 1970) * 12 + (month - 1);
    }
    case 'day':
      return epochDays(transform, sourceType, value);
    case 'hour':
      return timestampToHours(asBigint(transform, sourceType, value), timeUnit(sourceType));
  }
}

function trimZeroFraction(text: string): string {
  return text.replace(/\.0+(?=$|\+)/, '');
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A transformed value as people read it (the Java reference's "human string"): year `2024`,
 * month `2024-03`, day `2024-03-01`, hour `2024-03-01-13`, timestamps in ISO form without a zero
 * fraction, binary in base64, null as `null`.
 */
export function partitionValueToHumanString(transform: Transform, resultType: PrimitiveType, value: IcebergValue): string {
  if (value === null) return 'null';
  const { name } = transformParts(transform);
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (name === 'year' && typeof n === 'number') return formatYear(1970 + n);
  if (name === 'month' && typeof n === 'number') {
    const years = Math.floor(n / 12);
    return `${formatYear(1970 + years)}-${pad2(n - years * 12 + 1)}`;
  }
  if (name === 'hour' && typeof n === 'number') {
    const days = Math.floor(n / 24);
    return `${formatDate(days)}-${pad2(n - days * 24)}`;
  }
  switch (primitiveKind(resultType)) {
    case 'date':
      return typeof n === 'number' ? formatDate(n) : String(value);
    case 'time':
      return typeof value === 'bigint' ? trimZeroFraction(formatTime(value)) : String(value);
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return typeof value === 'bigint'
        ? trimZeroFraction(formatTimestamp(value, timeUnit(resultType), resultType.startsWith('timestamptz')))
        : String(value);
    case 'decimal':
      return typeof value === 'bigint' ? formatDecimal(value, decimalParams(resultType).scale) : String(value);
    case 'fixed':
    case 'binary':
      return value instanceof Uint8Array ? base64(value) : String(value);
    default:
      return String(value);
  }
}

/** java.net.URLEncoder (form encoding), which Java writers use for partition paths. */
function escapePathPart(text: string): string {
  return encodeURIComponent(text)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A hive-style `name=value` directory for one partition field, e.g. `ts_day=2024-03-01`. */
export function partitionPathSegment(field: PartitionField, resultType: PrimitiveType, value: IcebergValue): string {
  return `${escapePathPart(field.name)}=${escapePathPart(partitionValueToHumanString(field.transform, resultType, value))}`;
}
