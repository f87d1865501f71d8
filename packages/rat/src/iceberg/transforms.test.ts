import { describe, expect, it } from 'vitest';
import { daysFromCivil } from './calendar.js';
import { murmur3Hash32 } from './murmur3.js';
import {
  applyTransform,
  bucketHash,
  parseTransform,
  partitionPathSegment,
  partitionValueToHumanString,
  transformIsOrderPreserving,
  transformParts,
  transformResultType,
  validateTransform,
} from './transforms.js';
import type { IcebergValue, PrimitiveType, Transform } from './types.js';

const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
/** 2017-11-16T22:31:08 UTC in micros since the epoch. */
const TS_MICROS = BigInt(daysFromCivil(2017, 11, 16)) * 86_400_000_000n + 81_068_000_000n;
const HOUR_MICROS = 3_600_000_000n;
const DAY_MICROS = 86_400_000_000n;

describe('bucket hashing: Appendix B test vectors', () => {
  const vectors: Array<[string, PrimitiveType, Exclude<IcebergValue, null>, number]> = [
    ['int 34', 'int', 34, 2017239379],
    ['long 34L', 'long', 34n, 2017239379],
    ['decimal 14.20', 'decimal(9, 2)', 1420n, -500754589],
    ['date 2017-11-16', 'date', daysFromCivil(2017, 11, 16), -653330422],
    ['time 22:31:08', 'time', 81_068_000_000n, -662762989],
    ['timestamp 2017-11-16T22:31:08', 'timestamp', TS_MICROS, -2047944441],
    ['timestamp 2017-11-16T22:31:08.000001', 'timestamp', TS_MICROS + 1n, -1207196810],
    ['timestamptz 2017-11-16T14:31:08-08:00', 'timestamptz', TS_MICROS, -2047944441],
    ['timestamptz 2017-11-16T14:31:08.000001-08:00', 'timestamptz', TS_MICROS + 1n, -1207196810],
    ['timestamp_ns 2017-11-16T22:31:08', 'timestamp_ns', TS_MICROS * 1000n, -2047944441],
    ['timestamp_ns 2017-11-16T22:31:08.000001001', 'timestamp_ns', TS_MICROS * 1000n + 1001n, -1207196810],
    ['timestamptz_ns 2017-11-16T14:31:08-08:00', 'timestamptz_ns', TS_MICROS * 1000n, -2047944441],
    ['timestamptz_ns 2017-11-16T14:31:08.000001001-08:00', 'timestamptz_ns', TS_MICROS * 1000n + 1001n, -1207196810],
    ['string iceberg', 'string', 'iceberg', 1210000089],
    ['uuid f79c3e09-677c-4bbd-a479-3f349cb785e7', 'uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 1488055340],
    ['fixed 00 01 02 03', 'fixed[4]', bytes('00010203'), -188683207],
    ['binary 00 01 02 03', 'binary', bytes('00010203'), -188683207],
  ];

  it.each(vectors)('%s hashes to %s', (_name, type, value, hash) => {
    expect(bucketHash(type, value)).toBe(hash);
  });

  it('matches the spec note that 34 and "34" hash differently', () => {
    expect(bucketHash('string', '34')).toBe(-427558391);
  });

  it('hashes bytes with Murmur3 x86_32, seed 0, including 1-3 byte tails', () => {
    expect(murmur3Hash32(new Uint8Array(0))).toBe(0);
    expect(murmur3Hash32(bytes('00010203'))).toBe(-188683207);
    expect(murmur3Hash32(new TextEncoder().encode('iceberg'))).toBe(1210000089);
    expect(murmur3Hash32(new TextEncoder().encode('34'))).toBe(-427558391);
  });

  it('buckets as (hash & Integer.MAX_VALUE) % N', () => {
    expect(applyTransform('bucket[16]', 'long', 34n)).toBe(2017239379 % 16);
    expect(applyTransform('bucket[16]', 'int', 34)).toBe(3);
    expect(applyTransform('bucket[2147483647]', 'long', 34n)).toBe(2017239379);
    expect(applyTransform('bucket[100]', 'decimal(9, 2)', 1420n)).toBe((-500754589 & 0x7fffffff) % 100);
    expect(applyTransform('bucket[16]', 'string', null)).toBeNull();
  });
});

describe('truncate: the spec examples', () => {
  it('truncates ints and longs with positive remainders', () => {
    expect(applyTransform('truncate[10]', 'int', 1)).toBe(0);
    expect(applyTransform('truncate[10]', 'int', -1)).toBe(-10);
    expect(applyTransform('truncate[10]', 'int', -10)).toBe(-10);
    expect(applyTransform('truncate[10]', 'int', 19)).toBe(10);
    expect(applyTransform('truncate[10]', 'long', 1n)).toBe(0n);
    expect(applyTransform('truncate[10]', 'long', -1n)).toBe(-10n);
  });

  it('truncates decimals on the unscaled value: W=50, 10.65 -> 10.50', () => {
    expect(applyTransform('truncate[50]', 'decimal(9, 2)', 1065n)).toBe(1050n);
    expect(applyTransform('truncate[50]', 'decimal(9, 2)', -1n)).toBe(-50n);
  });

  it('truncates strings to code points and binary to bytes', () => {
    expect(applyTransform('truncate[3]', 'string', 'iceberg')).toBe('ice');
    expect(applyTransform('truncate[2]', 'string', '😀😁😂')).toBe('😀😁');
    expect(applyTransform('truncate[3]', 'string', 'ab')).toBe('ab');
    expect(applyTransform('truncate[3]', 'binary', bytes('0102030405'))).toEqual(bytes('010203'));
  });
});

describe('year, month, day, hour', () => {
  const cases: Array<[string, PrimitiveType, IcebergValue, number, number, number, number | undefined]> = [
    ['epoch timestamp', 'timestamp', 0n, 0, 0, 0, 0],
    ['2017-11-16T22:31:08', 'timestamp', TS_MICROS, 47, 47 * 12 + 10, 17486, 17486 * 24 + 22],
    ['2017-11-16T22:31:08 as nanos', 'timestamp_ns', TS_MICROS * 1000n, 47, 574, 17486, 17486 * 24 + 22],
    ['1969-12-31T23:59:59.999999', 'timestamp', -1n, -1, -1, -1, -1],
    ['1969-12-31T23:59:59.999999999 as nanos', 'timestamptz_ns', -1n, -1, -1, -1, -1],
    ['1969-01-01T00:00:00', 'timestamptz', -365n * DAY_MICROS, -1, -12, -365, -365 * 24],
    ['1968-12-31T23:00:00', 'timestamp', -366n * DAY_MICROS + 23n * HOUR_MICROS, -2, -13, -366, -366 * 24 + 23],
    ['1900-03-01T00:00:00', 'timestamp', BigInt(daysFromCivil(1900, 3, 1)) * DAY_MICROS, -70, -70 * 12 + 2, daysFromCivil(1900, 3, 1), daysFromCivil(1900, 3, 1) * 24],
    ['date 2017-12-01', 'date', daysFromCivil(2017, 12, 1), 47, 575, 17501, undefined],
    ['date 1969-12-31', 'date', -1, -1, -1, -1, undefined],
    ['date 1969-01-01', 'date', -365, -1, -12, -365, undefined],
  ];

  it.each(cases)('%s', (_name, type, value, year, month, day, hour) => {
    expect(applyTransform('year', type, value)).toBe(year);
    expect(applyTransform('month', type, value)).toBe(month);
    expect(applyTransform('day', type, value)).toBe(day);
    if (hour !== undefined) expect(applyTransform('hour', type, value)).toBe(hour);
  });

  it('returns null for null and for void', () => {
    expect(applyTransform('year', 'date', null)).toBeNull();
    expect(applyTransform('void', 'string', 'x')).toBeNull();
    expect(applyTransform('identity', 'string', 'x')).toBe('x');
  });

  it('refuses a transform the source type does not support', () => {
    expect(() => applyTransform('hour', 'date', 1)).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => applyTransform('bucket[4]', 'double', 1)).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
  });
});

