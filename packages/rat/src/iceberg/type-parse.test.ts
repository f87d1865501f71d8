import { describe, expect, it } from 'vitest';
import { decimalParams, fixedLength, formatPrimitiveType, isPrimitive, parsePrimitiveType, primitiveKind, promotionAllowed } from './type-parse.js';

describe('parsePrimitiveType', () => {
  it('reads every plain primitive name', () => {
    for (const name of ['boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz', 'timestamp_ns', 'timestamptz_ns', 'string', 'uuid', 'binary']) {
      expect(parsePrimitiveType(name)).toBe(name);
    }
  });

  it('accepts whitespace around parameters and canonicalizes decimals and fixed', () => {
    expect(parsePrimitiveType('decimal(9,2)')).toBe('decimal(9, 2)');
    expect(parsePrimitiveType('decimal(8, 4)')).toBe('decimal(8, 4)');
    expect(parsePrimitiveType(' decimal ( 38 ,0 ) ')).toBe('decimal(38, 0)');
    expect(parsePrimitiveType('fixed[16]')).toBe('fixed[16]');
    expect(parsePrimitiveType('fixed[ 3 ]')).toBe('fixed[3]');
    expect(parsePrimitiveType('LONG')).toBe('long');
  });

  it('rejects unknown and invalid types with INVALID_TYPE naming the text', () => {
    expect(() => parsePrimitiveType('varchar')).toThrow(expect.objectContaining({ code: 'INVALID_TYPE', message: 'unknown Iceberg type "varchar"' }));
    expect(() => parsePrimitiveType('decimal(39,2)')).toThrow(expect.objectContaining({ code: 'INVALID_TYPE', message: expect.stringContaining('precision 39') }));
    expect(() => parsePrimitiveType('fixed[0]')).toThrow(expect.objectContaining({ code: 'INVALID_TYPE' }));
    expect(() => parsePrimitiveType('variant')).toThrow(expect.objectContaining({ code: 'INVALID_TYPE' }));
  });
});

describe('type helpers', () => {
  it('formats, classifies and reads parameters', () => {
    expect(formatPrimitiveType('decimal(9,2)')).toBe('decimal(9, 2)');
    expect(isPrimitive('int')).toBe(true);
    expect(isPrimitive({ type: 'struct', fields: [] })).toBe(false);
    expect(primitiveKind('decimal(9, 2)')).toBe('decimal');
    expect(primitiveKind('fixed[4]')).toBe('fixed');
    expect(primitiveKind('timestamptz')).toBe('timestamptz');
    expect(decimalParams('decimal(9,2)')).toEqual({ precision: 9, scale: 2 });
    expect(fixedLength('fixed[16]')).toBe(16);
    expect(() => decimalParams('int')).toThrow(expect.objectContaining({ code: 'INVALID_TYPE' }));
  });
});

describe('promotionAllowed (spec "Schema Evolution", v1/v2)', () => {
  it('allows int->long, float->double and widening decimal precision', () => {
    expect(promotionAllowed('int', 'long')).toBe(true);
    expect(promotionAllowed('float', 'double')).toBe(true);
    expect(promotionAllowed('decimal(9, 2)', 'decimal(18,2)')).toBe(true);
    expect(promotionAllowed('decimal(9, 2)', 'decimal(9,2)')).toBe(true);
    expect(promotionAllowed('string', 'string')).toBe(true);
  });

  it('refuses everything else, including the v3-only date->timestamp', () => {
    expect(promotionAllowed('long', 'int')).toBe(false);
    expect(promotionAllowed('int', 'string')).toBe(false);
    expect(promotionAllowed('int', 'double')).toBe(false);
    expect(promotionAllowed('double', 'float')).toBe(false);
    expect(promotionAllowed('decimal(9, 2)', 'decimal(18, 3)')).toBe(false);
    expect(promotionAllowed('decimal(18, 2)', 'decimal(9, 2)')).toBe(false);
    expect(promotionAllowed('date', 'timestamp')).toBe(false);
    expect(promotionAllowed('fixed[4]', 'binary')).toBe(false);
  });
});
