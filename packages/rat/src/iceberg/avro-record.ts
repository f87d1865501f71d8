/**
 * Typed, by-field-id access to records decoded by `readAvroFile` (whose fields are keyed by
 * `fieldKey(id)`). A field absent from the writer schema is distinguishable from a null value,
 * which is how v1 files (no `content`, no sequence numbers) are told apart from v2 nulls.
 * Every failure is ExternalError METADATA_CORRUPT naming the file, the record and the field.
 */
import { ExternalError } from '../core/errors.js';
import { fieldKey } from './avro-decoder.js';

export class AvroRecord {
  private readonly fields: Record<string, unknown>;

  /** `label` says which record this is in messages, e.g. `manifest_file 3`. */
  constructor(
    value: unknown,
    readonly source: string,
    readonly label: string,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ExternalError('METADATA_CORRUPT', `${source}: ${label} is not a record`);
    }
    this.fields = value as Record<string, unknown>;
  }

  /** Whether the writer schema has a field with this id (its value may still be null). */
  has(fieldId: number): boolean {
    return fieldKey(fieldId) in this.fields;
  }

  /** The raw decoded value, undefined when the field is absent or null. */
  raw(fieldId: number): unknown {
    const value = this.fields[fieldKey(fieldId)];
    return value === null ? undefined : value;
  }

  /** The raw decoded value under a `recordFieldKey` (`pos_<i>` for fields without an id). */
  rawByKey(key: string): unknown {
    const value = this.fields[key];
    return value === null ? undefined : value;
  }

  corrupt(fieldId: number, name: string, problem: string): ExternalError {
    return new ExternalError('METADATA_CORRUPT', `${this.source}: ${this.label} field ${fieldId} ${name} ${problem}`);
  }

  private present(fieldId: number, name: string): unknown {
    const value = this.raw(fieldId);
    if (value === undefined) throw this.corrupt(fieldId, name, this.has(fieldId) ? 'is null but required' : 'is missing');
    return value;
  }

  /** An int or long that must fit a JavaScript number (counts, ids, lengths). */
  integer(fieldId: number, name: string): number {
    return this.toInteger(this.present(fieldId, name), fieldId, name);
  }

  optionalInteger(fieldId: number, name: string): number | undefined {
    const value = this.raw(fieldId);
    return value === undefined ? undefined : this.toInteger(value, fieldId, name);
  }

  /** A long kept exact (snapshot ids). */
  long(fieldId: number, name: string): bigint {
    return this.toBigint(this.present(fieldId, name), fieldId, name);
  }

  optionalLong(fieldId: number, name: string): bigint | undefined {
    const value = this.raw(fieldId);
    return value === undefined ? undefined : this.toBigint(value, fieldId, name);
  }

  string(fieldId: number, name: string): string {
    const value = this.present(fieldId, name);
    if (typeof value !== 'string') throw this.corrupt(fieldId, name, `is not a string`);
    return value;
  }

  boolean(fieldId: number, name: string): boolean {
    const value = this.present(fieldId, name);
    if (typeof value !== 'boolean') throw this.corrupt(fieldId, name, `is not a boolean`);
    return value;
  }

  optionalBoolean(fieldId: number, name: string): boolean | undefined {
    const value = this.raw(fieldId);
    if (value !== undefined && typeof value !== 'boolean') throw this.corrupt(fieldId, name, `is not a boolean`);
    return value;
  }

  /** Bytes or fixed, copied out of the decoded block. */
  optionalBytes(fieldId: number, name: string): Uint8Array | undefined {
    const value = this.raw(fieldId);
    if (value === undefined) return undefined;
    if (!(value instanceof Uint8Array)) throw this.corrupt(fieldId, name, 'is not binary');
    return new Uint8Array(value);
  }

  record(fieldId: number, name: string): AvroRecord {
    return new AvroRecord(this.present(fieldId, name), this.source, `${this.label} ${name}`);
  }

  optionalArray(fieldId: number, name: string): unknown[] | undefined {
    const value = this.raw(fieldId);
    if (value !== undefined && !Array.isArray(value)) throw this.corrupt(fieldId, name, 'is not an array');
    return value;
  }

  toInteger(value: unknown, fieldId: number, name: string): number {
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
      return Number(value);
    }
    throw this.corrupt(fieldId, name, `holds ${String(value)}, not an integer below 2^53`);
  }

  private toBigint(value: unknown, fieldId: number, name: string): bigint {
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
    throw this.corrupt(fieldId, name, `holds ${String(value)}, not a long`);
  }
}
