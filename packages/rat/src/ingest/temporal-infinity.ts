import { quoteString } from '../engine/duckdb.js';

/** A DuckDB date or timestamp type, or a list of one (`DATE[]`), by its SQL name. */
const TEMPORAL = /^(?:DATE|TIMESTAMP(?:_S|_MS|_NS)?|TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE)(\[\])?$/i;

/**
 * SQL: whether `value`, of the date or timestamp type `sqlType` (or a list of one), is or holds
 * `infinity` or `-infinity`; undefined for other types. DuckDB has these values (PostgreSQL's
 * `infinity` dates and timestamps read as them), Iceberg has not: a date is a count of days, a
 * timestamp of microseconds (https://iceberg.apache.org/spec/#primitive-types), and DuckDB writes
 * its infinities as the largest and smallest counts, which every other reader takes for a real date
 * (5881580-07-11). Such a row goes to the quarantine, never into the table as a made-up date.
 */
export function infiniteTemporalSql(value: string, sqlType: string): string | undefined {
  const match = TEMPORAL.exec(sqlType.trim());
  if (!match) return undefined;
  return match[1] ? `coalesce(list_bool_or(list_transform(${value}, v -> isinf(v))), false)` : `coalesce(isinf(${value}), false)`;
}

/** SQL of the quarantine reason for such a value: the column, the value as DuckDB writes it, and why. */
export function infiniteTemporalReasonSql(column: string, value: string, sqlType: string): string {
  return `${quoteString(`column ${column}: `)} || left(CAST(${value} AS VARCHAR), 200) || ${quoteString(` cannot be stored as ${sqlType}: an Iceberg date or timestamp has no infinity`)}`;
}
