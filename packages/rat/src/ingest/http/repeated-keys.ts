import { parseJsonExact } from '../../core/json.js';

/** A record holding a field twice with different values: the field, and the record's JSON as sent. */
export interface RepeatedKey {
  field: string;
  raw: string;
}

/**
 * The records of a page that hold a field twice with different values (`{"a":"x","a":"y"}`), by their
 * index in `records`, and the page's text with those records as `null` (which parseJsonExact reads).
 * JSON.parse keeps the last value and drops the other without a word; such a
 * record goes to the quarantine as sent instead. The common page costs one scan counting the keys in
 * the text against those parsed: only a page where they differ is parsed again to find the records.
 * `body` is the page parsed, `records` the array selected from it (the same objects).
 */
export function recordsWithRepeatedKeys(text: string, body: unknown, records: readonly unknown[]): { repeated: Map<number, RepeatedKey>; text: string } {
  const found = new Map<number, RepeatedKey>();
  if (keysInText(text) === keysIn(body)) return { repeated: found, text };
  // lossless-json names the first key it finds repeated with another value; that record is blanked
  // out (same length, so positions hold) and the page read again for the next.
  let current = text;
  for (;;) {
    let repeated: { field: string; at: number } | undefined;
    try {
      parseJsonExact(current);
      return { repeated: found, text: current };
    } catch (error) {
      const match = /^Duplicate key '(.*)' encountered at position (\d+)/s.exec((error as Error).message);
      if (!match) return { repeated: found, text: current };
      repeated = { field: match[1]!, at: Number(match[2]) };
    }
    const record = recordAt(current, repeated.at, body, records);
    // A field repeated around the records (in the envelope) loses no record's value; lossless-json
    // stops there, so records after it are not checked.
    if (record === undefined) return { repeated: found, text: current };
    found.set(record.index, { field: repeated.field, raw: text.slice(record.start, record.end) });
    current = `${current.slice(0, record.start)}${'null'.padEnd(record.end - record.start)}${current.slice(record.end)}`;
  }
}

/** How many object keys the JSON text holds: strings followed by a colon. */
function keysInText(text: string): number {
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x22) continue;
    i = stringEnd(text, i);
    let next = i + 1;
    while (next < text.length && isSpace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a) keys++;
  }
  return keys;
}

function keysIn(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value) keys += keysIn(item);
    return keys;
  }
  for (const key in value) keys += 1 + keysIn((value as Record<string, unknown>)[key]);
  return keys;
}

interface Frame {
  array: boolean;
  /** The element's index (arrays) or the last key read (objects). */
  index: number;
  key: string | undefined;
  /** Where the current element of an array starts (-1 before it does). */
  start: number;
}

/** The record of `records` whose text holds character `at`: its index and where its JSON starts and ends. */
function recordAt(text: string, at: number, body: unknown, records: readonly unknown[]): { index: number; start: number; end: number } | undefined {
  if (records.length === 1 && records[0] === body) {
    const start = text.search(/\S/);
    return { index: 0, start, end: valueEnd(text, start) };
  }
  const stack: Frame[] = [];
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) continue;
    const top = stack.at(-1);
    if (top?.array && top.start < 0 && c !== 0x5d) top.start = i;
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (top && !top.array && top.key === undefined) top.key = JSON.parse(text.slice(i, end + 1)) as string;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      stack.push({ array: c === 0x5b, index: 0, key: undefined, start: -1 });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c && top) {
      top.index++;
      top.start = -1;
      top.key = undefined;
    }
  }
  let value = body;
  for (const frame of stack) {
    if (frame.array && value === records && frame.start >= 0) return { index: frame.index, start: frame.start, end: valueEnd(text, frame.start) };
    if (value === null || typeof value !== 'object') return undefined;
    value = frame.array ? (value as unknown[])[frame.index] : (value as Record<string, unknown>)[frame.key ?? ''];
  }
  return undefined;
}

/** The end (exclusive) of the object or array starting at `start`. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
  }
  return text.length;
}

/** The index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  return text.length;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
