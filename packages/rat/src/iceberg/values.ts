/**
 * Single Iceberg values: the binary form used for column bounds (spec Appendix D "Binary
 * single-value serialization"), the JSON form used for defaults and REST partition values
 * (Appendix D "JSON single-value serialization"), and the sort order used to compare bounds.
 * In-memory values follow the IcebergValue convention in types.ts.
 */
import { ValidationError } from '../core/errors.js';
import {
  formatDate,
  formatTime,
  formatTimestamp,
  MICROS_PER_DAY,
  parseDate,
  parseTime,
  parseTimestamp,
} from './calendar.js';
import { decimalParams, fixedLength, primitiveKind } from './type-parse.js';
import type { IcebergValue, PrimitiveType } from './types.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const NANOS_PER_DAY = MICROS_PER_DAY * 1000n;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

function mismatch(type: PrimitiveType, value: unknown, expected: string): ValidationError {
  return new ValidationError('TYPE_MISMATCH', `value ${describe(value)} (${typeof value}) is not a valid ${type}: expected ${expected}`);
}

/** A 32-bit value held as number; a bigint in range is accepted too. */
function asInt32(type: PrimitiveType, value: IcebergValue): number {
  const n = typeof value === 'bigint' && value >= INT32_MIN && value <= INT32_MAX ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
    throw mismatch(type, value, 'a 32-bit integer number');
  }
  return n;
}

/** A 64-bit value held as bigint; a safe-integer number is accepted too. */
function asInt64(type: PrimitiveType, value: IcebergValue): bigint {
  const n = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof n !== 'bigint' || n < INT64_MIN || n > INT64_MAX) throw mismatch(type, value, 'a 64-bit integer bigint');
  return n;
}

function asNumber(type: PrimitiveType, value: IcebergValue): number {
  if (typeof value !== 'number') throw mismatch(type, value, 'a number');
  return value;
}

function asString(type: PrimitiveType, value: IcebergValue): string {
  if (typeof value !== 'string') throw mismatch(type, value, 'a string');
  return value;
}

function asBytes(type: PrimitiveType, value: IcebergValue): Uint8Array {
  if (!(value instanceof Uint8Array)) throw mismatch(type, value, 'a Uint8Array');
  return value;
}

function asBoolean(type: PrimitiveType, value: IcebergValue): boolean {
  if (typeof value !== 'boolean') throw mismatch(type, value, 'a boolean');
  return value;
}

function asUuid(type: PrimitiveType, value: IcebergValue): string {
  const text = asString(type, value).toLowerCase();
  if (!UUID_PATTERN.test(text)) throw mismatch(type, value, 'a uuid like f79c3e09-677c-4bbd-a479-3f349cb785e7');
  return text;
}

/** The unscaled value of a decimal, checked against the type's precision. */
function asDecimal(type: PrimitiveType, value: IcebergValue): bigint {
  const unscaled = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof unscaled !== 'bigint') throw mismatch(type, value, 'an unscaled bigint');
  const { precision } = decimalParams(type);
  if ((unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(precision)) {
    throw new ValidationError('TYPE_MISMATCH', `unscaled value ${unscaled} does not fit ${type}: more than ${precision} digits`);
  }
  return unscaled;
}

