import { daysInMonth, daysFromCivil, MICROS_PER_DAY } from '../iceberg/calendar.js';

/**
 * DuckDB's text for dates and timestamps, the form it prints Parquet statistics in and reads
 * literals from, as Iceberg values (days or micros since 1970-01-01). The years are counted exactly:
 * JavaScript's Date.UTC reads years 0..99 as 1900..1999, which once wrote 0050-06-01 into manifests
 * as 1950-06-01. DuckDB prints a year before 1 as `0044-03-15 (BC)` (1 BC is year 0, so that is
 * year -43) and also reads `-0043-03-15`. Text in any other form gives undefined: no bound, no pruning.
 */
const DATE_TEXT = /^(-?)(\d{1,})-(\d{1,2})-(\d{1,2})( \(BC\))?$/;
const TIMESTAMP_TEXT = /^(-?\d{1,}-\d{1,2}-\d{1,2}(?: \(BC\))?)(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

/** Days since the epoch of DuckDB date text, or undefined when it is not one. */
export function parseDuckDbDate(text: string): number | undefined {
  const match = DATE_TEXT.exec(text.trim());
  if (!match) return undefined;
  if (match[1] && match[5]) return undefined;
  const number = Number(match[2]);
  const year = match[5] ? 1 - number : match[1] ? -number : number;
  if (match[5] && number === 0) return undefined;
  const month = Number(match[3]);
  const day = Number(match[4]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day);
}

/**
 * Micros since the epoch of DuckDB timestamp text (`YYYY-MM-DD[ (BC)][ HH:MM[:SS[.ffffff]]][±HH[:MM[:SS]]]`),
 * shifted to UTC by its offset; naive text is UTC, rat's session time zone. Undefined when the text is
 * not one, carries an offset where `zoneAllowed` is false, or has non-zero digits below the microsecond.
 */
export function parseDuckDbTimestamp(text: string, zoneAllowed: boolean): bigint | undefined {
  const match = TIMESTAMP_TEXT.exec(text.trim());
  if (!match) return undefined;
  const zone = match[6];
  if (zone && !zoneAllowed) return undefined;
  const days = parseDuckDbDate(match[1]!);
  if (days === undefined) return undefined;
  const hours = Number(match[2] ?? 0);
  const minutes = Number(match[3] ?? 0);
  const seconds = Number(match[4] ?? 0);
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const digits = match[5] ?? '';
  if (/[1-9]/.test(digits.slice(6))) return undefined;
  const fraction = BigInt(digits.slice(0, 6).padEnd(6, '0'));
  let micros = BigInt(days) * MICROS_PER_DAY + BigInt(hours * 3600 + minutes * 60 + seconds) * 1_000_000n + fraction;
  if (zone && zone.toUpperCase() !== 'Z') {
    const parts = zone.slice(1).replaceAll(':', '');
    const offsetSeconds = Number(parts.slice(0, 2)) * 3600 + Number(parts.slice(2, 4) || 0) * 60 + Number(parts.slice(4, 6) || 0);
    micros += (zone.startsWith('-') ? 1n : -1n) * BigInt(offsetSeconds) * 1_000_000n;
  }
  return micros;
}
