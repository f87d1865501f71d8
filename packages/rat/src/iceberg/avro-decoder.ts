/**
 * Avro binary decoding (Avro 1.11 spec "Binary Encoding") driven by a writer schema, for files
 * that may come from any engine or be corrupt. Two differences from a general-purpose decoder:
 *
 * - record fields are keyed by Iceberg field id (`recordFieldKey`), not by name, so readers
 *   resolve fields by id (spec Appendix A "Avro", "Field IDs") and any writer's names work;
 * - every length and item count is checked against the bytes left, so corrupt input fails fast
 *   instead of allocating or looping on a huge count (avsc trusts counts).
 *
 * Longs decode to number when within ±(2^53 - 1) and to bigint beyond. Logical types are not
 * applied (a date is its int, a decimal its bytes); callers interpret them by the schema.
 */

/** A decoding failure; the container reader turns it into METADATA_CORRUPT naming the file. */
export class AvroDecodeError extends Error {}

export type AvroDatumReader = (cursor: AvroCursor) => unknown;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Items of zero encoded size (null, empty record) cannot be bounded by the bytes left. */
const MAX_ZERO_SIZE_ITEMS = 1_000_000;

export class AvroCursor {
  pos = 0;
  /** A plain Uint8Array view even when given a Buffer, so `slice` copies (Buffer's does not). */
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(count: number, what: string): void {
    if (count > this.remaining) throw new AvroDecodeError(`${what} needs ${count} bytes at offset ${this.pos}, ${this.remaining} left`);
  }

