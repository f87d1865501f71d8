/**
 * Typed reads from parsed Iceberg JSON (metadata files, REST bodies). Each read names the field by
 * its path (`schemas[1].fields[0].id`) so a bad document says exactly where it is wrong. JSON null
 * counts as absent for optional fields, as Java and Python writers emit either.
 */
import { ValidationError } from '../core/errors.js';

export type JsonObject = Record<string, unknown>;

export function fieldPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function shown(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

export function wrongField(path: string, expected: string, value: unknown): ValidationError {
  return new ValidationError('INVALID_ARGUMENT', `field "${path}" must be ${expected}, got ${shown(value)}`);
}

export function missingField(path: string): ValidationError {
  return new ValidationError('INVALID_ARGUMENT', `missing required field "${path}"`);
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function asObject(value: unknown, path: string): JsonObject {
  if (!isJsonObject(value)) throw wrongField(path, 'an object', value);
  return value;
}

function present(obj: JsonObject, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

function required(obj: JsonObject, key: string, path: string): unknown {
  if (!present(obj, key)) throw missingField(fieldPath(path, key));
  return obj[key];
}

/** A JSON integer that fits a double exactly (ids, counts, millisecond timestamps). */
export function asInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw wrongField(path, 'an integer', value);
  return value;
}

export function readInteger(obj: JsonObject, key: string, path: string): number {
  return asInteger(required(obj, key, path), fieldPath(path, key));
}

export function readOptionalInteger(obj: JsonObject, key: string, path: string): number | undefined {
  return present(obj, key) ? readInteger(obj, key, path) : undefined;
}

/** A JSON long of any size (snapshot ids may exceed 2^53, and even 2^63 - 1 in hand-written files). */
export function asLong(value: unknown, path: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw wrongField(path, 'an integer', value);
}

export function readLong(obj: JsonObject, key: string, path: string): bigint {
  return asLong(required(obj, key, path), fieldPath(path, key));
}

export function readOptionalLong(obj: JsonObject, key: string, path: string): bigint | undefined {
  return present(obj, key) ? readLong(obj, key, path) : undefined;
}

export function readString(obj: JsonObject, key: string, path: string): string {
  const value = required(obj, key, path);
  if (typeof value !== 'string') throw wrongField(fieldPath(path, key), 'a string', value);
  return value;
}

export function readOptionalString(obj: JsonObject, key: string, path: string): string | undefined {
  return present(obj, key) ? readString(obj, key, path) : undefined;
}

export function readBoolean(obj: JsonObject, key: string, path: string): boolean {
  const value = required(obj, key, path);
  if (typeof value !== 'boolean') throw wrongField(fieldPath(path, key), 'true or false', value);
  return value;
}

export function readArray(obj: JsonObject, key: string, path: string): unknown[] {
  const value = required(obj, key, path);
  if (!Array.isArray(value)) throw wrongField(fieldPath(path, key), 'a list', value);
  return value;
}

export function readOptionalArray(obj: JsonObject, key: string, path: string): unknown[] | undefined {
  return present(obj, key) ? readArray(obj, key, path) : undefined;
}

export function readObject(obj: JsonObject, key: string, path: string): JsonObject {
  return asObject(required(obj, key, path), fieldPath(path, key));
}

export function readOptionalObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
  return present(obj, key) ? readObject(obj, key, path) : undefined;
}

/** A string-to-string map such as table properties or a snapshot summary. */
export function readStringMap(obj: JsonObject, key: string, path: string): Record<string, string> {
  const map = readObject(obj, key, path);
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(map)) {
    if (typeof value !== 'string') throw wrongField(fieldPath(fieldPath(path, key), name), 'a string', value);
    result[name] = value;
  }
  return result;
}