describe('parseTransform', () => {
  it('reads every transform and canonicalizes spelling', () => {
    for (const text of ['identity', 'year', 'month', 'day', 'hour', 'void', 'bucket[16]', 'truncate[4]']) expect(parseTransform(text)).toBe(text);
    expect(parseTransform(' Bucket[ 8 ] ')).toBe('bucket[8]');
    expect(parseTransform('DAY')).toBe('day');
  });

  it('rejects bucket[0] and unknown names, naming the text', () => {
    expect(() => parseTransform('bucket[0]')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('"bucket[0]"') }));
    expect(() => parseTransform('truncate[0]')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => parseTransform('bucket[99999999999]')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => parseTransform('zorder')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('"zorder"') }));
    expect(() => parseTransform('bucket')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => parseTransform('bucket[-1]')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
  });

  it('splits parameters', () => {
    expect(transformParts('bucket[16]')).toEqual({ name: 'bucket', param: 16 });
    expect(transformParts('day')).toEqual({ name: 'day' });
  });
});

describe('validateTransform', () => {
  it('accepts the spec source types', () => {
    const ok: Array<[Transform, PrimitiveType]> = [
      ['identity', 'double'],
      ['identity', 'boolean'],
      ['bucket[4]', 'uuid'],
      ['bucket[4]', 'decimal(9, 2)'],
      ['bucket[4]', 'fixed[3]'],
      ['truncate[4]', 'binary'],
      ['truncate[4]', 'decimal(9, 2)'],
      ['year', 'date'],
      ['day', 'timestamptz'],
      ['hour', 'timestamp_ns'],
      ['void', 'string'],
    ];
    for (const [transform, type] of ok) expect(() => validateTransform(transform, type, 'c')).not.toThrow();
  });

  it('names the transform, column, type and the allowed types', () => {
    expect(() => validateTransform('year', 'string', 'name')).toThrow(
      expect.objectContaining({
        code: 'INVALID_PARTITION',
        message: 'cannot partition by year(name): column "name" is string; year applies to date, timestamp, timestamptz, timestamp_ns, timestamptz_ns',
      }),
    );
    for (const type of ['float', 'double', 'boolean'] as const) {
      expect(() => validateTransform('bucket[16]', type, 'x')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining(`is ${type}; bucket applies to`) }));
    }
    expect(() => validateTransform('truncate[4]', 'date', 'd')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => validateTransform('truncate[4]', 'fixed[4]', 'd')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => validateTransform('hour', 'date', 'd')).toThrow(expect.objectContaining({ code: 'INVALID_PARTITION' }));
    expect(() => validateTransform('identity', { type: 'struct', fields: [] }, 's')).toThrow(
      expect.objectContaining({ code: 'INVALID_PARTITION', message: expect.stringContaining('column "s" is struct') }),
    );
  });
});

