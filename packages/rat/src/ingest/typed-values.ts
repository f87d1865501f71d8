import { civilFromDays } from '../iceberg/calendar.js';

/**
 * How a reader that knows its columns' types (Arrow, Avro) stages one column through RowSink: the
 * DuckDB type to read it as, and each value as JSON-ready JavaScript DuckDB converts to that type.
 */
export interface ColumnReading {
  sql: string;
  /** A SQL function that turns the value as read into the column's (from_base64: bytes travel as base64 text). */
  convert?: string;
  /** A non-null value as the format's library gives it, made plain. */
  value(v: unknown): unknown;
}

export function isoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  const y = year < 0 ? `-${String(-year).padStart(4, '0')}` : String(year).padStart(4, '0');
  return `${y}-${pad(month)}-${pad(day)}`;
}

export function isoTime(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${pad(Number(seconds / 3600n))}:${pad(Number((seconds / 60n) % 60n))}:${pad(Number(seconds % 60n))}.${String(fraction).padStart(6, '0')}`;
}

export function isoTimestamp(micros: bigint): string {
  const day = 86_400_000_000n;
  let days = micros / day;
  let rest = micros % day;
  if (rest < 0n) {
    days -= 1n;
    rest += day;
  }
  return `${isoDate(Number(days))} ${isoTime(rest)}`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** A plain value (what a ColumnReading gives: finite numbers, strings, bigints, booleans, plain objects and arrays) as JSON text. */
export function toJson(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'string':
      return JSON.stringify(value);
    default:
      return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

export function jsonText(value: unknown): string {
  const plain = typeof value === 'object' && value !== null && 'toJSON' in value && typeof value.toJSON === 'function' ? (value.toJSON as () => unknown)() : value;
  if (typeof plain === 'bigint') return plain.toString();
  return typeof plain === 'string' ? plain : JSON.stringify(plain, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}
