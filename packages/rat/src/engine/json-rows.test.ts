import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDb, openDuckDb } from './duckdb.js';
import { rowNormalizer } from './json-rows.js';

describe('rowNormalizer', () => {
  let duck: DuckDb;
  beforeAll(async () => {
    duck = await openDuckDb({ threads: 1 });
  });
  afterAll(() => duck.close());

  async function rows(sql: string) {
    const result = await duck.connection.run(sql);
    return rowNormalizer(result.columnTypes())(await result.getRowsJson());
  }

  it('turns 64-bit and wider integers that fit a double into numbers, at any depth, and leaves the rest', async () => {
    const [row] = await rows(`SELECT
      5::BIGINT AS b, 9007199254740993::BIGINT AS big, 3::UBIGINT AS ub, -7::HUGEINT AS h,
      [1::BIGINT, NULL, 9007199254740993] AS l, [[1::BIGINT]] AS ll, [1::BIGINT, 2]::BIGINT[2] AS arr,
      {'a': '5', 'b': 7::HUGEINT, 'c': [8::BIGINT]} AS s,
      MAP {1::BIGINT: [2::BIGINT], 9007199254740993: []} AS m, MAP {'k': '6'} AS mv,
      union_value(k := 5::BIGINT)::UNION(k BIGINT, t VARCHAR) AS u, union_value(t := '5')::UNION(k BIGINT, t VARCHAR) AS ut,
      ['5', '6'] AS texts, 1.5::DECIMAL(5,2) AS d, NULL::BIGINT[] AS nl`);
    expect(row).toEqual([
      5, '9007199254740993', 3, -7,
      [1, null, '9007199254740993'], [[1]], [1, 2],
      { a: '5', b: 7, c: [8] },
      [{ key: 1, value: [2] }, { key: '9007199254740993', value: [] }], [{ key: 'k', value: '6' }],
      { tag: 'k', value: 5 }, { tag: 't', value: '5' },
      ['5', '6'], '1.50', null,
    ]);
  });
});
