/**
 * Iceberg primitive type strings (`long`, `decimal(9, 2)`, `fixed[16]`) and the rules that only
 * depend on a type: promotion. Spec: "Primitive Types", "Schema Evolution", Appendix C "Schemas".
 */
import { ValidationError } from '../core/errors.js';
import type { IcebergType, PrimitiveType, PrimitiveTypeName } from './types.js';

/** A primitive type without its parameters: what `switch` statements over types dispatch on. */
export type PrimitiveKind = PrimitiveTypeName | 'decimal' | 'fixed';

export interface DecimalParams {
  precision: number;
  scale: number;
}

/** Spec "Primitive Types": decimal precision must be 38 or less. */
export const MAX_DECIMAL_PRECISION = 38;

const PLAIN_TYPES: ReadonlySet<string> = new Set<PrimitiveTypeName>([
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'timestamp_ns',
  'timestamptz_ns',
  'string',
  'uuid',
  'binary',
]);

// Appendix C: "Readers should accept optional whitespace around parameters and separators".
const DECIMAL_PATTERN = /^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const FIXED_PATTERN = /^fixed\s*\[\s*(\d+)\s*\]$/;

/**
 * Parses a primitive type string into its canonical form. Names are case-insensitive (as the Java
 * reference reads them); decimals come back as `decimal(P, S)`, the spelling the Java reference
 * writes and every reader accepts.
 */
export function parsePrimitiveType(text: string): PrimitiveType {
  const normalized = text.trim().toLowerCase();
  if (PLAIN_TYPES.has(normalized)) return normalized as PrimitiveTypeName;
  const decimal = DECIMAL_PATTERN.exec(normalized);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2]);
    if (precision < 1 || precision > MAX_DECIMAL_PRECISION) {
      throw new ValidationError('INVALID_TYPE', `invalid type "${text}": decimal precision ${precision} is outside 1..${MAX_DECIMAL_PRECISION}`);
    }
    return `decimal(${precision}, ${scale})`;
  }
  const fixed = FIXED_PATTERN.exec(normalized);
  if (fixed) {
    const length = Number(fixed[1]);
    if (length < 1) throw new ValidationError('INVALID_TYPE', `invalid type "${text}": fixed length must be at least 1`);
    return `fixed[${length}]`;
  }
  throw new ValidationError('INVALID_TYPE', `unknown Iceberg type "${text}"`);
}

/** The canonical spelling of a primitive type (normalizes `decimal(9,2)` to `decimal(9, 2)`). */
export function formatPrimitiveType(type: PrimitiveType): PrimitiveType {
  return parsePrimitiveType(type);
}

export function isPrimitive(type: IcebergType): type is PrimitiveType {
  return typeof type === 'string';
}

export function primitiveKind(type: PrimitiveType): PrimitiveKind {
  if (type.startsWith('decimal')) return 'decimal';
  if (type.startsWith('fixed')) return 'fixed';
  return type as PrimitiveTypeName;
}

export function decimalParams(type: PrimitiveType): DecimalParams {
  const match = DECIMAL_PATTERN.exec(type.trim().toLowerCase());
  if (!match) throw new ValidationError('INVALID_TYPE', `type "${type}" is not a decimal`);
  return { precision: Number(match[1]), scale: Number(match[2]) };
}

export function fixedLength(type: PrimitiveType): number {
  const match = FIXED_PATTERN.exec(type.trim().toLowerCase());
  if (!match) throw new ValidationError('INVALID_TYPE', `type "${type}" is not a fixed type`);
  return Number(match[1]);
}

/**
 * Whether a column of type `from` may change to `to` in a v1/v2 table (spec "Schema Evolution"):
 * int -> long, float -> double, decimal(P, S) -> decimal(P', S) with P' >= P. An unchanged type is
 * allowed. date -> timestamp is a v3 promotion and is refused here.
 */
export function promotionAllowed(from: PrimitiveType, to: PrimitiveType): boolean {
  const source = formatPrimitiveType(from);
  const target = formatPrimitiveType(to);
  if (source === target) return true;
  if (source === 'int') return target === 'long';
  if (source === 'float') return target === 'double';
  if (primitiveKind(source) === 'decimal' && primitiveKind(target) === 'decimal') {
    const a = decimalParams(source);
    const b = decimalParams(target);
    return a.scale === b.scale && b.precision >= a.precision;
  }
  return false;
}
