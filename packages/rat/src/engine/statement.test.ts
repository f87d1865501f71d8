import { describe, expect, it } from 'vitest';
import { parseStatement } from './statement.js';

const namespaces = new Set(['bronze']);
const ident = { namespace: 'bronze', name: 't' };

describe('ALTER TABLE ... SET / UNSET TBLPROPERTIES', () => {
  it('reads keys as strings and values as strings or numbers, in order', () => {
    expect(parseStatement(`ALTER TABLE bronze.t SET TBLPROPERTIES ('write.parquet.compression-level' = 3, 'owner' = 'it''s us')`, namespaces)).toEqual({
      kind: 'alter',
      ident,
      action: { kind: 'setProperties', properties: { 'write.parquet.compression-level': '3', owner: "it's us" } },
    });
    expect(parseStatement(`alter table bronze.t unset tblproperties if exists ('a', 'b')`, namespaces)).toEqual({
      kind: 'alter',
      ident,
      action: { kind: 'unsetProperties', keys: ['a', 'b'], ifExists: true },
    });
  });

  it('names what is wrong: a missing list, a bare key, a missing value, text after the list', () => {
    expect(() => parseStatement(`ALTER TABLE bronze.t SET TBLPROPERTIES 'a' = 'b'`, namespaces)).toThrow(/expected \('key' = 'value', \.\.\.\) after ALTER TABLE bronze.t SET TBLPROPERTIES/);
    expect(() => parseStatement(`ALTER TABLE bronze.t UNSET TBLPROPERTIES (a)`, namespaces)).toThrow(/a key is a non-empty string in single quotes, not "a"/);
    expect(() => parseStatement(`ALTER TABLE bronze.t SET TBLPROPERTIES ('a' = )`, namespaces)).toThrow(/the value of 'a' is a string in single quotes or a number/);
    expect(() => parseStatement(`ALTER TABLE bronze.t SET TBLPROPERTIES ('a' = 'b' 'c' = 'd')`, namespaces)).toThrow(/expected , or \) in ALTER TABLE bronze.t SET TBLPROPERTIES/);
    expect(() => parseStatement(`ALTER TABLE bronze.t SET TBLPROPERTIES ('a' = 'b') CASCADE`, namespaces)).toThrow(/unexpected "CASCADE" after ALTER TABLE bronze.t SET TBLPROPERTIES/);
    expect(() => parseStatement(`ALTER TABLE bronze.t OWNER TO bob`, namespaces)).toThrow(/SET TBLPROPERTIES \('key' = 'value', \.\.\.\), UNSET TBLPROPERTIES/);
  });
});
