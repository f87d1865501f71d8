import { describe, expect, it } from 'vitest';
import { noiseOf, type QueryResult } from './bench-report.js';

const query = (controlRatio: number): QueryResult => ({
  name: 'q',
  sql: 'SELECT 1',
  ratMs: 1,
  rawMs: 1,
  ratio: 1,
  controlMs: controlRatio,
  controlRatio,
  samePlan: true,
  ratSamplesMs: [1],
  rawSamplesMs: [1],
  controlSamplesMs: [controlRatio],
});

describe('noiseOf', () => {
  it('is zero when the A/A control matches raw exactly', () => {
    const noise = noiseOf({ geomeanRatio: 1.01, queries: [query(1), query(1), query(1), query(1)] });
    expect(noise.sdPercent).toBe(0);
    expect(noise.within).toBe(false);
  });

  it('scales the per-query spread down by sqrt(n) and puts the band at two standard deviations', () => {
    // Four log ratios of ±0.2: sigma 0.2, sigma of the geometric mean 0.1, band 0.2.
    const queries = [query(Math.exp(0.2)), query(Math.exp(-0.2)), query(Math.exp(0.2)), query(Math.exp(-0.2))];
    const noise = noiseOf({ geomeanRatio: Math.exp(0.15), queries });
    expect(noise.sdPercent).toBeCloseTo((Math.exp(0.1) - 1) * 100, 9);
    expect(noise.bandPercent).toBeCloseTo((Math.exp(0.2) - 1) * 100, 9);
    expect(noise.within).toBe(true);
    expect(noiseOf({ geomeanRatio: Math.exp(0.25), queries }).within).toBe(false);
    expect(noise.min).toBeCloseTo(Math.exp(-0.2), 12);
  });
});
