import type pg from 'pg';
import { loadPg } from '../../core/drivers.js';
import type { ParsedRow } from '../ingest-options.js';
import { parseArrayText } from './postgres-array-text.js';
import { cursorParam, isSocketLost, KEEPALIVE_MS, sourceColumn, type SourceConnection, type SourceResult, tableArgument } from './source-connection.js';

/** PostgreSQL type OIDs (pg_type.oid; stable across versions) the mapping knows. */
const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

type Convert = (text: string) => unknown;

interface ColumnReader {
  type?: string;
  convert: Convert;
  /** Numbers that arrive as text (numeric): see SourceColumn.numeric. */
  numeric?: boolean;
  /** Bytes that arrive as hex text (bytea): see SourceColumn.binary. */
  binary?: boolean;
  /** See SourceColumn.cursorProblem. */
  cursorProblem?: (value: unknown) => string | undefined;
}

const asText: Convert = (text) => text;

/**
 * A date or timestamp before year 1 in DuckDB's spelling: PostgreSQL writes `0044-03-15 BC` (and
 * `0044-03-15 12:00:00+00 BC`), which DuckDB would read as the year 44 AD, ignoring the suffix;
 * DuckDB's own form is `0044-03-15 (BC) 12:00:00+00`. Both count 1 BC as the year before 1 AD.
 * https://www.postgresql.org/docs/current/datatype-datetime.html#DATATYPE-DATETIME-INPUT
 */
const beforeChrist: Convert = (text) => {
  const match = /^(\d+-\d\d-\d\d)(.*) BC$/.exec(text);
  return match ? `${match[1]} (BC)${match[2]}` : text;
};

/** A stored cursor of a date or timestamp BC back in PostgreSQL's spelling (it does not read DuckDB's `(BC)`). */
function postgresBeforeChrist(value: string): string {
  const match = /^(\d+-\d\d-\d\d) \(BC\)(.*)$/.exec(value);
  return match ? `${match[1]}${match[2]} BC` : value;
}

/** PostgreSQL's values above every number or time: as a stored cursor, no later row would be greater. */
const ABOVE_ALL = new Set(['NaN', 'Infinity', 'infinity']);

function aboveAll(value: unknown): string | undefined {
  return typeof value === 'string' && ABOVE_ALL.has(value) ? `PostgreSQL sorts ${value} after every other value` : undefined;
}

/** Every value arrives as PostgreSQL's text form; the readers turn it into exact values (never a lossy JS number). */
const rawText: pg.CustomTypesConfig = { getTypeParser: () => asText as (value: string) => unknown } as pg.CustomTypesConfig;

/**
 * The DuckDB type and value conversion for a column. Exactness first: int8 as bigint, numeric as its
 * decimal text into DECIMAL(p,s) (unconstrained numeric stays text: it has no fixed scale),
 * timestamps as text in UTC, bytea as hex text, arrays as JSON text.
 */
function columnReader(oid: number, modifier: number, category: string | undefined, element?: ArrayElement): ColumnReader {
  switch (oid) {
    case OID.bool:
      return { type: 'BOOLEAN', convert: (t) => t === 't' };
    case OID.int2:
    case OID.int4:
      // Iceberg's smallest integer is 32-bit.
      return { type: 'INTEGER', convert: Number };
    case OID.oid:
      return { type: 'BIGINT', convert: Number };
    case OID.int8:
      return { type: 'BIGINT', convert: (t) => BigInt(t) };
    case OID.float4:
      return { type: 'REAL', convert: asText, cursorProblem: aboveAll };
    case OID.float8:
      return { type: 'DOUBLE', convert: asText, cursorProblem: aboveAll };
    case OID.numeric: {
      // typmod = ((precision << 16) | scale) + 4; -1 when unconstrained.
      if (modifier < 4) return { type: 'VARCHAR', convert: asText, numeric: true, cursorProblem: aboveAll };
      const precision = ((modifier - 4) >> 16) & 0xffff;
      const scale = (modifier - 4) & 0xffff;
      return { type: precision <= 38 && scale <= precision ? `DECIMAL(${precision},${scale})` : 'VARCHAR', convert: asText, numeric: true, cursorProblem: aboveAll };
    }
    case OID.date:
      return { type: 'DATE', convert: beforeChrist, cursorProblem: aboveAll };
    case OID.time:
      return { type: 'TIME', convert: asText };
    case OID.timestamp:
      return { type: 'TIMESTAMP', convert: beforeChrist, cursorProblem: aboveAll };
    case OID.timestamptz:
      return { type: 'TIMESTAMPTZ', convert: beforeChrist, cursorProblem: aboveAll };
    case OID.uuid:
      return { type: 'UUID', convert: asText };
    case OID.bytea:
      return { type: 'VARCHAR', convert: (t) => (t.startsWith('\\x') ? t.slice(2) : t), binary: true };
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.name:
    case OID.char:
    case OID.json:
    case OID.jsonb:
      return { type: 'VARCHAR', convert: asText };
  }
  if (category === 'A' && element) return arrayReader(columnReader(element.oid, modifier, undefined), element.delimiter);
  // Enums, domains over text, inet, interval, money, geometric types...: their text form.
  return { type: 'VARCHAR', convert: asText };
}