function littleEndian(size: 4 | 8, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** Two's complement, big-endian, in the fewest bytes that keep the sign (Appendix D, decimal). */
export function minimalTwosComplement(value: bigint): Uint8Array {
  let byteCount = 1;
  while (value < -(1n << BigInt(byteCount * 8 - 1)) || value >= 1n << BigInt(byteCount * 8 - 1)) byteCount += 1;
  const bytes = new Uint8Array(byteCount);
  let rest = BigInt.asUintN(byteCount * 8, value);
  for (let i = byteCount - 1; i >= 0; i -= 1) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

function fromTwosComplement(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return BigInt.asIntN(bytes.length * 8, value);
}

export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll('-', '');
  return hexToBytes(hex);
}

export function bytesToUuid(bytes: Uint8Array): string {
  const hex = bytesToHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function bytesToHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Appendix D "Binary single-value serialization". Null has no binary form. */
export function encodeValue(type: PrimitiveType, value: IcebergValue): Uint8Array {
  if (value === null) throw new ValidationError('TYPE_MISMATCH', `cannot encode null as a binary ${type} value`);
  switch (primitiveKind(type)) {
    case 'boolean':
      return Uint8Array.of(asBoolean(type, value) ? 1 : 0);
    case 'int':
    case 'date': {
      const n = asInt32(type, value);
      return littleEndian(4, (view) => view.setInt32(0, n, true));
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns': {
      const n = asInt64(type, value);
      return littleEndian(8, (view) => view.setBigInt64(0, n, true));
    }
    case 'float': {
      const n = asNumber(type, value);
      return littleEndian(4, (view) => view.setFloat32(0, n, true));
    }
    case 'double': {
      const n = asNumber(type, value);
      return littleEndian(8, (view) => view.setFloat64(0, n, true));
    }
    case 'string':
      return utf8Encoder.encode(asString(type, value));
    case 'uuid':
      return uuidToBytes(asUuid(type, value));
    case 'fixed':
    case 'binary':
      return asBytes(type, value).slice();
    case 'decimal':
      return minimalTwosComplement(asDecimal(type, value));
  }
}

function wrongLength(type: PrimitiveType, bytes: Uint8Array, expected: string): ValidationError {
  return new ValidationError('TYPE_MISMATCH', `cannot decode ${bytes.length} bytes as ${type}: expected ${expected}`);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Appendix D "Binary single-value serialization", decoded. Bounds are not rewritten on type
 * promotion, so (spec "Schema Evolution") a 4-byte long is an int, a 4-byte double a float and a
 * 4-byte timestamp a date; an 8-byte int (written by some engines for int columns) is accepted
 * when it fits 32 bits. Strings must be valid UTF-8: a bound cut inside a character throws, and the
 * caller should treat such a bound as absent.
 */
export function decodeValue(type: PrimitiveType, bytes: Uint8Array): IcebergValue {
  const data = view(bytes);
  switch (primitiveKind(type)) {
    case 'boolean':
      if (bytes.length !== 1) throw wrongLength(type, bytes, '1 byte');
      return bytes[0] !== 0;
    case 'int':
    case 'date': {
      if (bytes.length === 4) return data.getInt32(0, true);
      if (bytes.length === 8) {
        const wide = data.getBigInt64(0, true);
        if (wide >= INT32_MIN && wide <= INT32_MAX) return Number(wide);
        throw new ValidationError('TYPE_MISMATCH', `cannot decode 8-byte value ${wide} as ${type}: outside the 32-bit range`);
      }
      throw wrongLength(type, bytes, '4 bytes');
    }
    case 'long':
    case 'time': {
      if (bytes.length === 8) return data.getBigInt64(0, true);
      if (bytes.length === 4) return BigInt(data.getInt32(0, true));
      throw wrongLength(type, bytes, '8 bytes');
    }
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns': {
      if (bytes.length === 8) return data.getBigInt64(0, true);
      if (bytes.length === 4) {
        const perDay = type.endsWith('_ns') ? NANOS_PER_DAY : MICROS_PER_DAY;
        return BigInt(data.getInt32(0, true)) * perDay;
      }
      throw wrongLength(type, bytes, '8 bytes');
    }
    case 'float':
    case 'double': {
      if (bytes.length === 4) return data.getFloat32(0, true);
      if (bytes.length === 8) return data.getFloat64(0, true);
      throw wrongLength(type, bytes, type === 'float' ? '4 bytes' : '8 bytes');
    }
    case 'string':
      try {
        return utf8Decoder.decode(bytes);
      } catch (error) {
        throw new ValidationError('TYPE_MISMATCH', `cannot decode ${bytes.length} bytes as string: not valid UTF-8`, { cause: error });
      }
    case 'uuid':
      if (bytes.length !== 16) throw wrongLength(type, bytes, '16 bytes');
      return bytesToUuid(bytes);
    case 'fixed':
    case 'binary':
      return bytes.slice();
    case 'decimal':
      return fromTwosComplement(bytes);
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareIntegers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const floatScratch = new DataView(new ArrayBuffer(8));

/**
 * IEEE 754 total order, which is the spec's float order (spec "Sorting"): -NaN < -Infinity <
 * -value < -0 < 0 < value < Infinity < NaN. Negative values have their magnitude bits flipped so
 * that the bit patterns compare as signed integers.
 */
function floatOrderKey(value: number): bigint {
  floatScratch.setFloat64(0, value);
  const bits = floatScratch.getBigInt64(0);
  return bits < 0n ? bits ^ INT64_MAX : bits;
}

/** Compares strings by UTF-8 bytes, which is code point order, not JavaScript's UTF-16 unit order. */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF) encode code points above U+FFFF, which sort after U+E000..FFFF;
    // moving them to the top of the unit range makes unit order equal code point order.
    return codePointOrderUnit(x) < codePointOrderUnit(y) ? -1 : 1;
  }
  return sign(a.length - b.length);
}

function codePointOrderUnit(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return sign(a.length - b.length);
}

/**
 * The spec's order for values of one type: signed for integers, dates, times, timestamps and
 * decimals (unscaled, same scale), IEEE total order for floats, unsigned bytes for binary, fixed
 * and uuid, UTF-8 byte order for strings, false < true. Null sorts before every value.
 */
export function compareValues(type: PrimitiveType, a: IcebergValue, b: IcebergValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  switch (primitiveKind(type)) {
    case 'boolean':
      return Number(asBoolean(type, a)) - Number(asBoolean(type, b));
    case 'int':
    case 'date':
      return compareIntegers(asInt32(type, a), asInt32(type, b));
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
    case 'decimal':
      return compareIntegers(asInteger(type, a), asInteger(type, b));
    case 'float':
    case 'double': {
      const x = floatOrderKey(asNumber(type, a));
      const y = floatOrderKey(asNumber(type, b));
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'string':
      return compareUtf8(asString(type, a), asString(type, b));
    case 'uuid':
      // Canonical lowercase text has the same order as its 16 big-endian bytes.
      return compareUtf8(asUuid(type, a), asUuid(type, b));
    case 'fixed':
    case 'binary':
      return compareBytes(asBytes(type, a), asBytes(type, b));
  }
}

const LONG_VALUED = new Set<string>(['long', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns']);

/**
 * A value in the form of `type` when it was written for the type its column had before a promotion
 * (spec "Schema Evolution"): an int (a number) read for a long becomes a bigint. float -> double and
 * decimal(P, S) -> decimal(P', S) keep their form (number, unscaled bigint).
 */
export function promotedValue(type: PrimitiveType, value: unknown): IcebergValue {
  if (LONG_VALUED.has(type) && typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value as IcebergValue;
}

/** Any integer held as number or bigint (comparison does not need the 64-bit range check). */
function asInteger(type: PrimitiveType, value: IcebergValue): number | bigint {
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return value;
  throw mismatch(type, value, 'an integer bigint');
}

/** JSON form of a long: a number when exact as a double, else a bigint (stringifyJsonBigint writes it unquoted). */
function longToJson(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The unscaled value of decimal text at `scale`, or undefined when the text is not a number or
 * would lose digits at that scale ("2E+1" and "20.0" are both 200 at scale 1; "0.05" is not).
 */
export function parseDecimal(text: string, scale: number): bigint | undefined {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match) return undefined;
  const integerDigits = match[2] ?? '';
  const fractionDigits = match[3] ?? '';
  if (integerDigits === '' && fractionDigits === '') return undefined;
  const exponent = Number(match[4] ?? '0');
  let unscaled = BigInt(`${integerDigits}${fractionDigits}` || '0');
  const shift = scale - fractionDigits.length + exponent;
  if (shift >= 0) {
    unscaled *= 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    if (unscaled % divisor !== 0n) return undefined;
    unscaled /= divisor;
  }
  return match[1] === '-' ? -unscaled : unscaled;
}

/**
 * Appendix D "JSON single-value serialization" for primitive values. Longs come back as numbers
 * when exact and as bigints otherwise, so the result must be written with stringifyJsonBigint.
 */
export function valueToJson(type: PrimitiveType, value: IcebergValue): unknown {
  if (value === null) return null;
  switch (primitiveKind(type)) {
    case 'boolean':
      return asBoolean(type, value);
    case 'int':
      return asInt32(type, value);
    case 'long':
      return longToJson(asInt64(type, value));
    case 'float':
    case 'double': {
      const n = asNumber(type, value);
      if (!Number.isFinite(n)) throw new ValidationError('TYPE_MISMATCH', `cannot write ${n} as a JSON ${type} value`);
      return n;
    }
    case 'decimal':
      return formatDecimal(asDecimal(type, value), decimalParams(type).scale);
    case 'date':
      return formatDate(asInt32(type, value));
    case 'time':
      return formatTime(asInt64(type, value));
    case 'timestamp':
      return formatTimestamp(asInt64(type, value), 'micros', false);
    case 'timestamptz':
      return formatTimestamp(asInt64(type, value), 'micros', true);
    case 'timestamp_ns':
      return formatTimestamp(asInt64(type, value), 'nanos', false);
    case 'timestamptz_ns':
      return formatTimestamp(asInt64(type, value), 'nanos', true);
    case 'string':
      return asString(type, value);
    case 'uuid':
      return asUuid(type, value);
    case 'fixed':
    case 'binary':
      return bytesToHex(asBytes(type, value));
  }
}

function badJson(type: PrimitiveType, json: unknown, expected: string): ValidationError {
  const shown = typeof json === 'string' ? JSON.stringify(json) : typeof json === 'bigint' ? String(json) : JSON.stringify(json) ?? String(json);
  return new ValidationError('TYPE_MISMATCH', `JSON value ${shown} is not a valid ${type}: expected ${expected}`);
}

function jsonText(type: PrimitiveType, json: unknown, expected: string): string {
  if (typeof json !== 'string') throw badJson(type, json, expected);
  return json;
}

function parsedOrThrow<T>(type: PrimitiveType, json: unknown, expected: string, parsed: T | undefined): T {
  if (parsed === undefined) throw badJson(type, json, expected);
  return parsed;
}

/** Appendix D "JSON single-value serialization", read back into an IcebergValue. */
export function valueFromJson(type: PrimitiveType, json: unknown): IcebergValue {
  if (json === null || json === undefined) return null;
  switch (primitiveKind(type)) {
    case 'boolean':
      if (typeof json !== 'boolean') throw badJson(type, json, 'true or false');
      return json;
    case 'int':
      if (typeof json !== 'number' || !Number.isInteger(json) || json < INT32_MIN || json > INT32_MAX) {
        throw badJson(type, json, 'a 32-bit integer');
      }
      return json;
    case 'long': {
      const n = typeof json === 'number' && Number.isSafeInteger(json) ? BigInt(json) : json;
      if (typeof n !== 'bigint' || n < INT64_MIN || n > INT64_MAX) throw badJson(type, json, 'a 64-bit integer');
      return n;
    }
    case 'float':
    case 'double':
      if (typeof json === 'bigint') return Number(json);
      if (typeof json !== 'number') throw badJson(type, json, 'a number');
      return json;
    case 'decimal': {
      const { precision, scale } = decimalParams(type);
      const text = typeof json === 'number' || typeof json === 'bigint' ? String(json) : jsonText(type, json, 'a decimal string like "14.20"');
      const unscaled = parsedOrThrow(type, json, `a decimal with at most ${scale} fraction digits`, parseDecimal(text, scale));
      if ((unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(precision)) throw badJson(type, json, `at most ${precision} digits`);
      return unscaled;
    }
    case 'date':
      return parsedOrThrow(type, json, 'an ISO date like "2017-11-16"', parseDate(jsonText(type, json, 'a date string')));
    case 'time':
      return parsedOrThrow(type, json, 'an ISO time like "22:31:08.123456"', parseTime(jsonText(type, json, 'a time string')));
    case 'timestamp':
      return parsedOrThrow(type, json, 'a timestamp like "2017-11-16T22:31:08.123456" without offset', parseTimestamp(jsonText(type, json, 'a timestamp string'), 'micros', false));
    case 'timestamptz':
      return parsedOrThrow(type, json, 'a timestamp like "2017-11-16T22:31:08.123456+00:00"', parseTimestamp(jsonText(type, json, 'a timestamp string'), 'micros', true));
    case 'timestamp_ns':
      return parsedOrThrow(type, json, 'a timestamp like "2017-11-16T22:31:08.123456789" without offset', parseTimestamp(jsonText(type, json, 'a timestamp string'), 'nanos', false));
    case 'timestamptz_ns':
      return parsedOrThrow(type, json, 'a timestamp like "2017-11-16T22:31:08.123456789+00:00"', parseTimestamp(jsonText(type, json, 'a timestamp string'), 'nanos', true));
    case 'string':
      return jsonText(type, json, 'a string');
    case 'uuid': {
      const text = jsonText(type, json, 'a uuid string').toLowerCase();
      if (!UUID_PATTERN.test(text)) throw badJson(type, json, 'a uuid like "f79c3e09-677c-4bbd-a479-3f349cb785e7"');
      return text;
    }
    case 'fixed':
    case 'binary': {
      const text = jsonText(type, json, 'a hexadecimal string');
      if (!HEX_PATTERN.test(text)) throw badJson(type, json, 'a hexadecimal string with an even number of digits');
      const bytes = hexToBytes(text);
      if (primitiveKind(type) === 'fixed' && bytes.length !== fixedLength(type)) {
        throw badJson(type, json, `exactly ${fixedLength(type)} bytes`);
      }
      return bytes;
    }
  }
}
