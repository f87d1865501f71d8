import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { quoteFilePath, quoteIdent } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { type FooterColumn, readParquetFooters, type ParquetFooter } from '../engine/parquet-footer.js';
import { mapColumnNames, uniqueColumnNames } from './column-names.js';
import { fileReadError } from './csv-reader.js';
import type { ProbedFile } from './file-probe.js';
import { InputFileError } from './input-file-error.js';
import { collect, type SourceColumn } from './json-reader.js';
import { isNested, leavesOf, rebuildSql } from './json-nested.js';
import { countRows, createRejectsTable, LINE_COLUMN, type StageContext, type StagedFile, stagedColumns, stageNames } from './staged-file.js';

/**
 * Parquet: typed already; rows keep their position in the file (file_row_number). No row can be
 * malformed, only the file. The two types Iceberg cannot store become text: an INTERVAL column its
 * ISO 8601 duration (as Arrow intervals are), a TIME WITH TIME ZONE column its text (`12:34:56+05`);
 * nanosecond timestamps and times of day are cut to microseconds.
 * The rows are staged as a view over the file, which the plan reads as often as it needs, a row
 * group at a time: a temp table would hold every row in memory (DuckDB spills only past its memory
 * limit), so a file of several GB would need as much.
 */
export async function stageParquet(ctx: StageContext, file: ProbedFile): Promise<StagedFile> {
  const { duck, options } = ctx;
  const { rejects, view } = stageNames(ctx.id);
  await createRejectsTable(duck, rejects);
  const source = `read_parquet(${quoteFilePath(file.localPath)}, file_row_number = true)`;
  let described: { names: string[]; types: DuckDBType[] };
  let footer: ParquetFooter;
  try {
    described = await describeQuery(duck, `SELECT * EXCLUDE (file_row_number) FROM ${source}`);
    footer = (await readParquetFooters(duck, [file.localPath], new Map())).get(file.localPath)!;
  } catch (error) {
    throw fileReadError(file, (error as { cause?: unknown }).cause ?? error);
  }
  refuseWideDecimals(file, footer.columns);
  // DuckDB's read_parquet makes repeated names (ignoring case) unique its own way, `name`, `name_1`:
  // the footer's own names get rat's way, `name`, `name_2`, so a Parquet file's columns land where
  // the same names from any other format do.
  const names = footer.columns.length === described.names.length ? uniqueColumnNames(footer.columns.map((c) => c.name)) : described.names;
  const sourceColumns: SourceColumn[] = [];
  described.names.forEach((name, i) => collect(sourceColumns, names[i]!, storableSql(quoteIdent(name), described.types[i]!), described.types[i]!, options.flatten ?? false));
  const mapping = mapColumnNames(file.display, sourceColumns.map((c) => c.source), options, ctx.reserved);
  const projection = [...sourceColumns.map((c, i) => `${c.expr} AS ${quoteIdent(mapping[i]!.name)}`), `file_row_number + 1 AS ${LINE_COLUMN}`];
  await duck.run(`CREATE OR REPLACE TEMP VIEW ${quoteIdent(view)} AS SELECT ${projection.join(', ')} FROM ${source}`);
  let rows: number;
  try {
    // From the footer: the values are read by the write.
    rows = await countRows(duck, view);
  } catch (error) {
    throw fileReadError(file, (error as { cause?: unknown }).cause ?? error);
  }
  if (rows === 0) throw new InputFileError('INGEST_FILE_INVALID', file.display, {}, 'the Parquet file holds no rows');
  return { relation: view, columns: await stagedColumns(duck, view, mapping), hasLine: true, rows, rejects, rejected: 0, parse: { format: 'parquet' }, mapping };
}


/**
 * Fails a file with DECIMAL columns of more than 38 digits, at any depth. DuckDB has no such decimal:
 * its reader gives a double when the file also has the legacy DECIMAL annotation (what Arrow and
 * Spark write), and that double is wrong, not only rounded (1.5 in a decimal(50, 10) reads as 98304),
 * or else the value's bytes. Neither is the number the file holds, so nothing is loaded.
 */