/**
 * An array column as a list of its element type (date[] -> DATE[], numeric(10,2)[] -> DECIMAL(10,2)[]),
 * each element read from its own text form by the element's reader: exact, whatever the local time
 * zone. A column's typmod is its elements'. PostgreSQL does not fix an array's dimensions: a
 * multidimensional value stays its text form (`{{1,2},{3,4}}`), which no list takes, so its row goes
 * to the quarantine rather than into a list of NULLs.
 */
function arrayReader(element: ColumnReader, delimiter: string): ColumnReader {
  const convert = (text: string): unknown => {
    const items = parseArrayText(text, delimiter);
    if (items.some((item) => Array.isArray(item))) return text;
    return items.map((item) => (item === null ? null : element.convert(item as string)));
  };
  return { type: `${element.type ?? 'VARCHAR'}[]`, convert };
}

/** An array type's element type, and the character between elements in its text form (`,`; `;` for box). */
interface ArrayElement {
  oid: number;
  delimiter: string;
}

/** pg_type's category of each type the mapping does not know by OID, and for arrays their element type. */
async function describeTypes(client: pg.Client, oids: number[]): Promise<Map<number, { category: string; element?: ArrayElement }>> {
  const unknown = oids.filter((oid) => !(Object.values(OID) as number[]).includes(oid));
  const described = new Map<number, { category: string; element?: ArrayElement }>();
  if (unknown.length === 0) return described;
  const found = await client.query<{ oid: number; category: string; element: number; delimiter: string | null }>(
    `SELECT t.oid::int AS oid, t.typcategory AS category, t.typelem::int AS element, e.typdelim AS delimiter
       FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = ANY($1::oid[])`,
    [unknown],
  );
  for (const row of found.rows) {
    described.set(row.oid, { category: row.category, ...(row.element !== 0 ? { element: { oid: row.element, delimiter: row.delimiter ?? ',' } } : {}) });
  }
  return described;
}

const CURSOR = 'rat_source_cursor';
/** How long closing waits for the server before it drops the connection. */
const CLOSE_WAIT_MS = 5_000;

/**
 * A PostgreSQL source: one read-only REPEATABLE READ transaction (a consistent snapshot however
 * long the read takes) and a server-side cursor fetched `chunkSize` rows at a time.
 * https://www.postgresql.org/docs/current/sql-declare.html
 */
