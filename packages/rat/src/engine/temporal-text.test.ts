import { describe, expect, it } from 'vitest';
import { parseDuckDbDate, parseDuckDbTimestamp } from './temporal-text.js';

describe('DuckDB date and timestamp text', () => {
  it('counts every year exactly, those before 1 written with (BC) or a minus sign', () => {
    expect(parseDuckDbDate('1970-01-01')).toBe(0);
    expect(parseDuckDbDate('2024-01-01')).toBe(19_723);
    expect(parseDuckDbDate('0050-06-01')).toBe(-701_114);
    expect(parseDuckDbDate('0001-01-01')).toBe(-719_162);
    expect(parseDuckDbDate('0000-12-31')).toBe(-719_163);
    // 1 BC is year 0, a leap year; 44 BC is year -43.
    expect(parseDuckDbDate('0001-12-31 (BC)')).toBe(-719_163);
    expect(parseDuckDbDate('0001-02-29 (BC)')).toBe(parseDuckDbDate('0000-02-29'));
    expect(parseDuckDbDate('0044-03-15 (BC)')).toBe(-735_160);
    expect(parseDuckDbDate('-0043-03-15')).toBe(-735_160);
    expect(parseDuckDbDate('10000-01-01')).toBe(2_932_897);
    expect(parseDuckDbDate(' 0050-6-1 ')).toBe(-701_114);
  });

  it('gives undefined for text that is no date, so nothing is pruned by it', () => {
    for (const text of ['0001-02-29', '2023-02-29', '2024-13-01', '2024-00-10', '0000-01-01 (BC)', '-0001-01-01 (BC)', '2024/01/01', 'infinity', '']) {
      expect(parseDuckDbDate(text), text).toBeUndefined();
    }
  });

  it('reads timestamps to the microsecond, shifted to UTC by their offset', () => {
    expect(parseDuckDbTimestamp('0001-01-01 00:00:00', false)).toBe(-62_135_596_800_000_000n);
    expect(parseDuckDbTimestamp('0001-01-01', false)).toBe(-62_135_596_800_000_000n);
    expect(parseDuckDbTimestamp('0050-06-01 12:00:00+00', true)).toBe(parseDuckDbTimestamp('0050-06-01T14:00:00+02:00', true));
    expect(parseDuckDbTimestamp('0044-03-15 (BC) 06:30:00.5', false)).toBe(-735_160n * 86_400_000_000n + 23_400_500_000n);
    expect(parseDuckDbTimestamp('1969-12-31 23:59:59.999999Z', true)).toBe(-1n);
    // Historical offsets with seconds, as DuckDB prints local mean time.
    expect(parseDuckDbTimestamp('1850-01-01 00:00:00-04:56:02', true)).toBe(parseDuckDbTimestamp('1850-01-01 04:56:02+00', true));
    expect(parseDuckDbTimestamp('2024-01-01 00:00:00.123456000', false)).toBe(1_704_067_200_123_456n);
  });

  it('gives undefined for an offset on a naive timestamp, digits below the microsecond, and invalid fields', () => {
    for (const text of ['2024-01-01 00:00:00+00', '2024-01-01 00:00:00.1234567', '2024-01-01 24:00:00', '2024-01-01 00:60:00', '0044-03-15 06:30:00 (BC)', '2024-01-01 x']) {
      expect(parseDuckDbTimestamp(text, false), text).toBeUndefined();
    }
  });
});