function refuseWideDecimals(file: ProbedFile, columns: FooterColumn[]): void {
  const wide: { path: string; precision: number; scale: number }[] = [];
  const visit = (column: FooterColumn, path: string) => {
    if (column.decimal && column.decimal.precision > 38) wide.push({ path, ...column.decimal });
    for (const child of column.children) visit(child, `${path}.${child.name}`);
  };
  for (const column of columns) visit(column, column.name);
  if (wide.length === 0) return;
  const named = wide.map((w) => `${w.path} (DECIMAL(${w.precision}, ${w.scale}))`).join(', ');
  throw new InputFileError(
    'INGEST_FILE_INVALID',
    file.display,
    { column: wide[0]!.path },
    `${wide.length === 1 ? `column ${named} is a decimal` : `columns ${named} are decimals`} of more than 38 digits, which DuckDB's Parquet reader does not read as the number the file holds (it gives a wrong double, or the bytes); nothing was loaded: write such a column as a decimal of at most 38 digits, or as text`,
  );
}

/**
 * A column's SQL as a type Iceberg can store: an INTERVAL or TIME WITH TIME ZONE as text (see
 * stageParquet), nanoseconds cut to microseconds (Iceberg v2's precision) as the Arrow and Avro readers
 * cut them, any other as it is. DuckDB's own casts do not cut: TIMESTAMP_NS to TIMESTAMP truncates
 * toward zero, so a time before 1970 with a fraction of a microsecond would move forward
 * (1969-12-31 23:59:59.999999999 to 1970-01-01), and TIME_NS to TIME rounds (23:59:59.999999999 to 24:00:00).
 */
function storableSql(value: string, type: DuckDBType): string {
  if (type.typeId === DuckDBTypeId.INTERVAL) return isoIntervalSql(value);
  if (type.typeId === DuckDBTypeId.TIME_TZ) return `CAST(${value} AS VARCHAR)`;
  if (isNested(type)) {
    // Inside structs, lists and map values too: the cast the write makes would move them the same way.
    const nanos = leavesOf(type, (leaf) => microsSql('v', leaf) !== undefined);
    return nanos.length === 0 ? value : rebuildSql(value, type, nanos.map((leaf) => ({ path: leaf.path, sql: (v: string) => microsSql(v, leaf.type)! })));
  }
  return microsSql(value, type) ?? value;
}

/** SQL of a nanosecond timestamp or time of day cut to microseconds (see storableSql); undefined for another type. */
function microsSql(value: string, type: DuckDBType): string | undefined {
  if (type.typeId === DuckDBTypeId.TIMESTAMP_NS) return `CAST(${value} AS TIMESTAMP) - to_microseconds(CAST(epoch_ns(${value}) % 1000 < 0 AS BIGINT))`;
  if (type.typeId === DuckDBTypeId.TIME_NS) return `TIME '00:00:00' + to_microseconds(epoch_ns(${value}) // 1000)`;
  return undefined;
}

/**
 * SQL of an INTERVAL as the ISO 8601 duration text Arrow intervals get (isoDuration): `P1Y2M3DT4H5M6.5S`,
 * the parts that are not zero, `PT0S` for none. DuckDB's datepart splits an interval so: years and
 * months of its months, its days, hours, minutes and microseconds (seconds included) of its time.
 * A Parquet interval's parts are unsigned (months, days, milliseconds): no signs to write.
 */
export function isoIntervalSql(value: string): string {
  const partOf = (unit: string) => `datepart('${unit}', ${value})`;
  const designated = (unit: string, designator: string) => `CASE WHEN ${partOf(unit)} <> 0 THEN ${partOf(unit)} || '${designator}' ELSE '' END`;
  const micros = partOf('microseconds');
  const fraction = `CASE WHEN ${micros} % 1000000 <> 0 THEN '.' || rtrim(lpad(CAST(${micros} % 1000000 AS VARCHAR), 6, '0'), '0') ELSE '' END`;
  const seconds = `CASE WHEN ${micros} <> 0 THEN (${micros} // 1000000) || ${fraction} || 'S' ELSE '' END`;
  const date = `${designated('year', 'Y')} || ${designated('month', 'M')} || ${designated('day', 'D')}`;
  const time = `${designated('hour', 'H')} || ${designated('minute', 'M')} || ${seconds}`;
  return `CASE WHEN ${value} IS NOT NULL THEN coalesce(nullif('P' || ${date} || coalesce('T' || nullif(${time}, ''), ''), 'P'), 'PT0S') END`;
}