  /** Zig-zag varint of at most 10 bytes (64 bits). */
  long(): number | bigint {
    let raw = 0;
    let multiplier = 1;
    for (let i = 0; i < 7; i += 1) {
      this.need(1, 'a long');
      const byte = this.bytes[this.pos++] ?? 0;
      raw += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      multiplier *= 128;
    }
    // More than 49 bits: finish in bigint.
    let big = BigInt(raw);
    let shift = 49n;
    for (;;) {
      this.need(1, 'a long');
      const byte = this.bytes[this.pos++] ?? 0;
      big |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new AvroDecodeError(`a long at offset ${this.pos} is longer than 10 bytes`);
    }
    if (big >= 1n << 64n) throw new AvroDecodeError(`a long at offset ${this.pos} does not fit 64 bits`);
    const value = (big >> 1n) ^ -(big & 1n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  int(): number {
    const value = this.long();
    if (typeof value !== 'number' || value < -(2 ** 31) || value >= 2 ** 31) throw new AvroDecodeError(`an int at offset ${this.pos} is ${value}`);
    return value;
  }

  /** A count or length: a long that must be a number. */
  size(what: string): number {
    const value = this.long();
    if (typeof value !== 'number') throw new AvroDecodeError(`${what} at offset ${this.pos} is ${value}`);
    return value;
  }

  boolean(): boolean {
    this.need(1, 'a boolean');
    const byte = this.bytes[this.pos++];
    if (byte !== 0 && byte !== 1) throw new AvroDecodeError(`a boolean at offset ${this.pos - 1} is byte ${byte}`);
    return byte === 1;
  }

  float(): number {
    this.need(4, 'a float');
    const value = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return value;
  }

  double(): number {
    this.need(8, 'a double');
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  fixed(size: number): Uint8Array {
    this.need(size, 'a fixed or bytes value');
    const value = this.bytes.slice(this.pos, this.pos + size);
    this.pos += size;
    return value;
  }

  bytesValue(): Uint8Array {
    const length = this.size('a bytes length');
    if (length < 0) throw new AvroDecodeError(`a bytes length at offset ${this.pos} is ${length}`);
    return this.fixed(length);
  }

  string(): string {
    const length = this.size('a string length');
    if (length < 0) throw new AvroDecodeError(`a string length at offset ${this.pos} is ${length}`);
    this.need(length, 'a string');
    const start = this.pos;
    this.pos += length;
    try {
      return utf8.decode(this.bytes.subarray(start, start + length));
    } catch {
      throw new AvroDecodeError(`a string at offset ${start} is not valid UTF-8`);
    }
  }
}

/** The key of a record field in decoded records: by field id, or by position without one. */
export function recordFieldKey(field: unknown, index: number): string {
  const id = isObject(field) ? field['field-id'] : undefined;
  if (typeof id === 'number' && Number.isInteger(id)) return fieldKey(id);
  return `pos_${index}`;
}

/** The decoded-record key of the field with this Iceberg field id. */
export function fieldKey(fieldId: number): string {
  return fieldId < 0 ? `id_m${-fieldId}` : `id_${fieldId}`;
}

interface Compiled {
  read: AvroDatumReader;
  /** The fewest bytes one value takes, to bound item counts. */
  minSize: number;
}

interface Scope {
  named: Map<string, Compiled>;
  namespace: string | undefined;
}

const PRIMITIVES: Record<string, Compiled> = {
  null: { read: () => null, minSize: 0 },
  boolean: { read: (c) => c.boolean(), minSize: 1 },
  int: { read: (c) => c.int(), minSize: 1 },
  long: { read: (c) => c.long(), minSize: 1 },
  float: { read: (c) => c.float(), minSize: 4 },
  double: { read: (c) => c.double(), minSize: 8 },
  bytes: { read: (c) => c.bytesValue(), minSize: 1 },
  string: { read: (c) => c.string(), minSize: 1 },
};

/** Compiles a writer schema (parsed JSON) into a reader. Throws AvroDecodeError on a bad schema. */
export function compileDecoder(schema: unknown): { read: AvroDatumReader; minSize: number } {
  return compile(schema, { named: new Map(), namespace: undefined });
}

function compile(schema: unknown, scope: Scope): Compiled {
  if (typeof schema === 'string') return PRIMITIVES[schema] ?? lookup(schema, scope);
  if (Array.isArray(schema)) return compileUnion(schema, scope);
  if (!isObject(schema)) throw new AvroDecodeError(`schema node ${JSON.stringify(schema)} is not a type`);
  const type = schema.type;
  if (typeof type !== 'string') return compile(type, scope);
  switch (type) {
    case 'record':
    case 'error':
      return compileRecord(schema, scope);
    case 'enum': {
      const symbols = schema.symbols;
      if (!Array.isArray(symbols)) throw new AvroDecodeError(`enum ${String(schema.name)} has no symbols`);
      const compiled: Compiled = {
        read: (c) => {
          const index = c.int();
          if (index < 0 || index >= symbols.length) throw new AvroDecodeError(`enum index ${index} is out of range`);
          return symbols[index];
        },
        minSize: 1,
      };
      define(schema, compiled, scope);
      return compiled;
    }
    case 'fixed': {
      const size = schema.size;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw new AvroDecodeError(`fixed ${String(schema.name)} has size ${String(size)}`);
      const compiled: Compiled = { read: (c) => c.fixed(size), minSize: size };
      define(schema, compiled, scope);
      return compiled;
    }
    case 'array': {
      const items = compile(schema.items, scope);
      return { read: (c) => readBlocks(c, items.minSize, [] as unknown[], (out) => out.push(items.read(c))), minSize: 1 };
    }
    case 'map': {
      const values = compile(schema.values, scope);
      return {
        read: (c) => Object.fromEntries(readBlocks(c, values.minSize + 1, [] as [string, unknown][], (out) => out.push([c.string(), values.read(c)]))),
        minSize: 1,
      };
    }
    default: {
      // A primitive written as an object, e.g. {"type": "int", "logicalType": "date"}.
      const primitive = PRIMITIVES[type];
      if (primitive) return primitive;
      return lookup(type, scope);
    }
  }
}

function compileRecord(schema: Record<string, unknown>, scope: Scope): Compiled {
  if (!Array.isArray(schema.fields)) throw new AvroDecodeError(`record ${String(schema.name)} has no fields`);
  const fields: { key: string; reader: Compiled }[] = [];
  // Registered before its fields are compiled so a recursive reference resolves.
  const compiled: Compiled = {
    read: (c) => {
      const out: Record<string, unknown> = {};
      for (const field of fields) out[field.key] = field.reader.read(c);
      return out;
    },
    minSize: 0,
  };
  const inner = define(schema, compiled, scope);
  const keys = new Set<string>();
  schema.fields.forEach((field: unknown, index: number) => {
    if (!isObject(field)) throw new AvroDecodeError(`record ${String(schema.name)} field ${index} is not an object`);
    const key = recordFieldKey(field, index);
    if (keys.has(key)) throw new AvroDecodeError(`record ${String(schema.name)} has two fields with key ${key}`);
    keys.add(key);
    const reader = compile(field.type, inner);
    fields.push({ key, reader });
    compiled.minSize += reader.minSize;
  });
  return compiled;
}

function compileUnion(branches: unknown[], scope: Scope): Compiled {
  const compiled = branches.map((branch) => compile(branch, scope));
  return {
    read: (c) => {
      const index = c.int();
      const branch = compiled[index];
      if (!branch) throw new AvroDecodeError(`union branch ${index} does not exist (${compiled.length} branches)`);
      return branch.read(c);
    },
    minSize: 1,
  };
}

/** Array and map blocks: a count (negative: followed by a byte size), items, until count 0. */
function readBlocks<T>(c: AvroCursor, itemMinSize: number, out: T[], readItem: (out: T[]) => void): T[] {
  for (;;) {
    let count = c.size('a block count');
    if (count === 0) return out;
    if (count < 0) {
      count = -count;
      c.size('a block size');
    }
    const bound = itemMinSize > 0 ? c.remaining / itemMinSize : MAX_ZERO_SIZE_ITEMS - out.length;
    if (count > bound) throw new AvroDecodeError(`a block of ${count} items at offset ${c.pos} cannot fit the ${c.remaining} bytes left`);
    for (let i = 0; i < count; i += 1) readItem(out);
  }
}

/** Avro "Names": a name without a dot is qualified by the enclosing namespace. */
function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function define(schema: Record<string, unknown>, compiled: Compiled, scope: Scope): Scope {
  if (typeof schema.name !== 'string') return scope;
  const namespace = typeof schema.namespace === 'string' ? schema.namespace || undefined : scope.namespace;
  const name = fullName(schema.name, namespace);
  scope.named.set(name, compiled);
  const dot = name.lastIndexOf('.');
  return { named: scope.named, namespace: dot < 0 ? undefined : name.slice(0, dot) };
}

function lookup(name: string, scope: Scope): Compiled {
  const found = scope.named.get(fullName(name, scope.namespace)) ?? scope.named.get(name);
  if (!found) throw new AvroDecodeError(`schema refers to undefined type "${name}"`);
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
