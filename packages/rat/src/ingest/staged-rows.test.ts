import { describe, expect, it } from 'vitest';
import { formatTimestamp } from './staged-rows.js';

/** The form it must produce, from the runtime's own calendar. */
const viaIso = (date: Date) => {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
};

describe('formatTimestamp', () => {
  it('writes the UTC wall time to the millisecond, as toISOString does, across years 1000-9999', () => {
    const cases = [
      Date.UTC(1970, 0, 1),
      -1, // 1969-12-31 23:59:59.999
      Date.UTC(1899, 11, 30, 13, 30), // Excel's day 0 with a time
      Date.UTC(1900, 1, 28, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12, 0, 0, 5),
      Date.UTC(2024, 11, 31, 23, 59, 59, 990),
      Date.UTC(1000, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    let seed = 7;
    for (let n = 0; n < 5000; n++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      cases.push(Math.round(Date.UTC(1000, 0, 1) + (seed / 0x7fffffff) * (Date.UTC(9999, 11, 31) - Date.UTC(1000, 0, 1))));
    }
    for (const ms of cases) expect(formatTimestamp(new Date(ms))).toBe(viaIso(new Date(ms)));
  });

  it('leaves years outside 1000-9999 to toISOString', () => {
    for (const ms of [Date.UTC(999, 11, 31, 1, 2, 3), Date.UTC(10000, 0, 1)]) expect(formatTimestamp(new Date(ms))).toBe(viaIso(new Date(ms)));
  });
});
