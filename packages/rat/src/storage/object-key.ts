import { ValidationError } from '../core/errors.js';

/**
 * Object keys are '/'-separated relative paths. Both stores reject the same keys, so a key that
 * works on a laptop also works on S3, and no key can escape the local root or the S3 prefix.
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key, false);
  if (problem !== undefined) {
    throw new ValidationError('INVALID_ARGUMENT', `Invalid object key ${JSON.stringify(key)}: ${problem}`);
  }
}

/** A list prefix is a key, or the start of one: it may be empty, end with '/' or stop inside a name. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix, true);
  if (problem !== undefined) {
    throw new ValidationError('INVALID_ARGUMENT', `Invalid object key prefix ${JSON.stringify(prefix)}: ${problem}`);
  }
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (key === '') return 'it is empty';
  if (key.startsWith('/')) return 'it starts with "/"';
  if (key.includes('\\')) return 'it contains "\\"';
  if (key.includes('\0')) return 'it contains a NUL character';
  const segments = key.split('/');
  // A prefix like "warehouse/" ends with an empty segment; only a key must end with a name.
  const named = isPrefix && key.endsWith('/') ? segments.slice(0, -1) : segments;
  for (const segment of named) {
    if (segment === '') return 'it contains an empty path segment';
    if (segment === '.' || segment === '..') return `it contains the path segment "${segment}"`;
  }
  return undefined;
}

/**
 * Orders keys by their UTF-8 bytes, the order S3 lists in. JavaScript compares UTF-16 code
 * units, which differs for characters above U+FFFF versus U+E000..U+FFFF; shifting the code
 * units this way turns code-unit order into code-point (= UTF-8 byte) order.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(codeUnit: number): number {
  if (codeUnit >= 0xd800 && codeUnit <= 0xdfff) return codeUnit + 0x2000;
  if (codeUnit >= 0xe000) return codeUnit - 0x800;
  return codeUnit;
}
