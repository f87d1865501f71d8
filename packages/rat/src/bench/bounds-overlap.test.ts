import { describe, expect, it } from 'vitest';
import type { DataFile } from '../iceberg/types.js';
import { encodeValue } from '../iceberg/values.js';
import { type ColumnRange, overlappingFiles } from './bounds-overlap.js';

const micros = (iso: string): bigint => BigInt(Date.parse(`${iso}Z`)) * 1000n;

function file(name: string, lower?: string, upper?: string): DataFile {
  return {
    content: 0,
    filePath: name,
    fileFormat: 'PARQUET',
    partition: {},
    recordCount: 1,
    fileSizeInBytes: 1,
    ...(lower !== undefined ? { lowerBounds: new Map([[2, encodeValue('timestamp', micros(lower))]]) } : {}),
    ...(upper !== undefined ? { upperBounds: new Map([[2, encodeValue('timestamp', micros(upper))]]) } : {}),
  };
}

const march: ColumnRange = { fieldId: 2, type: 'timestamp', from: micros('2024-03-01T00:00:00'), to: micros('2024-04-01T00:00:00') };

describe('overlappingFiles', () => {
  it('keeps files whose [lower, upper] meets [from, to) and drops the rest', () => {
    const files = [
      file('feb', '2024-02-01T00:00:00', '2024-02-29T23:59:59'),
      file('mar', '2024-03-01T00:00:00', '2024-03-31T23:59:59'),
      file('apr', '2024-04-01T00:00:00', '2024-04-30T23:59:59'),
      file('feb-to-mar', '2024-02-15T00:00:00', '2024-03-01T00:00:00'),
    ];
    expect(overlappingFiles(files, march)).toEqual(['mar', 'feb-to-mar']);
  });

  it('treats the upper end as exclusive and a missing bound as unknown', () => {
    expect(overlappingFiles([file('starts-at-end', '2024-04-01T00:00:00', '2024-04-02T00:00:00')], march)).toEqual([]);
    expect(overlappingFiles([file('no-bounds')], march)).toEqual(['no-bounds']);
    expect(overlappingFiles([file('only-upper', undefined, '2024-01-05T00:00:00')], march)).toEqual([]);
  });
});
