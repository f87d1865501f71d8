import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { checkPredicate, describePredicate, valueFitsType } from './predicate.js';

describe('describePredicate', () => {
  it('renders each predicate kind with its literals', () => {
    expect(describePredicate({ kind: 'compare', op: 'gte', fieldId: 3, value: 19000 })).toBe('field 3 >= 19000');
    expect(describePredicate({ kind: 'compare', op: 'neq', fieldId: 1, value: 5n })).toBe('field 1 != 5n');
    expect(describePredicate({ kind: 'in', fieldId: 2, values: ['a', null, new Uint8Array([1, 255])] })).toBe('field 2 IN ("a", NULL, 0x01ff)');
    expect(describePredicate({ kind: 'isNull', fieldId: 4 })).toBe('field 4 IS NULL');
    expect(describePredicate({ kind: 'notNull', fieldId: 4 })).toBe('field 4 IS NOT NULL');
    expect(describePredicate({ kind: 'isNan', fieldId: 7 })).toBe('field 7 IS NaN');
  });
});

describe('valueFitsType', () => {
  it('follows the IcebergValue convention of types.ts', () => {
    expect(valueFitsType('int', 5)).toBe(true);
    expect(valueFitsType('int', 5.5)).toBe(false);
    expect(valueFitsType('date', 19000)).toBe(true);
    expect(valueFitsType('long', 5n)).toBe(true);
    expect(valueFitsType('long', 5)).toBe(false);
    expect(valueFitsType('timestamptz', 1n)).toBe(true);
    expect(valueFitsType('decimal(8, 4)', 425630n)).toBe(true);
    expect(valueFitsType('decimal(8, 4)', 42.563)).toBe(false);
    expect(valueFitsType('double', Number.NaN)).toBe(true);
    expect(valueFitsType('string', 'x')).toBe(true);
    expect(valueFitsType('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7')).toBe(true);
    expect(valueFitsType('binary', new Uint8Array())).toBe(true);
    expect(valueFitsType('fixed[4]', new Uint8Array(4))).toBe(true);
    expect(valueFitsType('boolean', 'true')).toBe(false);
    expect(valueFitsType('string', null)).toBe(true);
  });
});

describe('checkPredicate', () => {
  it('accepts literals of the column type and null tests on any column', () => {
    expect(() => checkPredicate({ kind: 'in', fieldId: 1, values: [1n, null] }, 'long')).not.toThrow();
    expect(() => checkPredicate({ kind: 'isNull', fieldId: 1 }, 'binary')).not.toThrow();
  });

  it('rejects a literal of another form, naming the predicate and the value', () => {
    const check = () => checkPredicate({ kind: 'compare', op: 'lt', fieldId: 3, value: '2024-01-01' }, 'date');
    expect(check).toThrow(ValidationError);
    expect(check).toThrow('predicate field 3 < "2024-01-01" has a string literal "2024-01-01", which is not a date value');
  });

  it('rejects a comparison with NULL', () => {
    expect(() => checkPredicate({ kind: 'compare', op: 'eq', fieldId: 1, value: null }, 'int')).toThrow(/compares with NULL; use isNull or notNull/);
  });
});
