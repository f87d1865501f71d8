import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroCursor, AvroDecodeError, compileDecoder, fieldKey, recordFieldKey } from './avro-decoder.js';

type Node = Record<string, unknown>;

/** Every Avro type, named references, nesting, a logical type and a field without an id. */
const schema = {
  type: 'record',
  name: 'r',
  namespace: 'test.ns',
  fields: [
    { name: 'b', type: 'boolean', 'field-id': 1 },
    { name: 'i', type: 'int', 'field-id': 2 },
    { name: 'l', type: 'long', 'field-id': 3 },
    { name: 'f', type: 'float', 'field-id': 4 },
    { name: 'd', type: 'double', 'field-id': 5 },
    { name: 'by', type: 'bytes', 'field-id': 6 },
    { name: 's', type: 'string', 'field-id': 7 },
    { name: 'fx', type: { type: 'fixed', name: 'F5', size: 5 }, 'field-id': 8 },
    { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B', 'C'] }, 'field-id': 9 },
    { name: 'arr', type: { type: 'array', items: 'int', 'element-id': 11 }, 'field-id': 10 },
    { name: 'm', type: { type: 'map', values: 'long' }, 'field-id': 12 },
    { name: 'u', type: ['null', 'string'], 'field-id': 13 },
    {
      name: 'n',
      type: {
        type: 'record',
        name: 'N',
        fields: [
          { name: 'x', type: 'int', 'field-id': 20 },
          { name: 'y', type: ['null', 'F5'], 'field-id': 21 },
        ],
      },
      'field-id': 14,
    },
    { name: 'recs', type: { type: 'array', items: 'test.ns.N' }, 'field-id': 15 },
    { name: 'day', type: { type: 'int', logicalType: 'date' }, 'field-id': 16 },
    { name: 'no_id', type: 'string' },
  ],
};

/** What our decoder must return for a value avsc decoded: fields keyed by id, bytes as Uint8Array. */
function keyed(node: unknown, value: unknown, named: Map<string, unknown>): unknown {
  if (typeof node === 'string') {
    const target = named.get(node.split('.').pop() ?? node);
    if (target !== undefined) return keyed(target, value, named);
    return Buffer.isBuffer(value) ? new Uint8Array(value) : value;
  }
  if (Array.isArray(node)) return value === null ? null : keyed(node.find((branch) => branch !== 'null'), value, named);
  const object = node as Node;
  if (typeof object.name === 'string') named.set(object.name, object);
  switch (object.type) {
    case 'record': {
      const out: Record<string, unknown> = {};
      (object.fields as Node[]).forEach((field, index) => {
        out[recordFieldKey(field, index)] = keyed(field.type, (value as Node)[field.name as string], named);
      });
      return out;
    }
    case 'array':
      return (value as unknown[]).map((item) => keyed(object.items, item, named));
    case 'map':
      return Object.fromEntries(Object.entries(value as Node).map(([key, item]) => [key, keyed(object.values, item, named)]));
    case 'fixed':
      return new Uint8Array(value as Buffer);
    default:
      return keyed(object.type, value, named);
  }
}

function zigzagVarint(value: bigint): Uint8Array {
  let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  do {
    let byte = Number(raw & 0x7fn);
    raw >>= 7n;
    if (raw > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (raw > 0n);
  return Uint8Array.from(bytes);
}

function decodeError(bytes: Uint8Array, node: unknown): string {
  try {
    compileDecoder(node).read(new AvroCursor(bytes));
  } catch (error) {
    expect(error).toBeInstanceOf(AvroDecodeError);
    return (error as Error).message;
  }
  throw new Error('expected a decode error');
}

describe('compileDecoder', () => {
  const type = avro.Type.forSchema(schema as avro.schema.AvroSchema, { wrapUnions: 'never' });
  const decoder = compileDecoder(schema);

  it('decodes 200 random values exactly as avsc does, keyed by field id', () => {
    for (let i = 0; i < 200; i += 1) {
      const value = type.random();
      const cursor = new AvroCursor(type.toBuffer(value));
      const decoded = decoder.read(cursor);
      expect(cursor.remaining).toBe(0);
      expect(decoded).toEqual(keyed(schema, type.fromBuffer(type.toBuffer(value)), new Map()));
    }
  });

  it('keys fields by id, and by position without one', () => {
    const value = type.random() as unknown as Node;
    const decoded = decoder.read(new AvroCursor(type.toBuffer(value))) as Node;
    expect(decoded[fieldKey(7)]).toBe(value.s);
    expect(decoded.pos_15).toBe(value.no_id);
    expect(recordFieldKey({ name: 'x', 'field-id': -1 }, 0)).toBe('id_m1');
    expect(recordFieldKey({ name: 'x', 'field-id': '3' }, 4)).toBe('pos_4');
  });

  it('reads longs as number within 2^53 and as bigint beyond, across the whole 64-bit range', () => {
    const cases: [bigint, number | bigint][] = [
      [0n, 0],
      [-1n, -1],
      [63n, 63],
      [-64n, -64],
      [2n ** 49n, 2 ** 49],
      [2n ** 53n - 1n, Number.MAX_SAFE_INTEGER],
      [-(2n ** 53n) + 1n, Number.MIN_SAFE_INTEGER],
      [2n ** 53n, 2n ** 53n],
      [-(2n ** 53n), -(2n ** 53n)],
      [2n ** 63n - 1n, 2n ** 63n - 1n],
      [-(2n ** 63n), -(2n ** 63n)],
    ];
    for (const [value, expected] of cases) {
      const cursor = new AvroCursor(zigzagVarint(value));
      expect(cursor.long(), String(value)).toBe(expected);
      expect(cursor.remaining).toBe(0);
    }
  });

  it('fails fast and clearly on malformed data', () => {
    expect(decodeError(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'long')).toMatch(/longer than 10 bytes/);
    expect(decodeError(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 'long')).toMatch(/does not fit 64 bits/);
    expect(decodeError(Uint8Array.of(0x80), 'long')).toMatch(/needs 1 bytes/);
    expect(decodeError(zigzagVarint(2n ** 31n), 'int')).toMatch(/an int/);
    expect(decodeError(Uint8Array.of(2), 'boolean')).toMatch(/boolean/);
    expect(decodeError(Uint8Array.of(4, 0xc3, 0x28), 'string')).toMatch(/UTF-8/);
    expect(decodeError(Uint8Array.of(20, 1), 'bytes')).toMatch(/needs 10 bytes/);
    expect(decodeError(Uint8Array.of(4), ['null', 'int'])).toMatch(/branch 2/);
    expect(decodeError(Uint8Array.of(6), { type: 'enum', name: 'E', symbols: ['A'] })).toMatch(/enum index 3/);
    // A huge count is refused before anything is allocated or looped over.
    expect(decodeError(Uint8Array.from([...zigzagVarint(10n ** 12n), 0]), { type: 'array', items: 'int' })).toMatch(/cannot fit/);
    expect(decodeError(Uint8Array.from([...zigzagVarint(10n ** 12n), 0]), { type: 'array', items: 'null' })).toMatch(/cannot fit/);
    expect(decodeError(Uint8Array.from([...zigzagVarint(10n ** 9n), 0]), { type: 'map', values: 'null' })).toMatch(/cannot fit/);
  });

  it('accepts negative block counts followed by a byte size', () => {
    // Two items in one block written as count -2, size 2, then the items, then 0.
    const bytes = Uint8Array.of(3, 4, 2, 4, 0);
    expect(compileDecoder({ type: 'array', items: 'int' }).read(new AvroCursor(bytes))).toEqual([1, 2]);
  });

  it('refuses bad schemas', () => {
    expect(() => compileDecoder('Missing')).toThrow(/undefined type "Missing"/);
    expect(() => compileDecoder({ type: 'fixed', name: 'F', size: -1 })).toThrow(AvroDecodeError);
    expect(() => compileDecoder({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', 'field-id': 1 }, { name: 'b', type: 'int', 'field-id': 1 }] })).toThrow(/two fields/);
    expect(() => compileDecoder(42)).toThrow(AvroDecodeError);
  });
});
