import { describe, expect, it } from 'vitest';

import { displayWidth, sliceToWidth } from './display-width.js';

describe('displayWidth', () => {
  it('counts terminal columns: wide and fullwidth characters 2, combining marks 0, the rest 1', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本語データ')).toBe(12);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('ＡＢ')).toBe(4);
    // e + COMBINING ACUTE ACCENT, and the precomposed é: one column each.
    expect(displayWidth('cafe\u0301')).toBe(4);
    expect(displayWidth('café')).toBe(4);
    expect(displayWidth('a\u200bb')).toBe(2);
    expect(displayWidth('ok 👍')).toBe(5);
    expect(displayWidth('👨‍👩‍👧')).toBe(2);
    expect(displayWidth('landing/we ird/日本語 データ.csv')).toBe(32);
  });
});

describe('sliceToWidth', () => {
  it('keeps whole characters that fit, leaving out a wide one that would straddle the end', () => {
    expect(sliceToWidth('日本語', 5)).toBe('日本');
    expect(sliceToWidth('日本語', 4)).toBe('日本');
    expect(sliceToWidth('cafe\u0301s', 4)).toBe('cafe\u0301');
    expect(sliceToWidth('abc', 10)).toBe('abc');
  });
});
