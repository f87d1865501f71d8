import { ValidationError } from '../core/errors.js';
import { decimalParams } from '../iceberg/type-parse.js';
import type { IcebergValue, PartitionField, PrimitiveType } from '../iceberg/types.js';
import { quoteIdent } from './duckdb.js';

/**
 * SQL that computes one partition field's value for each row, in a form that converts to the
 * Iceberg in-memory value without loss (dates as day numbers, timestamps as epoch micros, decimals
 * as unscaled integer text). Bucket needs murmur3 and is computed in JS from distinct values instead.
 * Spec: "Partition Transforms".
 */
export function partitionValueSql(field: PartitionField, sourceType: PrimitiveType, column: string): string | undefined {
  const c = quoteIdent(column);
  const t = field.transform;
  if (t === 'identity') return canonicalSql(sourceType, c);
  if (t === 'void') return 'NULL';
  if (t.startsWith('bucket[')) return undefined;
  if (t === 'year') return `(year(${c}) - 1970)`;
  if (t === 'month') return `((year(${c}) - 1970) * 12 + month(${c}) - 1)`;
  if (t === 'day') return `(CAST(${c} AS DATE) - DATE '1970-01-01')`;
  if (t === 'hour') return `CAST(floor(epoch_us(${c}) / 3600000000) AS BIGINT)`;
  const truncate = /^truncate\[(\d+)\]$/.exec(t);
  if (truncate) {
    const w = truncate[1];
    if (sourceType === 'int' || sourceType === 'long') return `(${c} - (((${c} % ${w}) + ${w}) % ${w}))`;
    if (sourceType === 'string') return `substring(${c}, 1, ${w})`;
    if (sourceType.startsWith('decimal')) {
      const unscaled = canonicalSql(sourceType, c);
      return `CAST((CAST(${unscaled} AS HUGEINT) - (((CAST(${unscaled} AS HUGEINT) % ${w}) + ${w}) % ${w})) AS VARCHAR)`;
    }
    if (sourceType === 'binary') return `substring(${c}, 1, ${w})`;
  }
  throw new ValidationError('INVALID_PARTITION', `partition transform ${t} cannot be written for column "${column}" of type ${sourceType}`);
}

function canonicalSql(type: PrimitiveType, c: string): string {
  if (type.startsWith('decimal')) {
    const { scale } = decimalParams(type);
    return `CAST(CAST(${c} * ${10n ** BigInt(scale)} AS HUGEINT) AS VARCHAR)`;
  }
  switch (type) {
    case 'date':
      return `(${c} - DATE '1970-01-01')`;
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return `CAST(epoch_us(${c}) AS VARCHAR)`;
    case 'time':
      return `CAST(epoch_us(${c}) AS VARCHAR)`;
    case 'long':
      return `CAST(${c} AS VARCHAR)`;
    case 'uuid':
      return `CAST(${c} AS VARCHAR)`;
    case 'binary':
      return `hex(${c})`;
    default:
      return c;
  }
}

/** Converts what partitionValueSql produced (as read back through getRowObjectsJS) to an IcebergValue. */
export function partitionValueFromSql(resultType: PrimitiveType, raw: unknown): IcebergValue {
  if (raw === null || raw === undefined) return null;
  if (resultType.startsWith('decimal')) return BigInt(String(raw));
  switch (resultType) {
    case 'int':
    case 'date':
      return Number(raw);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return BigInt(String(raw));
    case 'float':
    case 'double':
      return Number(raw);
    case 'boolean':
      return Boolean(raw);
    case 'binary':
      return Uint8Array.from(Buffer.from(String(raw), 'hex'));
    default:
      return String(raw);
  }
}
