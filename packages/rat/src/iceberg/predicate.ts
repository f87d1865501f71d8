/**
 * The filter language the SQL layer pushes down to scan planning: a conjunction of simple column
 * predicates (a list, all must hold). Anything the SQL layer cannot express here is not pushed and
 * is still applied by the engine, so every use of a predicate in planning must be *inclusive*:
 * it may keep files without matching rows, never drop a file with one (spec "Scan Planning").
 *
 * Literals are already in the column's IcebergValue form (see types.ts): date -> days number,
 * timestamp -> bigint micros, decimal -> unscaled bigint in the column's scale, and so on.
 */
import { ValidationError } from '../core/errors.js';
import { primitiveKind } from './type-parse.js';
import type { IcebergValue, PrimitiveType } from './types.js';

export type CompareOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';

export type Predicate =
  | { kind: 'compare'; op: CompareOp; fieldId: number; value: IcebergValue }
  | { kind: 'in'; fieldId: number; values: IcebergValue[] }
  | { kind: 'isNull' | 'notNull' | 'isNan'; fieldId: number };

const compareSymbols: Record<CompareOp, string> = { eq: '=', neq: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

/** A short, readable form for messages and logs, e.g. `field 3 >= 19000`. */
export function describePredicate(predicate: Predicate): string {
  const field = `field ${predicate.fieldId}`;
  switch (predicate.kind) {
    case 'compare':
      return `${field} ${compareSymbols[predicate.op]} ${formatValue(predicate.value)}`;
    case 'in':
      return `${field} IN (${predicate.values.map(formatValue).join(', ')})`;
    case 'isNull':
      return `${field} IS NULL`;
    case 'notNull':
      return `${field} IS NOT NULL`;
    case 'isNan':
      return `${field} IS NaN`;
  }
}

export function formatValue(value: IcebergValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  return String(value);
}

/** Whether `value` has the in-memory form types.ts prescribes for a column of `type` (null fits any type). */
export function valueFitsType(type: PrimitiveType, value: IcebergValue): boolean {
  if (value === null) return true;
  switch (primitiveKind(type)) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'int':
    case 'date':
      return typeof value === 'number' && Number.isInteger(value);
    case 'float':
    case 'double':
      return typeof value === 'number';
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
    case 'decimal':
      return typeof value === 'bigint';
    case 'string':
    case 'uuid':
      return typeof value === 'string';
    case 'binary':
    case 'fixed':
      return value instanceof Uint8Array;
  }
}

/**
 * Rejects a predicate whose literals do not have the column's value form, or that compares with
 * NULL (`col = NULL` matches nothing in SQL: the SQL layer must send isNull/notNull instead).
 */
export function checkPredicate(predicate: Predicate, type: PrimitiveType): void {
  if (predicate.kind === 'compare') {
    if (predicate.value === null) {
      throw new ValidationError('INVALID_ARGUMENT', `predicate ${describePredicate(predicate)} compares with NULL; use isNull or notNull`);
    }
    checkLiteral(predicate, type, predicate.value);
  } else if (predicate.kind === 'in') {
    for (const value of predicate.values) checkLiteral(predicate, type, value);
  }
}

function checkLiteral(predicate: Predicate, type: PrimitiveType, value: IcebergValue): void {
  if (!valueFitsType(type, value)) {
    const jsType = value instanceof Uint8Array ? 'Uint8Array' : typeof value;
    throw new ValidationError('TYPE_MISMATCH', `predicate ${describePredicate(predicate)} has a ${jsType} literal ${formatValue(value)}, which is not a ${type} value`);
  }
}
