import { ValidationError } from '../core/errors.js';

/** The middle value (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new ValidationError('INVALID_ARGUMENT', 'median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** exp(mean(log x)): the average of ratios that treats 2x and 0.5x as cancelling out. */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) throw new ValidationError('INVALID_ARGUMENT', 'geometric mean of an empty sample');
  const bad = values.find((v) => !(v > 0) || !Number.isFinite(v));
  if (bad !== undefined) throw new ValidationError('INVALID_ARGUMENT', `geometric mean needs positive finite values, got ${bad}`);
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
