import type { Predicate } from '../iceberg/predicate.js';
import { decimalParams } from '../iceberg/type-parse.js';
import type { IcebergValue, PrimitiveType, Schema } from '../iceberg/types.js';
import type { ColumnFilter, SqlLiteral } from './select-rewriter.js';
import { parseDuckDbDate, parseDuckDbTimestamp } from './temporal-text.js';

/**
 * Turns SQL filters into Iceberg predicates on field ids. A literal that cannot be converted exactly
 * to the column's type drops the filter: not pruning is always correct, pruning wrongly never is.
 */
export function bindFilters(filters: ColumnFilter[], schema: Schema): Predicate[] {
  const predicates: Predicate[] = [];
  for (const filter of filters) {
    const field = schema.fields.find((f) => f.name.toLowerCase() === filter.column);
    if (!field || typeof field.type !== 'string') continue;
    const type = field.type;
    if (filter.kind === 'isNull' || filter.kind === 'notNull') {
      predicates.push({ kind: filter.kind, fieldId: field.id });
    } else if (filter.kind === 'compare') {
      const value = literalValue(type, filter.literal);
      if (value !== undefined) predicates.push({ kind: 'compare', op: filter.op, fieldId: field.id, value });
    } else if (filter.kind === 'in') {
      const values = filter.literals.map((l) => literalValue(type, l));
      if (values.every((v) => v !== undefined)) predicates.push({ kind: 'in', fieldId: field.id, values: values as IcebergValue[] });
    }
  }
  return predicates;
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;

export function literalValue(type: PrimitiveType, literal: SqlLiteral): IcebergValue | undefined {
  if (type.startsWith('decimal')) {
    const { scale } = decimalParams(type);
    if (literal.kind === 'int') return literal.value * 10n ** BigInt(scale);
    if (literal.kind === 'decimal' && literal.scale <= scale) return literal.unscaled * 10n ** BigInt(scale - literal.scale);
    return undefined;
  }
  switch (type) {
    case 'int':
    case 'long': {
      let value: bigint | undefined;
      if (literal.kind === 'int') value = literal.value;
      else if (literal.kind === 'decimal' && literal.unscaled % 10n ** BigInt(literal.scale) === 0n) value = literal.unscaled / 10n ** BigInt(literal.scale);
      if (value === undefined) return undefined;
      if (type === 'int') return value >= INT_MIN && value <= INT_MAX ? Number(value) : undefined;
      return value;
    }
    case 'float':
    case 'double':
      // A float column holds rounded values: comparisons against a double literal are not exact.
      if (type === 'float') return undefined;
      if (literal.kind === 'double') return literal.value;
      if (literal.kind === 'int' && literal.value <= 2n ** 53n && literal.value >= -(2n ** 53n)) return Number(literal.value);
      return undefined;
    case 'string':
      return literal.kind === 'string' ? literal.value : undefined;
    case 'boolean':
      return literal.kind === 'bool' ? literal.value : undefined;
    case 'date': {
      const text = literal.kind === 'date' ? literal.text : literal.kind === 'string' ? literal.value : undefined;
      return text === undefined ? undefined : parseDuckDbDate(text);
    }
    case 'timestamp':
    case 'timestamptz': {
      const text = literal.kind === 'timestamp' || literal.kind === 'date' ? literal.text : literal.kind === 'string' ? literal.value : undefined;
      return text === undefined ? undefined : parseDuckDbTimestamp(text, type === 'timestamptz');
    }
    default:
      return undefined;
  }
}
