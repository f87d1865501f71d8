import { describe, expect, it } from 'vitest';
import { flagPairs, keyColumns, partitionFields } from './flag-values.js';

describe('flag values', () => {
  it('splits --key values at commas, beside several values and a repeated flag', () => {
    expect(['a,b'].reduce<string[] | undefined>((previous, value) => keyColumns(value, previous), undefined)).toEqual(['a', 'b']);
    expect(['a', 'b, c', 'd'].reduce<string[] | undefined>((previous, value) => keyColumns(value, previous), undefined)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('splits --partition-by values at the commas outside parentheses, as PARTITIONED BY lists fields', () => {
    const parse = (values: string[]) => values.reduce<string[] | undefined>((previous, value) => partitionFields(value, previous), undefined);
    expect(parse(['month(day), bucket(16, id)'])).toEqual(['month(day)', 'bucket(16, id)']);
    expect(parse(['truncate(4,name)', 'region,'])).toEqual(['truncate(4,name)', 'region']);
  });

  it('refuses a name=value flag naming one name twice with two values, and takes a repeat of the same value', () => {
    expect(flagPairs(['a=INT', 'b = DATE', 'a=INT'], '--type')).toEqual({ a: 'INT', b: 'DATE' });
    expect(() => flagPairs(['a=INT', 'a=VARCHAR'], '--type')).toThrow('--type names "a" twice, as a=INT and a=VARCHAR: give it once');
    expect(() => flagPairs(['Order Date=x', 'Order Date=y'], '--rename')).toThrow('--rename names "Order Date" twice, as Order Date=x and Order Date=y: give it once');
    expect(() => flagPairs(['=INT'], '--type', 'column=TYPE')).toThrow('--type "=INT" must look like column=TYPE');
  });
});
