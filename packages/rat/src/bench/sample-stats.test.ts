import { describe, expect, it } from 'vitest';
import { geometricMean, median } from './sample-stats.js';

describe('median', () => {
  it('takes the middle of an odd sample regardless of order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });
  it('averages the two middle values of an even sample', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('rejects an empty sample', () => {
    expect(() => median([])).toThrow(/empty/);
  });
});

describe('geometricMean', () => {
  it('lets reciprocal ratios cancel out', () => {
    expect(geometricMean([2, 0.5])).toBeCloseTo(1, 12);
    expect(geometricMean([1.1, 1.1, 1.1])).toBeCloseTo(1.1, 12);
  });
  it('rejects zero and negative values', () => {
    expect(() => geometricMean([1, 0])).toThrow(/positive/);
    expect(() => geometricMean([-1])).toThrow(/positive/);
  });
});
