import { civilFromDays } from '../iceberg/calendar.js';
import { formatDecimal } from '../iceberg/values.js';
import type { RowSink } from './staged-rows.js';

/** A value its column's type cannot hold (see decimalText, isoDate, isoTime, isoTimestamp): its row goes to the quarantine, with this message as the reason. */
export class RefusedValue extends Error {}

/** False while a refused row is read again for the quarantine's `raw` (addReadRow). */
let checking = true;

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

/** DuckDB's DATE range in days since 1970 (5877642-06-25 BC to 5881580-07-10): a 32-bit day count's extremes are past it. */
const LAST_DAY = 2_147_483_646;

/** A date, as days since 1970; one past DuckDB's range is refused (see RefusedValue). */
export function isoDate(days: number): string {
  if (checking && Math.abs(days) > LAST_DAY) throw new RefusedValue(`${days} days since 1970-01-01 is beyond the range of a date`);
  const { year, month, day } = civilFromDays(days);
  const y = year < 0 ? `-${String(-year).padStart(4, '0')}` : String(year).padStart(4, '0');
  return `${y}-${pad(month)}-${pad(day)}`;
}

/** Microseconds after midnight: 0 to 24:00:00, which DuckDB's TIME takes (a writer's -1 ms or 25 h is no time of day). */
const DAY_MICROS = 86_400_000_000n;

/** DuckDB's TIMESTAMP range in microseconds since 1970 (290309-12-22 BC to 294247-01-10 04:00:54.775806). */
const FIRST_TIMESTAMP = -9_223_372_022_400_000_000n;
const LAST_TIMESTAMP = 9_223_372_036_854_775_806n;

/** A time of day, as a count of microseconds after midnight; one outside the day is refused (see RefusedValue). */
export function isoTime(micros: bigint): string {
  if (micros < 0n || micros > DAY_MICROS) {
    if (checking) throw new RefusedValue(`${micros} microseconds after midnight is not a time of day`);
    return String(micros);
  }
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${pad(Number(seconds / 3600n))}:${pad(Number((seconds / 60n) % 60n))}:${pad(Number(seconds % 60n))}.${String(fraction).padStart(6, '0')}`;
}

/** A timestamp, as microseconds since 1970; one past DuckDB's range (a year beyond 294247) is refused (see RefusedValue). */
export function isoTimestamp(micros: bigint): string {
  if (checking && (micros < FIRST_TIMESTAMP || micros > LAST_TIMESTAMP)) throw new RefusedValue(`${micros} microseconds since 1970-01-01 is beyond the range of a timestamp`);
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

/**
 * A decimal's unscaled value as the text DuckDB reads into DECIMAL(precision, scale). A writer may put
 * more digits in a value than its schema's precision (neither Arrow nor Avro libraries check): such a
 * value is refused, since DuckDB would fail the whole file's read on it. Above 38 digits the column
 * is text and holds any value.
 */
export function decimalText(unscaled: bigint, precision: number, scale: number): string {
  const text = formatDecimal(unscaled, scale);
  if (checking && precision <= 38 && (unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(precision)) {
    throw new RefusedValue(`${text} has more digits than DECIMAL(${precision}, ${scale}) holds`);
  }
  return text;
}

/**
 * Adds one row of a reader that declared its columns' types (Arrow, Avro) to the sink: `read(k)` is
 * column k's value, made plain. A row with a value its type refuses goes to the quarantine instead,
 * named by the column, with the row's values (the refused one as its text) as JSON in `raw`, which
 * a replay into a widened column loads. `json` is the row's scratch array, of the columns' length.
 */
export async function addReadRow(sink: RowSink, names: readonly string[], json: (string | undefined)[], read: (k: number) => unknown, line: number): Promise<void> {
  let refused: string | undefined;
  for (let k = 0; k < json.length; k++) {
    let value: unknown;
    try {
      value = read(k);
    } catch (error) {
      if (!(error instanceof RefusedValue)) throw error;
      refused ??= `column ${names[k]}: ${error.message}`;
      checking = false;
      try {
        value = read(k);
      } finally {
        checking = true;
      }
    }
    json[k] = value === null || value === undefined ? undefined : toJson(value);
  }
  if (refused === undefined) await sink.addTyped(json, line);
  else await sink.reject(line, refused, `{${names.map((name, k) => `${JSON.stringify(name)}:${json[k] ?? 'null'}`).join(',')}}`);
}
