import { describe, expect, it } from 'vitest';
import { parseArrayText } from './postgres-array-text.js';

describe('PostgreSQL array text', () => {
  it('splits elements, unquoting and unescaping, with unquoted NULL as null and nested braces as nested arrays', () => {
    expect(parseArrayText('{}')).toEqual([]);
    expect(parseArrayText('{1,NULL,-3}')).toEqual(['1', null, '-3']);
    expect(parseArrayText('{"a,b","say \\"hi\\"","NULL","","back\\\\slash"}')).toEqual(['a,b', 'say "hi"', 'NULL', '', 'back\\slash']);
    expect(parseArrayText('{"2024-01-02 10:00:00.123456+00"}')).toEqual(['2024-01-02 10:00:00.123456+00']);
    expect(parseArrayText('[0:1]={{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parseArrayText('{(0,0),(1,1);(2,2),(3,3)}', ';')).toEqual(['(0,0),(1,1)', '(2,2),(3,3)']);
  });

  it('names the array and the position of text it cannot read', () => {
    expect(() => parseArrayText('{"open')).toThrow('PostgreSQL array "{\\"open": an unterminated quoted element at character 7');
    expect(() => parseArrayText('{1} x')).toThrow('unexpected text after the array at character 5');
  });
});
