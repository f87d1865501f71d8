import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { parseJsonBigint, stringifyJsonBigint } from './json.js';

const TABLES = fileURLToPath(new URL('../../../../../shared/reference/iceberg/tables/', import.meta.url));

function metadataFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return metadataFiles(path);
    return entry.name.endsWith('.metadata.json') ? [path] : [];
  });
}

describe('stringifyJsonBigint', () => {
  it('writes bigints as exact unquoted numbers, at any depth, with or without indentation', () => {
    const value = { id: 2n ** 63n - 1n, neg: -(2n ** 62n) - 3n, small: 5n, list: [1, 9007199254740993n, { deep: [123456789012345678901234567890n] }], n: 1.5, s: 'text', nil: null };
    for (const space of [undefined, 2]) {
      const text = stringifyJsonBigint(value, space);
      expect(text).toBe(stringify(value, null, space));
      expect(parseJsonBigint(text)).toEqual({ ...value, small: 5 });
    }
    expect(stringifyJsonBigint({ a: 1 })).toBe('{"a":1}');
  });

  it('leaves strings that look like numbers or markers alone', () => {
    const value = { a: '@big0123456789ab:12', b: '"123"', c: 7n };
    expect(stringifyJsonBigint(value)).toBe('{"a":"@big0123456789ab:12","b":"\\"123\\"","c":7}');
  });

  it('writes every reference table metadata file byte for byte as the lossless serializer does', () => {
    const files = metadataFiles(TABLES);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const value = parseJsonBigint(readFileSync(file, 'utf8'));
      expect(stringifyJsonBigint(value, 2), file).toBe(stringify(value, null, 2));
    }
  });
});