describe('result types and order', () => {
  it('gives the spec result types', () => {
    expect(transformResultType('identity', 'string')).toBe('string');
    expect(transformResultType('bucket[4]', 'string')).toBe('int');
    expect(transformResultType('year', 'timestamp')).toBe('int');
    expect(transformResultType('month', 'date')).toBe('int');
    expect(transformResultType('hour', 'timestamptz')).toBe('int');
    expect(transformResultType('day', 'timestamp')).toBe('date');
    expect(transformResultType('truncate[2]', 'decimal(9, 2)')).toBe('decimal(9, 2)');
    expect(transformResultType('void', 'long')).toBe('long');
  });

  it('marks which transforms preserve order', () => {
    for (const t of ['identity', 'year', 'month', 'day', 'hour', 'truncate[3]'] as const) expect(transformIsOrderPreserving(t)).toBe(true);
    expect(transformIsOrderPreserving('bucket[3]')).toBe(false);
    expect(transformIsOrderPreserving('void')).toBe(false);
  });
});

describe('partition paths', () => {
  const field = (name: string, transform: Transform) => ({ sourceId: 1, fieldId: 1000, name, transform });

  it('writes the spec human strings for time transforms, also before 1970', () => {
    expect(partitionValueToHumanString('year', 'int', 54)).toBe('2024');
    expect(partitionValueToHumanString('month', 'int', 54 * 12 + 2)).toBe('2024-03');
    expect(partitionValueToHumanString('day', 'date', daysFromCivil(2024, 3, 1))).toBe('2024-03-01');
    expect(partitionValueToHumanString('hour', 'int', daysFromCivil(2024, 3, 1) * 24 + 13)).toBe('2024-03-01-13');
    expect(partitionValueToHumanString('year', 'int', -1)).toBe('1969');
    expect(partitionValueToHumanString('month', 'int', -1)).toBe('1969-12');
    expect(partitionValueToHumanString('hour', 'int', -1)).toBe('1969-12-31-23');
  });

  it('matches the directories other engines wrote in the reference tables', () => {
    const ts = BigInt(daysFromCivil(2023, 8, 22)) * DAY_MICROS + (9n * 3600n + 15n * 60n + 20n) * 1_000_000n;
    expect(partitionPathSegment(field('partition_col', 'identity'), 'timestamp', ts)).toBe('partition_col=2023-08-22T09%3A15%3A20');
    expect(partitionPathSegment(field('partition_col', 'identity'), 'decimal(8, 4)', 425630n)).toBe('partition_col=42.5630');
    expect(partitionPathSegment(field('part', 'identity'), 'long', 1n)).toBe('part=1');
    expect(partitionPathSegment(field('name', 'identity'), 'string', 'b')).toBe('name=b');
  });

  it('url-encodes names and values and writes null as null', () => {
    expect(partitionPathSegment(field('my col', 'identity'), 'string', 'a b/c=d!')).toBe('my+col=a+b%2Fc%3Dd%21');
    expect(partitionPathSegment(field('x', 'identity'), 'string', null)).toBe('x=null');
    expect(partitionPathSegment(field('ts_day', 'day'), 'date', daysFromCivil(2024, 3, 1))).toBe('ts_day=2024-03-01');
    expect(partitionPathSegment(field('ts_hour', 'hour'), 'int', 0)).toBe('ts_hour=1970-01-01-00');
    expect(partitionPathSegment(field('id_bucket', 'bucket[16]'), 'int', 3)).toBe('id_bucket=3');
    expect(partitionPathSegment(field('ts', 'identity'), 'timestamptz', 1n)).toBe('ts=1970-01-01T00%3A00%3A00.000001%2B00%3A00');
    expect(partitionPathSegment(field('b', 'identity'), 'binary', bytes('fbff'))).toBe('b=%2B%2F8%3D');
    expect(partitionPathSegment(field('d', 'identity'), 'date', -1)).toBe('d=1969-12-31');
  });
});
