import type { DataFile, IcebergValue, PrimitiveType } from '../iceberg/types.js';
import { compareValues, decodeValue } from '../iceberg/values.js';

/** A half-open range `[from, to)` of one column, as a filter `col >= from AND col < to` selects it. */
export interface ColumnRange {
  fieldId: number;
  type: PrimitiveType;
  from: IcebergValue;
  to: IcebergValue;
}

export interface FileBounds {
  filePath: string;
  /** Decoded `lower_bounds` / `upper_bounds` of the column; undefined when the file has none. */
  lower?: IcebergValue;
  upper?: IcebergValue;
}

/** A column's [lower, upper] bounds per data file, decoded (spec "Appendix D: Single-value serialization"). */
export function columnBounds(files: readonly DataFile[], fieldId: number, type: PrimitiveType): FileBounds[] {
  return files.map((file) => {
    const lower = file.lowerBounds?.get(fieldId);
    const upper = file.upperBounds?.get(fieldId);
    return {
      filePath: file.filePath,
      ...(lower !== undefined ? { lower: decodeValue(type, lower) } : {}),
      ...(upper !== undefined ? { upper: decodeValue(type, upper) } : {}),
    };
  });
}

/**
 * True when the file may hold a row in the range: `lower < to` and `upper >= from`. A missing bound
 * proves nothing, so it overlaps.
 */
export function boundsOverlap(bounds: FileBounds, range: ColumnRange): boolean {
  const belowEnd = bounds.lower === undefined || compareValues(range.type, bounds.lower, range.to) < 0;
  const pastStart = bounds.upper === undefined || compareValues(range.type, bounds.upper, range.from) >= 0;
  return belowEnd && pastStart;
}

/** Paths of the files whose bounds overlap the range. */
export function overlappingFiles(files: readonly DataFile[], range: ColumnRange): string[] {
  return columnBounds(files, range.fieldId, range.type)
    .filter((bounds) => boundsOverlap(bounds, range))
    .map((bounds) => bounds.filePath);
}
