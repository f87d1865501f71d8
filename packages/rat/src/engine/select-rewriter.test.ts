import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DuckDb, openDuckDb } from './duckdb.js';
import { type ResolvedRead, rewriteSelect, type TableRead } from './select-rewriter.js';

/**
 * The SQL text rewriteSelect produces: each pruned or time-travel read of a catalog table becomes a
 * subquery at the place of `ns.table [AT (...)]`, keeping the user's alias (or naming it after the table).
 */

let db: DuckDb;

beforeAll(async () => {
  db = await openDuckDb({ threads: 1 });
});

afterAll(() => db?.close());

async function rewrite(sql: string): Promise<{ sql: string | undefined; reads: TableRead[]; views: number }> {
  const reads: TableRead[] = [];
  let views = 0;
  const out = await rewriteSelect(db, sql, new Set(['ns']), async (read): Promise<ResolvedRead | undefined> => {
    reads.push(read);
    if (read.filters.length === 0 && !read.at) return undefined;
    return {
      sql: `SCAN_${reads.length}`,
      view: async () => {
        views++;
        return { schema: '__rat', table: `v${reads.length}` };
      },
    };
  });
  return { sql: out, reads, views };
}

describe('rewriteSelect splices the planned scan into the SQL text', () => {
  it('without an alias the subquery is named after the table', async () => {
    const out = await rewrite('SELECT t.x, count(*) FROM ns.t WHERE t.x > 1 GROUP BY 1');
    expect(out.sql).toBe('SELECT t.x, count(*) FROM (SCAN_1) AS "t" WHERE t.x > 1 GROUP BY 1');
    expect(out.reads).toEqual([{ namespace: 'ns', table: 't', filters: [{ kind: 'compare', column: 'x', op: 'gt', literal: { kind: 'int', value: 1n } }] }]);
    expect(out.views).toBe(0);
  });

  it("keeps the user's alias, with or without AS, quoted names and mixed case", async () => {
    expect((await rewrite('SELECT a.x FROM ns.t AS a WHERE a.x = 2')).sql).toBe('SELECT a.x FROM (SCAN_1) AS a WHERE a.x = 2');
    expect((await rewrite('SELECT a.x FROM ns.t a WHERE a.x = 2')).sql).toBe('SELECT a.x FROM (SCAN_1) a WHERE a.x = 2');
    expect((await rewrite('SELECT * FROM "ns"."T" WHERE x = 2')).sql).toBe('SELECT * FROM (SCAN_1) AS "T" WHERE x = 2');
    expect((await rewrite('SELECT * FROM NS . t /* c */ WHERE x = 2')).sql).toBe('SELECT * FROM (SCAN_1) AS "t" /* c */ WHERE x = 2');
  });

  it('removes the AT clause, after the alias and its column list too', async () => {
    const at = await rewrite('SELECT a.x FROM ns.t a AT (VERSION => 1) WHERE a.x > 0');
    expect(at.sql).toBe('SELECT a.x FROM (SCAN_1) a  WHERE a.x > 0');
    expect(at.reads[0]!.at).toEqual({ kind: 'version', value: 1n });
    expect((await rewrite('SELECT * FROM ns.t AT (VERSION => 1)')).sql).toBe('SELECT * FROM (SCAN_1) AS "t" ');
    expect((await rewrite("SELECT y FROM ns.t AS a(y) AT (VERSION => 'main')")).sql).toBe('SELECT y FROM (SCAN_1) AS a(y) ');
  });

  it('a self-join gets one subquery per reference, each with its own filters', async () => {
    const out = await rewrite('SELECT * FROM ns.t a JOIN ns.t b ON a.k = b.k WHERE a.x < 3 AND b.x > 7');
    expect(out.sql).toBe('SELECT * FROM (SCAN_1) a JOIN (SCAN_2) b ON a.k = b.k WHERE a.x < 3 AND b.x > 7');
    expect(out.reads.map((r) => r.filters.map((f) => f.kind === 'compare' && f.op))).toEqual([['lt'], ['gt']]);
  });

  it('CTEs, subqueries and text before the reference that is not ASCII', async () => {
    const out = await rewrite("WITH c AS (SELECT x FROM ns.t WHERE x > 5) SELECT 'é€😀' AS s FROM c WHERE x IN (SELECT x FROM ns.u WHERE x = 6)");
    expect(out.sql).toBe("WITH c AS (SELECT x FROM (SCAN_1) AS \"t\" WHERE x > 5) SELECT 'é€😀' AS s FROM c WHERE x IN (SELECT x FROM (SCAN_2) AS \"u\" WHERE x = 6)");
    const derived = await rewrite("SELECT '😀', n FROM (SELECT count(*) AS n FROM ns.t WHERE x = 1) q");
    expect(derived.sql).toBe("SELECT '😀', n FROM (SELECT count(*) AS n FROM (SCAN_1) AS \"t\" WHERE x = 1) q");
  });

  it('leaves references without filters or AT clause, other catalogs and non-SELECTs alone', async () => {
    expect((await rewrite('SELECT * FROM ns.t JOIN ns.u ON t.k = u.k WHERE u.x = 1')).sql).toBe('SELECT * FROM ns.t JOIN (SCAN_2) AS "u" ON t.k = u.k WHERE u.x = 1');
    expect((await rewrite('SELECT * FROM db.ns.t WHERE x = 1')).sql).toBe('SELECT * FROM db.ns.t WHERE x = 1');
    expect((await rewrite('DELETE FROM ns.t WHERE x = 1')).sql).toBeUndefined();
  });
});
