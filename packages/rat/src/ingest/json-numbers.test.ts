import { describe, expect, it } from 'vitest';
import { LongRunScan, quoteInexactNumbers } from './json-numbers.js';

/** Whether LongRunScan finds a long number in `text` given in chunks of `cut` bytes. */
function found(text: string, cut: number): boolean {
  const bytes = Buffer.from(text, 'latin1');
  const scan = new LongRunScan();
  for (let at = 0; at < bytes.length; at += cut) scan.add(bytes.subarray(at, at + cut));
  return scan.found;
}

describe('LongRunScan', () => {
  it('finds a number of more than 17 significant digits wherever it lies and however the text is cut, and no shorter one', () => {
    const pad = 'x'.repeat(37);
    for (let cut = 1; cut <= 40; cut++) {
      expect(found(`${pad}{"v":1234567890123456789.0123456789}`, cut), `cut ${cut}`).toBe(true);
      expect(found(`${pad}{"v":-0.000123456789012345678}`, cut), `cut ${cut}`).toBe(true);
      // Doubles as JavaScript and Python write them, integers, dates: nothing to find.
      expect(found(`${pad}{"v":0.30000000000000004,"w":-0.00012345678901234567,"i":123456789012345678901,"d":"2024-01-01-2024-02-02"}`, cut), `cut ${cut}`).toBe(false);
    }
  });
});

describe('LongRunScan inside strings', () => {
  it('passes over digits and e inside a string (hex digests), however the text is cut, and still finds a number after a colon, comma or bracket', () => {
    // An MD5 digest repeated: runs of digits and e of 18 and more characters, no number among them.
    const digest = 'c4ca4238a0b923820dcc509a6f75849b';
    const hexRuns = `{"id":1,"payload":"${'a123456789012345678901e5f'.repeat(3)}${digest.repeat(20)}"}`;
    for (let cut = 1; cut <= 40; cut++) {
      expect(found(hexRuns, cut), `cut ${cut}`).toBe(false);
      expect(found(`${hexRuns}\n{"v": 1234567890123456789.0123456789}`, cut), `cut ${cut}`).toBe(true);
      expect(found(`[0.5,\n  -0.000123456789012345678]`, cut), `cut ${cut}`).toBe(true);
      expect(found(`{"a":[1,2]}\n1234567890123456789e5`, cut), `cut ${cut}`).toBe(false);
      expect(found(`1234567890123456789e5`, cut), `cut ${cut}`).toBe(true);
    }
  });
});

describe('quoteInexactNumbers', () => {
  it('quotes the numbers whose double is another value, and leaves strings, integers, doubles and infinities', () => {
    expect(quoteInexactNumbers('{"v":1234567890123456789.0123456789,"w":1e-400,"s":"1.23456789012345678901","i":12345678901234567890,"d":0.30000000000000004,"o":1e400}')).toBe(
      '{"v":"1234567890123456789.0123456789","w":"1e-400","s":"1.23456789012345678901","i":12345678901234567890,"d":0.30000000000000004,"o":1e400}',
    );
  });
});
