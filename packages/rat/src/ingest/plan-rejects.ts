import { DuckDBTypeId } from '@duckdb/node-api';
import { type DuckDb, quoteIdent } from '../engine/duckdb.js';
import { locatedTable, MAX_LOCATED } from './csv-guard.js';
import type { RecordCheck } from './csv-records.js';
import { ORDINAL_COLUMN, type StagedFile } from './staged-file.js';

/** The rows a conversion plan quarantines (a value the table's column cannot take, a NULL in a required column). */
export interface PlanRejects {
  count: number;
  /** SELECT line, reason, raw of every such row. */
  sql: string;
  /** The same rows in parts by how their `raw` is written: the file's own text (`file`), or the row as a JSON object (`json`). */
  parts: { sql: string; raw: 'file' | 'json' }[];
}

/**
 * Collects the rows `badRowsSql` (schema-plan.ts) finds. A CSV file's rows carry no line, only their
 * position in the read (StagedFile.hasOrdinal): those rows are held in a temp table, looked up in the
 * file (csv-records.ts), each checked against the text values it holds, and given their line and
 * raw text, as DuckDB's own rejects have. A row the file walk cannot vouch for keeps a NULL line and
 * its values as JSON, as before; so do rows past the first MAX_LOCATED.
 */
export async function collectPlanRejects(duck: DuckDb, staged: StagedFile, badRowsSql: string, table: string): Promise<PlanRejects> {
  if (staged.hasLine || !staged.hasOrdinal) {
    const [row] = await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM (${badRowsSql})`);
    const count = Number(row!.n);
    return { count, sql: badRowsSql, parts: count > 0 ? [{ sql: badRowsSql, raw: 'json' }] : [] };
  }
  const rows = quoteIdent(table);
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${rows} AS SELECT line, reason, raw, ord, false AS located FROM (${badRowsSql})`);
  const [row] = await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${rows}`);
  const count = Number(row!.n);
  const select = (where: string) => `SELECT line, reason, raw FROM ${rows}${where}`;
  if (count === 0) return { count, sql: select(''), parts: [] };
  if (staged.locate) {
    // Text columns hold the file's values exactly: each must match the located record's field.
    const texts = staged.columns.filter((c) => c.type.typeId === DuckDBTypeId.VARCHAR);
    const values = await duck.rows<Record<string, string | bigint | null>>(
      `SELECT p.ord AS __ord${texts.map((c, i) => `, s.${quoteIdent(c.name)} AS v${i}`).join('')}
       FROM (SELECT ord FROM ${rows} ORDER BY ord LIMIT ${MAX_LOCATED}) p JOIN ${quoteIdent(staged.relation)} s ON s.${ORDINAL_COLUMN} = p.ord`,
    );
    const checks: RecordCheck[] = values.flatMap((v) => {
      const ordinal = Number(v.__ord);
      const held = texts.flatMap((c, i) => (v[`v${i}`] === null ? [] : [{ ordinal, column: c.position - 1, value: String(v[`v${i}`]) }]));
      return held.length > 0 ? held : [{ ordinal }];
    });
    const located = await staged.locate(checks);
    if (located && located.size > 0) {
      const lines = `${table}_lines`;
      await locatedTable(duck, lines, located);
      try {
        await duck.run(`UPDATE ${rows} SET line = m.line, raw = m.raw, located = true FROM ${quoteIdent(lines)} m WHERE ${rows}.ord = m.ord`);
      } finally {
        await duck.run(`DROP TABLE IF EXISTS ${quoteIdent(lines)}`);
      }
    }
  }
  const parts: PlanRejects['parts'] = [];
  const [split] = await duck.rows<{ found: bigint }>(`SELECT count(*) FILTER (WHERE located) AS found FROM ${rows}`);
  const found = Number(split!.found);
  if (found > 0) parts.push({ sql: select(' WHERE located'), raw: 'file' });
  if (found < count) parts.push({ sql: select(' WHERE NOT located'), raw: 'json' });
  return { count, sql: select(''), parts };
}
