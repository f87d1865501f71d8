import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * Iceberg metadata holds 64-bit ids (snapshot ids may exceed 2^53, even 2^63 when written by hand).
 * Integers outside the safe range parse as bigint; everything else as number.
 */
export function parseJsonBigint(text: string): unknown {
  return parse(text, null, (value: string) => {
    if (isInteger(value) && !isSafeNumber(value)) return BigInt(value);
    return isInteger(value) ? Number.parseInt(value, 10) : Number.parseFloat(value);
  });
}

/** Serializes numbers and bigints as plain JSON numbers (no quotes, no precision loss). */
export function stringifyJsonBigint(value: unknown, space?: number): string {
  const text = stringify(value, null, space);
  if (text === undefined) throw new TypeError('value cannot be serialized to JSON');
  return text;
}
