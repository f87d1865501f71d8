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

const NANOS_PER_SECOND = 1_000_000_000n;

/**
 * An interval or a duration as ISO 8601 duration text: `P1Y2M3DT4H5M6.5S`, the parts that are not
 * zero, each with its own sign (`P-1M`, `PT-1.5S`) as PostgreSQL's iso_8601 style writes them, and
 * `PT0S` for none. Months and days are kept apart from the time: their length varies.
 */
export function isoDuration(months: number, days: number, nanos: bigint): string {
  const date = part(Math.trunc(months / 12), 'Y') + part(months % 12, 'M') + part(days, 'D');
  const seconds = nanos % (60n * NANOS_PER_SECOND);
  const time = part(nanos / (3600n * NANOS_PER_SECOND), 'H') + part((nanos / (60n * NANOS_PER_SECOND)) % 60n, 'M') + (seconds === 0n ? '' : `${secondsText(seconds)}S`);
  if (date === '' && time === '') return 'PT0S';
  return `P${date}${time === '' ? '' : `T${time}`}`;
}

function part(count: number | bigint, designator: string): string {
  return Number(count) === 0 ? '' : `${count}${designator}`;
}

/** Nanoseconds as seconds with the fraction they have: `-1.5`, `0.000000001`. */
function secondsText(nanos: bigint): string {
  const magnitude = nanos < 0n ? -nanos : nanos;
  const fraction = String(magnitude % NANOS_PER_SECOND).padStart(9, '0').replace(/0+$/, '');
  return `${nanos < 0n ? '-' : ''}${magnitude / NANOS_PER_SECOND}${fraction === '' ? '' : `.${fraction}`}`;
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
