import { describe, expect, it } from 'vitest';
import {
  civilFromDays,
  daysFromCivil,
  floorDiv,
  floorMod,
  formatDate,
  formatTime,
  formatTimestamp,
  parseDate,
  parseTime,
  parseTimestamp,
  timestampToDays,
  timestampToHours,
} from './calendar.js';

const DAY_MS = 86_400_000;

describe('civil dates', () => {
  it('agrees with Date.UTC for every day from 1600 to 2400', () => {
    const mismatches: number[] = [];
    for (let days = daysFromCivil(1600, 1, 1); days <= daysFromCivil(2400, 12, 31); days += 1) {
      const date = new Date(days * DAY_MS);
      const civil = civilFromDays(days);
      const sameDay = civil.year === date.getUTCFullYear() && civil.month === date.getUTCMonth() + 1 && civil.day === date.getUTCDate();
      if (!sameDay || daysFromCivil(civil.year, civil.month, civil.day) !== days) mismatches.push(days);
    }
    expect(mismatches).toEqual([]);
  });

  it('maps known dates', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(2017, 11, 16)).toBe(17486);
    expect(daysFromCivil(1969, 12, 31)).toBe(-1);
    expect(daysFromCivil(2000, 2, 29)).toBe(11016);
    expect(civilFromDays(-719528)).toEqual({ year: 0, month: 1, day: 1 });
  });

  it('floors divisions toward negative infinity', () => {
    expect(floorDiv(-1n, 10n)).toBe(-1n);
    expect(floorDiv(-10n, 10n)).toBe(-1n);
    expect(floorDiv(-11n, 10n)).toBe(-2n);
    expect(floorDiv(11n, 10n)).toBe(1n);
    expect(floorMod(-1n, 10n)).toBe(9n);
    expect(timestampToDays(-1n, 'micros')).toBe(-1);
    expect(timestampToHours(-1n, 'micros')).toBe(-1);
    expect(timestampToDays(-1n, 'nanos')).toBe(-1);
  });
});

describe('ISO text', () => {
  it('formats and parses dates, including years outside 0000..9999', () => {
    expect(formatDate(17486)).toBe('2017-11-16');
    expect(formatDate(-1)).toBe('1969-12-31');
    expect(formatDate(daysFromCivil(12345, 1, 2))).toBe('+12345-01-02');
    expect(formatDate(daysFromCivil(-44, 3, 15))).toBe('-0044-03-15');
    expect(parseDate('2017-11-16')).toBe(17486);
    expect(parseDate('+12345-01-02')).toBe(daysFromCivil(12345, 1, 2));
    expect(parseDate('2017-02-29')).toBeUndefined();
    expect(parseDate('2017-13-01')).toBeUndefined();
    expect(parseDate('17-11-16')).toBeUndefined();
  });

  it('formats and parses times with microsecond precision', () => {
    expect(formatTime(81_068_123_456n)).toBe('22:31:08.123456');
    expect(parseTime('22:31:08.123456')).toBe(81_068_123_456n);
    expect(parseTime('22:31')).toBe(81_060_000_000n);
    expect(parseTime('22:31:08.1')).toBe(81_068_100_000n);
    expect(parseTime('22:31:08.1234567')).toBeUndefined();
    expect(parseTime('24:00:00')).toBeUndefined();
  });

  it('formats and parses timestamps, zoned ones in UTC with +00:00', () => {
    expect(formatTimestamp(1_510_871_468_123_456n, 'micros', false)).toBe('2017-11-16T22:31:08.123456');
    expect(formatTimestamp(1_510_871_468_123_456n, 'micros', true)).toBe('2017-11-16T22:31:08.123456+00:00');
    expect(formatTimestamp(1_510_871_468_123_456_789n, 'nanos', false)).toBe('2017-11-16T22:31:08.123456789');
    expect(formatTimestamp(-1n, 'micros', false)).toBe('1969-12-31T23:59:59.999999');
    expect(parseTimestamp('2017-11-16T22:31:08.123456', 'micros', false)).toBe(1_510_871_468_123_456n);
    expect(parseTimestamp('2017-11-16T14:31:08-08:00', 'micros', true)).toBe(1_510_871_468_000_000n);
    expect(parseTimestamp('2017-11-16T22:31:08Z', 'micros', true)).toBe(1_510_871_468_000_000n);
    expect(parseTimestamp('2017-11-16T22:31:08.123456789+00:00', 'nanos', true)).toBe(1_510_871_468_123_456_789n);
    expect(parseTimestamp('1969-12-31T23:59:59.999999', 'micros', false)).toBe(-1n);
    expect(parseTimestamp('2017-11-16T22:31:08+00:00', 'micros', false)).toBeUndefined();
    expect(parseTimestamp('2017-11-16T22:31:08', 'micros', true)).toBeUndefined();
  });
});
