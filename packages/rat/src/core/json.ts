import { randomBytes } from 'node:crypto';
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

/**
 * Serializes numbers and bigints as plain JSON numbers (no quotes, no precision loss). The native
 * serializer does the work (several times faster than a JavaScript one on large table metadata):
 * each bigint goes out as a string holding a marker no input contains, then loses its quotes.
 */
export function stringifyJsonBigint(value: unknown, space?: number): string {
  const marker = `@big${randomBytes(6).toString('hex')}:`;
  let bigints = 0;
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      bigints += 1;
      return `${marker}${v}`;
    },
    space,
  ) as string | undefined;
  if (text === undefined) throw new TypeError('value cannot be serialized to JSON');
  if (bigints === 0) return text;
  // The marker is 48 random bits: should an input string hold it anyway, it is counted here and the slow path writes the value.
  if (text.split(`"${marker}`).length - 1 !== bigints) return stringifyLossless(value, space);
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}

/**
 * Parses JSON keeping each number as the text it was written with (a LosslessNumber), so that
 * `stringifyJsonExact` writes it back as received: `1e400`, which JSON.parse reads as Infinity.
 */
export function parseJsonExact(text: string): unknown {
  return parse(text);
}

/** JSON text of a value from `parseJsonExact`, its numbers as they were written. */
export function stringifyJsonExact(value: unknown): string {
  return stringifyLossless(value);
}

function stringifyLossless(value: unknown, space?: number): string {
  const text = stringify(value, null, space);
  if (text === undefined) throw new TypeError('value cannot be serialized to JSON');
  return text;
}

/**
 * Whether JavaScript writes back every number of the JSON `text` as it is written there: `2.5`,
 * `12`, but not `2.50`, `1e3`, `1.0`, `-0` or an integer beyond 2^53 (which JSON.parse rounds or
 * respells, and rat reads as a BigInt). Strings are skipped, escapes and all. A quick scan, so that only a text with such a
 * number needs `parseJsonExact`, several times slower than JSON.parse.
 */
export function numbersAsWritten(text: string): boolean {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    let end = i + 1;
    while (end < text.length && /[0-9.eE+-]/.test(text[end]!)) end++;
    const token = text.slice(i, end);
    const value = Number(token);
    // An integer beyond 2^53 is read as a BigInt, if at all (parseJsonBigint), and written back as text beyond 2^63.
    if (String(value) !== token || (Number.isInteger(value) && !Number.isSafeInteger(value))) return false;
    i = end - 1;
  }
  return true;
}
