import { describe, expect, it } from 'vitest';
import type { IcebergValue, PrimitiveType } from './types.js';
import {
  compareBytes,
  compareUtf8,
  compareValues,
  decodeValue,
  encodeValue,
  formatDecimal,
  minimalTwosComplement,
  parseDecimal,
  valueFromJson,
  valueToJson,
} from './values.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const TS = 1_510_871_468_123_456n; // 2017-11-16T22:31:08.123456

describe('binary single-value serialization (Appendix D)', () => {
  const cases: Array<[PrimitiveType, IcebergValue, string]> = [
    ['boolean', true, '01'],
    ['boolean', false, '00'],
    ['int', 34, '22000000'],
    ['int', -1, 'ffffffff'],
    ['long', 34n, '2200000000000000'],
    ['long', -(1n << 63n), '0000000000000080'],
    ['float', 1, '0000803f'],
    ['double', 1, '000000000000f03f'],
    ['date', 17486, '4e440000'],
    ['time', 81_068_123_456n, '406509e012000000'],
    ['timestamp', TS, '40a5282d215e0500'],
    ['timestamptz', TS, '40a5282d215e0500'],
    ['timestamp_ns', 1_510_871_468_123_456_789n, '1585c56698b1f714'],
    ['string', 'iceberg', '69636562657267'],
    ['string', 'é', 'c3a9'],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09677c4bbda4793f349cb785e7'],
    ['fixed[4]', bytes('00010203'), '00010203'],
    ['binary', bytes('00010203'), '00010203'],
    ['decimal(9, 2)', 1420n, '058c'],
    ['decimal(9, 2)', 0n, '00'],
    ['decimal(9, 2)', -1n, 'ff'],
    ['decimal(9, 2)', 127n, '7f'],
    ['decimal(9, 2)', 128n, '0080'],
    ['decimal(9, 2)', -128n, '80'],
    ['decimal(9, 2)', -129n, 'ff7f'],
    ['decimal(38, 0)', 10n ** 37n, '0785ee10d5da46d900f436a000000000'],
  ];

  it.each(cases)('%s %s <-> %s', (type, value, expected) => {
    expect(hex(encodeValue(type, value))).toBe(expected);
    expect(decodeValue(type, bytes(expected))).toEqual(value);
  });

  it('accepts numbers for 64-bit types and bigints for 32-bit types when exact', () => {
    expect(hex(encodeValue('long', 34))).toBe('2200000000000000');
    expect(hex(encodeValue('int', 34n))).toBe('22000000');
  });

  it('decodes bounds written before a type promotion (spec "Schema Evolution")', () => {
    expect(decodeValue('long', bytes('22000000'))).toBe(34n);
    expect(decodeValue('double', bytes('0000803f'))).toBe(1);
    expect(decodeValue('double', bytes('cdcccc3d'))).toBeCloseTo(0.1, 6);
    expect(decodeValue('timestamp', bytes('4e440000'))).toBe(17486n * 86_400_000_000n);
    expect(decodeValue('timestamp_ns', bytes('4e440000'))).toBe(17486n * 86_400_000_000_000n);
    expect(decodeValue('int', bytes('2200000000000000'))).toBe(34);
    expect(decodeValue('decimal(18, 2)', bytes('058c'))).toBe(1420n);
  });

  it('rejects values of the wrong shape with TYPE_MISMATCH', () => {
    expect(() => encodeValue('int', 'x')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeValue('int', 2 ** 31)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeValue('long', 1.5)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeValue('decimal(4, 2)', 10000n)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', message: expect.stringContaining('decimal(4, 2)') }));
    expect(() => encodeValue('uuid', 'not-a-uuid')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => encodeValue('string', null)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => decodeValue('int', bytes('010203'))).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', message: 'cannot decode 3 bytes as int: expected 4 bytes' }));
    expect(() => decodeValue('int', bytes('0000000001000000'))).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => decodeValue('string', bytes('61e4'))).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', message: expect.stringContaining('UTF-8') }));
    expect(() => decodeValue('uuid', bytes('00'))).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });

  it('returns copies, never views of the input', () => {
    const input = bytes('000102');
    const decoded = decodeValue('binary', input) as Uint8Array;
    input[0] = 9;
    expect(hex(decoded)).toBe('000102');
  });

  it('writes the minimal two\'s complement for decimals', () => {
    expect(hex(minimalTwosComplement(255n))).toBe('00ff');
    expect(hex(minimalTwosComplement(-256n))).toBe('ff00');
    expect(hex(minimalTwosComplement(32767n))).toBe('7fff');
    expect(hex(minimalTwosComplement(32768n))).toBe('008000');
  });
});

