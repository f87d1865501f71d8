/**
 * Proleptic Gregorian calendar arithmetic on Iceberg's epoch-based values: dates are days since
 * 1970-01-01, times are micros since midnight, timestamps are micros or nanos since the epoch (UTC).
 * Pre-epoch values use floor division so 1969-12-31T23:59:59 is day -1, not day 0
 * (spec "Partition Transforms": values are counted from 1970). Text forms follow Appendix D
 * "JSON single-value serialization" (ISO-8601).
 */

export interface CivilDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

export type TimeUnit = 'micros' | 'nanos';

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_HOUR = 3_600_000_000n;
export const MICROS_PER_DAY = 86_400_000_000n;
const UNITS_PER_SECOND: Record<TimeUnit, bigint> = { micros: 1_000_000n, nanos: 1_000_000_000n };
const FRACTION_DIGITS: Record<TimeUnit, number> = { micros: 6, nanos: 9 };

// Day 0 of the 400-year cycle below is 0000-03-01; 1970-01-01 is 719468 days later. Counting years
// from March puts the leap day last, so each month's first day follows one linear formula.
const DAYS_0000_03_01_TO_EPOCH = 719_468;
const DAYS_PER_400_YEARS = 146_097;

export function daysFromCivil(year: number, month: number, day: number): number {
  const marchYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(marchYear / 400);
  const yearOfEra = marchYear - era * 400;
  const marchMonth = month > 2 ? month - 3 : month + 9;
  const dayOfYear = Math.floor((153 * marchMonth + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * DAYS_PER_400_YEARS + dayOfEra - DAYS_0000_03_01_TO_EPOCH;
}

export function civilFromDays(days: number): CivilDate {
  const shifted = days + DAYS_0000_03_01_TO_EPOCH;
  const era = Math.floor(shifted / DAYS_PER_400_YEARS);
  const dayOfEra = shifted - era * DAYS_PER_400_YEARS;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const marchMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * marchMonth + 2) / 5) + 1;
  const month = marchMonth < 10 ? marchMonth + 3 : marchMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

export function floorDiv(a: bigint, b: bigint): bigint {
  const quotient = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? quotient - 1n : quotient;
}

export function floorMod(a: bigint, b: bigint): bigint {
  return a - floorDiv(a, b) * b;
}

/** Days since the epoch of a timestamp in the given unit (floor, so pre-epoch instants stay on their day). */
export function timestampToDays(value: bigint, unit: TimeUnit): number {
  return Number(floorDiv(value, UNITS_PER_SECOND[unit] * 86_400n));
}

/** Whole hours since the epoch of a timestamp in the given unit (floor). */
export function timestampToHours(value: bigint, unit: TimeUnit): number {
  return Number(floorDiv(value, UNITS_PER_SECOND[unit] * 3_600n));
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function pad(value: number | bigint, width: number): string {
  return String(value).padStart(width, '0');
}

/** ISO-8601 year: 4 digits, with a sign outside 0000..9999 (as java.time prints it). */
export function formatYear(year: number): string {
  if (year < 0) return `-${pad(-year, 4)}`;
  return year > 9999 ? `+${year}` : pad(year, 4);
}

export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${formatYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** `HH:MM:SS.ffffff` (or 9 fraction digits for nanos). */
function formatTimeOfDay(unitsOfDay: bigint, unit: TimeUnit): string {
  const perSecond = UNITS_PER_SECOND[unit];
  const seconds = unitsOfDay / perSecond;
  const fraction = unitsOfDay % perSecond;
  const hh = seconds / 3600n;
  const mm = (seconds / 60n) % 60n;
  const ss = seconds % 60n;
  return `${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(fraction, FRACTION_DIGITS[unit])}`;
}

export function formatTime(micros: bigint): string {
  return formatTimeOfDay(micros, 'micros');
}

/** `2017-11-16T22:31:08.123456`, with `+00:00` appended for zoned types (Appendix D). */
export function formatTimestamp(value: bigint, unit: TimeUnit, withZone: boolean): string {
  const perDay = UNITS_PER_SECOND[unit] * 86_400n;
  const days = floorDiv(value, perDay);
  const text = `${formatDate(Number(days))}T${formatTimeOfDay(value - days * perDay, unit)}`;
  return withZone ? `${text}+00:00` : text;
}

const DATE_PATTERN = /^([+-]?\d{4,})-(\d{2})-(\d{2})$/;
const TIME_PATTERN = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const TIMESTAMP_PATTERN = /^([+-]?\d{4,}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Days since the epoch, or undefined when `text` is not a valid ISO-8601 date. */
export function parseDate(text: string): number | undefined {
  const match = DATE_PATTERN.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day);
}

/** Fraction digits as units; undefined when they carry more precision than the unit holds. */
function parseFraction(digits: string | undefined, unit: TimeUnit): bigint | undefined {
  if (digits === undefined) return 0n;
  const width = FRACTION_DIGITS[unit];
  if (digits.length > width && /[1-9]/.test(digits.slice(width))) return undefined;
  return BigInt(digits.slice(0, width).padEnd(width, '0'));
}

function parseTimeOfDay(text: string, unit: TimeUnit): bigint | undefined {
  const match = TIME_PATTERN.exec(text);
  if (!match) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  const seconds = Number(match[3] ?? '0');
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const fraction = parseFraction(match[4], unit);
  if (fraction === undefined) return undefined;
  return BigInt(hours * 3600 + minutes * 60 + seconds) * UNITS_PER_SECOND[unit] + fraction;
}

/** Micros since midnight, or undefined when `text` is not `HH:MM[:SS[.ffffff]]`. */
export function parseTime(text: string): bigint | undefined {
  return parseTimeOfDay(text, 'micros');
}

/**
 * Units since the epoch, or undefined when `text` is not an ISO-8601 timestamp. Zoned types need an
 * offset (`+00:00`, `Z` or any other, converted to UTC); unzoned types must not carry one.
 */
export function parseTimestamp(text: string, unit: TimeUnit, withZone: boolean): bigint | undefined {
  const match = TIMESTAMP_PATTERN.exec(text);
  if (!match) return undefined;
  const offsetText = match[3];
  if (withZone !== (offsetText !== undefined)) return undefined;
  const days = parseDate(match[1] ?? '');
  const timeOfDay = parseTimeOfDay(match[2] ?? '', unit);
  if (days === undefined || timeOfDay === undefined) return undefined;
  let offsetSeconds = 0;
  if (offsetText !== undefined && offsetText.toUpperCase() !== 'Z') {
    const digits = offsetText.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 18 || minutes > 59) return undefined;
    offsetSeconds = (digits.startsWith('-') ? -1 : 1) * (hours * 3600 + minutes * 60);
  }
  const perSecond = UNITS_PER_SECOND[unit];
  return BigInt(days) * 86_400n * perSecond + timeOfDay - BigInt(offsetSeconds) * perSecond;
}
