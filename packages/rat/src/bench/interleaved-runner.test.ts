import { describe, expect, it } from 'vitest';
import { firstDifference } from './interleaved-runner.js';

describe('firstDifference', () => {
  it('accepts equal results, doubles summed in another order and 64-bit integers as strings', () => {
    expect(firstDifference([{ n: 5, s: 0.1 + 0.2, p: 'a' }], [{ n: '5', s: 0.3, p: 'a' }])).toBeUndefined();
  });
  it('names the first differing cell', () => {
    expect(firstDifference([{ n: 5, p: 'a' }], [{ n: 5, p: 'b' }])).toBe('row 0 p: "a" vs "b"');
    expect(firstDifference([{ n: 5 }], [{ n: '6' }])).toBe('row 0 n: 5 vs 6');
    expect(firstDifference([{ n: 5 }], [])).toBe('1 rows vs 0 rows');
  });
});