describe('compareValues (spec sort order)', () => {
  const sorted = (type: PrimitiveType, values: IcebergValue[]): IcebergValue[] => [...values].sort((a, b) => compareValues(type, a, b));

  it('orders signed integers, dates, timestamps and decimals', () => {
    expect(sorted('int', [3, -2, 0, null])).toEqual([null, -2, 0, 3]);
    expect(sorted('long', [3n, -(1n << 63n), 0n, (1n << 63n) - 1n])).toEqual([-(1n << 63n), 0n, 3n, (1n << 63n) - 1n]);
    expect(compareValues('long', 5, 5n)).toBe(0);
    expect(compareValues('timestamp', -1n, 0n)).toBe(-1);
    expect(compareValues('decimal(9, 2)', -1420n, 15n)).toBe(-1);
    expect(compareValues('date', 17486, 17485)).toBe(1);
  });

  it('orders floats as -NaN < -Infinity < -1 < -0 < 0 < 1 < Infinity < NaN', () => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, 0xfff8000000000000n);
    const negativeNaN = view.getFloat64(0);
    const values = [NaN, 1, Infinity, -0, 0, -Infinity, -1, negativeNaN];
    const result = sorted('double', values) as number[];
    expect(result.map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)))).toEqual(['NaN', '-Infinity', '-1', '-0', '0', '1', 'Infinity', 'NaN']);
    view.setFloat64(0, result[0] as number);
    expect(view.getBigUint64(0) >> 63n).toBe(1n);
    expect(compareValues('float', -0, 0)).toBe(-1);
    expect(compareValues('float', NaN, Infinity)).toBe(1);
  });

  it('orders strings by UTF-8 bytes, not UTF-16 units', () => {
    // U+FFFD is one UTF-16 unit above the surrogate pair of U+1F600, but below it in UTF-8.
    expect('\uFFFD' > '😀').toBe(true);
    expect(compareValues('string', '\uFFFD', '😀')).toBe(-1);
    expect(compareUtf8('😀', '\uFFFD')).toBe(1);
    expect(compareUtf8('abc', 'abd')).toBe(-1);
    expect(compareUtf8('ab', 'abc')).toBe(-1);
    expect(compareUtf8('é', 'z')).toBe(1);
    const samples = ['z', '\uE000', '😀', 'a', '\uFFFF', '\u0800', 'é', ''];
    const byUtf8 = [...samples].sort((a, b) => compareBytes(new TextEncoder().encode(a), new TextEncoder().encode(b)));
    expect([...samples].sort(compareUtf8)).toEqual(byUtf8);
  });

  it('orders binary, fixed and uuid as unsigned bytes', () => {
    expect(compareValues('binary', bytes('7f'), bytes('80'))).toBe(-1);
    expect(compareValues('binary', bytes('ff'), bytes('ff00'))).toBe(-1);
    expect(compareValues('fixed[2]', bytes('0100'), bytes('00ff'))).toBe(1);
    expect(compareValues('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7', '079c3e09-677c-4bbd-a479-3f349cb785e7')).toBe(1);
    expect(compareValues('boolean', false, true)).toBe(-1);
  });

  it('rejects values that do not match the type', () => {
    expect(() => compareValues('string', 'a', 1)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });
});

describe('JSON single-value serialization (Appendix D)', () => {
  const cases: Array<[PrimitiveType, IcebergValue, unknown]> = [
    ['boolean', true, true],
    ['int', 34, 34],
    ['long', 34n, 34],
    ['long', 1n << 60n, 1n << 60n],
    ['float', 1, 1],
    ['double', 1.5, 1.5],
    ['decimal(9, 2)', 1420n, '14.20'],
    ['decimal(9, 2)', -5n, '-0.05'],
    ['decimal(21, 0)', 2n * 10n ** 20n, '200000000000000000000'],
    ['date', 17486, '2017-11-16'],
    ['time', 81_068_123_456n, '22:31:08.123456'],
    ['timestamp', TS, '2017-11-16T22:31:08.123456'],
    ['timestamptz', TS, '2017-11-16T22:31:08.123456+00:00'],
    ['timestamp_ns', 1_510_871_468_123_456_789n, '2017-11-16T22:31:08.123456789'],
    ['timestamptz_ns', 1_510_871_468_123_456_789n, '2017-11-16T22:31:08.123456789+00:00'],
    ['string', 'iceberg', 'iceberg'],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'],
    ['fixed[4]', bytes('000102ff'), '000102ff'],
    ['binary', bytes('000102ff'), '000102ff'],
    ['string', null, null],
  ];

  it.each(cases)('%s %s <-> %s', (type, value, json) => {
    expect(valueToJson(type, value)).toEqual(json);
    expect(valueFromJson(type, json)).toEqual(value);
  });

  it('reads the other spellings the spec and writers use', () => {
    expect(valueFromJson('decimal(21, 0)', '2E+20')).toBe(2n * 10n ** 20n);
    expect(valueFromJson('decimal(9, 2)', '14.2')).toBe(1420n);
    expect(valueFromJson('decimal(9, 2)', 14.2)).toBe(1420n);
    expect(valueFromJson('timestamptz', '2017-11-16T14:31:08.123456-08:00')).toBe(TS);
    expect(valueFromJson('timestamptz', '2017-11-16T22:31:08.123456Z')).toBe(TS);
    expect(valueFromJson('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7')).toBe('f79c3e09-677c-4bbd-a479-3f349cb785e7');
    expect(valueFromJson('long', 9007199254740993n)).toBe(9007199254740993n);
  });

  it('rejects JSON that does not fit the type, naming the value and type', () => {
    expect(() => valueFromJson('decimal(9, 2)', '14.205')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', message: expect.stringContaining('"14.205"') }));
    expect(() => valueFromJson('decimal(4, 2)', '123.45')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueFromJson('int', 2 ** 31)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueFromJson('date', '2017-02-30')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH', message: expect.stringContaining('date') }));
    expect(() => valueFromJson('timestamp', '2017-11-16T22:31:08+00:00')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueFromJson('fixed[4]', '0001')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueFromJson('binary', '0g')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueFromJson('boolean', 'true')).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
    expect(() => valueToJson('double', NaN)).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }));
  });

  it('formats and parses decimal text exactly', () => {
    expect(formatDecimal(1n, 4)).toBe('0.0001');
    expect(formatDecimal(-12345n, 2)).toBe('-123.45');
    expect(formatDecimal(7n, 0)).toBe('7');
    expect(parseDecimal('1.5e1', 0)).toBe(15n);
    expect(parseDecimal('.5', 1)).toBe(5n);
    expect(parseDecimal('0.05', 1)).toBeUndefined();
    expect(parseDecimal('abc', 1)).toBeUndefined();
  });
});