export async function connectPostgres(connectUrl: string): Promise<SourceConnection> {
  // Keepalive probes find a peer the network lost (a NAT or firewall that dropped the connection) in minutes, not hours.
  const client = new (loadPg().Client)({ connectionString: connectUrl, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: KEEPALIVE_MS, application_name: 'rat ingest-db' });
  // A dropped connection is also emitted as an event: without a listener it would end the process. One that
  // drops while no query runs (the backend terminated between two fetches) arrives only here, with the
  // server's reason; the next query then fails with pg's generic "not queryable": report the reason instead.
  let lost: Error | undefined;
  client.on('error', (error) => {
    lost ??= error;
  });
  const afterLoss = (error: unknown): never => {
    throw lost ?? error;
  };
  await client.connect();
  let inTransaction = false;
  let closed = false;
  const connection: SourceConnection = {
    quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
    // The parameter takes the type of the column it is compared with: a numeric cursor's text compares as that exact numeric.
    cursorValue: (cursor) => ({ sql: '$1', param: cursor.kind === 'string' && typeof cursor.value === 'string' ? postgresBeforeChrist(cursor.value) : cursorParam(cursor) }),
    async open(sql, params, chunkSize): Promise<SourceResult> {
      // Text forms the readers expect whatever the server's defaults: UTC offsets, ISO dates, hex bytea,
      // floats that read back to the same double (shortest exact form from PostgreSQL 12 on).
      await client.query(`SET TIME ZONE 'UTC'; SET DateStyle TO 'ISO, YMD'; SET bytea_output TO 'hex'; SET extra_float_digits TO 3`);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      inTransaction = true;
      await client.query({ text: `DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${sql}`, values: params });
      const fetch = () => client.query<unknown[]>({ text: `FETCH FORWARD ${chunkSize} FROM ${CURSOR}`, rowMode: 'array', types: rawText }).catch(afterLoss);
      const first = await fetch();
      const described = await describeTypes(client, first.fields.map((f) => f.dataTypeID));
      const readers = first.fields.map((f) => columnReader(f.dataTypeID, f.dataTypeModifier, described.get(f.dataTypeID)?.category, described.get(f.dataTypeID)?.element));
      const names = first.fields.map((f) => f.name);
      const columns = names.map((name, i) => sourceColumn(name, readers[i]!));
      const toRow = (values: unknown[]): ParsedRow => {
        const row: ParsedRow = {};
        for (let i = 0; i < names.length; i++) {
          const value = values[i];
          row[names[i]!] = value === null || value === undefined ? null : readers[i]!.convert(value as string);
        }
        return row;
      };
      async function* chunks(): AsyncGenerator<ParsedRow[]> {
        let batch = first.rows;
        for (;;) {
          if (batch.length > 0) yield batch.map(toRow);
          if (batch.length < chunkSize) break;
          batch = (await fetch()).rows;
        }
        await client.query('COMMIT').catch(afterLoss);
        inTransaction = false;
      }
      return { columns, chunks: chunks() };
    },
    async tablesLike(parts) {
      // The read that found no table aborted the transaction: end it first.
      if (inTransaction) await client.query('ROLLBACK');
      inTransaction = false;
      const found = await client.query<{ schema_name: string; table_name: string }>(
        `SELECT table_schema AS schema_name, table_name FROM information_schema.tables
          WHERE lower(table_name) = lower($1) AND ($2::text IS NULL OR lower(table_schema) = lower($2)) ORDER BY 1, 2 LIMIT 5`,
        [parts.at(-1), parts.length > 1 ? parts.at(-2) : null],
      );
      return found.rows.map((row) => tableArgument(row.schema_name, row.table_name));
    },
    async close() {
      if (closed) return;
      closed = true;
      const ending = (async () => {
        if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
        await client.end().catch(() => undefined);
      })();
      // A server that stopped answering never completes the goodbye (nor the fetch still waiting before it): drop the socket.
      let timer: NodeJS.Timeout | undefined;
      const abandon = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
          resolve();
        }, CLOSE_WAIT_MS);
      });
      await Promise.race([ending, abandon]);
      clearTimeout(timer);
    },
  };
  return connection;
}

/** PostgreSQL's "undefined_table" (42P01). */
export function isMissingPostgresTable(error: unknown): boolean {
  return (error as { code?: unknown }).code === '42P01';
}

/**
 * Whether the connection ended under a statement rather than the server refusing it: SQLSTATE class
 * 57P (the server shutting down or terminating the backend) or 08 (connection exception), a broken
 * socket, or pg's own errors for a connection that closed.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isPostgresConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('57P') || code.startsWith('08'))) return true;
  return isSocketLost(error) || /^(Connection terminated unexpectedly|Client has encountered a connection error)/.test((error as Error).message ?? '');
}
