import { describe, expect, it } from 'vitest';
import { decodeBody, invalidUtf8Offset } from './response-text.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('response text', () => {
  it('finds the first byte that does not start well-formed UTF-8', () => {
    expect(invalidUtf8Offset(bytes('ok é € 😀'))).toBe(-1);
    expect(invalidUtf8Offset(bytes('ab', [0xe9], 'c'))).toBe(2); // latin1 é
    expect(invalidUtf8Offset(bytes('a', [0xc0, 0xaf]))).toBe(1); // overlong /
    expect(invalidUtf8Offset(bytes('a', [0xed, 0xa0, 0x80]))).toBe(1); // a UTF-16 surrogate
    expect(invalidUtf8Offset(bytes('a', [0xf4, 0x90, 0x80, 0x80]))).toBe(1); // beyond U+10FFFF
    expect(invalidUtf8Offset(bytes('abc', [0xe2, 0x82]))).toBe(3); // cut off
  });

  it('decodes the declared charset, a UTF-16 byte order mark, else UTF-8, and names what it cannot', () => {
    expect(decodeBody(Buffer.from('"Müller"', 'latin1'), 'application/json; charset="ISO-8859-1"')).toEqual({ text: '"Müller"' });
    expect(decodeBody(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('"é"', 'utf16le').swap16()]), 'application/json')).toEqual({ text: '"é"' });
    expect(decodeBody(bytes([0xef, 0xbb, 0xbf], '[1]'), 'application/json')).toEqual({ text: '[1]' });
    expect(decodeBody(bytes('[1]'), 'application/json; charset=klingon')).toMatchObject({ problem: 'declares charset "klingon", which rat cannot decode' });
    expect(decodeBody(bytes('"', [0xff], '"'), 'application/json; charset=utf-8')).toEqual({
      problem: 'is not valid UTF-8 at byte 1 (0xff)',
      advice: 'its content-type declares charset utf-8: the API sends another encoding than it says; ask its owner to send UTF-8 or to declare the charset it uses',
    });
  });
});
