import type { Predicate } from '../iceberg/predicate.js';
import { decimalParams } from '../iceberg/type-parse.js';
import type { IcebergValue, PrimitiveType, Schema } from '../iceberg/types.js';
import type { ColumnFilter, SqlLiteral } from './select-rewriter.js';

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
      return text === undefined ? undefined : parseDate(text);
    }
    case 'timestamp':
    case 'timestamptz': {
      const text = literal.kind === 'timestamp' || literal.kind === 'date' ? literal.text : literal.kind === 'string' ? literal.value : undefined;
      return text === undefined ? undefined : parseTimestamp(text, type === 'timestamptz');
    }
    default:
      return undefined;
  }
}

function parseDate(text: string): number | undefined {
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/.exec(text);
  if (!match) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(ms) ? undefined : ms / 86_400_000;
}

/** Micros since epoch for `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]`; naive text is UTC (the session time zone). */
function parseTimestamp(text: string, withZone: boolean): bigint | undefined {
  const match = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/.exec(text);
  if (!match) return undefined;
  if (match[8] && !withZone) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0));
  if (Number.isNaN(ms)) return undefined;
  let micros = BigInt(ms) * 1000n + BigInt((match[7] ?? '').padEnd(6, '0'));
  const zone = match[8];
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
    micros -= sign * minutes * 60_000_000n;
  }
  return micros;
}
